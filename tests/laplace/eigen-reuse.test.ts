/**
 * One eigendecomposition per curvature matrix and task: the fit's EFB eigenbasis, the KFAC and
 * last-layer posteriors, the search and the evidence share it. Checked against a fresh
 * decomposition of an equal but distinct copy of every matrix, bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, logDetPrecision, Network, Posterior, tensorData, type CurvatureFit } from '../../compute/laplace/index.ts';
import { symmetricEigenComputations, type Matrix } from '../../compute/laplace/linalg/index.ts';
import { buildCnnB, randomInputs, randomLabels } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

const copy = (m: Matrix): Matrix => ({ rows: m.rows, cols: m.cols, data: Float64Array.from(m.data) });
/** The same curvature in new matrix objects, which no decomposition has seen. */
const freshCopy = (fit: CurvatureFit): CurvatureFit => ({
  ...fit,
  kfac: fit.kfac?.map((factors) => ({ a: copy(factors.a), g: copy(factors.g) })),
  lastLayer: fit.lastLayer && copy(fit.lastLayer),
});

describe('eigendecompositions reused within a task', () => {
  it('gives the posterior variances and log det a fresh decomposition gives, bit for bit, without decomposing again', async () => {
    const model = buildCnnB(3);
    const x = randomInputs([12, 5, 5, 1], 4);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    try {
      const before = symmetricEigenComputations();
      const fit = await fitCurvature(network, weights, tensorData(x, randomLabels(12, 3, 5)), { kinds: ['kfac', 'efb', 'last-layer'], fisher: 'exact', batchSize: 4 });
      const layers = network.layers.length;
      // The EFB basis: A and G of every layer, each decomposed once.
      expect(symmetricEigenComputations() - before).toBe(2 * layers);

      const afterFit = symmetricEigenComputations();
      const spec = { n: 50, tau: 0.7, kfacDamping: 'exact' as const };
      // What the posteriors of one fit give: variances and log dets, at the fit's N and τ and at others (the search's grid).
      const measure = (curvature: typeof fit) => {
        const kfac = new Posterior(network, weights, curvature, { structure: 'kfac', ...spec });
        const lastLayer = new Posterior(network, weights, curvature, { structure: 'last-layer', ...spec });
        return {
          kfacVariances: kfac.marginalVariances(),
          kfacLogDet: logDetPrecision(kfac),
          retunedLogDet: logDetPrecision(kfac.withHyperparameters(7, 3)),
          lastLayerVariances: lastLayer.marginalVariances(),
          lastLayerLogDet: logDetPrecision(lastLayer),
        };
      };
      const reused = measure(fit);
      // The KFAC factors were decomposed by the fit; only the last-layer Fisher is new.
      expect(symmetricEigenComputations() - afterFit).toBe(1);

      const recomputed = measure(freshCopy(fit));
      expect(symmetricEigenComputations() - afterFit).toBe(1 + 2 * layers + 1);
      expect(reused).toEqual(recomputed);
      expect(Number.isFinite(reused.kfacLogDet)).toBe(true);
    } finally {
      tf.dispose(weights);
      x.dispose();
      model.dispose();
    }
  });
});
