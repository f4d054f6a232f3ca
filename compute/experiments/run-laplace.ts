/** Orchestration of the "laplace" experiment: one task per (data set, model, training seed). */
import type { ProgressBoard } from '../progress/index.ts';
import { seedsFor, type Profile } from '../study.ts';
import type { TaskFailures } from './failures.ts';
import { runOnce, scopes, type TaskRunner } from './finished.ts';
import type { RunSettings } from './inputs.ts';
import type { LaplaceTaskParams } from './laplace.ts';
import { getModelSpec } from '../models/zoo.ts';

export async function runLaplaceExperiment(
  pool: TaskRunner,
  settings: RunSettings,
  profile: Profile,
  outDir: string,
  board: ProgressBoard,
  failures: TaskFailures,
  selected: (model: string) => boolean = () => true,
): Promise<void> {
  // Dearest first, so that the two workers finish together rather than one running a CNN alone at the end:
  // convolutional networks cost several times an MLP to evaluate on wasm, and deeper costs more.
  const models = profile.laplace.models.filter(selected).sort((a, b) => costRank(profile, b) - costRank(profile, a));
  // The zoo models first (each a full evaluation), then the other training seeds (test and other data set only).
  const jobs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((member) =>
    models.filter((model) => seedsFor(profile, model).includes(member)).flatMap((model) => profile.datasets.map((dataset) => ({ dataset, model, member }))),
  );
  await Promise.all(
    jobs.map(({ dataset, model, member }) => {
      const params: LaplaceTaskParams = { settings, dataset, model, member, outDir };
      const options = { cacheDir: settings.cacheDir, outDir, log: (line: string) => board.log(line) };
      const label = `laplace ${dataset}/${model}${member > 0 ? ` (seed ${member})` : ''}`;
      const scope = member === 0 ? scopes.laplace(dataset, model) : scopes.folder(`${dataset}/${model}/seed-${member}`);
      return failures.guard(label, runOnce(pool, 'laplace', { ...params }, label, scope, options).then(() => board.log(`evaluated ${label.slice('laplace '.length)}`)));
    }),
  );
}

/** A rough order of a Laplace task's cost: convolutional before dense, then every variant before one, then deeper before shallower. */
function costRank(profile: Profile, model: string): number {
  const spec = getModelSpec(model);
  return (spec.family === 'mlp' ? 0 : 100) + (profile.laplace.fullTreatment.includes(model) ? 10 : 0) + spec.depth;
}
