/**
 * The inf structure (Lee et al. 2020's sparse information form) against the dense matrix it stands
 * for, built here in float64 from the fit's EFB factors and diagonal Fisher: per layer the columns
 * Q_A[:, i] ⊗ Q_G[:, j] of the L largest EFB eigenvalues Λ_ij (sorted here), H_l = N·(U Λ Uᵀ + D) + τ·I
 * with D = max(diag F − diag(U Λ Uᵀ), 0), on a tiny MLP (P = 43) and a tiny CNN (P = 110):
 *  - its diagonal equals the diag structure's Fisher wherever D is not clamped (and exceeds it where it is);
 *  - marginal variances and the log det equal those of the dense H_l, by Gauss–Jordan and Cholesky;
 *  - the GLM functional covariance equals J Σ Jᵀ with J the logits' Jacobian from tf's gradients;
 *  - weight samples have the covariance Σ (5,000 draws);
 *  - the evidence equals the dense Laplace evidence, a posterior file reloads bit for bit, and the
 *    search evaluates each (N, τ) directly (the low-rank basis moves with N/τ).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import {
  disposeJacobianBatch,
  fitCurvature,
  fitLaplace,
  FunctionalCovariance,
  jacobianBatch,
  logDetPrecision,
  logMarginalLikelihood,
  Network,
  Posterior,
  PosteriorError,
  posteriorFromBytes,
  posteriorToBytes,
  predict,
  searchHyperparameters,
  tensorData,
  type CurvatureFit,
} from '../../compute/laplace/index.ts';
import { addOuter, blockDiagonal, buildCnnA, buildMlp, concat, example, invert, kron, logDetSpd, outputGradients, probabilities, randomInputs, randomLabels, relativeError, sampleCovariance, sandwich, scaleAddIdentity, zeros, type Dense, type Model } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

/** U diag(Λ) Uᵀ + D for one layer, built from the EFB factors and the diagonal Fisher (not from fit.inf). */
function denseInformation(fit: CurvatureFit, layer: number, rank: number): { matrix: Dense; clamped: number } {
  const { a, g, diagonal: lambda } = fit.efb![layer];
  const basis = kron({ n: a.vectors.rows, data: Float64Array.from(a.vectors.data) }, { n: g.vectors.rows, data: Float64Array.from(g.vectors.data) });
  const p = basis.n;
  const top = Array.from(lambda.keys())
    .sort((x, y) => lambda[y] - lambda[x] || x - y)
    .slice(0, rank);
  const out = zeros(p);
  for (const column of top) {
    const u = Float64Array.from({ length: p }, (_, row) => basis.data[row * p + column]);
    addOuter(out, u, u, lambda[column]);
  }
  let clamped = 0;
  const exact = fit.diag![layer];
  for (let i = 0; i < p; i++) {
    const correction = exact[i] - out.data[i * p + i];
    if (correction < 0) clamped++;
    out.data[i * p + i] += Math.max(correction, 0);
  }
  return { matrix: out, clamped };
}

const cases = [
  { name: 'MLP', model: () => buildMlp(4, 5, 3, 921, 'relu', 'linear'), shape: [4], rank: 3 },
  { name: 'CNN A', model: () => buildCnnA(922), shape: [8, 8, 2], rank: 4 },
];

