/**
 * The (N, τ) search: grid and random candidates, both objectives read off
 * one set of evaluations, and every point equal to an independent
 * evaluation of the re-regularised posterior with the metrics module.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { bestPoint, fitLaplace, objectiveValue, predict, searchHyperparameters, searchHyperparametersTogether, tensorData } from '../../compute/laplace/index.ts';
import { accuracy, calibration, negativeLogLikelihood } from '../../compute/metrics/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { buildMlp } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

function randomData(count: number, seed: number) {
  const random = new Random(seed);
  const labels = Int32Array.from({ length: count }, () => random.integer(3));
  const inputs = tf.tensor2d(random.normals(count * 4), [count, 4]);
  return tensorData(inputs, labels);
}

describe('hyperparameter search', () => {
  it('evaluates a full grid, keeps every point, and picks the minimum of each objective', async () => {
    const model = buildMlp(4, 6, 3, 11, 'relu', 'linear');
    const laplace = await fitLaplace(model, randomData(64, 1), { curvature: 'diag', fisher: 'exact' });
    const validation = randomData(48, 2);
    const search = await searchHyperparameters(laplace.posterior, validation, {
      method: 'grid',
      gridSize: 3,
      logNRange: [0, 4],
      logTauRange: [-2, 2],
      predictive: 'sampled',
      samples: 4,
      seed: 9,
    });
    expect(search.points.map((point) => [point.logN, point.logTau])).toEqual([
      [0, -2], [0, 0], [0, 2], [2, -2], [2, 0], [2, 2], [4, -2], [4, 0], [4, 2],
    ]);
    for (const objective of ['error+ece', 'nll'] as const) {
      const minimum = Math.min(...search.points.map((point) => objectiveValue(point, objective)));
      expect(objectiveValue(search.best[objective], objective)).toBe(minimum);
    }
    // Each point is the re-regularised posterior evaluated independently.
    const point = search.points[4];
    const probabilities = await predict(laplace.posterior.withHyperparameters(10 ** point.logN, 10 ** point.logTau), validation, { predictive: 'sampled', samples: 4, seed: 9 });
    expect(point.error).toBeCloseTo(1 - accuracy(probabilities, validation.labels, 3), 12);
    expect(point.ece).toBeCloseTo(calibration(probabilities, validation.labels, 3).ece, 12);
    expect(point.nll).toBeCloseTo(negativeLogLikelihood(probabilities, validation.labels, 3), 12);
    // The original's objective is error % + ECE %.
    expect(objectiveValue(point, 'error+ece')).toBeCloseTo(100 * point.error + 100 * point.ece, 10);
  });

  it('ranks a point whose predictive overflowed (NaN) last, even when it comes first', () => {
    const point = (logN: number, nll: number, error = 0.1) => ({ logN, logTau: 0, error, ece: 0.01, nll });
    const points = [point(0, NaN, NaN), point(1, 0.3), point(2, 0.2), point(3, 0.2)];
    expect(bestPoint(points, 'nll').logN).toBe(2); // ties go to the first
    expect(bestPoint(points, 'error+ece').logN).toBe(1);
    expect(bestPoint([point(0, NaN)], 'nll').logN).toBe(0); // nothing better to pick
  });

  it('draws seeded random points inside the ranges, the same for the same seed', async () => {
    const model = buildMlp(4, 6, 3, 12, 'relu', 'linear');
    const laplace = await fitLaplace(model, randomData(32, 3), { curvature: 'kfac' });
    const validation = randomData(16, 4);
    const options = { method: 'random' as const, points: 5, logNRange: [1, 3] as [number, number], logTauRange: [0, 1] as [number, number], samples: 2, seed: 5 };
    const first = await searchHyperparameters(laplace.posterior, validation, options);
    const second = await searchHyperparameters(laplace.posterior, validation, options);
    expect(first.points).toHaveLength(5);
    expect(second.points).toEqual(first.points);
    for (const point of first.points) {
      expect(point.logN).toBeGreaterThanOrEqual(1);
      expect(point.logN).toBeLessThanOrEqual(3);
      expect(point.logTau).toBeGreaterThanOrEqual(0);
      expect(point.logTau).toBeLessThanOrEqual(1);
    }
  });

  it('on cached statistics (glm, probit): every point equals a direct evaluation of that posterior, for every structure', async () => {
    const model = buildMlp(4, 6, 3, 14, 'tanh', 'linear');
    const validation = randomData(40, 8);
    for (const [curvature, kfacDamping] of [['diag', 'exact'], ['kfac', 'exact'], ['kfac', 'per-factor'], ['efb', 'exact'], ['last-layer', 'exact']] as const) {
      const laplace = await fitLaplace(model, randomData(64, 7), { curvature, kfacDamping, fisher: 'exact', n: 64, tau: 1 });
      const search = await searchHyperparameters(laplace.posterior, validation, { logNRange: [0, 4], logTauRange: [-2, 3], gridSize: 6 });
      expect(search.statistics).toBe('cached');
      // The evidence's choice at the posterior's N, as the library's own optimiser makes it.
      const { optimizeMarginalLikelihood } = await import('../../compute/laplace/index.ts');
      const optimum = optimizeMarginalLikelihood(laplace.posterior, { range: [-2, 3] });
      expect(search.marglik).toMatchObject({ logN: Math.log10(64), atEdge: optimum.atEdge });
      expect(search.marglik!.logTau).toBeCloseTo(Math.log10(optimum.tau as number), 9);
      expect(search.points).toHaveLength(36);
      // Points on different s = ln(N/τ) and on the same s, and the box's corners.
      for (const index of [0, 7, 14, 20, 35]) {
        const point = search.points[index];
        const direct = await predict(laplace.posterior.withHyperparameters(10 ** point.logN, 10 ** point.logTau), validation, { predictive: 'glm', link: 'probit' });
        expect(Math.abs(point.nll - negativeLogLikelihood(direct, validation.labels, 3))).toBeLessThan(1e-6);
        expect(point.error).toBeCloseTo(1 - accuracy(direct, validation.labels, 3), 12);
        expect(Math.abs(point.ece - calibration(direct, validation.labels, 3).ece)).toBeLessThan(1e-6);
      }
      laplace.dispose();
    }
  });

  it('searches several structures on one Jacobian pass, each exactly as its own search', async () => {
    const model = buildMlp(4, 6, 3, 15, 'relu', 'linear');
    const validation = randomData(40, 9);
    const fits = [];
    for (const curvature of ['diag', 'kfac', 'efb', 'last-layer'] as const) fits.push(await fitLaplace(model, randomData(64, 10), { curvature, fisher: 'mc', n: 64, tau: 1 }));
    const options = { logNRange: [0, 5] as [number, number], logTauRange: [-2, 4] as [number, number], gridSize: 7, marglikN: 1000 };
    const together = await searchHyperparametersTogether(fits.map((fit) => fit.posterior), validation, options);
    expect(together).toHaveLength(4);
    for (const [p, fit] of fits.entries()) {
      const alone = await searchHyperparameters(fit.posterior, validation, options);
      expect(together[p].statistics).toBe('cached');
      // Same floats: the shared pass computes each batch's Jacobians once, and each structure's variances from them as alone.
      expect(together[p]).toEqual(alone);
    }
    // The structures differ, so a mix-up of posteriors would show.
    expect(together[0].points.map((point) => point.nll)).not.toEqual(together[1].points.map((point) => point.nll));
    for (const fit of fits) fit.dispose();
  });

  it('says at which edge of the box the chosen point lies', async () => {
    const model = buildMlp(4, 6, 3, 15, 'relu', 'linear');
    const laplace = await fitLaplace(model, randomData(32, 9), { curvature: 'diag', n: 32, tau: 1 });
    // The labels are random, so the widest posterior in the box (smallest τ), whose
    // predictions are closest to uniform, has the lowest NLL: the best point lies at τ's lower edge.
    const search = await searchHyperparameters(laplace.posterior, randomData(24, 10), { logNRange: [0, 1], logTauRange: [-3, -1], gridSize: 3 });
    expect(search.edges.nll).toContain('logTau-low');
    const inside = { logN: 0.5, logTau: -2, error: 0, ece: 0, nll: 0 };
    const { edgesOf } = await import('../../compute/laplace/search.ts');
    expect(edgesOf(inside, [0, 1], [-3, -1], 'grid')).toEqual([]);
    expect(edgesOf({ ...inside, logN: 1, logTau: -3 }, [0, 1], [-3, -1], 'grid')).toEqual(['logN-high', 'logTau-low']);
    laplace.dispose();
  });

  it('refuses bad ranges and sizes with one sentence', async () => {
    const model = buildMlp(4, 6, 3, 13, 'relu', 'linear');
    const laplace = await fitLaplace(model, randomData(16, 5), { curvature: 'diag' });
    await expect(searchHyperparameters(laplace.posterior, randomData(8, 6), { logNRange: [3, 1] })).rejects.toThrow(/low ≤ high/);
    await expect(searchHyperparameters(laplace.posterior, randomData(8, 6), { gridSize: 0 })).rejects.toThrow(/grid size must be a positive integer/);
    expect(() => laplace.withHyperparameters(-1, 1)).toThrow(/N must be a positive finite number/);
    expect(() => laplace.withHyperparameters(1, 0)).toThrow(/τ \(the prior precision\) must be a positive finite number/);
  });
});
