/**
 * Orchestration of the "models" experiment: one training task per (data set,
 * model, training seed), then models.json: the zoo models in `models`, the
 * other seeds' networks (seed replicas and ensemble members) in `replicas`.
 */
import { join } from 'node:path';
import { writeJsonArtifact } from '../artifacts/json.ts';
import { modelsArtifact } from '../artifacts/schemas.ts';
import { getModelSpec, type ModelFamily } from '../models/zoo.ts';
import type { ProgressBoard } from '../progress/index.ts';
import { trainedMembers, type Profile } from '../study.ts';
import type { TaskFailures } from './failures.ts';
import { runOnceDetailed, scopes, type TaskRunner } from './finished.ts';
import type { RunSettings } from './inputs.ts';
import type { TrainTaskParams, TrainTaskResult } from './models.ts';

/** Rough seconds per epoch relative to an MLP, measured on wasm; only orders the queue. */
const relativeEpochCost: Record<ModelFamily, number> = { mlp: 1, lenet: 1, cnn: 2.5 };

export async function runModelsExperiment(pool: TaskRunner, settings: RunSettings, profile: Profile, outDir: string, board: ProgressBoard, failures: TaskFailures): Promise<void> {
  const jobs = profile.datasets.flatMap((dataset) => trainedMembers(profile).map(({ model, member }) => ({ dataset, model, member })));
  // Longest first, so the workers finish close together; rows keep the study's order.
  const cost = ({ dataset, model }: (typeof jobs)[number]) => {
    const spec = getModelSpec(model);
    return profile.epochs(spec, dataset) * relativeEpochCost[spec.family];
  };
  const queued = [...jobs].sort((a, b) => cost(b) - cost(a));
  const byJob = new Map<(typeof jobs)[number], Promise<TrainTaskResult | undefined>>();
  for (const job of queued) byJob.set(job, runJob(job));
  const results = await Promise.all(jobs.map((job) => byJob.get(job)!));
  function runJob({ dataset, model, member }: (typeof jobs)[number]): Promise<TrainTaskResult | undefined> {
    const params: TrainTaskParams = { settings, dataset, model, member };
    const options = { cacheDir: settings.cacheDir, outDir, log: (line: string) => board.log(line) };
    const label = `train ${dataset}/${model}${member > 0 ? ` (seed ${member})` : ''}`;
    return failures.guard(label, runOnceDetailed<TrainTaskResult>(pool, 'train', { ...params }, label, scopes.none(), options).then(({ result, restored }) => {
      board.log(`${result.reused || restored ? 'reused' : 'trained'} ${dataset}/${model}${member > 0 ? ` (seed ${member})` : ''}: test accuracy ${(100 * result.row.testAccuracy).toFixed(2)}%`);
      return result;
    }));
  }
  const artifact = modelsArtifact.parse({
    profile: profile.name,
    subsets: profile.subsets,
    split: profile.split,
    // A failed training leaves its row out; the run reports it and exits non-zero.
    models: results.filter((result) => result !== undefined && result.member === 0).map((result) => result!.row),
    replicas: results.filter((result) => result !== undefined && result.member > 0).map((result) => ({ member: result!.member, ...result!.row })),
  });
  writeJsonArtifact(join(outDir, 'models.json'), artifact);
}
