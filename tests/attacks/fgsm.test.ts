/**
 * FGSM against independent computations. The reference gradients are taken
 * one example at a time with tf.grad through tfjs-layers' own forward pass
 * (model.apply), never through compute/laplace's Network, and the losses and
 * accuracies of attacked sets are measured through model.apply as well.
 *
 * Network under attack: a small MLP (784 → 32 ReLU → 10) trained with the
 * project's seeded loop on 1,000 MNIST training images for 320 steps, plus an
 * untrained small CNN (conv, max-pool, dense) for the sign check through
 * convolutions and pooling.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttackError, defaultEpsilons, fgsmSigns, perturbSet, type GradientSource } from '../../compute/attacks/index.ts';
import { startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset, type ImageSet } from '../../compute/data/index.ts';
import { Network, type LayerMatrix } from '../../compute/laplace/index.ts';
import { initializeWeights, trainModel } from '../../compute/models/train.ts';
import { buildModel, getModelSpec, type LayerSpec } from '../../compute/models/zoo.ts';
import { Random } from '../../compute/laplace/random.ts';

const mlpLayers: LayerSpec[] = [
  { type: 'flatten' },
  { type: 'dense', units: 32, activation: 'relu' },
  { type: 'dense', units: 10, activation: 'linear' },
];
const cnnLayers: LayerSpec[] = [
  { type: 'conv2d', filters: 4, kernelSize: 5, padding: 'valid', strides: 1, activation: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'conv2d', filters: 6, kernelSize: 3, padding: 'same', strides: 2, activation: 'linear' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'activation', activation: 'relu' },
  { type: 'flatten' },
  { type: 'dense', units: 10, activation: 'linear' },
];

let mlp: tfl.Sequential;
let network: Network;
let weights: LayerMatrix[];
let test: ImageSet;
let mapSigns: Int8Array;
const pixels = 28 * 28;

beforeAll(async () => {
  await startBackend('wasm');
  const mnist = loadDataset('mnist');
  const train = subset(mnist.train, 1000, 1);
  test = subset(mnist.test, 500, 2);
  mlp = buildModel({ name: 'fgsm-mlp', layers: mlpLayers });
  initializeWeights(mlp, 3);
  const recipe = { ...getModelSpec('mlp-1').recipe, batchSize: 32, learningRate: 3e-3, schedule: 'constant' as const };
  const run = await trainModel(mlp, train, recipe, 10, 4, 'fgsm test MLP');
  expect(run.steps).toBe(320);
  network = new Network(mlp);
  weights = network.matricesFromModel(mlp);
  mapSigns = await fgsmSigns({ kind: 'map', network, weights }, test);
});

afterAll(() => {
  tf.dispose(weights);
  mlp.dispose();
});

/** Mean cross-entropy and accuracy of a model on a set, through model.apply. */
function evaluate(model: tfl.LayersModel, set: ImageSet): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const x = tf.tensor4d(set.images, [set.count, 28, 28, 1]);
    const logits = model.apply(x, { training: false }) as tf.Tensor2D;
    const labels = tf.tensor1d(Int32Array.from(set.labels), 'int32');
    const loss = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(labels, 10)), 1))).dataSync()[0];
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')).dataSync()[0];
    return { loss, accuracy: correct / set.count };
  });
}

/** ∇ₓ of the loss of ONE example, by tf.grad through model.apply; `loss` maps the example's logits list to a scalar. */
function bruteForceGradient(models: tfl.LayersModel[], set: ImageSet, index: number, loss: (logits: tf.Tensor2D[], label: number) => tf.Scalar): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(set.images.subarray(index * pixels, (index + 1) * pixels), [1, 28, 28, 1]);
    const gradient = tf.grad((input: tf.Tensor) => loss(models.map((model) => model.apply(input, { training: false }) as tf.Tensor2D), set.labels[index]))(x);
    return gradient.dataSync() as Float32Array;
  });
}

/**
 * The reference losses, written differently from the library: with a = log Σ_{c≠y} exp(z_c − z_y)
 * (the true class masked out), −log p(y) = softplus(a), whose automatic gradient
 * sigmoid(a)·∇a keeps full precision for confident examples (no 1 − p_y cancellation).
 */
function marginLogSumExp(logits: tf.Tensor2D, label: number): tf.Tensor1D {
  const classes = logits.shape[1];
  const isTrue = tf.cast(tf.oneHot(tf.tensor1d([label], 'int32'), classes), 'bool');
  const shifted = tf.sub(logits, tf.slice(logits, [0, label], [1, 1]));
  return tf.logSumExp(tf.where(isTrue, tf.fill([1, classes], -1e9), shifted), 1) as tf.Tensor1D;
}

