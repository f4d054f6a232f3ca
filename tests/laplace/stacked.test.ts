/**
 * The sampled predictive with its weight samples run together (stacked.ts) against the
 * straightforward computation: the posterior's own draws for the same seed (Posterior.sample),
 * each run alone through Network.forward, softmax, averaged in float64. Several group sizes,
 * one that does not divide T, and networks whose steps have no stacked form (which fall back
 * to one sample at a time).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, Posterior, predict, tensorData, type Structure } from '../../compute/laplace/index.ts';
import { stackedPlan } from '../../compute/laplace/stacked.ts';
import { buildCnnA, buildCnnB, buildCnnC, buildMlp, maxAbsDifference, randomInputs, randomLabels, seedWeights, type Model } from './helpers.ts';

/** A LeNet-shaped network on 12×12×1: conv relu → max-pool → conv relu → max-pool → dense relu → dense. */
function buildMiniLenet(seed: number): Model {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 3, kernelSize: 3, padding: 'valid', activation: 'relu', name: `lenet_conv1_${seed}` }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'valid', activation: 'relu', name: `lenet_conv2_${seed}` }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 5, activation: 'relu', name: `lenet_dense1_${seed}` }),
      tfl.layers.dense({ units: 3, activation: 'linear', name: `lenet_dense2_${seed}` }),
    ],
  });
  seedWeights(model, seed);
  return model;
}

const cases: { name: string; build: () => Model; inputShape: number[]; stacked: boolean }[] = [
  { name: 'mlp (relu)', build: () => buildMlp(6, 5, 3, 301), inputShape: [6], stacked: true },
  { name: 'LeNet-shaped (conv, relu, max-pool twice)', build: () => buildMiniLenet(302), inputShape: [12, 12, 1], stacked: true },
  { name: 'CNN A (strided same conv, tanh conv, overlapping max-pool)', build: () => buildCnnA(303), inputShape: [8, 8, 2], stacked: true },
  { name: 'CNN B (sigmoid layer, relu conv before a max-pool)', build: () => buildCnnB(304), inputShape: [5, 5, 1], stacked: true },
  { name: 'CNN C (average pool, reshape: no stacked form)', build: () => buildCnnC(305), inputShape: [6, 5, 2], stacked: false },
];

const count = 9;
const samples = 7;
const seed = 41;

beforeAll(async () => {
  await startBackend('wasm');
});

/** 1/T Σ_t softmax(f(x, W_t)) for the posterior's own draws, one sample at a time, in float64. */
function oneAtATime(network: Network, posterior: Posterior, x: tf.Tensor): Float64Array {
  const weightSets = posterior.sample(samples, seed);
  const classes = network.classes;
  const out = new Float64Array(count * classes);
  for (const weights of weightSets) {
    const logits = tf.tidy(() => network.forward(x, weights));
    const values = logits.dataSync();
    logits.dispose();
    for (let b = 0; b < count; b++) {
      const row = Array.from(values.slice(b * classes, (b + 1) * classes));
      const largest = Math.max(...row);
      const exps = row.map((value) => Math.exp(value - largest));
      const sum = exps.reduce((a, e) => a + e, 0);
      exps.forEach((e, c) => (out[b * classes + c] += e / sum / samples));
    }
    tf.dispose(weights.filter((w) => !posterior.mapWeights.includes(w)));
  }
  return out;
}

describe.each(cases)('sampled predictive, samples run together: $name', ({ build, inputShape, stacked }) => {
  let model: Model;
  let network: Network;
  let x: tf.Tensor;
  let posteriors: Posterior[];
  const structures: Structure[] = ['diag', 'kfac', 'last-layer'];

  beforeAll(async () => {
    model = build();
    network = new Network(model);
    const weights = network.matricesFromModel(model);
    x = randomInputs([count, ...inputShape], 306);
    const data = tensorData(x, randomLabels(count, network.classes, 307));
    const fit = await fitCurvature(network, weights, data, { kinds: structures, fisher: 'exact' });
    // N and τ small enough that the samples spread widely, so a sample mixed up with another would show.
    posteriors = structures.map((structure) => new Posterior(network, weights, fit, { structure, n: 20, tau: 2, kfacDamping: 'exact' }));
  });

  afterAll(() => {
    posteriors[0].dispose();
    x.dispose();
    model.dispose();
  });

  it(stacked ? 'has a stacked plan from every first perturbed layer' : 'has no stacked plan, so it runs one sample at a time', () => {
    expect(stackedPlan(network, 0) !== null).toBe(stacked);
    expect(stackedPlan(network, network.layers.length - 1)).not.toBeNull(); // a Dense last layer alone always stacks
  });

  it.each(structures.map((structure, index) => ({ structure, index })))('$structure: every group size equals one sample at a time', async ({ index }) => {
    const posterior = posteriors[index];
    const reference = oneAtATime(network, posterior, x);
    const data = tensorData(x, randomLabels(count, network.classes, 307));
    for (const samplesPerPass of [1, 3, samples, undefined]) {
      const probabilities = await predict(posterior, data, { predictive: 'sampled', samples, seed, samplesPerPass, batchSize: 4 });
      // float32 rounding of probabilities of order 1, summed over 7 samples
      expect(maxAbsDifference(probabilities, reference), `samplesPerPass ${samplesPerPass}`).toBeLessThan(2e-6);
    }
    // and the samples are far apart, so the comparison has teeth
    const single = await predict(posterior, data, { predictive: 'sampled', samples: 1, seed });
    expect(maxAbsDifference(single, reference)).toBeGreaterThan(1e-3);
  });
});

describe('stacked plan', () => {
  it('puts a max-pool before the bias and ReLU of the convolution in front of it', () => {
    const model = buildMiniLenet(308);
    const plan = stackedPlan(new Network(model), 0)!;
    expect(plan.map((step) => step.kind)).toEqual([
      'conv-shared',
      'pool',
      'conv-bias',
      'activation',
      'conv-channels',
      'pool',
      'conv-bias',
      'activation',
      'flatten',
      'dense-samples',
      'activation',
      'dense-samples',
    ]);
    model.dispose();
  });

  it('rejects a group size that is not a positive integer', async () => {
    const model = buildMlp(3, 4, 3, 309);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const x = randomInputs([2, 3], 310);
    const data = tensorData(x, randomLabels(2, 3, 311));
    const fit = await fitCurvature(network, weights, data, { kinds: ['diag'] });
    const posterior = new Posterior(network, weights, fit, { structure: 'diag', n: 10, tau: 1, kfacDamping: 'exact' });
    await expect(predict(posterior, data, { predictive: 'sampled', samples: 2, samplesPerPass: 0 })).rejects.toThrow(/samplesPerPass must be a positive integer/);
    posterior.dispose();
    x.dispose();
    model.dispose();
  });
});
