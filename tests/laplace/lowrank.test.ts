/**
 * The lowrank structure against dense float64 computations, on a tiny MLP (P = 43) and a tiny
 * CNN (P = 110):
 *  - its k eigenpairs, found by subspace iteration on products F·V (one sweep each), equal the top
 *    k eigenpairs of the dense Fisher built from per-example gradients (values; the projector U Uᵀ);
 *    with the mc Fisher too, whose every sweep must redraw the same labels;
 *  - marginal variances, the GLM functional covariance (J Σ Jᵀ with Σ = (N·U Λ Uᵀ + τ·I)⁻¹ by dense
 *    inversion of the dense low-rank precision), the probit predictive and the sample covariance;
 *  - the evidence against −N·CE − τ/2‖W*‖² + P/2 log τ − ½ log det(N·U Λ Uᵀ + τ·I) by Cholesky;
 *  - a posterior file reloads to the same predictions bit for bit; bad ranks are refused.
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
  logMarginalLikelihood,
  Network,
  optimizeMarginalLikelihood,
  Posterior,
  PosteriorError,
  posteriorFromBytes,
  posteriorToBytes,
  predict,
  tensorData,
  type FisherType,
} from '../../compute/laplace/index.ts';
import { matrix, symmetricEigen } from '../../compute/laplace/linalg/index.ts';
import { addOuter, buildCnnA, buildMlp, concat, example, exampleGradients, invert, logDetSpd, outputGradients, probabilities, randomInputs, randomLabels, relativeError, sampleCovariance, sandwich, scaleAddIdentity, zeros, type Dense, type Model } from './helpers.ts';
import { Random } from '../../compute/laplace/random.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

/** The top-k eigenpairs of a dense symmetric matrix: values descending, and U Λ Uᵀ and U Uᵀ. */
function topK(a: Dense, k: number): { values: number[]; lowRank: Dense; projector: Dense } {
  const eigen = symmetricEigen(matrix(a.n, a.n, a.data));
  const order = Array.from({ length: k }, (_, j) => a.n - 1 - j);
  const lowRank = zeros(a.n);
  const projector = zeros(a.n);
  for (const index of order) {
    const u = Float64Array.from({ length: a.n }, (_, i) => eigen.vectors.data[i * a.n + index]);
    addOuter(lowRank, u, u, eigen.values[index]);
    addOuter(projector, u, u, 1);
  }
  return { values: order.map((index) => eigen.values[index]), lowRank, projector };
}

function drawnLabels(p: Float32Array, count: number, classes: number, seed: number): number[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => {
    let u = random.uniform();
    let c = 0;
    for (; c < classes - 1; c++) {
      u -= p[i * classes + c];
      if (u < 0) break;
    }
    return c;
  });
}

const cases = [
  { name: 'MLP', model: () => buildMlp(4, 5, 3, 921, 'relu', 'linear'), shape: [4] },
  { name: 'CNN A', model: () => buildCnnA(922), shape: [8, 8, 2] },
];

