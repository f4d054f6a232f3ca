/**
 * The likelihoods beyond the softmax, each against an independent computation in float64:
 *  - regression with last-layer Laplace on a network whose body is fixed is Bayesian linear regression
 *    on its features: posterior mean and covariance, predictive variance and log evidence in closed
 *    form (the evidence as the Gaussian marginal N(y; 0, σ²I + ΦΦᵀ/τ), a route that shares nothing
 *    with the Laplace formula);
 *  - σ and τ tuned together by the marginal likelihood against a grid search of the Laplace evidence
 *    written out here;
 *  - a binary classifier with one sigmoid unit against the same network as a two-class softmax over
 *    the logits [0, z]: the sigmoid's curvature is the softmax's on the z column, and its GLM
 *    predictive and evidence follow from that block;
 *  - every mismatch of output and likelihood refused with a named error.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import {
  fitCurvature,
  fitLaplace,
  loadLaplaceFromBytes,
  logMarginalLikelihood,
  Network,
  PosteriorError,
  regressionData,
  tensorData,
  UnsupportedModelError,
  type FisherType,
} from '../../compute/laplace/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { invert, outputGradients, randomInputs, seedWeights, type Dense } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

// ---------------------------------------------------------------------------
// float64 linear algebra of the references

function cholesky(a: Dense): Float64Array {
  const { n, data } = a;
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let pivot = data[j * n + j];
    for (let k = 0; k < j; k++) pivot -= l[j * n + k] ** 2;
    if (!(pivot > 0)) throw new Error('not positive definite');
    l[j * n + j] = Math.sqrt(pivot);
    for (let i = j + 1; i < n; i++) {
      let value = data[i * n + j];
      for (let k = 0; k < j; k++) value -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = value / l[j * n + j];
    }
  }
  return l;
}

const logDet = (a: Dense) => {
  const l = cholesky(a);
  let sum = 0;
  for (let i = 0; i < a.n; i++) sum += 2 * Math.log(l[i * a.n + i]);
  return sum;
};

/** Σ_ij u_i A_ij v_j. */
function quadratic(a: Dense, u: ArrayLike<number>, v: ArrayLike<number> = u): number {
  let sum = 0;
  for (let i = 0; i < a.n; i++) for (let j = 0; j < a.n; j++) sum += u[i] * a.data[i * a.n + j] * v[j];
  return sum;
}

/** The features [tanh(x W + b), 1] of a Dense tanh layer, in float64 from its weights. */
function tanhFeatures(layer: tfl.layers.Layer, x: tf.Tensor): Float64Array[] {
  const [kernel, bias] = layer.getWeights().map((w) => w.dataSync());
  const [count, inputs] = x.shape as [number, number];
  const hidden = bias.length;
  const values = x.dataSync();
  return Array.from({ length: count }, (_, b) => {
    const row = new Float64Array(hidden + 1);
    for (let j = 0; j < hidden; j++) {
      let z = bias[j];
      for (let i = 0; i < inputs; i++) z += values[b * inputs + i] * kernel[i * hidden + j];
      row[j] = Math.tanh(z);
    }
    row[hidden] = 1;
    return row;
  });
}

/** (1/σ²) ΦᵀΦ + τ I: Bayesian linear regression's posterior precision. */
function blrPrecision(phi: Float64Array[], sigma: number, tau: number): Dense {
  const d = phi[0].length;
  const out: Dense = { n: d, data: new Float64Array(d * d) };
  for (const row of phi) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out.data[i * d + j] += (row[i] * row[j]) / (sigma * sigma);
  for (let i = 0; i < d; i++) out.data[i * d + i] += tau;
  return out;
}

const relative = (actual: number, reference: number) => Math.abs(actual - reference) / Math.abs(reference);

// ---------------------------------------------------------------------------

function regressionModel(seed: number): tfl.Sequential {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [3], units: 5, activation: 'tanh', name: `reg_body_${seed}` }), tfl.layers.dense({ units: 1, name: `reg_out_${seed}` })],
  });
  seedWeights(model, seed);
  return model;
}

