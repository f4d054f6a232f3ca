/**
 * Predictives against independent computations:
 *  - map equals tfjs-layers' own model.predict;
 *  - very large τ (or N) gives back the deterministic network, for every structure;
 *  - the linearised predictive equals 1/T Σ softmax(f + J δ_t) with J written out one output at
 *    a time by tf.variableGrads and δ_t the posterior's own draws for the same seed;
 *  - probit equals softmax(μ / √(1 + π/8 · σ²)) with σ² = diag(J Σ Jᵀ) from the explicit
 *    last-layer covariance Σ = (N F + τ I)⁻¹ and the explicit last-layer Jacobian.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, fitLaplace, Network, Posterior, predict, preparePredictive, tensorData, type CurvatureFit, type KfacDamping, type LaplaceData, type LayerMatrix, type Structure } from '../../compute/laplace/index.ts';
import { buildCnnA, buildMlp, example, invert, maxAbsDifference, outputGradients, randomInputs, randomLabels, scaleAddIdentity, seedWeights, type Model } from './helpers.ts';

const structures: [string, Structure, KfacDamping][] = [
  ['diag', 'diag', 'exact'],
  ['kfac (exact damping)', 'kfac', 'exact'],
  ['kfac (per-factor damping)', 'kfac', 'per-factor'],
  ['efb', 'efb', 'exact'],
  ['last-layer', 'last-layer', 'exact'],
];

let model: Model;
let network: Network;
let weights: LayerMatrix[];
let fit: CurvatureFit;
let x: tf.Tensor;
let data: LaplaceData;
let fresh: tf.Tensor;
let freshData: LaplaceData;
const count = 8;

beforeAll(async () => {
  await startBackend('wasm');
  // Linear logits, so tf.variableGrads of the model's output is the Jacobian of the logits.
  model = buildMlp(3, 4, 3, 111, 'tanh', 'linear');
  x = randomInputs([count, 3], 112);
  data = tensorData(x, randomLabels(count, 3, 113));
  fresh = randomInputs([5, 3], 114);
  freshData = tensorData(fresh, randomLabels(5, 3, 115));
  network = new Network(model);
  weights = network.matricesFromModel(model);
  fit = await fitCurvature(network, weights, data, { kinds: ['diag', 'kfac', 'efb', 'last-layer'], fisher: 'exact' });
});

afterAll(() => {
  tf.dispose([x, fresh, ...weights]);
  model.dispose();
});

function softmaxRow(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('map predictive', () => {
  it('equals the softmax of tfjs-layers’ own forward pass', async () => {
    const posterior = new Posterior(network, weights, fit, { structure: 'diag', n: 1, tau: 1, kfacDamping: 'exact' });
    const map = await predict(posterior, data, { predictive: 'map' });
    const reference = tf.tidy(() => tf.softmax(model.predict(x) as tf.Tensor).dataSync());
    expect(maxAbsDifference(map, reference)).toBeLessThan(1e-6);
  });

  it('equals model.predict for a model that ends in a separate softmax Activation layer', async () => {
    const separate = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [3], units: 4, activation: 'tanh' }), tfl.layers.dense({ units: 3 }), tfl.layers.activation({ activation: 'softmax' })],
    });
    seedWeights(separate, 116);
    const laplace = await fitLaplace(separate, data, { curvature: 'diag', fisher: 'exact' });
    expect(laplace.posterior.network.classes).toBe(3);
    const map = await laplace.predict(data, { predictive: 'map' });
    const reference = tf.tidy(() => (separate.predict(x) as tf.Tensor).dataSync());
    expect(maxAbsDifference(map, reference)).toBeLessThan(1e-6);
    laplace.dispose();
    separate.dispose();
  });
});

describe('prediction batches', () => {
  it('the weight samples are drawn once per call, so the batch size does not change the predictions', async () => {
    const posterior = new Posterior(network, weights, fit, { structure: 'kfac', n: 20, tau: 2, kfacDamping: 'exact' });
    for (const predictive of ['sampled', 'linearised'] as const) {
      const whole = await predict(posterior, data, { predictive, samples: 4, seed: 1 });
      const batched = await predict(posterior, data, { predictive, samples: 4, seed: 1, batchSize: 3 });
      expect(maxAbsDifference(batched, whole)).toBeLessThan(1e-6);
      const otherSeed = await predict(posterior, data, { predictive, samples: 4, seed: 2 });
      expect(maxAbsDifference(otherSeed, whole)).toBeGreaterThan(1e-3);
    }
  });
});

describe('a prepared predictive', () => {
  it('gives every data set what predict gives it, bit for bit, and frees its samples when disposed', async () => {
    for (const structure of ['diag', 'kfac', 'efb', 'last-layer'] as const) {
      const posterior = new Posterior(network, weights, fit, { structure, n: 20, tau: 2, kfacDamping: 'exact' });
      for (const predictive of ['sampled', 'linearised'] as const) {
        const before = tf.memory().numTensors;
        const prepared = preparePredictive(posterior, { predictive, samples: 4, seed: 3 });
        const onData = await prepared.predict(data);
        const onFresh = await prepared.predict(freshData);
        prepared.dispose();
        expect(tf.memory().numTensors).toBe(before);
        expect(Array.from(onData)).toEqual(Array.from(await predict(posterior, data, { predictive, samples: 4, seed: 3 })));
        expect(Array.from(onFresh)).toEqual(Array.from(await predict(posterior, freshData, { predictive, samples: 4, seed: 3 })));
        await expect(prepared.predict(data)).rejects.toThrow(/disposed/);
      }
    }
  });
});

describe('layers before the first perturbed one run once', () => {
  it('splitting the forward pass at any parameter layer gives the same logits bit for bit', () => {
    const cnn = buildCnnA(116);
    const cnnNetwork = new Network(cnn);
    const cnnWeights = cnnNetwork.matricesFromModel(cnn);
    const images = randomInputs([4, 8, 8, 2], 117);
    for (const [net, w, input] of [[network, weights, x], [cnnNetwork, cnnWeights, images]] as const) {
      const whole = tf.tidy(() => net.forward(input, w).dataSync());
      for (let layer = 0; layer < net.layers.length; layer++) {
        const { head, tail } = net.splitAt(layer);
        const split = tf.tidy(() => tail(head(input, w), w).dataSync());
        expect(Array.from(split)).toEqual(Array.from(whole));
      }
      expect(() => net.splitAt(net.layers.length)).toThrow(/no parameter layer/);
    }
    tf.dispose([...cnnWeights, images]);
    cnn.dispose();
  });

  it('the last-layer sampled predictive equals 1/T Σ softmax of whole forward passes with its samples, exactly', async () => {
    const posterior = new Posterior(network, weights, fit, { structure: 'last-layer', n: 20, tau: 2, kfacDamping: 'exact' });
    const samples = 5;
    const predicted = await predict(posterior, data, { predictive: 'sampled', samples, seed: 9 });
    const drawn = posterior.sample(samples, 9);
    const reference = tf.tidy(() => tf.div(tf.addN(drawn.map((w) => tf.softmax(network.forward(x, w)))), samples).dataSync());
    tf.dispose(drawn.flat().filter((w) => !weights.includes(w)));
    expect(Array.from(predicted)).toEqual(Array.from(reference));
  });
});

describe('very large N or τ gives back the deterministic network', () => {
  /*
   * τ → ∞ shrinks every direction. N → ∞ shrinks every direction the Fisher sees; its null
   * directions keep the prior variance 1/τ. For these fitting inputs those are only the ones that
   * move all logits of an example by the same amount (e.g. the last layer's u ⊗ 1: the class
   * shift that softmax ignores) or not at all (tanh hidden layer, more examples than inputs, so
   * A has full rank), so the predictions on the fitting inputs still collapse onto the map.
   * On other inputs only τ → ∞ guarantees it, so the fresh inputs are checked with large τ.
   */
  const settings: [string, number, number, 'fit' | 'fresh'][] = [
    ['τ = 1e12, fitting inputs', 1, 1e12, 'fit'],
    ['τ = 1e12, fresh inputs', 1, 1e12, 'fresh'],
    ['N = 1e12, fitting inputs', 1e12, 1, 'fit'],
  ];
  for (const [label, n, tau, which] of settings) {
    it.each(structures)(`${label}: %s`, async (_, structure, kfacDamping) => {
      const posterior = new Posterior(network, weights, fit, { structure, n, tau, kfacDamping });
      const inputs = which === 'fit' ? data : freshData;
      const map = await predict(posterior, inputs, { predictive: 'map' });
      const sampled = await predict(posterior, inputs, { predictive: 'sampled', samples: 8, seed: 3 });
      const linearised = await predict(posterior, inputs, { predictive: 'linearised', samples: 8, seed: 3 });
      const errors = [maxAbsDifference(sampled, map), maxAbsDifference(linearised, map)];
      console.log(`${label}, ${structure}/${kfacDamping}: max |p − p_map| sampled ${errors[0].toExponential(1)}, linearised ${errors[1].toExponential(1)}`);
      expect(errors[0]).toBeLessThan(1e-4);
      expect(errors[1]).toBeLessThan(1e-4);
      // Probit only with large τ: it scales each logit by its own 1/√(1 + π/8 σ²_k), so the class
      // shift u ⊗ 1 that the last-layer Fisher cannot see (variance 1/τ however large N is) tempers
      // its softmax instead of cancelling; with N = 1e12, τ = 1 it stays 0.018 away from the map.
      // That is the probit approximation (per-logit variances), not the sampler.
      if (structure === 'last-layer' && tau > 1e6) {
        const probit = await predict(posterior, inputs, { predictive: 'probit' });
        expect(maxAbsDifference(probit, map)).toBeLessThan(1e-4);
      }
    });
  }
});

