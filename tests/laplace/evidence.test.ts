/**
 * The marginal likelihood against dense computations: on a tiny MLP and two tiny CNNs (conv
 * 'same' and 'valid' with strides, max- and average pooling, layers without bias), for every
 * structure and both KFAC dampings, with one τ per layer,
 *  - log det of the precision equals an LU log det of the P × P precision built by brute force
 *    from the fitted curvature (diag matrix, N·A⊗G + τI, (√N A + √τ I)⊗(√N G + √τ I),
 *    (Q_A⊗Q_G) diag(N Λ + τ) (Q_A⊗Q_G)ᵀ, N·F_last + τI), block-diagonal over layers;
 *  - the evidence equals −N × (mean cross-entropy through tfjs-layers' forward pass)
 *    − Σ τ_l/2 ‖W_l‖² (weights read from the model) + Σ P_l/2 log τ_l − ½ that log det;
 *  - the optimised scalar τ and each per-layer τ_l sit at the maximum of a fine grid of the
 *    dense evidence (within the grid step), and per-layer τ has evidence ≥ the scalar one;
 *  - the range's edge is reported when the optimum lies outside the range.
 * Also: the mean loss fitCurvature records equals a direct evaluation, and a posterior file
 * keeps layerTau and meanLoss.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import {
  fitCurvature,
  fitLaplace,
  loadLaplace,
  logDetPrecision,
  logMarginalLikelihood,
  Network,
  optimizeMarginalLikelihood,
  Posterior,
  saveLaplace,
  tensorData,
  type CurvatureFit,
  type FisherType,
  type KfacDamping,
  type Structure,
} from '../../compute/laplace/index.ts';
import type { Matrix } from '../../compute/laplace/linalg/index.ts';
import {
  blockDiagonal,
  buildCnnA,
  buildCnnC,
  buildMlp,
  kron,
  logProbabilities,
  infMatrix,
  lowrankMatrix,
  matmulDense,
  parameterLayers,
  randomInputs,
  randomLabels,
  scaleAddIdentity,
  transposeDense,
  zeros,
  type Dense,
  type Model,
} from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

/** log det by LU with partial pivoting (float64); throws unless the determinant is positive. */
function luLogDet(matrix: Dense): number {
  const n = matrix.n;
  const m = matrix.data.slice();
  let logDet = 0;
  let sign = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]) > Math.abs(m[pivot * n + col])) pivot = r;
    if (pivot !== col) {
      sign = -sign;
      for (let j = 0; j < n; j++) [m[col * n + j], m[pivot * n + j]] = [m[pivot * n + j], m[col * n + j]];
    }
    const d = m[col * n + col];
    if (d < 0) sign = -sign;
    logDet += Math.log(Math.abs(d));
    for (let r = col + 1; r < n; r++) {
      const f = m[r * n + col] / d;
      if (f === 0) continue;
      for (let j = col; j < n; j++) m[r * n + j] -= f * m[col * n + j];
    }
  }
  if (sign < 0) throw new Error('determinant is negative');
  return logDet;
}

const dense = (m: Matrix): Dense => ({ n: m.rows, data: Float64Array.from(m.data) });

function diagonalDense(values: ArrayLike<number>): Dense {
  const out = zeros(values.length);
  for (let i = 0; i < values.length; i++) out.data[i * values.length + i] = values[i];
  return out;
}

