/** Orchestration of the "laplace" experiment: one task per (data set, model). */
import type { ProgressBoard } from '../progress/index.ts';
import type { Profile } from '../study.ts';
import type { TaskPool } from '../workers/pool.ts';
import type { TaskFailures } from './failures.ts';
import { runOnce, scopes } from './finished.ts';
import type { RunSettings } from './inputs.ts';
import type { LaplaceTaskParams } from './laplace.ts';

export async function runLaplaceExperiment(
  pool: TaskPool,
  settings: RunSettings,
  profile: Profile,
  outDir: string,
  board: ProgressBoard,
  failures: TaskFailures,
  selected: (model: string) => boolean = () => true,
): Promise<void> {
  const jobs = profile.datasets.flatMap((dataset) => profile.laplace.models.filter(selected).map((model) => ({ dataset, model })));
  await Promise.all(
    jobs.map(({ dataset, model }) => {
      const params: LaplaceTaskParams = { settings, dataset, model, outDir };
      const options = { cacheDir: settings.cacheDir, outDir, log: (line: string) => board.log(line) };
      const label = `laplace ${dataset}/${model}`;
      return failures.guard(label, runOnce(pool, 'laplace', { ...params }, label, scopes.laplace(dataset, model), options).then(() => board.log(`evaluated ${dataset}/${model}`)));
    }),
  );
}