describe('regression, last layer on a fixed body, is Bayesian linear regression on its features', () => {
  const count = 40;
  const sigma = 0.3;
  const tau = 2;
  let model: tfl.Sequential;
  let x: tf.Tensor;
  let xTest: tf.Tensor;
  let y: number[];
  let phi: Float64Array[];
  let phiTest: Float64Array[];
  let mean: Float64Array;
  let covariance: Dense;

  beforeAll(() => {
    model = regressionModel(71);
    x = randomInputs([count, 3], 72);
    xTest = randomInputs([30, 3], 73);
    const body = model.layers[0];
    phi = tanhFeatures(body, x);
    phiTest = tanhFeatures(body, xTest);
    const random = new Random(74);
    const truth = [0.8, -1.1, 0.4, 0.9, -0.3, 0.2];
    const noise = random.normals(count);
    y = phi.map((row, b) => row.reduce((sum, value, i) => sum + value * truth[i], 0) + sigma * noise[b]);
    // The closed-form posterior: covariance A⁻¹, mean A⁻¹ Φᵀ y / σ²; the MAP the Laplace posterior sits at is that mean.
    covariance = invert(blrPrecision(phi, sigma, tau));
    const projected = new Float64Array(6);
    phi.forEach((row, b) => row.forEach((value, i) => (projected[i] += (value * y[b]) / (sigma * sigma))));
    mean = Float64Array.from({ length: 6 }, (_, i) => projected.reduce((sum, value, j) => sum + covariance.data[i * 6 + j] * value, 0));
    model.layers[1].setWeights([tf.tensor2d(Float32Array.from(mean.slice(0, 5)), [5, 1]), tf.tensor1d(Float32Array.from(mean.slice(5)))]);
    return () => {
      tf.dispose([x, xTest]);
      model.dispose();
    };
  });

  it('has the posterior mean, covariance, predictive variance and log evidence of the closed form', async () => {
    const laplace = await fitLaplace(model, regressionData(x, y), { curvature: 'last-layer', fisher: 'exact', likelihood: 'regression', sigma, tau });
    expect(laplace.sigma).toBe(sigma);
    // Marginal variances: the diagonal of A⁻¹.
    const variances = laplace.posterior.marginalVariances()[0];
    const worstVariance = Math.max(...Array.from(variances, (value, i) => relative(value, covariance.data[i * 6 + i])));
    // The predictive at 30 inputs pins the whole covariance (30 > 21 entries of a symmetric 6 × 6): φ̄ᵀ A⁻¹ φ̄ + σ².
    const predictive = await laplace.predictRegression(xTest);
    const worstMean = Math.max(...phiTest.map((row, b) => Math.abs(predictive.mean[b] - row.reduce((sum, value, i) => sum + value * mean[i], 0))));
    const worstPredictive = Math.max(...phiTest.map((row, b) => relative(predictive.variance[b], quadratic(covariance, row) + sigma * sigma)));
    // The evidence: log N(y; 0, σ²I + ΦΦᵀ/τ), by Cholesky of the n × n marginal covariance.
    const marginal: Dense = { n: count, data: new Float64Array(count * count) };
    for (let a = 0; a < count; a++) for (let b = 0; b < count; b++) marginal.data[a * count + b] = phi[a].reduce((sum, value, i) => sum + value * phi[b][i], 0) / tau + (a === b ? sigma * sigma : 0);
    const logEvidence = -0.5 * count * Math.log(2 * Math.PI) - 0.5 * logDet(marginal) - 0.5 * quadratic(invert(marginal), y);
    const evidence = logMarginalLikelihood(laplace.posterior);
    console.log(
      `regression vs BLR: variances ${worstVariance.toExponential(1)}, predictive mean ${worstMean.toExponential(1)} (abs), variance ${worstPredictive.toExponential(1)}, evidence ${evidence.toFixed(6)} vs ${logEvidence.toFixed(6)}`,
    );
    expect(worstVariance).toBeLessThan(1e-5);
    expect(worstMean).toBeLessThan(1e-5);
    expect(worstPredictive).toBeLessThan(1e-5);
    expect(relative(evidence, logEvidence)).toBeLessThan(1e-5);
    // The same numbers after a trip through the posterior file, which remembers the likelihood and σ.
    const again = await loadLaplaceFromBytes(await laplace.toBytes());
    expect(again.sigma).toBe(sigma);
    expect(await again.predictRegression(xTest)).toEqual(predictive);
    again.dispose();
    laplace.dispose();
  });

  it('tunes σ and τ together to the maximum of the Laplace evidence, found here by a grid search', async () => {
    const laplace = await fitLaplace(model, regressionData(x, y), { curvature: 'last-layer', fisher: 'exact', likelihood: 'regression' });
    // The Laplace evidence at W* over (τ, σ), written out: −N(½ log 2πσ² + R/σ²) − (τ/2)‖W*‖² + (P/2) log τ − ½ log det(ΦᵀΦ/σ² + τI), R = mean ½(y − f)².
    const weights = Float64Array.from(model.layers[1].getWeights().flatMap((w) => Array.from(w.dataSync())));
    const residual = phi.reduce((sum, row, b) => sum + 0.5 * (y[b] - row.reduce((f, value, i) => f + value * weights[i], 0)) ** 2, 0) / count;
    const norm = weights.reduce((sum, value) => sum + value * value, 0);
    const evidenceAt = (logTau: number, logSigma: number) => {
      const [t, s] = [10 ** logTau, 10 ** logSigma];
      return -count * (0.5 * Math.log(2 * Math.PI * s * s) + residual / (s * s)) - 0.5 * t * norm + 3 * Math.log(t) - 0.5 * logDet(blrPrecision(phi, s, t));
    };
    let best = { logTau: 0, logSigma: 0, value: -Infinity };
    const scan = (tauCenter: number, sigmaCenter: number, half: number, step: number) => {
      for (let a = -half; a <= half + 1e-12; a += step)
        for (let b = -half; b <= half + 1e-12; b += step) {
          const value = evidenceAt(tauCenter + a, sigmaCenter + b);
          if (value > best.value) best = { logTau: tauCenter + a, logSigma: sigmaCenter + b, value };
        }
    };
    scan(0, -1, 3, 0.05);
    scan(best.logTau, best.logSigma, 0.06, 0.001);
    const { sigma, tau } = laplace;
    const evidence = logMarginalLikelihood(laplace.posterior);
    console.log(`σ, τ by marglik: ${sigma!.toFixed(5)}, ${tau.toFixed(5)}; grid ${(10 ** best.logSigma).toFixed(5)}, ${(10 ** best.logTau).toFixed(5)}; evidence ${evidence.toFixed(6)} vs grid ${best.value.toFixed(6)}`);
    expect(Math.abs(Math.log10(sigma!) - best.logSigma)).toBeLessThan(2e-3);
    expect(Math.abs(Math.log10(tau) - best.logTau)).toBeLessThan(2e-3);
    // The optimiser's point is at least as good as the grid's, and the library's evidence is this one.
    expect(evidence).toBeGreaterThanOrEqual(best.value - 1e-6 * Math.abs(best.value));
    expect(relative(evidence, evidenceAt(Math.log10(tau), Math.log10(sigma!)))).toBeLessThan(1e-6);
    laplace.dispose();
  });
});

