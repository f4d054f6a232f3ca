/**
 * Last-layer Laplace through fitLaplace on a body the library never reads layer by layer: a
 * functional model with BatchNormalization, a depthwise convolution, a residual Add, global
 * average pooling and swish (helpers.ts, buildResidualModel). Everything is checked against the
 * closed forms computed here in float64 from the body's features φ, which come from a tf.model
 * cut at the output layer's input and run by tfjs-layers in inference mode:
 *  - exact Fisher (1/n) Σ_n φ̄_n φ̄_nᵀ ⊗ (diag(p_n) − p_n p_nᵀ) on row-major vec(W̄), φ̄ = [φ, 1];
 *  - its diagonal (diag) and KFAC's factors A = (1/n) Σ φ̄φ̄ᵀ, G = (1/n) Σ (diag p − ppᵀ);
 *  - the GLM probit predictive with Σ = (N·F + τI)⁻¹ and Σ_f = (φ̄ᵀ ⊗ I) Σ (φ̄ ⊗ I);
 *  - the sampled predictive against a Monte Carlo average of softmax over N(μ, Σ_f);
 *  - the log marginal likelihood −N·loss − τ/2‖W̄‖² + P/2 log τ − ½ log det(N·F + τI);
 *  - the posterior file: loaded after the model is gone, it predicts the same numbers.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, loadLaplaceFromBytes, logMarginalLikelihood, PosteriorError, tensorData, UnsupportedModelError, type LaplaceModel } from '../../compute/laplace/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { buildResidualModel, invert, maxAbsDifference, randomInputs, randomLabels, relativeError, scaleAddIdentity, zeros, type Dense } from './helpers.ts';

const classes = 3;
const count = 12;
const batchSize = 5; // several batches, the last one short
const tau = 2;

beforeAll(async () => {
  await startBackend('wasm');
});

/** φ̄ = [φ, 1] per example, φ from tfjs-layers running the model up to the output layer's input. */
function augmentedFeatures(model: tfl.LayersModel, x: tf.Tensor): number[][] {
  const output = model.layers[model.layers.length - 1];
  const body = tfl.model({ inputs: model.inputs, outputs: output.input as tfl.SymbolicTensor });
  const phi = tf.tidy(() => (body.predict(x) as tf.Tensor2D).arraySync());
  return phi.map((row) => [...row, 1]);
}

/** The output layer's W̄ = [kernel rows; bias row] in float64. */
function outputMatrix(model: tfl.LayersModel): number[][] {
  const [kernel, bias] = model.layers[model.layers.length - 1].getWeights();
  return [...(kernel.arraySync() as number[][]), bias.arraySync() as number[]];
}

function logitsOf(phi: number[], w: number[][]): number[] {
  return Array.from({ length: classes }, (_, c) => phi.reduce((sum, value, i) => sum + value * w[i][c], 0));
}