const crossEntropyOfOne = (logits: tf.Tensor2D[], label: number) => tf.sum(tf.softplus(marginLogSumExp(logits[0], label))) as tf.Scalar;

/** −log (1/S Σ_s p_s(y)) = log S − logsumexp_s(−softplus(a_s)). */
const predictiveLossOfOne = (logits: tf.Tensor2D[], label: number) => {
  const logTrue = tf.stack(logits.map((l) => tf.neg(tf.softplus(marginLogSumExp(l, label)))));
  return tf.sub(Math.log(logits.length), tf.sum(tf.logSumExp(logTrue, 0))) as tf.Scalar;
};

/** The textbook loss −logSoftmax(z)_y under tf's automatic gradient, which loses the true-class term when p_y rounds to 1. */
const naiveCrossEntropyOfOne = (logits: tf.Tensor2D[], label: number) => tf.neg(tf.sum(tf.slice(tf.logSoftmax(logits[0]), [0, label], [1, 1]))) as tf.Scalar;

/**
 * Compares `signs` of example `index` with the signs of a reference gradient, skipping entries
 * whose reference gradient is 0 or below 1e-4 of the example's largest; returns how many were compared.
 */
function compareSigns(signs: Int8Array, index: number, reference: Float32Array): number {
  const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(scale).toBeGreaterThan(0);
  let compared = 0;
  const mismatches: string[] = [];
  for (let p = 0; p < pixels; p++) {
    const g = reference[p];
    if (Math.abs(g) <= 1e-4 * scale) continue;
    compared++;
    if (signs[index * pixels + p] !== Math.sign(g)) mismatches.push(`example ${index} (largest |gradient| ${scale}), pixel ${p}: sign ${signs[index * pixels + p]} vs gradient ${g}`);
  }
  expect(mismatches).toEqual([]);
  return compared;
}