describe('linearised predictive', () => {
  it.each(structures)('%s: equals 1/T Σ softmax(f(x) + J δ_t) with an explicit Jacobian', async (_, structure, kfacDamping) => {
    const samples = 6;
    const seed = 17;
    const posterior = new Posterior(network, weights, fit, { structure, n: 20, tau: 2, kfacDamping });
    // The same draws the predictive makes: sampleDeviations with the same seed.
    const deviations = posterior.sampleDeviations(samples, seed).map((perLayer) => {
      const values = perLayer.map((t) => Float64Array.from(t.dataSync()));
      tf.dispose(perLayer);
      return values;
    });
    const layers = posterior.perturbedLayers;
    const mean = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const expected = new Float64Array(count * 3);
    let largestShift = 0;
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      const jacobian = [0, 1, 2].map((k) => outputGradients(model, xi, k)); // [output][layer] W̄ rows
      xi.dispose();
      for (const delta of deviations) {
        const shifted = [0, 1, 2].map((k) => {
          let jd = 0;
          layers.forEach((layer, index) => jacobian[k][layer].forEach((v, e) => (jd += v * delta[index][e])));
          largestShift = Math.max(largestShift, Math.abs(jd));
          return mean[i * 3 + k] + jd;
        });
        softmaxRow(shifted).forEach((p, k) => (expected[i * 3 + k] += p / samples));
      }
    }
    expect(largestShift).toBeGreaterThan(0.1); // the deviations move the logits visibly
    for (const difference of ['central', 'forward'] as const) {
      const actual = await predict(posterior, data, { predictive: 'linearised', samples, seed, difference });
      const error = maxAbsDifference(actual, expected);
      console.log(`linearised ${structure}/${kfacDamping}, ${difference} differences: max |p − p_explicit| ${error.toExponential(1)} (largest |J δ| ${largestShift.toFixed(2)})`);
      // Forward differences carry an O(h) error: about 1e-4 here at the best step, 8× central's.
      expect(error).toBeLessThan(difference === 'central' ? 1e-4 : 3e-4);
    }
  });
});

