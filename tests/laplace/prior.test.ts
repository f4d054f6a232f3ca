/**
 * The prior options against dense float64 computations built by hand, on a tiny MLP (P = 31):
 *  - a per-parameter τ (diag, last-layer, full, lowrank): marginal variances are the diagonal of
 *    (s·F + diag(τ))⁻¹ by Gauss–Jordan inversion, with F the fit's curvature as a dense matrix
 *    (diag(d), the last-layer or full Fisher, U Λ Uᵀ); the GLM functional covariance is J Σ Jᵀ with J
 *    the logits' Jacobian from tf's gradients of tfjs-layers; the sample covariance is Σ (4,000
 *    draws); the evidence is log p(D|W*) − ½ Σ τ_i (θ_i − μ_i)² + ½ Σ log τ_i − ½ log det by Cholesky,
 *    log p(D|W*) the cross-entropy through tfjs-layers' own forward pass;
 *  - kfac: a per-parameter τ that varies within a layer is refused (PriorPrecisionError), one
 *    constant per layer equals that per-layer τ;
 *  - a prior mean: the evidence's prior term is ½ (θ − μ₀)ᵀ diag(τ) (θ − μ₀) in closed form;
 *  - a temperature T: Σ = (s·F/T + τ)⁻¹ in variances, functional covariance and samples, and the
 *    data term over T;
 *  - all three survive a posterior file, and a default posterior's file header names none of them.
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
  posteriorFromBytes,
  posteriorToBytes,
  predict,
  PriorPrecisionError,
  regressionData,
  tensorData,
  type CurvatureFit,
  type Structure,
} from '../../compute/laplace/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { buildMlp, concat, example, invert, logDetSpd, logProbabilities, lowrankMatrix, outputGradients, randomInputs, randomLabels, relativeError, sampleCovariance, sandwich, zeros, type Dense, type Model } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

const count = 12;
const n = 50;

describe('prior options on a tiny MLP', () => {
  let model: Model;
  let x: tf.Tensor;
  let labels: Int32Array;
  let classes: number;
  let parameters: number;
  /** [example][class]: the gradient of logit c over every parameter. */
  let jacobians: Float64Array[][];
  /** −N × the mean cross-entropy, through tfjs-layers' forward pass. */
  let logLikelihood: number;
  let fit: CurvatureFit;
  let network: Network;
  let weights: tf.Tensor2D[];
  let theta: Float64Array;

  beforeAll(async () => {
    model = buildMlp(3, 4, 3, 4101, 'tanh', 'linear');
    x = randomInputs([count, 3], 4102);
    labels = randomLabels(count, 3, 4103);
    classes = 3;
    jacobians = [];
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      jacobians.push(Array.from({ length: classes }, (_, c) => concat(outputGradients(model, xi, c))));
      xi.dispose();
    }
    parameters = jacobians[0][0].length;
    const logp = tf.tidy(() => logProbabilities(model, x).arraySync());
    logLikelihood = (n / count) * labels.reduce((sum, label, i) => sum + logp[i][label], 0);
    network = new Network(model);
    weights = network.matricesFromModel(model);
    theta = concat(weights.map((w) => Float64Array.from(w.dataSync())));
    fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['diag', 'kfac', 'last-layer', 'full', 'lowrank'], fisher: 'exact', batchSize: 5, seed: 3, rank: 6, lowrankIterations: 60, lowrankTolerance: 1e-9 });
    return () => {
      tf.dispose([x, ...weights]);
      model.dispose();
    };
  });

  /** The fitted curvature of `structure` over the parameters it covers, as a dense matrix, and where they start among all. */
  function denseCurvature(structure: Structure): { f: Dense; start: number } {
    switch (structure) {
      case 'diag': {
        const d = concat(fit.diag!);
        const f = zeros(d.length);
        d.forEach((value, i) => (f.data[i * d.length + i] = value));
        return { f, start: 0 };
      }
      case 'last-layer':
        return { f: { n: fit.lastLayer!.rows, data: Float64Array.from(fit.lastLayer!.data) }, start: parameters - fit.lastLayer!.rows };
      case 'full':
        return { f: { n: parameters, data: Float64Array.from(fit.full!.data) }, start: 0 };
      case 'lowrank':
        return { f: lowrankMatrix(fit), start: 0 };
      default:
        throw new Error(`no dense form for ${structure}`);
    }
  }

  /** s·F + diag(τ). */
  function precision(f: Dense, scale: number, tau: Float64Array): Dense {
    const h = { n: f.n, data: f.data.map((value) => scale * value) };
    for (let i = 0; i < f.n; i++) h.data[i * f.n + i] += tau[i];
    return h;
  }

  /** Seeded per-parameter τ spread over two decades. */
  const spreadTau = (size: number, seed: number) => {
    const random = new Random(seed);
    return Float64Array.from({ length: size }, () => 10 ** (2 * random.uniform() - 1));
  };

  function functionalCovariance(posterior: Posterior): number[] {
    const functional = new FunctionalCovariance(posterior);
    const batch = jacobianBatch(network, weights, x, posterior.perturbedLayers);
    const covariance = functional.covariance(batch).arraySync().flat(2);
    disposeJacobianBatch(batch);
    functional.dispose();
    return covariance;
  }

  /** Σ and everything read from it against the posterior's own computations. */
  function checkAgainstDense(posterior: Posterior, sigma: Dense, start: number, label: string): void {
    const size = sigma.n;
    const variances = concat(posterior.marginalVariances());
    const diagonal = Float64Array.from({ length: size }, (_, i) => sigma.data[i * size + i]);
    const varianceError = relativeError(variances, diagonal);
    const jacobianRows = jacobians.map((rows) => rows.map((row) => row.subarray(start, start + size)));
    const direct = jacobianRows.flatMap((rows) => Array.from(sandwich(rows, sigma)));
    const functionalError = relativeError(functionalCovariance(posterior), direct);
    const sampleError = relativeError(sampleCovariance(posterior, 4000, 21).data, sigma.data);
    console.log(`${label}: variances ${varianceError.toExponential(1)}, J Σ Jᵀ ${functionalError.toExponential(1)}, samples (4,000) ${sampleError.toExponential(1)}`);
    expect(varianceError).toBeLessThanOrEqual(1e-4);
    expect(functionalError).toBeLessThanOrEqual(1e-4);
    expect(sampleError).toBeLessThanOrEqual(0.1);
  }

  it.each(['diag', 'last-layer', 'full', 'lowrank'] as Structure[])('%s with a per-parameter τ: variances, functional covariance, samples and evidence match s·F + diag(τ)', (structure) => {
    const { f, start } = denseCurvature(structure);
    const tau = spreadTau(f.n, 4104);
    const base = new Posterior(network, weights, fit, { structure, n, tau: 1, kfacDamping: 'exact' });
    const posterior = base.withHyperparameters(n, Float32Array.from(tau));
    const tau32 = Float64Array.from(Float32Array.from(tau));
    const h = precision(f, n, tau32);
    checkAgainstDense(posterior, invert(h), start, `${structure}, per-parameter τ`);
    // Evidence: the closed form with the dense log det.
    let prior = 0;
    for (let i = 0; i < f.n; i++) prior += -0.5 * tau32[i] * theta[start + i] ** 2 + 0.5 * Math.log(tau32[i]);
    const expected = logLikelihood + prior - 0.5 * logDetSpd(h);
    const value = logMarginalLikelihood(posterior);
    console.log(`${structure}, per-parameter τ: evidence ${value.toFixed(6)} against ${expected.toFixed(6)}`);
    expect(Math.abs(value - expected)).toBeLessThanOrEqual(1e-5 * Math.abs(expected));
  });

  it("last-layer's probit predictive with a per-parameter τ: softmax(μ / √(1 + π/8·diag J Σ Jᵀ)) with Σ the dense inverse", async () => {
    const { f, start } = denseCurvature('last-layer');
    const tau = spreadTau(f.n, 4110);
    const posterior = new Posterior(network, weights, fit, { structure: 'last-layer', n, tau: 1, kfacDamping: 'exact', parameterTau: tau });
    const sigma = invert(precision(f, n, tau));
    const logits = tf.tidy(() => (model.apply(x) as tf.Tensor2D).arraySync());
    const expected = logits.flatMap((row, i) => {
      const covariance = sandwich(jacobians[i].map((j) => j.subarray(start)), sigma);
      const scaled = row.map((mu, c) => mu / Math.sqrt(1 + (Math.PI / 8) * covariance[c * classes + c]));
      const top = Math.max(...scaled);
      const e = scaled.map((value) => Math.exp(value - top));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((value) => value / total);
    });
    for (const options of [{ predictive: 'probit' as const }, { predictive: 'glm' as const, link: 'probit' as const }]) {
      expect(relativeError(await predict(posterior, tensorData(x, labels), options), expected)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('full and lowrank take one τ per layer as a per-parameter τ', () => {
    for (const structure of ['full', 'lowrank'] as Structure[]) {
      const { f } = denseCurvature(structure);
      const posterior = new Posterior(network, weights, fit, { structure, n, tau: 1, kfacDamping: 'exact' }).withHyperparameters(n, [0.3, 4]);
      const tau = Float64Array.from({ length: parameters }, (_, i) => (i < network.parameterCount(0) ? 0.3 : 4));
      checkAgainstDense(posterior, invert(precision(f, n, tau)), 0, `${structure}, per-layer τ`);
    }
  });

  it.each(['diag', 'full', 'lowrank'] as Structure[])('%s: the marginal likelihood optimised from a per-parameter τ is the scalar optimum of the dense evidence', (structure) => {
    const { f } = denseCurvature(structure);
    const squared = theta.reduce((sum, value) => sum + value * value, 0);
    const dense = (t: number) => logLikelihood - (t / 2) * squared + (parameters / 2) * Math.log(t) - 0.5 * logDetSpd(precision(f, n, new Float64Array(parameters).fill(t)));
    const base = new Posterior(network, weights, fit, { structure, n, tau: 1, kfacDamping: 'exact' });
    const starts = [base.withHyperparameters(n, spreadTau(parameters, 4111)), ...(structure === 'diag' ? [] : [base.withHyperparameters(n, [0.2, 9])])];
    for (const start of starts) {
      const optimum = optimizeMarginalLikelihood(start);
      const best = optimum.tau as number;
      expect(typeof best).toBe('number');
      expect(optimum.posterior.hasParameterTau).toBe(false);
      expect(dense(best)).toBeGreaterThanOrEqual(dense(best * 1.01));
      expect(dense(best)).toBeGreaterThanOrEqual(dense(best / 1.01));
      expect(Math.abs(optimum.logEvidence - dense(best))).toBeLessThanOrEqual(1e-5 * Math.abs(dense(best)));
    }
  });

  it('kfac refuses a per-parameter τ that varies within a layer and takes one that is constant per layer exactly', () => {
    const base = new Posterior(network, weights, fit, { structure: 'kfac', n, tau: 1, kfacDamping: 'exact' });
    expect(() => base.withHyperparameters(n, spreadTau(parameters, 4105))).toThrow(PriorPrecisionError);
    const sizes = network.layers.map((_, layer) => network.parameterCount(layer));
    const constant = Float64Array.from({ length: parameters }, (_, i) => (i < sizes[0] ? 0.5 : 3));
    const fromParameters = base.withHyperparameters(n, constant);
    const fromLayers = base.withHyperparameters(n, [0.5, 3]);
    expect(fromParameters.spec.layerTau).toEqual([0.5, 3]);
    expect(concat(fromParameters.marginalVariances())).toEqual(concat(fromLayers.marginalVariances()));
    expect(logMarginalLikelihood(fromParameters)).toBe(logMarginalLikelihood(fromLayers));
  });

  it.each(['diag', 'full'] as Structure[])('%s with a prior mean: the evidence prior term is ½ (θ − μ₀)ᵀ diag(τ) (θ − μ₀)', (structure) => {
    const { f } = denseCurvature(structure);
    const tau = spreadTau(parameters, 4106);
    const random = new Random(4107);
    const mean = Float64Array.from({ length: parameters }, () => random.normals(1)[0] * 0.5);
    const posterior = new Posterior(network, weights, fit, { structure, n, tau: 1, kfacDamping: 'exact', parameterTau: tau, priorMean: mean });
    let prior = 0;
    for (let i = 0; i < parameters; i++) prior += -0.5 * tau[i] * (theta[i] - mean[i]) ** 2 + 0.5 * Math.log(tau[i]);
    const expected = logLikelihood + prior - 0.5 * logDetSpd(precision(f, n, tau));
    expect(Math.abs(logMarginalLikelihood(posterior) - expected)).toBeLessThanOrEqual(1e-5 * Math.abs(expected));
    // A scalar mean and τ: −(τ/2)‖θ − μ₀‖² + (P/2) log τ.
    const scalar = new Posterior(network, weights, fit, { structure, n, tau: 2, kfacDamping: 'exact', priorMean: 0.1 });
    const squared = theta.reduce((sum, value) => sum + (value - 0.1) ** 2, 0);
    const expectedScalar = logLikelihood - squared + (parameters / 2) * Math.log(2) - 0.5 * logDetSpd(precision(f, n, new Float64Array(parameters).fill(2)));
    expect(Math.abs(logMarginalLikelihood(scalar) - expectedScalar)).toBeLessThanOrEqual(1e-5 * Math.abs(expectedScalar));
    // The mean moves the evidence only: variances are those at μ₀ = 0.
    const atZero = new Posterior(network, weights, fit, { structure, n, tau: 2, kfacDamping: 'exact' });
    expect(concat(scalar.marginalVariances())).toEqual(concat(atZero.marginalVariances()));
  });

  it.each(['diag', 'kfac', 'last-layer', 'full'] as Structure[])('%s with temperature T = 4: Σ = (N·F/T + τ)⁻¹ and the data term over T', (structure) => {
    const temperature = 4;
    const tau = 0.8;
    const posterior = new Posterior(network, weights, fit, { structure, n, tau, kfacDamping: 'exact', temperature });
    let f: Dense;
    let start = 0;
    if (structure === 'kfac') {
      // Block-diagonal A ⊗ G per layer, built entry by entry.
      const blocks = fit.kfac!.map(({ a, g }) => {
        const size = a.rows * g.rows;
        const out = zeros(size);
        for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.rows; j++) for (let k = 0; k < g.rows; k++) for (let l = 0; l < g.rows; l++) out.data[(i * g.rows + k) * size + j * g.rows + l] = a.data[i * a.rows + j] * g.data[k * g.rows + l];
        return out;
      });
      f = zeros(parameters);
      let at = 0;
      for (const block of blocks) {
        for (let i = 0; i < block.n; i++) for (let j = 0; j < block.n; j++) f.data[(at + i) * parameters + at + j] = block.data[i * block.n + j];
        at += block.n;
      }
    } else ({ f, start } = denseCurvature(structure));
    const h = precision(f, n / temperature, new Float64Array(f.n).fill(tau));
    checkAgainstDense(posterior, invert(h), start, `${structure}, T = ${temperature}`);
    const squared = theta.subarray(start).reduce((sum, value) => sum + value * value, 0);
    const expected = logLikelihood / temperature - (tau / 2) * squared + (f.n / 2) * Math.log(tau) - 0.5 * logDetSpd(h);
    expect(Math.abs(logMarginalLikelihood(posterior) - expected)).toBeLessThanOrEqual(1e-5 * Math.abs(expected));
  });

  it('subnetwork with temperature T = 3 and a prior mean: Σ = (N·F_SS/T + τ)⁻¹ over the chosen weights (the rest fixed), the prior over those weights only', async () => {
    const temperature = 3;
    const tau = 0.7;
    const priorMean = 0.05;
    const chosen = Array.from({ length: parameters }, (_, i) => i).filter((i) => i % 3 !== 1);
    const subFit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['subnetwork'], fisher: 'exact', batchSize: 5, subnetworkIndices: chosen });
    const posterior = new Posterior(network, weights, subFit, { structure: 'subnetwork', n, tau, kfacDamping: 'exact', temperature, priorMean });
    // The dense GGN (the full structure's) restricted to the chosen rows and columns, embedded with zeros elsewhere.
    const { f } = denseCurvature('full');
    const k = chosen.length;
    const restricted = zeros(k);
    chosen.forEach((row, i) => chosen.forEach((col, j) => (restricted.data[i * k + j] = f.data[row * parameters + col])));
    const h = precision(restricted, n / temperature, new Float64Array(k).fill(tau));
    const inverse = invert(h);
    const sigma = zeros(parameters);
    chosen.forEach((row, i) => chosen.forEach((col, j) => (sigma.data[row * parameters + col] = inverse.data[i * k + j])));
    checkAgainstDense(posterior, sigma, 0, `subnetwork (${k} of ${parameters}), T = ${temperature}, μ₀ = ${priorMean}`);
    const squared = chosen.reduce((sum, i) => sum + (theta[i] - priorMean) ** 2, 0);
    const expected = logLikelihood / temperature - (tau / 2) * squared + (k / 2) * Math.log(tau) - 0.5 * logDetSpd(h);
    expect(Math.abs(logMarginalLikelihood(posterior) - expected)).toBeLessThanOrEqual(1e-5 * Math.abs(expected));
  });

  it('per-parameter τ, prior mean and temperature survive a posterior file; a default header names none of them', async () => {
    const tau = spreadTau(parameters, 4108);
    const posterior = new Posterior(network, weights, fit, { structure: 'full', n, tau: 1, kfacDamping: 'exact', parameterTau: tau, priorMean: 0.2, temperature: 3 });
    const loaded = (await posteriorFromBytes(await posteriorToBytes(posterior, model.toJSON(undefined, false)))).posterior;
    expect(Array.from(loaded.spec.parameterTau!)).toEqual(Array.from(tau));
    expect(loaded.spec.priorMean).toBe(0.2);
    expect(loaded.temperature).toBe(3);
    expect(logMarginalLikelihood(loaded)).toBe(logMarginalLikelihood(posterior));
    const data = tensorData(x, labels);
    expect(await predict(loaded, data)).toEqual(await predict(posterior, data));
    loaded.dispose();
    const plain = new Posterior(network, weights, fit, { structure: 'diag', n, tau: 1, kfacDamping: 'exact' });
    const bytes = await posteriorToBytes(plain, model.toJSON(undefined, false));
    const header = new TextDecoder().decode(bytes.subarray(12, 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)));
    for (const field of ['parameterTau', 'priorMean', 'temperature']) expect(header).not.toContain(field);
  });

  it('fitLaplace takes a per-parameter τ, a prior mean and a temperature, and refuses bad ones in one sentence', async () => {
    const tau = spreadTau(parameters, 4109);
    const laplace = await fitLaplace(model, tensorData(x, labels), { curvature: 'diag', fisher: 'exact', n, tau: Float32Array.from(tau), priorMean: 0.1, temperature: 2 });
    expect(laplace.posterior.spec.parameterTau!.length).toBe(parameters);
    expect(laplace.posterior.temperature).toBe(2);
    const variances = concat(laplace.posterior.marginalVariances());
    const d = concat(fit.diag!);
    const tau32 = Float32Array.from(tau);
    expect(relativeError(variances, Float64Array.from(d, (value, i) => 1 / ((n / 2) * value + tau32[i])))).toBeLessThanOrEqual(1e-6);
    laplace.posterior.dispose();
    await expect(fitLaplace(model, tensorData(x, labels), { curvature: 'diag', temperature: 0 })).rejects.toThrow(/^The temperature T must be a positive finite number, got 0\.$/);
    await expect(fitLaplace(model, tensorData(x, labels), { curvature: 'diag', priorMean: Number.NaN })).rejects.toThrow(/prior mean must be a finite number/);
    await expect(fitLaplace(model, tensorData(x, labels), { curvature: 'kfac', tau: tau })).rejects.toThrow(PriorPrecisionError);
    await expect(fitLaplace(model, tensorData(x, labels), { curvature: 'diag', tau: [1, 2, 3] })).rejects.toThrow(/one value per parameter layer \(2\) or one per perturbed parameter \(31\), got 3/);
  });
});

