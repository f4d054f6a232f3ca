/** Build-time access to the artifacts: the only way pages reach data. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelsArtifact } from '../../compute/artifacts/schemas.ts';

export const resultsDir = resolve(process.env.RESULTS_DIR ?? 'results');

function readArtifact<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(join(resultsDir, path), 'utf8')) as T;
  } catch (error) {
    throw new Error(`The site needs ${join(resultsDir, path)} (${(error as Error).message}); run \`npm run reproduce\` first.`);
  }
}

export const loadModels = () => readArtifact<ModelsArtifact>('models.json');