describe.each(cases)('lowrank structure on $name', ({ model: build, shape }) => {
  const count = 9;
  const batchSize = 4;
  const seed = 23;
  const rank = 5;
  const n = 40;
  const tau = 0.7;
  let model: Model;
  let x: tf.Tensor;
  let labels: Int32Array;
  let p: Float32Array;
  let classes: number;
  let gradients: Float64Array[][];
  let jacobians: Float64Array[][];
  let parameters: number;

  beforeAll(() => {
    model = build();
    x = randomInputs([count, ...shape], 923);
    p = probabilities(model, x);
    classes = p.length / count;
    labels = randomLabels(count, classes, 924);
    gradients = [];
    jacobians = [];
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      gradients.push(Array.from({ length: classes }, (_, c) => concat(exampleGradients(model, xi, c))));
      jacobians.push(Array.from({ length: classes }, (_, c) => concat(outputGradients(model, xi, c))));
      xi.dispose();
    }
    parameters = gradients[0][0].length;
    return () => {
      x.dispose();
      model.dispose();
    };
  });

  function reference(weights: (i: number) => [number, number][]): Dense {
    const out = zeros(parameters);
    for (let i = 0; i < count; i++) for (const [c, w] of weights(i)) addOuter(out, gradients[i][c], gradients[i][c], w / count);
    return out;
  }
  const exactWeights = (i: number) => Array.from({ length: classes }, (_, c) => [c, p[i * classes + c]] as [number, number]);

  async function fitted(fisher: FisherType) {
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['lowrank'], fisher, batchSize, seed, rank, lowrankIterations: 200, lowrankTolerance: 1e-6 });
    return { network, weights, fit };
  }

  it.each(['exact', 'mc'] as FisherType[])('with the %s Fisher, its eigenpairs are the top k of the dense Fisher', async (fisher) => {
    const { weights, fit } = await fitted(fisher);
    tf.dispose(weights);
    const drawn = drawnLabels(p, count, classes, seed);
    const dense = fisher === 'exact' ? reference(exactWeights) : reference((i) => [[drawn[i], 1]]);
    const expected = topK(dense, rank);
    const eigen = symmetricEigen(matrix(parameters, parameters, dense.data));
    const gap = (eigen.values[parameters - rank] - eigen.values[parameters - rank - 1]) / eigen.values[parameters - 1];
    const values = Array.from(fit.lowrank!.values).reverse();
    const u = fit.lowrank!.vectors;
    const projector = zeros(parameters);
    for (let k = 0; k < rank; k++) {
      const column = Float64Array.from({ length: parameters }, (_, i) => u.data[i * rank + k]);
      addOuter(projector, column, column, 1);
    }
    const valueError = relativeError(values, expected.values);
    const projectorError = relativeError(projector.data, expected.projector.data);
    console.log(`lowrank ${fisher} k = ${rank}, P = ${parameters}: eigenvalue error ${valueError.toExponential(1)}, projector error ${projectorError.toExponential(1)} (relative gap λ_k − λ_k+1: ${gap.toExponential(1)})`);
    expect(valueError).toBeLessThanOrEqual(1e-5);
    expect(projectorError).toBeLessThanOrEqual(1e-4);
  });

  it('variances, the functional covariance, the probit predictive and samples match the dense low-rank covariance', async () => {
    const { network, weights, fit } = await fitted('exact');
    const posterior = new Posterior(network, weights, fit, { structure: 'lowrank', n, tau, kfacDamping: 'exact' });
    const sigma = invert(scaleAddIdentity(topK(reference(exactWeights), rank).lowRank, n, tau));

    const diagonal = Float64Array.from({ length: parameters }, (_, i) => sigma.data[i * parameters + i]);
    expect(relativeError(concat(posterior.marginalVariances()), diagonal)).toBeLessThanOrEqual(1e-4);

    const direct = jacobians.map((rows) => sandwich(rows, sigma));
    const functional = new FunctionalCovariance(posterior);
    const batch = jacobianBatch(network, weights, x, posterior.perturbedLayers);
    const covariance = functional.covariance(batch).arraySync().flat(2);
    const logits = batch.logits.arraySync();
    disposeJacobianBatch(batch);
    functional.dispose();
    const error = relativeError(covariance, direct.flatMap((c) => Array.from(c)));
    console.log(`lowrank GLM covariance against J Σ Jᵀ: relative error ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-4);

    const probit = await predict(posterior, tensorData(x, labels), { predictive: 'glm', link: 'probit' });
    const expectedProbit = logits.flatMap((row, i) => {
      const scaled = row.map((mu, c) => mu / Math.sqrt(1 + (Math.PI / 8) * direct[i][c * classes + c]));
      const top = Math.max(...scaled);
      const e = scaled.map((value) => Math.exp(value - top));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((value) => value / total);
    });
    expect(relativeError(probit, expectedProbit)).toBeLessThanOrEqual(1e-4);

    const empirical = sampleCovariance(posterior, 5000, 13);
    const sampleError = relativeError(empirical.data, sigma.data);
    console.log(`lowrank sample covariance (5,000 draws): relative error ${sampleError.toExponential(1)}`);
    expect(sampleError).toBeLessThanOrEqual(0.1);
    posterior.dispose();
  });

  it('the evidence equals the dense low-rank Laplace evidence, and a file reloads bit for bit', async () => {
    const { network, weights, fit } = await fitted('exact');
    const posterior = new Posterior(network, weights, fit, { structure: 'lowrank', n, tau, kfacDamping: 'exact' });
    const lowRank = topK(reference(exactWeights), rank).lowRank;
    const crossEntropy = -Array.from(labels).reduce((sum, y, i) => sum + Math.log(p[i * classes + y]), 0) / count;
    const squaredNorm = weights.reduce((sum, w) => sum + Array.from(w.dataSync()).reduce((s, v) => s + v * v, 0), 0);
    const evidence = (t: number) => -n * crossEntropy - (t / 2) * squaredNorm + (parameters / 2) * Math.log(t) - 0.5 * logDetSpd(scaleAddIdentity(lowRank, n, t));
    expect(Math.abs(logMarginalLikelihood(posterior) - evidence(tau))).toBeLessThanOrEqual(1e-4 * Math.abs(evidence(tau)));
    const best = optimizeMarginalLikelihood(posterior).tau as number;
    expect(evidence(best)).toBeGreaterThanOrEqual(evidence(best * 1.05));
    expect(evidence(best)).toBeGreaterThanOrEqual(evidence(best / 1.05));

    const bytes = await posteriorToBytes(posterior, model.toJSON(undefined, false));
    const { posterior: again } = await posteriorFromBytes(bytes);
    expect(again.structure).toBe('lowrank');
    const data = tensorData(x, labels);
    for (const options of [{ predictive: 'glm' as const }, { predictive: 'sampled' as const, samples: 4 }]) {
      expect(Array.from(await predict(again, data, options))).toEqual(Array.from(await predict(posterior, data, options)));
    }
    again.dispose();
    again.network.dispose();
    posterior.dispose();
  });
});

describe('lowrank options', () => {
  it('refuses a rank outside 1 … P in one sentence, and fits end to end with fitLaplace', async () => {
    const model = buildMlp(3, 4, 2, 925); // 4·4 + 5·2 = 26 parameters
    const x = randomInputs([12, 3], 926);
    const labels = randomLabels(12, 2, 927);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    for (const bad of [0, 27, 2.5]) {
      await expect(fitCurvature(network, weights, tensorData(x, labels), { kinds: ['lowrank'], rank: bad })).rejects.toThrow(PosteriorError);
    }
    await expect(fitCurvature(network, weights, tensorData(x, labels), { kinds: ['lowrank'], rank: 27 })).rejects.toThrow(/from 1 to the 26 parameters, got 27/);
    tf.dispose(weights);
    network.dispose();
    const laplace = await fitLaplace(model, tensorData(x, labels), { curvature: 'lowrank', rank: 3 });
    expect(laplace.posterior.curvature.lowrank!.values.length).toBe(3);
    expect((await laplace.predict(tensorData(x, labels))).every(Number.isFinite)).toBe(true);
    laplace.dispose();
    x.dispose();
    model.dispose();
  });
});
