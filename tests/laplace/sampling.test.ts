/**
 * Posterior sampling: the sample covariance of many draws of `sampleDeviations` against the
 * covariance written out explicitly from the fitted curvature (float64 Kronecker products and a
 * Gauss–Jordan inverse, helpers.ts), per structure, and `marginalVariances` against that
 * covariance's diagonal.
 *
 * Tolerance. With known mean 0, S_ij = (1/n) Σ_t δ_ti δ_tj estimates Σ_ij with standard error
 * √((Σ_ii Σ_jj + Σ_ij²) / n) for Gaussian δ; we require |S_ij − Σ_ij| < 5 SE for every entry
 * (i ≤ j, 231 of them here; under the hypothesis P(max |z| > 5) ≈ 231 · 5.7e-7 ≈ 1e-4) and
 * the sample mean within 5 SE of 0. The draws are seeded, so the outcome is reproducible.
 * The test also shows it can tell the structures apart: kfac's two dampings have covariances
 * that differ by far more than 5 SE here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, Posterior, tensorData, type CurvatureFit, type KfacDamping, type LayerMatrix, type Structure } from '../../compute/laplace/index.ts';
import { blockDiagonal, buildMlp, denseLayerCovariance, maxAbsDifference, randomInputs, randomLabels, zeros, type Dense, type Model } from './helpers.ts';

const DRAWS = 6000;
const N = 10;
const TAU = 0.5;

let model: Model;
let network: Network;
let weights: LayerMatrix[];
let fit: CurvatureFit;

beforeAll(async () => {
  await startBackend('wasm');
  model = buildMlp(2, 3, 3, 101, 'tanh');
  const x = randomInputs([10, 2], 102);
  network = new Network(model);
  weights = network.matricesFromModel(model);
  fit = await fitCurvature(network, weights, tensorData(x, randomLabels(10, 3, 103)), { kinds: ['diag', 'kfac', 'efb', 'last-layer'], fisher: 'exact', batchSize: 4 });
  x.dispose();
});

afterAll(() => {
  tf.dispose(weights);
  model.dispose();
});

/** The explicit covariance of one layer's vec(W̄) (row-major) under each structure. */
const layerCovariance = (structure: Structure, damping: KfacDamping, layer: number): Dense => denseLayerCovariance(fit, structure, damping, layer, N, TAU);

function sampleCovariance(posterior: Posterior, draws: number, seed: number): { mean: Float64Array; covariance: Dense } {
  const deviations = posterior.sampleDeviations(draws, seed);
  const d = deviations[0].reduce((s, t) => s + t.size, 0);
  const mean = new Float64Array(d);
  const covariance = zeros(d);
  const row = new Float64Array(d);
  for (const perLayer of deviations) {
    let at = 0;
    for (const t of perLayer) {
      row.set(t.dataSync(), at);
      at += t.size;
    }
    for (let i = 0; i < d; i++) {
      mean[i] += row[i] / draws;
      const ri = row[i] / draws;
      for (let j = i; j < d; j++) covariance.data[i * d + j] += ri * row[j];
    }
    tf.dispose(perLayer);
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) covariance.data[i * d + j] = covariance.data[j * d + i];
  return { mean, covariance };
}

/** max |z| over the upper triangle and over the mean. */
function zScores(sample: { mean: Float64Array; covariance: Dense }, analytic: Dense, draws: number): { covariance: number; mean: number } {
  const d = analytic.n;
  const s = analytic.data;
  let covariance = 0;
  let mean = 0;
  for (let i = 0; i < d; i++) {
    mean = Math.max(mean, Math.abs(sample.mean[i]) / Math.sqrt(s[i * d + i] / draws));
    for (let j = i; j < d; j++) {
      const se = Math.sqrt((s[i * d + i] * s[j * d + j] + s[i * d + j] ** 2) / draws);
      covariance = Math.max(covariance, Math.abs(sample.covariance.data[i * d + j] - s[i * d + j]) / se);
    }
  }
  return { covariance, mean };
}

/** Largest |correlation| off the diagonal: the covariance has structure worth testing. */
function largestCorrelation(c: Dense): number {
  let out = 0;
  for (let i = 0; i < c.n; i++) for (let j = 0; j < c.n; j++) if (i !== j) out = Math.max(out, Math.abs(c.data[i * c.n + j]) / Math.sqrt(c.data[i * c.n + i] * c.data[j * c.n + j]));
  return out;
}