function softmax(logits: number[]): number[] {
  const top = Math.max(...logits);
  const e = logits.map((value) => Math.exp(value - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((value) => value / total);
}

/** (1/n) Σ φ̄φ̄ᵀ ⊗ H_n, entry [(i, j), (k, l)] = [i·C + j, k·C + l]. */
function exactFisher(phis: number[][], ps: number[][]): Dense {
  const rows = phis[0].length;
  const out = zeros(rows * classes);
  phis.forEach((phi, n) => {
    const p = ps[n];
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < classes; j++)
        for (let k = 0; k < rows; k++)
          for (let l = 0; l < classes; l++) out.data[(i * classes + j) * out.n + k * classes + l] += (phi[i] * phi[k] * ((j === l ? p[j] : 0) - p[j] * p[l])) / phis.length;
  });
  return out;
}

function logDetSpd(a: Dense): number {
  const n = a.n;
  const l = new Float64Array(n * n);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    let d = a.data[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] ** 2;
    l[j * n + j] = Math.sqrt(d);
    sum += Math.log(d);
    for (let i = j + 1; i < n; i++) {
      let s = a.data[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / l[j * n + j];
    }
  }
  return sum;
}

/** Σ_f = (φ̄ᵀ ⊗ I) Σ (φ̄ ⊗ I), the logits' covariance. */
function logitCovariance(phi: number[], covariance: Dense): number[][] {
  return Array.from({ length: classes }, (_, c) =>
    Array.from({ length: classes }, (_, d) => {
      let sum = 0;
      for (let i = 0; i < phi.length; i++) for (let k = 0; k < phi.length; k++) sum += phi[i] * phi[k] * covariance.data[(i * classes + c) * covariance.n + k * classes + d];
      return sum;
    }),
  );
}

describe('last-layer Laplace on a functional body with BatchNormalization, depthwise conv, residual Add, global pooling, swish', () => {
  let model: tfl.LayersModel;
  let x: tf.Tensor;
  let xTest: tf.Tensor;
  let labels: Int32Array;
  let phis: number[][];
  let ps: number[][];
  let fisher: Dense;
  let w: number[][];

  beforeAll(() => {
    model = buildResidualModel(361);
    x = randomInputs([count, 6, 6, 2], 362);
    xTest = randomInputs([5, 6, 6, 2], 363);
    labels = randomLabels(count, classes, 364);
    phis = augmentedFeatures(model, x);
    w = outputMatrix(model);
    ps = phis.map((phi) => softmax(logitsOf(phi, w)));
    fisher = exactFisher(phis, ps);
    return () => tf.dispose([x, xTest]);
  });

  const fit = (options: Partial<Parameters<typeof fitLaplace>[2]> = {}) =>
    fitLaplace(model, tensorData(x, labels), { curvature: 'last-layer', subset: 'last-layer', fisher: 'exact', tau, batchSize, ...options });

  it('fits the full last-layer Fisher of the closed form, by subset and by curvature alike', async () => {
    for (const laplace of [await fit(), await fit({ subset: undefined })]) {
      expect(laplace.posterior.network.layers.length === 1 || laplace.posterior.network.subset === 'all').toBe(true);
      const error = relativeError(laplace.posterior.curvature.lastLayer!.data, fisher.data);
      console.log(`any-body last-layer (${laplace.posterior.network.subset}) exact Fisher: relative error ${error.toExponential(1)}`);
      expect(error).toBeLessThanOrEqual(1e-5);
      laplace.dispose();
    }
  });

  it('diag and kfac on the last layer alone are the diagonal of that Fisher and its Kronecker factors', async () => {
    const diag = await fit({ curvature: 'diag' });
    expect(diag.posterior.network.layers.length).toBe(1);
    const diagonal = Array.from({ length: fisher.n }, (_, i) => fisher.data[i * fisher.n + i]);
    expect(relativeError(diag.posterior.curvature.diag![0], diagonal)).toBeLessThanOrEqual(1e-5);
    diag.dispose();
    const kfac = await fit({ curvature: 'kfac' });
    const rows = phis[0].length;
    const a = zeros(rows);
    const g = zeros(classes);
    phis.forEach((phi, n) => {
      for (let i = 0; i < rows; i++) for (let k = 0; k < rows; k++) a.data[i * rows + k] += (phi[i] * phi[k]) / count;
      for (let j = 0; j < classes; j++) for (let l = 0; l < classes; l++) g.data[j * classes + l] += ((j === l ? ps[n][j] : 0) - ps[n][j] * ps[n][l]) / count;
    });
    expect(relativeError(kfac.posterior.curvature.kfac![0].a.data, a.data)).toBeLessThanOrEqual(1e-5);
    expect(relativeError(kfac.posterior.curvature.kfac![0].g.data, g.data)).toBeLessThanOrEqual(1e-5);
    kfac.dispose();
  });

  it('predicts: GLM probit in closed form, map as the model, sampled as the Gaussian logits', async () => {
    const laplace = await fit();
    const covariance = invert(scaleAddIdentity(fisher, count, tau));
    const testPhis = augmentedFeatures(model, xTest);
    const glm = await laplace.predict(xTest);
    const expected = testPhis.flatMap((phi) => {
      const sigma = logitCovariance(phi, covariance);
      return softmax(logitsOf(phi, w).map((mu, c) => mu / Math.sqrt(1 + (Math.PI / 8) * sigma[c][c])));
    });
    const glmError = maxAbsDifference(glm, expected);
    console.log(`any-body GLM probit: max |Δp| ${glmError.toExponential(1)}`);
    expect(glmError).toBeLessThanOrEqual(1e-5);
    const map = await laplace.predict(xTest, { predictive: 'map' });
    expect(maxAbsDifference(map, (model.predict(xTest) as tf.Tensor).dataSync())).toBeLessThanOrEqual(1e-6);
    // Sampled: softmax averaged over weight samples, against softmax averaged over draws of N(μ, Σ_f) made here.
    const sampled = await laplace.predict(xTest, { predictive: 'sampled', samples: 500, seed: 3 });
    const random = new Random(7);
    const draws = 20000;
    const reference = testPhis.flatMap((phi) => {
      const sigma = logitCovariance(phi, covariance);
      const mu = logitsOf(phi, w);
      // Cholesky of the 3 × 3 Σ_f.
      const l = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
      for (let j = 0; j < 3; j++) {
        l[j][j] = Math.sqrt(sigma[j][j] - l[j].slice(0, j).reduce((s, v) => s + v * v, 0));
        for (let i = j + 1; i < 3; i++) l[i][j] = (sigma[i][j] - l[i].slice(0, j).reduce((s, v, k) => s + v * l[j][k], 0)) / l[j][j];
      }
      const mean = [0, 0, 0];
      for (let t = 0; t < draws; t++) {
        const z = random.normals(3);
        const p = softmax(mu.map((m, i) => m + l[i][0] * z[0] + l[i][1] * z[1] + l[i][2] * z[2]));
        p.forEach((value, c) => (mean[c] += value / draws));
      }
      return mean;
    });
    const sampledError = maxAbsDifference(sampled, reference);
    console.log(`any-body sampled (500 samples) against 20,000 Gaussian-logit draws: max |Δp| ${sampledError.toFixed(4)}`);
    expect(sampledError).toBeLessThanOrEqual(0.03);
    laplace.dispose();
  });

  it('has the marginal likelihood of the closed form, and tunes τ to its maximum', async () => {
    const laplace = await fit();
    const squaredNorm = w.flat().reduce((s, v) => s + v * v, 0);
    const meanLoss = labels.reduce((s, y, n) => s - Math.log(ps[n][y]), 0) / count;
    const evidence = (t: number) => -count * meanLoss - (t / 2) * squaredNorm + (fisher.n / 2) * Math.log(t) - 0.5 * logDetSpd(scaleAddIdentity(fisher, count, t));
    const value = logMarginalLikelihood(laplace.posterior);
    expect(Math.abs(value - evidence(tau)) / Math.abs(evidence(tau))).toBeLessThanOrEqual(1e-5);
    const { optimum } = laplace.tuneMarginalLikelihood();
    const best = optimum.tau as number;
    expect(evidence(best)).toBeGreaterThanOrEqual(evidence(best * 1.01) - 1e-9);
    expect(evidence(best)).toBeGreaterThanOrEqual(evidence(best / 1.01) - 1e-9);
    laplace.dispose();
  });

  it('saves the body with the posterior: loaded after the model is gone, the same numbers', async () => {
    const copy = await tfl.models.modelFromJSON({ modelTopology: model.toJSON(undefined, false) } as never);
    copy.setWeights(model.getWeights());
    const laplace = await fitLaplace(copy, tensorData(x, labels), { curvature: 'kfac', subset: 'last-layer', batchSize, tau });
    copy.dispose(); // the posterior keeps its own copy of the body
    const before = { glm: await laplace.predict(xTest), sampled: await laplace.predict(xTest, { predictive: 'sampled', samples: 20 }), map: await laplace.predict(xTest, { predictive: 'map' }) };
    const bytes = await laplace.toBytes();
    laplace.dispose();
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)))) as { subset?: string; layers: unknown[] };
    expect(header.subset).toBe('last-layer');
    expect(header.layers.length).toBe(1);
    const loaded = await loadLaplaceFromBytes(bytes);
    expect(Array.from(await loaded.predict(xTest))).toEqual(Array.from(before.glm));
    expect(Array.from(await loaded.predict(xTest, { predictive: 'sampled', samples: 20 }))).toEqual(Array.from(before.sampled));
    expect(Array.from(await loaded.predict(xTest, { predictive: 'map' }))).toEqual(Array.from(before.map));
    // And a second save of the loaded posterior is the same file.
    expect(Array.from(await loaded.toBytes())).toEqual(Array.from(bytes));
    loaded.dispose();
  });

  it('refuses a bad subset and an output that is not a Dense layer, in one sentence each', async () => {
    await expect(fit({ subset: 'first-layer' as never })).rejects.toThrow(PosteriorError);
    const input = tfl.input({ shape: [4] });
    const other = tfl.model({ inputs: input, outputs: tfl.layers.activation({ activation: 'softmax' }).apply(tfl.layers.dense({ units: 3 }).apply(input)) as tfl.SymbolicTensor });
    await expect(fitLaplace(other, tensorData(tf.zeros([2, 4]), [0, 1]), { curvature: 'last-layer', subset: 'last-layer', tau: 1 })).rejects.toThrow(UnsupportedModelError);
    other.dispose();
  });
});