describe('regression on the whole network', () => {
  // One output is the common case, and tf.oneHot refuses its depth 1 (it once failed there).
  it.each([1, 2])('%i output(s): has the diag curvature Σ_k J_k² / count and the GLM variance Σ_θ J_kθ² / (N/σ²·d + τ) + σ² of its Jacobians', async (outputs) => {
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [3], units: 4, activation: 'relu', name: `reg${outputs}_hidden` }), tfl.layers.dense({ units: outputs, name: `reg${outputs}_out` })],
    });
    seedWeights(model, 61);
    const count = 9;
    const [sigma, tau] = [0.7, 1.5];
    const x = randomInputs([count, 3], 62);
    const xTest = randomInputs([5, 3], 63);
    const targets = Array.from(new Random(64).normals(outputs * count));
    const laplace = await fitLaplace(model, regressionData(x, tf.tensor2d(targets, [count, outputs])), { curvature: 'diag', fisher: 'exact', likelihood: 'regression', sigma, tau, batchSize: 4 });
    /** Per example, per output, the Jacobian rows of every layer (tf's gradients of tfjs-layers' forward pass). */
    const jacobians = (inputs: tf.Tensor, index: number) => Array.from({ length: outputs }, (_, k) => outputGradients(model, tf.slice(inputs, index, 1), k));
    const reference = [new Float64Array(4 * 4), new Float64Array(5 * outputs)];
    for (let b = 0; b < count; b++) for (const rows of jacobians(x, b)) rows.forEach((row, layer) => row.forEach((value, i) => (reference[layer][i] += (value * value) / count)));
    const diagError = Math.max(...reference.map((values, layer) => Math.max(...Array.from(values, (value, i) => Math.abs(value - laplace.posterior.curvature.diag![layer][i]) / Math.max(...values)))));
    const predictive = await laplace.predictRegression(xTest);
    let varianceError = 0;
    for (let b = 0; b < 5; b++) {
      jacobians(xTest, b).forEach((rows, k) => {
        const variance = rows.reduce((sum, row, layer) => sum + row.reduce((part, value, i) => part + (value * value) / ((count / sigma ** 2) * laplace.posterior.curvature.diag![layer][i] + tau), 0), 0) + sigma ** 2;
        varianceError = Math.max(varianceError, relative(predictive.variance[outputs * b + k], variance));
      });
    }
    console.log(`regression diag, ${outputs} output(s): curvature ${diagError.toExponential(1)}, GLM variance ${varianceError.toExponential(1)}`);
    expect(diagError).toBeLessThan(1e-5);
    expect(varianceError).toBeLessThan(1e-5);
    tf.dispose([x, xTest]);
    laplace.dispose();
    model.dispose();
  });
});