describe('fgsmSigns', () => {
  it('are −1, 0 or +1 per pixel, and equal the sign of a one-example tf.grad through model.apply (MLP)', () => {
    expect(mapSigns.length).toBe(test.count * pixels);
    expect(mapSigns.every((s) => s === -1 || s === 0 || s === 1)).toBe(true);
    let compared = 0;
    for (const index of [0, 1, 2, 3, 57, 123, 250, 499]) compared += compareSigns(mapSigns, index, bruteForceGradient([mlp], test, index, crossEntropyOfOne));
    // Most pixels are compared (the rest are border pixels, never lit in training, whose
    // first-layer weights weight decay has pulled to ~0): the comparison is not vacuous.
    expect(compared).toBeGreaterThan(0.6 * 8 * pixels);
  });

  it('equal the brute-force signs through convolutions, pooling and a separate ReLU layer (untrained CNN)', async () => {
    const cnn = buildModel({ name: 'fgsm-cnn', layers: cnnLayers });
    initializeWeights(cnn, 5);
    const cnnNetwork = new Network(cnn);
    const cnnWeights = cnnNetwork.matricesFromModel(cnn);
    const few = subset(test, 6);
    const signs = await fgsmSigns({ kind: 'map', network: cnnNetwork, weights: cnnWeights }, few, { batchSize: 4 });
    let compared = 0;
    for (let index = 0; index < few.count; index++) compared += compareSigns(signs, index, bruteForceGradient([cnn], few, index, crossEntropyOfOne));
    expect(compared).toBeGreaterThan(0.5 * few.count * pixels);
    tf.dispose(cnnWeights);
    cnn.dispose();
  });

  it('keep the true-class term for images so confident that float32 rounds p(y) to 1', async () => {
    // The MLP with its logits multiplied by 4 (last layer × 4): many test images get p(y) = 1 in float32.
    const sharp = buildModel({ name: 'fgsm-mlp-sharp', layers: mlpLayers });
    const scaled = mlp.getWeights().map((w, index, all) => (index >= all.length - 2 ? tf.mul(w, 4) : tf.clone(w)));
    sharp.setWeights(scaled);
    tf.dispose(scaled);
    const confident: number[] = [];
    const probabilities = tf.tidy(() => tf.softmax(sharp.apply(tf.tensor4d(test.images, [test.count, 28, 28, 1])) as tf.Tensor2D).dataSync());
    for (let i = 0; i < test.count && confident.length < 6; i++) if (probabilities[i * 10 + test.labels[i]] === 1) confident.push(i);
    expect(confident.length).toBe(6);
    const sharpNetwork = new Network(sharp);
    const sharpWeights = sharpNetwork.matricesFromModel(sharp);
    const signs = await fgsmSigns({ kind: 'map', network: sharpNetwork, weights: sharpWeights }, test);
    let naiveDisagrees = 0;
    let nonZero = 0;
    for (const index of confident) {
      const stable = bruteForceGradient([sharp], test, index, crossEntropyOfOne);
      compareSigns(signs, index, stable);
      // The textbook autodiff gradient points elsewhere on a good share of the pixels (or is all zero).
      const naive = bruteForceGradient([sharp], test, index, naiveCrossEntropyOfOne);
      for (let p = 0; p < pixels; p++) {
        if (stable[p] === 0) continue;
        nonZero++;
        if (Math.sign(naive[p]) !== Math.sign(stable[p])) naiveDisagrees++;
      }
    }
    expect(naiveDisagrees / nonZero).toBeGreaterThan(0.1);
    tf.dispose(sharpWeights);
    sharp.dispose();
  });

  it('do not depend on the batch size', async () => {
    const few = subset(test, 30);
    const signs = await fgsmSigns({ kind: 'map', network, weights }, few, { batchSize: 7 });
    let differ = 0;
    for (let i = 0; i < signs.length; i++) if (signs[i] !== mapSigns[i]) differ++;
    expect(differ / signs.length).toBeLessThan(1e-3);
  });

  it("'predictive' with the single weight set W* (or W* twice) gives the signs of 'map'", async () => {
    const few = subset(test, 40);
    const map = mapSigns.subarray(0, few.count * pixels);
    const once = await fgsmSigns({ kind: 'predictive', network, weightSets: [weights] }, few);
    const twice = await fgsmSigns({ kind: 'predictive', network, weightSets: [weights, weights] }, few);
    for (const signs of [once, twice]) {
      let differ = 0;
      for (let i = 0; i < signs.length; i++) if (signs[i] !== map[i]) differ++;
      expect(differ / signs.length).toBeLessThan(1e-3);
    }
  });

  it("'predictive' with two different weight sets equals the brute-force gradient of −log of the mean softmax of two models", async () => {
    // A second model: W* plus seeded noise of 30% of each tensor's RMS, large enough to change the gradients.
    const other = buildModel({ name: 'fgsm-mlp-2', layers: mlpLayers });
    const random = new Random(6);
    const noisy = mlp.getWeights().map((w) =>
      tf.tidy(() => {
        const rms = Math.sqrt(tf.mean(tf.square(w)).dataSync()[0]) || 0.1;
        return tf.add(w, tf.mul(tf.tensor(random.normals(w.size), w.shape), 0.3 * rms));
      }),
    );
    other.setWeights(noisy);
    tf.dispose(noisy);
    const otherWeights = network.matricesFromModel(other);
    const few = subset(test, 12);
    const signs = await fgsmSigns({ kind: 'predictive', network, weightSets: [weights, otherWeights] }, few, { batchSize: 5 });
    let compared = 0;
    let differsFromMap = 0;
    for (let index = 0; index < few.count; index++) {
      compared += compareSigns(signs, index, bruteForceGradient([mlp, other], few, index, predictiveLossOfOne));
      for (let p = 0; p < pixels; p++) if (signs[index * pixels + p] !== mapSigns[index * pixels + p]) differsFromMap++;
    }
    expect(compared).toBeGreaterThan(0.9 * few.count * pixels);
    expect(differsFromMap).toBeGreaterThan(100);
    tf.dispose(otherWeights);
    other.dispose();
  });

  it('leave no tensors behind and report progress per batch', async () => {
    const few = subset(test, 25);
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    await fgsmSigns({ kind: 'map', network, weights }, few, { batchSize: 10, onProgress: (done) => progress.push(done) });
    await fgsmSigns({ kind: 'predictive', network, weightSets: [weights, weights] }, few, { batchSize: 10 });
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([10, 20, 25]);
  });

  it('refuses a wrong source with one sentence', async () => {
    const few = subset(test, 2);
    await expect(fgsmSigns({ kind: 'predictive', network, weightSets: [] }, few)).rejects.toThrow(/at least one weight set/);
    await expect(fgsmSigns({ kind: 'map', network, weights: weights.slice(1) }, few)).rejects.toThrow(/one W̄ matrix per parameter layer \(2\), got 1/);
    await expect(fgsmSigns({ kind: 'other', network } as unknown as GradientSource, few)).rejects.toThrow(AttackError);
    await expect(fgsmSigns({ kind: 'map', network, weights }, few, { batchSize: 0 })).rejects.toThrow(/positive integer/);
  });
});