describe.each(cases)('inf structure on $name', ({ model: build, shape, rank }) => {
  const count = 9;
  const n = 40;
  const tau = 0.7;
  let model: Model;
  let x: tf.Tensor;
  let labels: Int32Array;
  let network: Network;
  let weights: tf.Tensor2D[];
  let fit: CurvatureFit;
  let blocks: Dense[];

  beforeAll(async () => {
    model = build();
    x = randomInputs([count, ...shape], 923);
    labels = randomLabels(count, probabilities(model, x).length / count, 924);
    network = new Network(model);
    weights = network.matricesFromModel(model);
    fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['inf', 'diag', 'efb'], fisher: 'exact', batchSize: 4, infRank: rank });
    blocks = network.layers.map((_, layer) => denseInformation(fit, layer, rank).matrix);
    return () => {
      x.dispose();
      model.dispose();
    };
  });

  it("equals U Λ Uᵀ + D built from the EFB factors, and its diagonal is the diag structure's Fisher", () => {
    let clampedTotal = 0;
    network.layers.forEach((_, layer) => {
      const { matrix, clamped } = denseInformation(fit, layer, rank);
      clampedTotal += clamped;
      const { values, vectors, correction } = fit.inf![layer];
      expect(values.length).toBe(Math.min(rank, matrix.n));
      const stored = zeros(matrix.n);
      for (let k = 0; k < values.length; k++) {
        const u = Float64Array.from({ length: matrix.n }, (_, i) => vectors.data[i * values.length + k]);
        addOuter(stored, u, u, values[k]);
      }
      correction.forEach((d, i) => (stored.data[i * matrix.n + i] += d));
      expect(relativeError(stored.data, matrix.data)).toBeLessThanOrEqual(1e-6);
      const diagonal = Float64Array.from({ length: matrix.n }, (_, i) => stored.data[i * matrix.n + i]);
      const exact = fit.diag![layer];
      const scale = Math.max(...exact);
      diagonal.forEach((value, i) => {
        if (correction[i] > 0) expect(Math.abs(value - exact[i])).toBeLessThanOrEqual(1e-6 * scale);
        else expect(value).toBeGreaterThanOrEqual(exact[i] - 1e-6 * scale);
      });
    });
    console.log(`inf rank ${rank}: ${clampedTotal} diagonal correction entries clamped at 0`);
  });

  it('variances, log det, the functional covariance and samples match the dense inverse', async () => {
    const posterior = new Posterior(network, weights, fit, { structure: 'inf', n, tau, kfacDamping: 'exact' });
    const precisions = blocks.map((block) => scaleAddIdentity(block, n, tau));
    const sigma = blockDiagonal(precisions.map(invert));
    const parameters = sigma.n;

    const diagonal = Float64Array.from({ length: parameters }, (_, i) => sigma.data[i * parameters + i]);
    expect(relativeError(concat(posterior.marginalVariances()), diagonal)).toBeLessThanOrEqual(1e-5);

    const denseLogDet = precisions.reduce((sum, block) => sum + logDetSpd(block), 0);
    expect(Math.abs(logDetPrecision(posterior) - denseLogDet)).toBeLessThanOrEqual(1e-8 * Math.abs(denseLogDet) + 1e-8);

    const jacobians = Array.from({ length: count }, (_, i) => {
      const xi = example(x, i);
      const rows = Array.from({ length: network.classes }, (_, c) => concat(outputGradients(model, xi, c)));
      xi.dispose();
      return rows;
    });
    const direct = jacobians.flatMap((rows) => Array.from(sandwich(rows, sigma)));
    const functional = new FunctionalCovariance(posterior);
    const batch = jacobianBatch(network, weights, x, posterior.perturbedLayers);
    const covariance = functional.covariance(batch).arraySync().flat(2);
    const variances = functional.variancesOf(batch).arraySync().flat();
    expect(() => functional.scaledVariancesAt(batch, [Math.log(n / tau) + 1])).toThrow(PosteriorError);
    disposeJacobianBatch(batch);
    functional.dispose();
    const error = relativeError(covariance, direct);
    console.log(`inf GLM covariance against J Σ Jᵀ: relative error ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-4);
    const classes = network.classes;
    const directDiagonal = direct.filter((_, index) => Math.floor(index / classes) % classes === index % classes);
    expect(relativeError(variances, directDiagonal)).toBeLessThanOrEqual(1e-4);

    const empirical = sampleCovariance(posterior, 5000, 12);
    const sampleError = relativeError(empirical.data, sigma.data);
    console.log(`inf sample covariance (5,000 draws): relative error ${sampleError.toExponential(1)}`);
    expect(sampleError).toBeLessThanOrEqual(0.1);
  });

  it('the evidence is the dense one, per-layer τ works, and a file reloads bit for bit', async () => {
    const posterior = new Posterior(network, weights, fit, { structure: 'inf', n, tau, kfacDamping: 'exact' });
    const p = probabilities(model, x);
    const classes = network.classes;
    const crossEntropy = -Array.from(labels).reduce((sum, y, i) => sum + Math.log(p[i * classes + y]), 0) / count;
    const layerTaus = network.layers.map((_, layer) => tau * (layer + 1));
    let expected = -n * crossEntropy;
    blocks.forEach((block, layer) => {
      const w = Array.from(weights[layer].dataSync());
      const t = layerTaus[layer];
      expected += -(t / 2) * w.reduce((s, v) => s + v * v, 0) + (block.n / 2) * Math.log(t) - 0.5 * logDetSpd(scaleAddIdentity(block, n, t));
    });
    const perLayer = posterior.withHyperparameters(n, layerTaus);
    expect(Math.abs(logMarginalLikelihood(perLayer) - expected)).toBeLessThanOrEqual(1e-6 * Math.abs(expected));

    const bytes = await posteriorToBytes(posterior, model.toJSON(undefined, false));
    const { posterior: again } = await posteriorFromBytes(bytes);
    expect(again.structure).toBe('inf');
    expect(Array.from(await posteriorToBytes(again, model.toJSON(undefined, false)))).toEqual(Array.from(bytes));
    again.curvature.inf!.forEach((factors, layer) => {
      expect(Array.from(factors.values)).toEqual(Array.from(fit.inf![layer].values));
      expect(Array.from(factors.vectors.data)).toEqual(Array.from(fit.inf![layer].vectors.data));
      expect(Array.from(factors.correction)).toEqual(Array.from(fit.inf![layer].correction));
    });
    const data = tensorData(x, labels);
    for (const options of [{ predictive: 'glm' as const }, { predictive: 'sampled' as const, samples: 4 }]) {
      expect(Array.from(await predict(again, data, options))).toEqual(Array.from(await predict(posterior, data, options)));
    }
    again.network.dispose();
  });
});

describe('inf through fitLaplace and the search', () => {
  it('fits end to end with τ by marginal likelihood; the search scores each point directly; infRank is refused elsewhere', async () => {
    const model = buildMlp(3, 4, 2, 925);
    const x = randomInputs([12, 3], 926);
    const labels = randomLabels(12, 2, 927);
    const laplace = await fitLaplace(model, tensorData(x, labels), { curvature: 'inf', infRank: 2 });
    expect(laplace.posterior.structure).toBe('inf');
    expect(laplace.posterior.curvature.inf!.map((factors) => factors.values.length)).toEqual([2, 2]);
    expect((await laplace.predict(tensorData(x, labels))).length).toBe(24);
    const search = await searchHyperparameters(laplace.posterior, tensorData(x, labels), { gridSize: 2 });
    expect(search.statistics).toBe('direct');
    expect(search.points.length).toBe(4);
    await expect(fitLaplace(model, tensorData(x, labels), { curvature: 'kfac', infRank: 2 })).rejects.toThrow(/infRank applies only to the inf curvature/);
    await expect(fitLaplace(model, tensorData(x, labels), { curvature: 'inf', infRank: 0 })).rejects.toThrow(PosteriorError);
    laplace.dispose();
    x.dispose();
    model.dispose();
  });
});