describe('probit predictive', () => {
  it('uses the logit variances diag(J Σ Jᵀ) of the explicit last-layer covariance', async () => {
    const n = 20;
    const tau = 2;
    const posterior = new Posterior(network, weights, fit, { structure: 'last-layer', n, tau, kfacDamping: 'exact' });
    const actual = await predict(posterior, data, { predictive: 'probit' });
    const f = fit.lastLayer!;
    const sigma = invert(scaleAddIdentity({ n: f.rows, data: Float64Array.from(f.data) }, n, tau));
    const d = sigma.n;
    const mean = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const expected: number[] = [];
    let largestVariance = 0;
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      const scaled = [0, 1, 2].map((k) => {
        const j = outputGradients(model, xi, k)[1]; // last layer's Jacobian row
        let variance = 0;
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) variance += j[a] * sigma.data[a * d + b] * j[b];
        largestVariance = Math.max(largestVariance, variance);
        return mean[i * 3 + k] / Math.sqrt(1 + (Math.PI / 8) * variance);
      });
      xi.dispose();
      expected.push(...softmaxRow(scaled));
    }
    const error = maxAbsDifference(actual, expected);
    console.log(`probit: max |p − p_explicit| ${error.toExponential(1)} (largest logit variance ${largestVariance.toFixed(3)})`);
    expect(largestVariance).toBeGreaterThan(0.05);
    expect(error).toBeLessThan(1e-5);
  });

  it('is refused for structures other than last-layer', async () => {
    const posterior = new Posterior(network, weights, fit, { structure: 'diag', n: 1, tau: 1, kfacDamping: 'exact' });
    await expect(predict(posterior, data, { predictive: 'probit' })).rejects.toThrow(/last-layer/);
  });
});
