/**
 * The lean training step against two independent implementations of the
 * same training: the reference step (tfjs-core's AdamOptimizer.minimize over
 * model.apply, the decay on the tape) and tfjs-layers' own `fit`. Bit for
 * bit where the arithmetic is the same; the backend is LAPLACE_BACKEND's
 * (wasm when unset), so `LAPLACE_BACKEND=node` checks the study's.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset, type ImageSet } from '../../compute/data/index.ts';
import { imageBatch, labelBatch } from '../../compute/models/tensors.ts';
import { initializeWeights, trainModel, type TrainingStepKind } from '../../compute/models/train.ts';
import { buildModel, classCount, getModelSpec, type LayerSpec, type TrainingRecipe } from '../../compute/models/zoo.ts';
import { Random } from '../../compute/laplace/random.ts';

/** Small, but with every kind of layer the zoo uses: convolutions with and without a fused ReLU, pooling, a separate ReLU, dense layers. */
const smallNetwork = {
  name: 'small-cnn',
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', strides: 2, activation: 'linear' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'activation', activation: 'relu' },
    { type: 'conv2d', filters: 6, kernelSize: 3, padding: 'valid', activation: 'relu' },
    { type: 'flatten' },
    { type: 'dense', units: 16, activation: 'relu' },
    { type: 'dense', units: classCount, activation: 'linear' },
  ] satisfies LayerSpec[],
};

/** LeNet-shaped: the first convolution has a fused ReLU, so it keeps its own `call` (the other network's first layer takes the lean step's shortcut). */
const reluFirstNetwork = {
  name: 'relu-first-cnn',
  layers: [
    { type: 'conv2d', filters: 3, kernelSize: 5, padding: 'valid', strides: 2, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 12, activation: 'relu' },
    { type: 'dense', units: classCount, activation: 'linear' },
  ] satisfies LayerSpec[],
};

const studyRecipe: TrainingRecipe = { ...getModelSpec('lenet5').recipe, batchSize: 64 };
const overconfidentRecipe = getModelSpec('lenet5-overconfident').recipe;

let train: ImageSet;
beforeAll(async () => {
  await startBackend(process.env.LAPLACE_BACKEND || 'wasm');
  train = subset(loadDataset('mnist').train, 600);
});

function weightBytes(model: tfl.LayersModel): string[] {
  return model.getWeights().map((weight) => Buffer.from((weight.dataSync() as Float32Array).buffer).toString('hex'));
}

async function trained(recipe: TrainingRecipe, step: TrainingStepKind, layers: { name: string; layers: readonly LayerSpec[] }) {
  const model = buildModel(layers);
  initializeWeights(model, 11);
  const before = tf.memory().numTensors;
  const run = await trainModel(model, train, { ...recipe, batchSize: 64 }, 3, 12, 'test', { step });
  const leaked = tf.memory().numTensors - before;
  const weights = weightBytes(model);
  model.dispose();
  return { run, weights, leaked };
}

describe('the lean training step', () => {
  for (const [name, recipe, network] of [
    ['cosine schedule with weight decay (the study recipe)', studyRecipe, smallNetwork],
    ['constant rate without weight decay (the overconfident recipe)', overconfidentRecipe, smallNetwork],
    ['the study recipe, a ReLU in the first layer', studyRecipe, reluFirstNetwork],
  ] as const) {
    it(`gives the reference step's weights and loss curve bit for bit: ${name}`, async () => {
      const reluGradient = tf.getGradient(tf.Relu);
      const reference = await trained(recipe, 'reference', network);
      const lean = await trained(recipe, 'lean', network);
      // The lean step swaps ReLU's gradient only while it records; everyone else keeps tfjs-core's.
      expect(tf.getGradient(tf.Relu)).toBe(reluGradient);
      // 600 images in batches of 64: ten steps an epoch, the last one short.
      expect(lean.run.steps).toBe(30);
      expect(lean.run.history).toEqual(reference.run.history);
      expect(lean.weights).toEqual(reference.weights);
      // It trained: the objective fell.
      expect(lean.run.history[2].trainObjective).toBeLessThan(lean.run.history[0].trainObjective);
      expect(lean.leaked).toBe(0);
    });
  }

  it("gives tfjs-layers fit's weights and per-epoch losses, same data order, rate, and Adam", async () => {
    const epochs = 3;
    const batchSize = 64;
    const recipe: TrainingRecipe = { ...overconfidentRecipe, batchSize };
    // Nine full batches an epoch, so fit's batch-size-weighted mean and trainModel's mean over steps average the same losses.
    const images = subset(train, 9 * batchSize);
    const lean = buildModel(smallNetwork);
    initializeWeights(lean, 21);
    const leanRun = await trainModel(lean, images, recipe, epochs, 22, 'test', { step: 'lean' });

    // fit on the same batches: each epoch's images put in the order trainModel draws (seed 22), no shuffling by fit.
    const fitted = buildModel(smallNetwork);
    initializeWeights(fitted, 21);
    fitted.compile({
      optimizer: tf.train.adam(recipe.learningRate),
      // Per-example cross-entropy of logits against one-hot targets; fit takes the batch mean.
      loss: (targets: tf.Tensor, logits: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), targets), 1)),
    });
    const random = new Random(22);
    const fitLosses: number[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = random.permutation(images.count);
      const inputs = imageBatch(images, order);
      const targets = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labelBatch(images, order), 'int32'), classCount), 'float32'));
      const history = await fitted.fit(inputs, targets, { batchSize, epochs: 1, shuffle: false, verbose: 0 });
      fitLosses.push(history.history.loss[0] as number);
      tf.dispose([inputs, targets]);
    }
    expect(weightBytes(lean)).toEqual(weightBytes(fitted));
    // The same nine losses an epoch, summed in another order and precision: equal to float32 rounding.
    for (let epoch = 0; epoch < epochs; epoch++) expect(Math.abs(leanRun.history[epoch].trainObjective - fitLosses[epoch])).toBeLessThan(1e-6 * fitLosses[epoch]);
    expect(leanRun.history[2].trainObjective).toBeLessThan(leanRun.history[0].trainObjective);
    lean.dispose();
    fitted.dispose();
  });
});