describe('temperature on a regression', () => {
  it('diag at σ = 0.7, T = 2: Σ = (N/(σ²T)·F₁ + τ)⁻¹ and the evidence −N/2·log 2πσ² − N·mean ½r²/(σ²T) + prior − ½ log det', async () => {
    const model = buildMlp(2, 4, 1, 4201, 'tanh', 'linear');
    const x = randomInputs([10, 2], 4202);
    const y = Array.from(x.arraySync() as number[][], ([a, b]) => Math.cos(a) - b);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, regressionData(x, y), { kinds: ['diag'], fisher: 'exact', likelihood: 'regression', batchSize: 4, seed: 1 });
    const [sigma, temperature, tau] = [0.7, 2, 1.5];
    const posterior = new Posterior(network, weights, fit, { structure: 'diag', n, tau, kfacDamping: 'exact', sigma, temperature });
    const outputs = tf.tidy(() => (model.apply(x) as tf.Tensor).dataSync());
    const meanHalfSquares = y.reduce((sum, value, i) => sum + 0.5 * (value - outputs[i]) ** 2, 0) / y.length;
    const theta = concat(weights.map((w) => Float64Array.from(w.dataSync())));
    const d = concat(fit.diag!);
    const scale = n / (sigma * sigma * temperature);
    const variances = Float64Array.from(d, (value) => 1 / (scale * value + tau));
    expect(relativeError(concat(posterior.marginalVariances()), variances)).toBeLessThanOrEqual(1e-12);
    const logDet = d.reduce((sum, value) => sum + Math.log(scale * value + tau), 0);
    const squared = theta.reduce((sum, value) => sum + value * value, 0);
    const expected = -(n / 2) * Math.log(2 * Math.PI * sigma * sigma) - (n * meanHalfSquares) / (sigma * sigma * temperature) - (tau / 2) * squared + (theta.length / 2) * Math.log(tau) - 0.5 * logDet;
    const value = logMarginalLikelihood(posterior);
    console.log(`regression, σ = ${sigma}, T = ${temperature}: evidence ${value.toFixed(6)} against ${expected.toFixed(6)}`);
    expect(Math.abs(value - expected)).toBeLessThanOrEqual(1e-5 * Math.abs(expected));
    // σ by the marginal likelihood keeps a per-parameter τ: the σ found maximises the closed form above over σ.
    const perParameter = Float64Array.from(theta, (_, i) => 0.5 + (i % 3));
    const laplace = await fitLaplace(model, regressionData(x, y), { curvature: 'diag', fisher: 'exact', likelihood: 'regression', n, tau: perParameter, temperature });
    expect(Array.from(laplace.posterior.spec.parameterTau!)).toEqual(Array.from(perParameter));
    const closedForm = (s: number) => {
      const at = n / (s * s * temperature);
      const prior = theta.reduce((sum, value, i) => sum - 0.5 * perParameter[i] * value * value + 0.5 * Math.log(perParameter[i]), 0);
      return -(n / 2) * Math.log(2 * Math.PI * s * s) - (n * meanHalfSquares) / (s * s * temperature) + prior - 0.5 * d.reduce((sum, value, i) => sum + Math.log(at * value + perParameter[i]), 0);
    };
    const best = laplace.sigma!;
    console.log(`regression σ by the evidence with a per-parameter τ: ${best.toFixed(5)}`);
    expect(closedForm(best)).toBeGreaterThanOrEqual(closedForm(best * 1.01));
    expect(closedForm(best)).toBeGreaterThanOrEqual(closedForm(best / 1.01));
    expect(Math.abs(logMarginalLikelihood(laplace.posterior) - closedForm(best))).toBeLessThanOrEqual(1e-5 * Math.abs(closedForm(best)));
    laplace.dispose();
    tf.dispose([x, ...weights]);
    model.dispose();
  });
});
