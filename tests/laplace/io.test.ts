/**
 * Save, load, predict: a posterior file gives back bit-identical predictions (every predictive
 * the structure supports) and the same hyperparameters and marginal variances, for every
 * structure, on two CNNs (so the convolution geometry and the other layers also travel through
 * the model topology the file carries).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, loadLaplace, saveLaplace, tensorData, type KfacDamping, type LaplaceData, type PredictiveType, type Structure } from '../../compute/laplace/index.ts';
import { buildCnnA, buildCnnC, randomInputs, randomLabels, type Model } from './helpers.ts';

let models: Model[];
let inputs: tf.Tensor[];
let datasets: LaplaceData[];
let directory: string;

beforeAll(async () => {
  await startBackend('wasm');
  // CNN A: conv same/valid, max-pool, flatten; CNN C: bias-free layers, avg-pool, dropout, reshape.
  models = [buildCnnA(121), buildCnnC(124)];
  inputs = [randomInputs([6, 8, 8, 2], 122), randomInputs([6, 6, 5, 2], 125)];
  datasets = inputs.map((x) => tensorData(x, randomLabels(6, 3, 123)));
  directory = mkdtempSync(join(tmpdir(), 'laplace-io-'));
});

afterAll(() => {
  tf.dispose(inputs);
  models.forEach((model) => model.dispose());
  rmSync(directory, { recursive: true, force: true });
});

const structures: [string, Structure, KfacDamping][] = [
  ['diag', 'diag', 'exact'],
  ['kfac (exact damping)', 'kfac', 'exact'],
  ['kfac (per-factor damping)', 'kfac', 'per-factor'],
  ['efb', 'efb', 'exact'],
  ['last-layer', 'last-layer', 'exact'],
];

describe('save, load, predict', () => {
  it.each(structures)('%s: identical predictions after a round trip through the file', async (name, structure, kfacDamping) => {
    for (const [index, model] of models.entries()) {
      const data = datasets[index];
      const fitted = await fitLaplace(model, data, { curvature: structure, fisher: 'mc', mcSamples: 2, seed: 4, batchSize: 4, n: 30, tau: 0.7, kfacDamping });
      const path = join(directory, `${index}-${name.replace(/\W+/g, '-')}.laplace`);
      await saveLaplace(fitted, path);
      const loaded = await loadLaplace(path);
      expect(loaded.posterior.spec).toEqual(fitted.posterior.spec);
      expect(loaded.posterior.curvature.fisher).toBe('mc');
      expect(loaded.posterior.curvature.count).toBe(6);
      const predictives: PredictiveType[] = ['map', 'sampled', 'linearised', ...(structure === 'last-layer' ? (['probit'] as const) : [])];
      for (const predictive of predictives) {
        const before = await fitted.predict(data, { predictive, samples: 5, seed: 9 });
        const after = await loaded.predict(data, { predictive, samples: 5, seed: 9 });
        expect(after).toBeInstanceOf(Float32Array);
        expect(after.length).toBe(before.length);
        expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer)), `${name} ${predictive}`).toBe(true);
      }
      const variances = [fitted, loaded].map((m) => m.posterior.marginalVariances().map((v) => Array.from(v)));
      expect(variances[1]).toEqual(variances[0]);
      fitted.dispose();
      loaded.dispose();
    }
  });
});