describe('perturbSet', () => {
  it('raises the loss and lowers the accuracy of the trained network at ε = 0.1', () => {
    const clean = evaluate(mlp, perturbSet(test, mapSigns, 0));
    const attacked = evaluate(mlp, perturbSet(test, mapSigns, 0.1));
    expect(clean.accuracy).toBeGreaterThan(0.8);
    expect(attacked.loss).toBeGreaterThan(clean.loss + 0.5);
    expect(attacked.accuracy).toBeLessThan(clean.accuracy - 0.2);
    // Monotone along the start of the grid, for this network.
    const losses = [0, 0.02, 0.05, 0.1, 0.2].map((epsilon) => evaluate(mlp, perturbSet(test, mapSigns, epsilon)).loss);
    for (let k = 1; k < losses.length; k++) expect(losses[k]).toBeGreaterThan(losses[k - 1]);
  });

  it('changes nothing at ε = 0: byte-identical images, same labels', () => {
    const same = perturbSet(test, mapSigns, 0);
    expect(same.images === test.images).toBe(false);
    expect(Buffer.from(same.images.buffer, same.images.byteOffset, same.images.byteLength).equals(Buffer.from(test.images.buffer, test.images.byteOffset, test.images.byteLength))).toBe(true);
    expect(Array.from(same.labels)).toEqual(Array.from(test.labels));
  });

  it('is clip(x + ε·sign, 0, 1) and keeps every pixel in [0, 1] for every ε of the default grid', () => {
    for (const epsilon of defaultEpsilons) {
      const attacked = perturbSet(test, mapSigns, epsilon);
      let outside = 0;
      let wrong = 0;
      for (let i = 0; i < attacked.images.length; i++) {
        const value = attacked.images[i];
        if (!(value >= 0 && value <= 1)) outside++;
        const expected = Math.fround(Math.min(1, Math.max(0, test.images[i] + epsilon * mapSigns[i])));
        if (value !== expected) wrong++;
      }
      expect(outside).toBe(0);
      expect(wrong).toBe(0);
    }
    // At ε = 1 an image is its sign pattern wherever the sign is non-zero.
    const saturated = perturbSet(test, mapSigns, 1);
    for (let i = 0; i < pixels * 10; i++) if (mapSigns[i] !== 0) expect(saturated.images[i]).toBe(mapSigns[i] > 0 ? 1 : 0);
  });

  it('names and describes the attacked set', async () => {
    const attacked = perturbSet(test, mapSigns, 0.1);
    expect(attacked.name).toBe(`${test.name}-fgsm-0.1`);
    expect(attacked.derived).toBe('MNIST test:sample-500-seed-2, FGSM ε = 0.1 on the deterministic network');
    const few = subset(test, 3);
    const predictive = await fgsmSigns({ kind: 'predictive', network, weightSets: [weights, weights, weights] }, few);
    const bayes = perturbSet(few, predictive, 0.05);
    expect(bayes.name).toBe(`${few.name}-fgsm-predictive-0.05`);
    expect(bayes.derived).toMatch(/FGSM ε = 0\.05 on the Monte Carlo predictive \(3 weight samples\)$/);
    // Signs from elsewhere need to say what they attack.
    const copied = predictive.slice();
    expect(() => perturbSet(few, copied, 0.1)).toThrow(/not made by fgsmSigns/);
    expect(perturbSet(few, copied, 0.1, { against: 'a hand-made pattern' }).derived).toMatch(/on a hand-made pattern$/);
  });

  it('refuses ε outside [0, 1] or NaN, and signs of the wrong size, with one sentence', () => {
    for (const epsilon of [-0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => perturbSet(test, mapSigns, epsilon)).toThrow(AttackError);
      expect(() => perturbSet(test, mapSigns, epsilon)).toThrow(/ε must be a number from 0 to 1 \(a fraction of the pixel range\), got/);
    }
    expect(() => perturbSet(test, mapSigns.subarray(0, 10), 0.1)).toThrow(/one entry per pixel/);
    const bad = new Int8Array(test.count * pixels);
    bad[5] = 2;
    expect(() => perturbSet(test, bad, 0.1, { against: 'x' })).toThrow(/Sign 5 is 2/);
  });

  it('has a default ε grid over [0, 1], increasing, from 0 to 1', () => {
    expect(defaultEpsilons[0]).toBe(0);
    expect(defaultEpsilons[defaultEpsilons.length - 1]).toBe(1);
    for (let k = 1; k < defaultEpsilons.length; k++) expect(defaultEpsilons[k]).toBeGreaterThan(defaultEpsilons[k - 1]);
  });
});
