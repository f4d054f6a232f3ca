/**
 * The collapse tests of predictive.test.ts (τ or N = 1e12 gives back the map network within
 * 1e-4) would also pass for a predictive that ignored its perturbations, since the posterior's
 * spread there is about 1e-6. This checks the other half on the same kind of network: with the
 * seed fixed, the weight deviations are the same standard normals scaled by the posterior's
 * standard deviations, which for τ ≫ N·F are 1/√τ, so |p − p_map| must shrink tenfold for each
 * hundredfold τ (first order in δ) from a size visible at τ = 1e4 down to the collapse: a
 * predictive that dropped δ (or scaled it wrongly) fails the ratio, not only the size. The GLM
 * predictive's probit link moves p by the logit variances, so its spread shrinks as 1/τ.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, Posterior, predict, tensorData, type CurvatureFit, type KfacDamping, type LaplaceData, type LayerMatrix, type Structure } from '../../compute/laplace/index.ts';
import { buildMlp, maxAbsDifference, randomInputs, randomLabels, type Model } from './helpers.ts';

const structures: [string, Structure, KfacDamping][] = [
  ['diag', 'diag', 'exact'],
  ['kfac (exact damping)', 'kfac', 'exact'],
  ['kfac (per-factor damping)', 'kfac', 'per-factor'],
  ['efb', 'efb', 'exact'],
  ['last-layer', 'last-layer', 'exact'],
];

let model: Model;
let network: Network;
let weights: LayerMatrix[];
let fit: CurvatureFit;
let x: tf.Tensor;
let data: LaplaceData;

beforeAll(async () => {
  await startBackend('wasm');
  model = buildMlp(3, 4, 3, 211, 'tanh', 'linear');
  x = randomInputs([8, 3], 212);
  data = tensorData(x, randomLabels(8, 3, 213));
  network = new Network(model);
  weights = network.matricesFromModel(model);
  fit = await fitCurvature(network, weights, data, { kinds: ['diag', 'kfac', 'efb', 'last-layer'], fisher: 'exact' });
});

afterAll(() => {
  tf.dispose([x, ...weights]);
  model.dispose();
});

describe('the spread about the map network shrinks as 1/√τ, down to the collapse', () => {
  it.each(structures)('%s: sampled and linearised', async (_, structure, kfacDamping) => {
    const map = await predict(new Posterior(network, weights, fit, { structure, n: 1, tau: 1, kfacDamping }), data, { predictive: 'map' });
    for (const predictive of ['sampled', 'linearised'] as const) {
      const spread: number[] = [];
      for (const tau of [1e4, 1e6, 1e8]) {
        const posterior = new Posterior(network, weights, fit, { structure, n: 1, tau, kfacDamping });
        spread.push(maxAbsDifference(await predict(posterior, data, { predictive, samples: 8, seed: 3 }), map));
      }
      console.log(`${structure}/${kfacDamping} ${predictive}: max |p − p_map| at τ = 1e4, 1e6, 1e8: ${spread.map((s) => s.toExponential(2)).join(', ')}`);
      // Visible at τ = 1e4 (σ ≈ 1e-2), then a factor of 10 per step: 1e6 gives about 1e-4 of p, 1e8 about 1e-5.
      expect(spread[0]).toBeGreaterThan(1e-4);
      for (const ratio of [spread[0] / spread[1], spread[1] / spread[2]]) {
        expect(ratio).toBeGreaterThan(8);
        expect(ratio).toBeLessThan(12);
      }
    }
  });

  it.each(structures)('%s: glm (probit link), which shrinks as 1/τ, with the logit variances', async (_, structure, kfacDamping) => {
    const map = await predict(new Posterior(network, weights, fit, { structure, n: 1, tau: 1, kfacDamping }), data, { predictive: 'map' });
    const spread: number[] = [];
    for (const tau of [1e3, 1e4, 1e5]) spread.push(maxAbsDifference(await predict(new Posterior(network, weights, fit, { structure, n: 1, tau, kfacDamping }), data), map));
    console.log(`${structure}/${kfacDamping} glm: max |p − p_map| at τ = 1e3, 1e4, 1e5: ${spread.map((s) => s.toExponential(2)).join(', ')}`);
    expect(spread[0]).toBeGreaterThan(1e-4);
    for (const ratio of [spread[0] / spread[1], spread[1] / spread[2]]) {
      expect(ratio).toBeGreaterThan(8);
      expect(ratio).toBeLessThan(12);
    }
  });
});