/** The dense precision block of one layer, built from the fit by brute force. */
function denseBlock(fit: CurvatureFit, structure: Structure, damping: KfacDamping, layer: number, n: number, tau: number): Dense {
  switch (structure) {
    case 'diag':
      return diagonalDense(Array.from(fit.diag![layer], (d) => n * d + tau));
    case 'last-layer':
      return scaleAddIdentity(dense(fit.lastLayer!), n, tau);
    case 'full':
      return scaleAddIdentity(dense(fit.full!), n, tau);
    case 'lowrank':
      return scaleAddIdentity(lowrankMatrix(fit), n, tau);
    case 'inf':
      return scaleAddIdentity(infMatrix(fit, layer), n, tau);
    case 'subnetwork':
      return scaleAddIdentity(dense(fit.subnetwork!.fisher), n, tau);
    case 'kfac': {
      const a = dense(fit.kfac![layer].a);
      const g = dense(fit.kfac![layer].g);
      if (damping === 'per-factor') return kron(scaleAddIdentity(a, Math.sqrt(n), Math.sqrt(tau)), scaleAddIdentity(g, Math.sqrt(n), Math.sqrt(tau)));
      return scaleAddIdentity(kron(a, g), n, tau);
    }
    case 'efb': {
      // (Q_A⊗Q_G) diag(N Λ + τ) (Q_A⊗Q_G)ᵀ = N·K diag(Λ) Kᵀ + τ·K Kᵀ, K = Q_A⊗Q_G: both products kept per layer (the grids rebuild it often).
      const key = `${layer}`;
      let parts = efbParts.get(fit)?.get(key);
      if (!parts) {
        const { a, g, diagonal } = fit.efb![layer];
        const basis = kron(dense(a.vectors), dense(g.vectors));
        parts = { curvature: matmulDense(matmulDense(basis, diagonalDense(diagonal)), transposeDense(basis)), gram: matmulDense(basis, transposeDense(basis)) };
        if (!efbParts.has(fit)) efbParts.set(fit, new Map());
        efbParts.get(fit)!.set(key, parts);
      }
      const { curvature, gram } = parts;
      return { n: curvature.n, data: curvature.data.map((value, i) => n * value + tau * gram.data[i]) };
    }
  }
}

const efbParts = new WeakMap<CurvatureFit, Map<string, { curvature: Dense; gram: Dense }>>();

interface Setup {
  name: string;
  model: Model;
  x: tf.Tensor;
  labels: Int32Array;
  network: Network;
  fit: CurvatureFit;
  weights: tf.Tensor2D[];
  /** ‖W_l‖² and P_l read from the tfjs-layers model itself. */
  squaredNorms: number[];
  parameterCounts: number[];
  /** Mean cross-entropy through tfjs-layers' forward pass. */
  meanLoss: number;
}

function directMeanLoss(model: Model, x: tf.Tensor, labels: Int32Array): number {
  const logp = tf.tidy(() => logProbabilities(model, x).dataSync());
  const classes = logp.length / labels.length;
  let sum = 0;
  labels.forEach((label, i) => (sum -= logp[i * classes + label]));
  return sum / labels.length;
}

async function setUp(name: string, model: Model, shape: number[], seed: number): Promise<Setup> {
  const count = 6;
  const x = randomInputs([count, ...shape], seed);
  const labels = randomLabels(count, 3, seed + 1);
  const network = new Network(model);
  const weights = network.matricesFromModel(model);
  const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['diag', 'kfac', 'efb', 'last-layer'], fisher: 'exact', batchSize: 4, seed: 5 });
  const layers = parameterLayers(model);
  const squaredNorms = layers.map((layer) => layer.getWeights().reduce((sum, w) => sum + Array.from(w.dataSync()).reduce((s, v) => s + v * v, 0), 0));
  const parameterCounts = layers.map((layer) => layer.getWeights().reduce((sum, w) => sum + w.size, 0));
  return { name, model, x, labels, network, fit, weights, squaredNorms, parameterCounts, meanLoss: directMeanLoss(model, x, labels) };
}

let setups: Setup[] = [];

beforeAll(async () => {
  setups = [
    await setUp('MLP (dense relu, dense softmax)', buildMlp(4, 5, 3, 301), [4], 302),
    await setUp('CNN A (conv same/2 relu, conv valid/1 tanh, max-pool, dense)', buildCnnA(303), [8, 8, 2], 304),
    await setUp('CNN C (conv same 3×2/2×1 without bias, avg-pool, reshape, dense without bias, dense)', buildCnnC(305), [6, 5, 2], 306),
  ];
});

afterAll(() => {
  for (const setup of setups) {
    tf.dispose([setup.x, ...setup.weights]);
    setup.model.dispose();
  }
});

