/** Orchestration of the "laplace" experiment: one task per (data set, model), then summary.json. */
import { join } from 'node:path';
import { writeJsonArtifact } from '../artifacts/json.ts';
import { summaryArtifact, type SummaryRow } from '../artifacts/schemas.ts';
import type { ProgressBoard } from '../progress/index.ts';
import type { Profile } from '../study.ts';
import type { TaskPool } from '../workers/pool.ts';
import type { RunSettings } from './inputs.ts';
import type { LaplaceTaskParams } from './laplace.ts';

export async function runLaplaceExperiment(pool: TaskPool, settings: RunSettings, profile: Profile, outDir: string, board: ProgressBoard): Promise<void> {
  const jobs = profile.datasets.flatMap((dataset) => profile.laplace.models.map((model) => ({ dataset, model })));
  const results = await Promise.all(
    jobs.map(({ dataset, model }) => {
      const params: LaplaceTaskParams = { settings, dataset, model, outDir };
      return pool.run<SummaryRow[]>('laplace', params, `laplace ${dataset}/${model}`).then((rows) => {
        board.log(`evaluated ${dataset}/${model}: ${rows.map((row) => `${row.method} ECE ${(100 * row.ece).toFixed(2)}%`).join(', ')}`);
        return rows;
      });
    }),
  );
  writeJsonArtifact(join(outDir, 'summary.json'), summaryArtifact.parse({ profile: profile.name, rows: results.flat() }));
}
