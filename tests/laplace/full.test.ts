/**
 * The full structure against dense float64 computations from tf's own gradients of tfjs-layers
 * models (helpers.ts), on a tiny MLP (P = 43) and a tiny CNN (P = 110, 'same' and 'valid'
 * convolutions, max-pooling):
 *  - the fitted P × P Fisher equals (1/n) Σ_i Σ_c w_ic g_ic g_icᵀ over per-example gradients g of
 *    every parameter (exact: w = p_c; mc: the drawn label, its stream replicated; empirical: the label);
 *  - marginal variances equal the diagonal of (N·F + τ·I)⁻¹ built by dense inversion;
 *  - the GLM functional covariance equals J Σ Jᵀ with J the logits' Jacobian taken row by row;
 *    the probit and mc links applied to that direct covariance give the glm predictive;
 *  - weight samples have the covariance Σ (5,000 draws);
 *  - the evidence equals −N·CE − τ/2‖W*‖² + P/2 log τ − ½ log det(N·F + τ·I) by Cholesky, and
 *    the optimised τ is a maximum of that dense evidence;
 *  - a posterior file reloads to the same predictions bit for bit;
 *  - a network beyond the limit is refused with TooManyParametersError; per-layer τ (a per-parameter τ here) gives the same evidence at equal τ.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import {
  fitCurvature,
  fitLaplace,
  FunctionalCovariance,
  jacobianBatch,
  disposeJacobianBatch,
  logMarginalLikelihood,
  Network,
  optimizeMarginalLikelihood,
  Posterior,
  PosteriorError,
  posteriorFromBytes,
  posteriorToBytes,
  predict,
  tensorData,
  type CurvatureFit,
  type FisherType,
} from '../../compute/laplace/index.ts';
import { TooManyParametersError } from '../../compute/laplace/errors.ts';
import { linkDraws } from '../../compute/laplace/links.ts';
import { fullParameterLimit } from '../../compute/laplace/structures/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { addOuter, buildCnnA, buildMlp, buildResidualModel, concat, example, exampleGradients, invert, logDetSpd, outputGradients, probabilities, randomInputs, randomLabels, relativeError, sampleCovariance, sandwich, scaleAddIdentity, zeros, type Dense, type Model } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

/** The mc labels as curvature.ts draws them with one draw per input: one Random(seed) per sweep, one uniform per example. */
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
  { name: 'MLP', model: () => buildMlp(4, 5, 3, 901, 'relu', 'linear'), shape: [4] },
  { name: 'CNN A', model: () => buildCnnA(902), shape: [8, 8, 2] },
];