const structures: [string, Structure, KfacDamping][] = [
  ['diag', 'diag', 'exact'],
  ['kfac, exact damping', 'kfac', 'exact'],
  ['kfac, per-factor damping', 'kfac', 'per-factor'],
  ['efb', 'efb', 'exact'],
  ['last-layer', 'last-layer', 'exact'],
];

const N = 40;
const layerTauFor = (layers: number) => Array.from({ length: layers }, (_, l) => [0.7, 3.1, 12, 0.25][l % 4]);

function posteriorOf(setup: Setup, structure: Structure, kfacDamping: KfacDamping, tau: number | number[]): Posterior {
  const spec = Array.isArray(tau) ? { structure, n: N, tau: 1, layerTau: tau, kfacDamping } : { structure, n: N, tau, kfacDamping };
  return new Posterior(setup.network, setup.weights, setup.fit, spec);
}

const perturbed = (setup: Setup, structure: Structure) => (structure === 'last-layer' ? [setup.network.layers.length - 1] : setup.network.layers.map((_, l) => l));

/** Dense evidence of the perturbed layers: −N·meanLoss + Σ_l [−τ_l/2 ‖W_l‖² + P_l/2 log τ_l − ½ log det block_l]. */
function denseEvidenceTerm(setup: Setup, structure: Structure, damping: KfacDamping, layer: number, n: number, tau: number): number {
  return -0.5 * tau * setup.squaredNorms[layer] + 0.5 * setup.parameterCounts[layer] * Math.log(tau) - 0.5 * luLogDet(denseBlock(setup.fit, structure, damping, layer, n, tau));
}

function denseEvidence(setup: Setup, structure: Structure, damping: KfacDamping, taus: (layer: number) => number): number {
  return perturbed(setup, structure).reduce((sum, layer) => sum + denseEvidenceTerm(setup, structure, damping, layer, N, taus(layer)), -N * setup.meanLoss);
}

const relative = (actual: number, reference: number) => Math.abs(actual - reference) / Math.abs(reference);