const structures: [string, Structure, KfacDamping][] = [
  ['diag', 'diag', 'exact'],
  ['kfac, exact damping (N·A⊗G + τI)⁻¹', 'kfac', 'exact'],
  ['kfac, per-factor damping (√N A + √τ I)⁻¹ ⊗ (√N G + √τ I)⁻¹', 'kfac', 'per-factor'],
  ['efb', 'efb', 'exact'],
  ['last-layer (N F + τI)⁻¹', 'last-layer', 'exact'],
];

describe('posterior sampling matches the explicit covariance', () => {
  it.each(structures)('%s', (_, structure, damping) => {
    const posterior = new Posterior(network, weights, fit, { structure, n: N, tau: TAU, kfacDamping: damping });
    const layers = posterior.perturbedLayers;
    expect(layers).toEqual(structure === 'last-layer' ? [1] : [0, 1]);
    const analytic = blockDiagonal(layers.map((layer) => layerCovariance(structure, damping, layer)));
    const sample = sampleCovariance(posterior, DRAWS, 7);
    const z = zScores(sample, analytic, DRAWS);
    console.log(`${structure}/${damping}: ${DRAWS} draws, d = ${analytic.n}, max |z| covariance ${z.covariance.toFixed(2)}, mean ${z.mean.toFixed(2)}; largest analytic |correlation| ${largestCorrelation(analytic).toFixed(2)}`);
    expect(z.covariance).toBeLessThan(5);
    expect(z.mean).toBeLessThan(5);

    // marginalVariances is the diagonal of the explicit covariance (no sampling: tight). Not to
    // 1e-15: the library clamps eigenvalues that float32 rounding left slightly negative (G and
    // the last-layer F have exact null vectors) to 0, which moves a variance by up to N·|λ|/τ ≈ 3e-7.
    const variances = posterior.marginalVariances();
    let offset = 0;
    let worst = 0;
    for (const v of variances) {
      v.forEach((value, i) => {
        const reference = analytic.data[(offset + i) * analytic.n + offset + i];
        worst = Math.max(worst, Math.abs(value - reference) / reference);
      });
      offset += v.length;
    }
    expect(offset).toBe(analytic.n);
    console.log(`${structure}/${damping}: marginalVariances max relative error ${worst.toExponential(1)}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it.each(structures)('%s: sample() returns W* + δ for the same seed and allocates nothing else', (_, structure, damping) => {
    const posterior = new Posterior(network, weights, fit, { structure, n: N, tau: TAU, kfacDamping: damping });
    const before = tf.memory().numTensors;
    const samples = posterior.sample(3, 5);
    const layers = posterior.perturbedLayers;
    // Only the shifted layers are new tensors (the others are the MAP's own); nothing else may stay.
    expect(tf.memory().numTensors - before).toBe(3 * layers.length);
    const deviations = posterior.sampleDeviations(3, 5);
    samples.forEach((sample, t) => {
      sample.forEach((w, layer) => {
        const index = layers.indexOf(layer);
        if (index < 0) {
          expect(w).toBe(weights[layer]);
          return;
        }
        const expected = tf.tidy(() => tf.add(weights[layer], deviations[t][index]).dataSync());
        expect(maxAbsDifference(w.dataSync(), expected)).toBe(0);
      });
    });
    tf.dispose([...deviations.flat(), ...samples.flatMap((sample) => sample.filter((w) => !weights.includes(w)))]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('tells the two kfac dampings apart (the test has power)', () => {
    const posterior = new Posterior(network, weights, fit, { structure: 'kfac', n: N, tau: TAU, kfacDamping: 'exact' });
    const sample = sampleCovariance(posterior, DRAWS, 8);
    const wrong = blockDiagonal([0, 1].map((layer) => layerCovariance('kfac', 'per-factor', layer)));
    const z = zScores(sample, wrong, DRAWS);
    console.log(`kfac exact-damping draws against the per-factor covariance: max |z| ${z.covariance.toFixed(1)}`);
    expect(z.covariance).toBeGreaterThan(20);
  });
});
