import { startBackend } from '../../compute/backend/index.ts';
import { benchTrainingThroughput } from './training.ts';
async function main() {
  await startBackend('wasm');
  const models = (process.argv[2] ?? 'mlp-1').split(',');
  for (const row of await benchTrainingThroughput(30, models)) console.log(JSON.stringify(row));
}
void main();