describe.each(cases)('full structure on $name', ({ model: build, shape }) => {
  const count = 9;
  const batchSize = 4; // several batches, the last one short
  const seed = 17;
  const n = 40;
  const tau = 0.7;
  let model: Model;
  let x: tf.Tensor;
  let labels: Int32Array;
  let p: Float32Array;
  let classes: number;
  /** [example][class]: the gradient of −log p_c over every parameter. */
  let gradients: Float64Array[][];
  /** [example][class]: the gradient of logit c over every parameter. */
  let jacobians: Float64Array[][];
  let parameters: number;

  beforeAll(() => {
    model = build();
    x = randomInputs([count, ...shape], 903);
    p = probabilities(model, x);
    classes = p.length / count;
    labels = randomLabels(count, classes, 904);
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

  async function fitted(fisher: FisherType): Promise<{ network: Network; weights: tf.Tensor2D[]; fit: CurvatureFit }> {
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['full'], fisher, batchSize, seed });
    return { network, weights, fit };
  }

  it.each(['exact', 'mc', 'empirical'] as FisherType[])('the %s Fisher equals the dense sum of per-example gradient outer products', async (fisher) => {
    const { weights, fit } = await fitted(fisher);
    tf.dispose(weights);
    const drawn = drawnLabels(p, count, classes, seed);
    const expected = fisher === 'exact' ? reference(exactWeights) : fisher === 'mc' ? reference((i) => [[drawn[i], 1]]) : reference((i) => [[labels[i], 1]]);
    expect(fit.full!.rows).toBe(parameters);
    const error = relativeError(fit.full!.data, expected.data);
    console.log(`full ${fisher} Fisher, P = ${parameters}: relative error ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-5);
  });

  it('variances, the functional covariance, the glm links and samples match the dense covariance', async () => {
    const { network, weights, fit } = await fitted('exact');
    const posterior = new Posterior(network, weights, fit, { structure: 'full', n, tau, kfacDamping: 'exact' });
    const sigma = invert(scaleAddIdentity(reference(exactWeights), n, tau));

    const variances = posterior.marginalVariances();
    const diagonal = Float64Array.from({ length: parameters }, (_, i) => sigma.data[i * parameters + i]);
    expect(relativeError(concat(variances), diagonal)).toBeLessThanOrEqual(1e-4);

    const direct = jacobians.map((rows) => sandwich(rows, sigma));
    const functional = new FunctionalCovariance(posterior);
    const batch = jacobianBatch(network, weights, x, posterior.perturbedLayers);
    const covariance = functional.covariance(batch).arraySync().flat(2);
    const logits = batch.logits.arraySync();
    disposeJacobianBatch(batch);
    functional.dispose();
    const error = relativeError(covariance, direct.flatMap((c) => Array.from(c)));
    console.log(`full GLM covariance against J Σ Jᵀ: relative error ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-4);

    // probit: softmax(μ / √(1 + π/8 σ²)) with σ² the direct diagonal.
    const probit = await predict(posterior, tensorData(x, labels), { predictive: 'glm', link: 'probit' });
    const expectedProbit = logits.flatMap((row, i) => {
      const scaled = row.map((mu, c) => mu / Math.sqrt(1 + (Math.PI / 8) * direct[i][c * classes + c]));
      const top = Math.max(...scaled);
      const e = scaled.map((value) => Math.exp(value - top));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((value) => value / total);
    });
    expect(relativeError(probit, expectedProbit)).toBeLessThanOrEqual(1e-4);

    // mc: E[softmax(μ + L z_t)] with L the float64 Cholesky factor of the direct covariance, on the link's draws.
    const samples = 400;
    const linkSeed = 5;
    const mc = await predict(posterior, tensorData(x, labels), { predictive: 'glm', link: 'mc', samples, seed: linkSeed });
    const drawsTensor = linkDraws(samples, classes, linkSeed);
    const draws = drawsTensor.dataSync();
    drawsTensor.dispose();
    const expectedMc = logits.flatMap((mean, i) => {
      const c2 = direct[i];
      const l = new Float64Array(classes * classes);
      for (let j = 0; j < classes; j++) {
        let pivot = c2[j * classes + j];
        for (let k = 0; k < j; k++) pivot -= l[j * classes + k] ** 2;
        l[j * classes + j] = Math.sqrt(Math.max(pivot, 0));
        for (let r = j + 1; r < classes; r++) {
          let value = c2[r * classes + j];
          for (let k = 0; k < j; k++) value -= l[r * classes + k] * l[j * classes + k];
          l[r * classes + j] = l[j * classes + j] > 0 ? value / l[j * classes + j] : 0;
        }
      }
      const sum = new Float64Array(classes);
      for (let t = 0; t < samples; t++) {
        const f = mean.map((mu, r) => mu + Array.from({ length: classes }, (_, k) => l[r * classes + k] * draws[t * classes + k]).reduce((a, b) => a + b, 0));
        const top = Math.max(...f);
        const e = f.map((value) => Math.exp(value - top));
        const total = e.reduce((a, b) => a + b, 0);
        e.forEach((value, c) => (sum[c] += value / total / samples));
      }
      return Array.from(sum);
    });
    expect(relativeError(mc, expectedMc)).toBeLessThanOrEqual(1e-4);

    // Samples: their covariance is Σ, to the Monte Carlo error of 5,000 draws.
    const empirical = sampleCovariance(posterior, 5000, 11);
    const sampleError = relativeError(empirical.data, sigma.data);
    console.log(`full sample covariance (5,000 draws): relative error ${sampleError.toExponential(1)}`);
    expect(sampleError).toBeLessThanOrEqual(0.1);

    // The sampled predictive runs on those draws.
    const sampled = await predict(posterior, tensorData(x, labels), { predictive: 'sampled', samples: 5, seed: 3 });
    expect(sampled.length).toBe(count * classes);
    posterior.dispose();
  });

  it('the evidence equals the dense Laplace evidence, τ by marginal likelihood is its maximum, and a file reloads bit for bit', async () => {
    const { network, weights, fit } = await fitted('exact');
    const posterior = new Posterior(network, weights, fit, { structure: 'full', n, tau, kfacDamping: 'exact' });
    const dense = reference(exactWeights);
    const crossEntropy = -Array.from(labels).reduce((sum, y, i) => sum + Math.log(p[i * classes + y]), 0) / count;
    const squaredNorm = weights.reduce((sum, w) => sum + Array.from(w.dataSync()).reduce((s, v) => s + v * v, 0), 0);
    const evidence = (t: number) => -n * crossEntropy - (t / 2) * squaredNorm + (parameters / 2) * Math.log(t) - 0.5 * logDetSpd(scaleAddIdentity(dense, n, t));
    const value = logMarginalLikelihood(posterior);
    expect(Math.abs(value - evidence(tau))).toBeLessThanOrEqual(1e-4 * Math.abs(evidence(tau)));
    const optimum = optimizeMarginalLikelihood(posterior);
    const best = optimum.tau as number;
    expect(evidence(best)).toBeGreaterThanOrEqual(evidence(best * 1.05));
    expect(evidence(best)).toBeGreaterThanOrEqual(evidence(best / 1.05));
    expect(() => optimizeMarginalLikelihood(posterior, { perLayer: true })).toThrow(PosteriorError);
    // Per-layer τ is now a per-parameter τ (the dense precision N·F + diag(τ) decomposed; prior.test.ts checks it
    // against dense inversion): all layers at τ give the dense evidence at τ.
    const perLayer = logMarginalLikelihood(posterior.withHyperparameters(n, network.layers.map(() => tau)));
    expect(Math.abs(perLayer - evidence(tau))).toBeLessThanOrEqual(1e-4 * Math.abs(evidence(tau)));

    const bytes = await posteriorToBytes(posterior, model.toJSON(undefined, false));
    const { posterior: again } = await posteriorFromBytes(bytes);
    expect(again.structure).toBe('full');
    const data = tensorData(x, labels);
    for (const options of [{ predictive: 'glm' as const }, { predictive: 'glm' as const, link: 'mc' as const, samples: 50 }, { predictive: 'sampled' as const, samples: 4 }]) {
      expect(Array.from(await predict(again, data, options))).toEqual(Array.from(await predict(posterior, data, options)));
    }
    expect(logMarginalLikelihood(again)).toBe(value);
    again.dispose();
    again.network.dispose();
    posterior.dispose();
  });
});