// ---------------------------------------------------------------------------

describe('one sigmoid unit is a two-class softmax over the logits [0, z]', () => {
  const count = 30;
  const hidden = 4;
  const n = count;
  const tau = 0.5;
  let sigmoidModel: tfl.Sequential;
  let softmaxModel: tfl.Sequential;
  let x: tf.Tensor;
  let labels: Int32Array;
  let phi: Float64Array[];
  let w: Float64Array;

  beforeAll(() => {
    sigmoidModel = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [3], units: hidden, activation: 'tanh', name: 'bin_hidden' }), tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'bin_out' })],
    });
    seedWeights(sigmoidModel, 81, 2);
    softmaxModel = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [3], units: hidden, activation: 'tanh', name: 'two_hidden' }), tfl.layers.dense({ units: 2, activation: 'softmax', name: 'two_out' })],
    });
    const [hiddenKernel, hiddenBias] = sigmoidModel.layers[0].getWeights();
    softmaxModel.layers[0].setWeights([hiddenKernel, hiddenBias]);
    const [kernel, bias] = sigmoidModel.layers[1].getWeights().map((t) => t.dataSync());
    // Column 0 of the softmax layer is zero: its logit 0 is the constant 0.
    softmaxModel.layers[1].setWeights([tf.tensor2d(Float32Array.from({ length: 2 * hidden }, (_, k) => (k % 2 === 0 ? 0 : kernel[(k - 1) / 2])), [hidden, 2]), tf.tensor1d([0, bias[0]])]);
    w = Float64Array.from([...kernel, ...bias]);
    x = randomInputs([count, 3], 82);
    const random = new Random(83);
    labels = Int32Array.from({ length: count }, () => (random.uniform() < 0.5 ? 0 : 1));
    phi = tanhFeatures(sigmoidModel.layers[0], x);
    return () => {
      x.dispose();
      sigmoidModel.dispose();
      softmaxModel.dispose();
    };
  });

  async function fits(fisher: FisherType) {
    const out = [];
    for (const model of [sigmoidModel, softmaxModel]) {
      const network = new Network(model);
      const weights = network.matricesFromModel(model);
      out.push(await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['diag', 'last-layer'], fisher, batchSize: 7, seed: 5 }));
      tf.dispose(weights);
    }
    return out;
  }

  /** The softmax fit's last-layer Fisher on the z column (entries (i, 1) of W̄ [h + 1, 2]). */
  const zBlock = (fisher: Float64Array): Dense => {
    const d = hidden + 1;
    const out: Dense = { n: d, data: new Float64Array(d * d) };
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out.data[i * d + j] = fisher[(2 * i + 1) * 2 * d + (2 * j + 1)];
    return out;
  };

  it.each(['exact', 'mc'] as FisherType[])('has the softmax curvature on the z column (%s Fisher) and its loss', async (fisher) => {
    const [binary, twoClass] = await fits(fisher);
    expect(relative(binary.meanLoss!, twoClass.meanLoss!)).toBeLessThan(1e-6);
    const lastLayer = zBlock(twoClass.lastLayer!.data);
    const lastError = Math.max(...Array.from(binary.lastLayer!.data, (value, k) => Math.abs(value - lastLayer.data[k])));
    const hiddenError = Math.max(...Array.from(binary.diag![0], (value, k) => Math.abs(value - twoClass.diag![0][k])));
    const outputError = Math.max(...Array.from(binary.diag![1], (value, i) => Math.abs(value - twoClass.diag![1][2 * i + 1])));
    const scale = Math.max(...Array.from(lastLayer.data, Math.abs));
    console.log(`sigmoid vs softmax [0, z], ${fisher}: last layer ${lastError.toExponential(1)}, hidden diag ${hiddenError.toExponential(1)}, output diag ${outputError.toExponential(1)} (scale ${scale.toFixed(3)})`);
    expect(scale).toBeGreaterThan(1e-3);
    for (const error of [lastError, hiddenError, outputError]) expect(error).toBeLessThan(1e-6 * Math.max(scale, 1));
  });

  it('has the GLM predictive and the evidence that the softmax curvature on the z column gives', async () => {
    const [, twoClass] = await fits('exact');
    const laplace = await fitLaplace(sigmoidModel, tensorData(x, labels), { curvature: 'last-layer', fisher: 'exact', tau });
    const probabilities = await laplace.predict(x);
    // Reference: z ~ N(μ, φ̄ᵀ(N F_zz + τI)⁻¹φ̄), then the softmax probit of [0, z] (logit 0 has no variance).
    const block = zBlock(twoClass.lastLayer!.data);
    const precision: Dense = { n: block.n, data: block.data.map((value, k) => n * value + (k % (block.n + 1) === 0 ? tau : 0)) };
    const covariance = invert(precision);
    let worst = 0;
    phi.forEach((row, b) => {
      const mu = row.reduce((sum, value, i) => sum + value * w[i], 0);
      const scaled = mu / Math.sqrt(1 + (Math.PI / 8) * quadratic(covariance, row));
      const p = Math.exp(scaled) / (1 + Math.exp(scaled));
      worst = Math.max(worst, Math.abs(probabilities[2 * b + 1] - p), Math.abs(probabilities[2 * b] - (1 - p)));
    });
    // Evidence: −N·(cross-entropy) − (τ/2)‖w‖² + (P/2) log τ − ½ log det(N F_zz + τI).
    const norm = w.reduce((sum, value) => sum + value * value, 0);
    const reference = -n * twoClass.meanLoss! - 0.5 * tau * norm + 0.5 * w.length * Math.log(tau) - 0.5 * logDet(precision);
    const evidence = logMarginalLikelihood(laplace.posterior);
    console.log(`sigmoid GLM vs softmax [0, z]: max |Δp| ${worst.toExponential(1)}; evidence ${evidence.toFixed(6)} vs ${reference.toFixed(6)}`);
    expect(worst).toBeLessThan(1e-5);
    expect(relative(evidence, reference)).toBeLessThan(1e-5);
    laplace.dispose();
  });
});