describe('log det of the posterior precision', () => {
  it.each(structures)('%s: equals the LU log det of the dense block-diagonal precision (per-layer τ)', (name, structure, damping) => {
    for (const setup of setups) {
      const layerTau = layerTauFor(setup.network.layers.length);
      const posterior = posteriorOf(setup, structure, damping, layerTau);
      const layers = perturbed(setup, structure);
      const precision = blockDiagonal(layers.map((layer) => denseBlock(setup.fit, structure, damping, layer, N, layerTau[layer])));
      expect(precision.n).toBe(layers.reduce((sum, layer) => sum + setup.parameterCounts[layer], 0));
      const reference = luLogDet(precision);
      const actual = logDetPrecision(posterior);
      const error = relative(actual, reference);
      console.log(`${setup.name}, ${name}: log det ${actual.toFixed(6)} vs dense ${reference.toFixed(6)} (P = ${precision.n}), relative error ${error.toExponential(1)}`);
      expect(error).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe('the evidence', () => {
  it.each(structures)('%s: equals the dense evidence, constants included', (name, structure, damping) => {
    for (const setup of setups) {
      const layerTau = layerTauFor(setup.network.layers.length);
      const posterior = posteriorOf(setup, structure, damping, layerTau);
      const reference = denseEvidence(setup, structure, damping, (layer) => layerTau[layer]);
      // With the data term given, only the prior and log det terms are compared: float64 throughout.
      const exact = logMarginalLikelihood(posterior, { logLikelihood: -N * setup.meanLoss });
      // With the recorded mean loss (accumulated in float32).
      const recorded = logMarginalLikelihood(posterior);
      console.log(`${setup.name}, ${name}: evidence ${exact.toFixed(6)} vs dense ${reference.toFixed(6)}; with the recorded mean loss ${recorded.toFixed(6)}`);
      expect(relative(exact, reference)).toBeLessThanOrEqual(1e-6);
      expect(relative(recorded, reference)).toBeLessThanOrEqual(1e-5);
      // A scalar τ is the per-layer formula with every τ_l equal.
      const scalar = posteriorOf(setup, structure, damping, 2.5);
      expect(relative(logMarginalLikelihood(scalar), denseEvidence(setup, structure, damping, () => 2.5))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('without a recorded mean loss it needs logLikelihood, and says so', () => {
    const setup = setups[0];
    const { meanLoss: _meanLoss, ...withoutLoss } = setup.fit;
    const posterior = new Posterior(setup.network, setup.weights, withoutLoss, { structure: 'diag', n: N, tau: 1, kfacDamping: 'exact' });
    expect(() => logMarginalLikelihood(posterior)).toThrow(/did not record its mean loss.*pass logLikelihood/);
    expect(() => optimizeMarginalLikelihood(posterior)).toThrow(/did not record its mean loss/);
    const withLoss = posteriorOf(setup, 'diag', 'exact', 1);
    expect(logMarginalLikelihood(posterior, { logLikelihood: -N * setup.fit.meanLoss! })).toBeCloseTo(logMarginalLikelihood(withLoss), 10);
  });
});

describe('optimising τ', () => {
  const gridStep = 0.01;
  const grid = Array.from({ length: Math.round(7 / gridStep) + 1 }, (_, k) => -3 + k * gridStep);
  const argmax = (values: number[]) => values.reduce((best, value, k) => (value > values[best] ? k : best), 0);

  it.each(structures)('%s: scalar τ at the maximum of a fine grid of the dense evidence; per-layer τ_l at each layer\'s own', (name, structure, damping) => {
    for (const setup of setups) {
      const base = posteriorOf(setup, structure, damping, 1);
      const scalar = optimizeMarginalLikelihood(base, { n: N });
      expect(scalar.perLayer).toBe(false);
      expect(scalar.atEdge).toBe(false);
      expect(scalar.edges).toEqual([null]);
      const logTau = Math.log10(scalar.tau as number);
      const surface = grid.map((t) => denseEvidence(setup, structure, damping, () => 10 ** t));
      const best = argmax(surface);
      console.log(`${setup.name}, ${name}: log10 τ* = ${logTau.toFixed(4)} (grid ${grid[best].toFixed(2)}), evidence ${scalar.logEvidence.toFixed(4)}, ${scalar.evaluations} evaluations`);
      expect(best).toBeGreaterThan(0);
      expect(best).toBeLessThan(grid.length - 1);
      expect(Math.abs(logTau - grid[best])).toBeLessThanOrEqual(gridStep);
      expect(scalar.logEvidence).toBeGreaterThanOrEqual(surface[best] - 1e-6 * Math.abs(surface[best]));
      expect(relative(scalar.logEvidence, denseEvidence(setup, structure, damping, () => scalar.tau as number))).toBeLessThanOrEqual(1e-5);
      expect(scalar.posterior.tau).toBe(scalar.tau);
      expect(scalar.posterior.n).toBe(N);

      const perLayer = optimizeMarginalLikelihood(base, { n: N, perLayer: true });
      const taus = perLayer.tau as number[];
      expect(taus).toHaveLength(setup.network.layers.length);
      expect(perLayer.posterior.spec.layerTau).toEqual(taus);
      expect(perLayer.atEdge).toBe(false);
      for (const layer of perturbed(setup, structure)) {
        // The evidence separates over layers: each τ_l maximises its own layer's terms.
        const layerSurface = grid.map((t) => denseEvidenceTerm(setup, structure, damping, layer, N, 10 ** t));
        const layerBest = argmax(layerSurface);
        expect(Math.abs(Math.log10(taus[layer]) - grid[layerBest])).toBeLessThanOrEqual(gridStep);
        // And moving any one τ_l lowers the whole (dense) evidence.
        const at = denseEvidence(setup, structure, damping, (l) => taus[l]);
        for (const shift of [-0.05, 0.05]) expect(denseEvidence(setup, structure, damping, (l) => (l === layer ? taus[l] * 10 ** shift : taus[l]))).toBeLessThan(at);
      }
      const untouched = setup.network.layers.map((_, l) => l).filter((l) => !perturbed(setup, structure).includes(l));
      for (const layer of untouched) {
        expect(taus[layer]).toBe(1);
        expect(perLayer.edges[layer]).toBeNull();
      }
      expect(perLayer.logEvidence).toBeGreaterThanOrEqual(scalar.logEvidence - 1e-9 * Math.abs(scalar.logEvidence));
      expect(relative(perLayer.logEvidence, denseEvidence(setup, structure, damping, (l) => taus[l]))).toBeLessThanOrEqual(1e-5);
      if (structure === 'last-layer') expect(relative(perLayer.logEvidence, scalar.logEvidence)).toBeLessThanOrEqual(1e-12);
    }
  });

  it('reports the range edge when the optimum lies outside it, and keeps N fixed at what it is given', () => {
    const setup = setups[1];
    const base = posteriorOf(setup, 'kfac', 'exact', 1);
    const inside = optimizeMarginalLikelihood(base, { n: N });
    const t = Math.log10(inside.tau as number);
    const above = optimizeMarginalLikelihood(base, { n: N, range: [t + 1, t + 3] });
    expect(above.edges).toEqual(['low']);
    expect(above.atEdge).toBe(true);
    expect(above.tau).toBeCloseTo(10 ** (t + 1), 10);
    const below = optimizeMarginalLikelihood(base, { n: N, range: [t - 3, t - 1] });
    expect(below.edges).toEqual(['high']);
    expect(below.tau).toBeCloseTo(10 ** (t - 1), 10);
    const perLayer = optimizeMarginalLikelihood(base, { n: N, perLayer: true, range: [t + 4, t + 6] });
    expect(perLayer.edges.every((edge) => edge === 'low')).toBe(true);
    // N is the caller's: the data term and the curvature both scale with it.
    const other = optimizeMarginalLikelihood(base, { n: 4 * N });
    expect(other.n).toBe(4 * N);
    expect(other.posterior.n).toBe(4 * N);
    expect(relative(other.logEvidence, logMarginalLikelihood(base.withHyperparameters(4 * N, other.tau)))).toBeLessThanOrEqual(1e-12);
    expect(() => optimizeMarginalLikelihood(base, { range: [3, 1] })).toThrow(/low < high/);
  });
});

describe('the recorded mean loss', () => {
  it.each(['exact', 'mc', 'empirical'] as FisherType[])('fitCurvature records the mean cross-entropy of the fitting data at W* (%s Fisher)', async (fisher) => {
    for (const setup of setups) {
      const weights = setup.network.matricesFromModel(setup.model);
      const fit = await fitCurvature(setup.network, weights, tensorData(setup.x, setup.labels), { kinds: ['diag'], fisher, mcSamples: fisher === 'mc' ? 2 : 1, batchSize: 4, seed: 1 });
      tf.dispose(weights);
      expect(fit.meanLoss).toBeDefined();
      expect(relative(fit.meanLoss!, setup.meanLoss)).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('save and load', () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'laplace-evidence-'));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('keeps per-layer τ and the mean loss, so the evidence is the same after a round trip', async () => {
    const setup = setups[2];
    const fitted = await fitLaplace(setup.model, tensorData(setup.x, setup.labels), { curvature: 'kfac', fisher: 'exact', batchSize: 4, n: N, tau: 1 });
    const tuned = fitted.withHyperparameters(N, (optimizeMarginalLikelihood(fitted.posterior, { perLayer: true }).tau as number[]));
    const path = join(directory, 'tuned.laplace');
    await saveLaplace(tuned, path);
    const loaded = await loadLaplace(path);
    expect(loaded.posterior.spec.layerTau).toEqual(tuned.posterior.spec.layerTau);
    expect(loaded.posterior.curvature.meanLoss).toBe(tuned.posterior.curvature.meanLoss);
    expect(loaded.posterior.curvature.meanLoss).toBeCloseTo(setup.meanLoss, 5);
    expect(logMarginalLikelihood(loaded.posterior)).toBe(logMarginalLikelihood(tuned.posterior));
    loaded.dispose();
    fitted.dispose();
  });
});