describe('full structure on a residual graph (BatchNormalization, depthwise convolution, Add, swish)', () => {
  it("its diagonal is the diag structure's Fisher, and its glm predictive runs", async () => {
    const model = buildResidualModel(911);
    const x = randomInputs([7, 6, 6, 2], 912);
    const labels = randomLabels(7, 3, 913);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['diag', 'full'], fisher: 'exact', batchSize: 3 });
    const total = fit.full!.rows;
    const diagonal = Float64Array.from({ length: total }, (_, i) => fit.full!.data[i * total + i]);
    expect(relativeError(diagonal, concat(fit.diag!))).toBeLessThanOrEqual(1e-5);
    const posterior = new Posterior(network, weights, fit, { structure: 'full', n: 20, tau: 1, kfacDamping: 'exact' });
    const glm = await predict(posterior, tensorData(x, labels));
    expect(glm.every(Number.isFinite)).toBe(true);
    posterior.dispose();
    network.dispose();
    x.dispose();
  });
});

describe('full structure limits', () => {
  it(`refuses more than ${fullParameterLimit} parameters before any work, in one sentence`, async () => {
    const model = buildMlp(60, 50, 3, 905); // 61·50 + 51·3 = 3,203 parameters
    const x = randomInputs([4, 60], 906);
    const labels = randomLabels(4, 3, 907);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    await expect(fitCurvature(network, weights, tensorData(x, labels), { kinds: ['full'] })).rejects.toThrow(TooManyParametersError);
    await expect(fitCurvature(network, weights, tensorData(x, labels), { kinds: ['full'] })).rejects.toThrow(/at most 3,000 parameters .* has 3,203; use lowrank/);
    await expect(fitLaplace(model, tensorData(x, labels), { curvature: 'full' })).rejects.toThrow(TooManyParametersError);
    tf.dispose([x, ...weights]);
    model.dispose();
  });

  it('fitLaplace fits full end to end with τ by marginal likelihood', async () => {
    const model = buildMlp(3, 4, 2, 908);
    const x = randomInputs([12, 3], 909);
    const labels = randomLabels(12, 2, 910);
    const laplace = await fitLaplace(model, tensorData(x, labels), { curvature: 'full' });
    expect(laplace.posterior.structure).toBe('full');
    expect(laplace.tau).toBeGreaterThan(0);
    const probabilities = await laplace.predict(tensorData(x, labels));
    expect(probabilities.length).toBe(24);
    laplace.dispose();
    x.dispose();
    model.dispose();
  });
});
