/** Orchestration of the "models" experiment: one training task per (data set, model), then models.json. */
import { join } from 'node:path';
import { writeJsonArtifact } from '../artifacts/json.ts';
import { modelsArtifact } from '../artifacts/schemas.ts';
import type { ProgressBoard } from '../progress/index.ts';
import type { Profile } from '../study.ts';
import type { TaskPool } from '../workers/pool.ts';
import type { RunSettings } from './inputs.ts';
import type { TrainTaskParams, TrainTaskResult } from './models.ts';

export async function runModelsExperiment(pool: TaskPool, settings: RunSettings, profile: Profile, outDir: string, board: ProgressBoard): Promise<void> {
  const jobs = profile.datasets.flatMap((dataset) => profile.models.map((model) => ({ dataset, model })));
  // Longest first, so two workers finish close together.
  const results = await Promise.all(
    jobs.map(({ dataset, model }) => {
      const params: TrainTaskParams = { settings, dataset, model };
      return pool.run<TrainTaskResult>('train', params, `train ${dataset}/${model}`).then((result) => {
        board.log(`${result.reused ? 'reused' : 'trained'} ${dataset}/${model}: test accuracy ${(100 * result.row.testAccuracy).toFixed(2)}%`);
        return result;
      });
    }),
  );
  const artifact = modelsArtifact.parse({
    profile: profile.name,
    subsets: profile.subsets,
    split: profile.split,
    models: results.map((result) => result.row),
  });
  writeJsonArtifact(join(outDir, 'models.json'), artifact);
}
