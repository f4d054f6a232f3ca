/**
 * Seeded training: our own loop instead of `model.fit`, because fit shuffles
 * with an unseeded generator. The objective is the MAP one the Laplace
 * approximation expands around: mean cross-entropy + (λ/2)·‖θ‖².
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageSet } from '../data/index.ts';
import { Random } from '../laplace/random.ts';
import { leanStep, type TrainingStep } from './lean-step.ts';
import { imageBatch, labelBatch } from './tensors.ts';
import { classCount, type TrainingRecipe } from './zoo.ts';

export class TrainingError extends Error {
  override name = 'TrainingError';
}

/**
 * He-uniform kernels for hidden layers (all followed by a ReLU here),
 * Glorot-uniform for the output layer, zero biases; all from `seed`.
 */
export function initializeWeights(model: tfl.LayersModel, seed: number): void {
  const random = new Random(seed);
  const weights: tf.Tensor[] = [];
  const withWeights = model.layers.filter((layer) => layer.getWeights().length > 0);
  for (const layer of withWeights) {
    const layerWeights = layer.getWeights();
    const isOutput = layer === withWeights[withWeights.length - 1];
    const fresh = layerWeights.map((weight) => {
      const shape = weight.shape;
      if (shape.length === 1) return tf.zeros(shape);
      const fanOut = shape[shape.length - 1];
      const fanIn = weight.size / fanOut;
      const limit = isOutput ? Math.sqrt(6 / (fanIn + fanOut)) : Math.sqrt(6 / fanIn);
      const values = new Float32Array(weight.size);
      for (let i = 0; i < values.length; i++) values[i] = (2 * random.uniform() - 1) * limit;
      return tf.tensor(values, shape);
    });
    layer.setWeights(fresh);
    weights.push(...fresh);
  }
  tf.dispose(weights);
}

/** Mean softmax cross-entropy of logits against integer labels. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logProbabilities, tf.oneHot(labels, classCount)), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

export interface TrainingProgress {
  step: number;
  totalSteps: number;
  epoch: number;
}

export interface EpochRecord {
  epoch: number;
  /** Mean training objective (cross-entropy + weight decay) over the epoch's steps. */
  trainObjective: number;
}

export interface TrainingRun {
  epochs: number;
  steps: number;
  history: EpochRecord[];
}

/**
 * How a step is computed. 'reference': `optimizer.minimize` of tfjs-core's
 * Adam over `model.apply`, objective and decay on the tape (the study's loop
 * up to training-code version 3). 'lean': the same floats with fewer ops
 * (lean-step.ts); the default because it is bit-identical to 'reference'.
 */
export type TrainingStepKind = 'reference' | 'lean';
export const trainingStepKinds: readonly TrainingStepKind[] = ['reference', 'lean'];

export interface TrainingOptions {
  onProgress?: (progress: TrainingProgress) => void;
  step?: TrainingStepKind;
}

/** The step of the study's loop up to training-code version 3, kept as the reference the lean step is checked against. */
export function referenceStep(model: tfl.LayersModel, recipe: TrainingRecipe): TrainingStep {
  const optimizer = tf.train.adam(recipe.learningRate);
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  return {
    run(images, labels, learningRate) {
      setLearningRate(optimizer, learningRate);
      return optimizer.minimize(
        () => {
          const logits = model.apply(images, { training: true }) as tf.Tensor;
          const decay = tf.mul(0.5 * recipe.weightDecay, tf.addN(variables.map((variable) => tf.sum(tf.square(variable)))));
          return tf.add(crossEntropy(logits, labels), decay) as tf.Scalar;
        },
        true,
        variables,
      )!;
    },
    dispose() {
      optimizer.dispose();
    },
  };
}

export function makeTrainingStep(kind: TrainingStepKind, model: tfl.LayersModel, recipe: TrainingRecipe): TrainingStep {
  return kind === 'lean' ? leanStep(model, crossEntropy, recipe.weightDecay) : referenceStep(model, recipe);
}

/**
 * Train `model` in place on `train` for `epochs` epochs. Calls `onProgress`
 * after every step. Stops with a TrainingError when the loss stops being finite.
 */
export async function trainModel(
  model: tfl.LayersModel,
  train: ImageSet,
  recipe: TrainingRecipe,
  epochs: number,
  seed: number,
  label: string,
  { onProgress, step: stepKind = 'lean' }: TrainingOptions = {},
): Promise<TrainingRun> {
  const random = new Random(seed);
  const stepsPerEpoch = Math.ceil(train.count / recipe.batchSize);
  const totalSteps = stepsPerEpoch * epochs;
  const trainingStep = makeTrainingStep(stepKind, model, recipe);
  const history: EpochRecord[] = [];
  let step = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = random.permutation(train.count);
      let objectiveSum = tf.scalar(0);
      for (let start = 0; start < train.count; start += recipe.batchSize) {
        const indices = order.subarray(start, Math.min(train.count, start + recipe.batchSize));
        const images = imageBatch(train, indices);
        const labels = tf.tensor1d(labelBatch(train, indices), 'int32');
        const objective = trainingStep.run(images, labels, learningRateAt(recipe, step, totalSteps));
        const nextSum = tf.add(objectiveSum, objective) as tf.Scalar;
        tf.dispose([images, labels, objective, objectiveSum]);
        objectiveSum = nextSum;
        step++;
        onProgress?.({ step, totalSteps, epoch });
        if (step % 50 === 0) await checkFinite(objectiveSum, label, epoch);
      }
      const meanObjective = (await objectiveSum.data())[0] / stepsPerEpoch;
      objectiveSum.dispose();
      if (!Number.isFinite(meanObjective)) throw nonFinite(label, epoch);
      history.push({ epoch, trainObjective: meanObjective });
    }
  } finally {
    trainingStep.dispose();
  }
  return { epochs, steps: step, history };
}

export function learningRateAt(recipe: TrainingRecipe, step: number, totalSteps: number): number {
  if (recipe.schedule === 'constant') return recipe.learningRate;
  return 0.5 * recipe.learningRate * (1 + Math.cos((Math.PI * step) / totalSteps));
}

/** Adam keeps its rate in a field it reads at every update; the typings mark it protected. */
function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = rate;
}

async function checkFinite(sum: tf.Scalar, label: string, epoch: number): Promise<void> {
  if (!Number.isFinite((await sum.data())[0])) throw nonFinite(label, epoch);
}

function nonFinite(label: string, epoch: number): TrainingError {
  return new TrainingError(`Training ${label} produced a non-finite loss in epoch ${epoch}; lower the learning rate or check the input data.`);
}