describe('outputs that do not fit the likelihood', () => {
  const build = (units: number, activation: string) =>
    tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 4, activation: 'relu' }), tfl.layers.dense({ units, activation: activation as 'linear', name: `mismatch_${units}_${activation}` })] });

  it.each([
    [3, 'sigmoid', 'classification', /sigmoid to 3 units/],
    [3, 'softmax', 'regression', /regression needs a linear output/],
    [1, 'sigmoid', 'regression', /regression needs a linear output/],
    [1, 'linear', 'classification', /one linear unit/],
    [1, 'softmax', 'classification', /softmax over one unit/],
  ] as const)('%i %s units with likelihood %s: an UnsupportedModelError of one sentence', async (units, activation, likelihood, message) => {
    const model = build(units, activation);
    const x = randomInputs([4, 3], 91);
    const error = await fitLaplace(model, likelihood === 'regression' ? regressionData(x, new Array(4 * units).fill(0.5)) : tensorData(x, [0, 0, 0, 0]), { curvature: 'diag', likelihood, tau: 1 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnsupportedModelError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.trim().split(/(?<=[.;]) (?=[A-Z])/).length).toBe(1);
    x.dispose();
    model.dispose();
  });

  it('refuses σ for classification, an unknown likelihood and the empirical Fisher for regression with a PosteriorError', async () => {
    const model = build(2, 'softmax');
    const x = randomInputs([4, 3], 92);
    const data = tensorData(x, [0, 1, 0, 1]);
    await expect(fitLaplace(model, data, { curvature: 'diag', sigma: 1 })).rejects.toThrow(PosteriorError);
    await expect(fitLaplace(model, data, { curvature: 'diag', likelihood: 'poisson' as 'regression' })).rejects.toThrow(PosteriorError);
    await expect(fitLaplace(build(1, 'linear'), regressionData(x, [1, 2, 3, 4]), { curvature: 'diag', likelihood: 'regression', fisher: 'empirical' })).rejects.toThrow(PosteriorError);
    x.dispose();
    model.dispose();
  });
});
