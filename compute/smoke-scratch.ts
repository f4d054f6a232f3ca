import { startBackend } from './backend/index.ts';
import { loadDataset, subset } from './data/index.ts';
import { loadCheckpoint } from './models/checkpoint.ts';
import { fitLaplace, imageData, loadLaplace } from './laplace/index.ts';
import { accuracy, calibration } from './metrics/index.ts';
import { readdirSync } from 'node:fs';
await startBackend('wasm');
const dir = '.cache/models/mnist/' + readdirSync('.cache/models/mnist').find((d) => d.startsWith(process.argv[2] ?? 'lenet5'));
const { model } = await loadCheckpoint(dir);
const { train, test } = loadDataset('mnist');
const fitData = imageData(subset(train, 1000));
const testData = imageData(subset(test, 500));
for (const curvature of ['diag', 'kfac', 'efb', 'last-layer'] as const) {
  const t0 = Date.now();
  const laplace = await fitLaplace(model, fitData, { curvature, n: 1000, tau: 10 });
  const fitMs = Date.now() - t0;
  for (const predictive of ['map', 'sampled', 'linearised', ...(curvature === 'last-layer' ? ['probit'] as const : [])] as const) {
    const t1 = Date.now();
    const p = await laplace.predict(testData, { predictive, samples: 10 });
    console.log(curvature, predictive, 'acc', accuracy(p, testData.labels, 10).toFixed(3), 'ece', calibration(p, testData.labels, 10).ece.toFixed(4), 'ms', Date.now() - t1, 'fit ms', fitMs);
  }
  await laplace.save('/tmp/p.laplace');
  const again = await loadLaplace('/tmp/p.laplace');
  const a = await laplace.predict(testData, { predictive: 'sampled', samples: 3, seed: 4 });
  const b = await again.predict(testData, { predictive: 'sampled', samples: 3, seed: 4 });
  console.log('identical after load', a.every((v, i) => v === b[i]));
}
