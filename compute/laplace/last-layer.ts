/**
 * Last-layer curvature on any tfjs-layers model whose output is a Dense layer: the body (every
 * layer before that Dense, whatever they are: BatchNormalization, depthwise convolutions,
 * residual Adds, pooling, any activation) runs as tfjs-layers runs it, in inference mode, and
 * only gives the features φ; the curvature is the last layer's, in closed form from φ̄ = [φ, 1]
 * and the probabilities, with no backward pass:
 *  - exact: Σ_n φ̄_n φ̄_nᵀ ⊗ (diag(p_n) − p_n p_nᵀ);
 *  - mc / empirical: Σ_n (φ̄_n ⊗ v_n)(φ̄_n ⊗ v_n)ᵀ with v = p − e_y (y drawn from p, weighted 1/M,
 *    or the data's label), drawn exactly as fitCurvature draws them.
 * The result is in the W̄ layout of network.ts ([kernel rows; bias row], flattened row-major), as
 * fitCurvature's `lastLayer`, divided by the number of examples.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { matrix } from './linalg/index.ts';
import { Random } from './random.ts';
import { crossProduct, exactLastLayerKronecker, fisherTypes, float32Means, lastLayerMatrix, perExampleGradients, type CurvatureFit, type FisherType } from './curvature.ts';
import type { LaplaceData } from './data.ts';
import { likelihoodFor, type LikelihoodKind } from './likelihoods/index.ts';
import { outputDenseLayer, type ParameterLayer } from './network.ts';
import { yieldToEventLoop } from './yield.ts';

/** A model cut before its output Dense layer: the body as a model of its own, and that layer's W̄. */
export interface LastLayerSplit {
  /** The body, x → φ, sharing the model's layers and weights; run it with training false. */
  body: tfl.LayersModel;
  /** The output layer's weights as W̄ [features (+ 1), classes], a copy the caller disposes. */
  weights: tf.Tensor2D;
  features: number;
  classes: number;
  hasBias: boolean;
  /** True when the output layer applies a softmax, which the logits leave out. */
  strippedSoftmax: boolean;
  /** The activation the output layer applies, which the outputs f leave out (the likelihood's: likelihoods/). */
  outputActivation: 'softmax' | 'sigmoid' | 'linear';
}

/** Split a single-input, single-output model before its output Dense layer (softmax, sigmoid or linear). */
export function splitLastLayer(model: tfl.LayersModel): LastLayerSplit {
  const { body, output, activation } = outputDenseLayer(model);
  const [kernel, bias] = output.getWeights();
  const [features, classes] = kernel.shape;
  const weights = tf.tidy(() => (bias ? tf.concat([kernel, tf.reshape(bias, [1, classes])], 0) : tf.clone(kernel)) as tf.Tensor2D);
  return { body, weights, features, classes, hasBias: bias !== undefined, strippedSoftmax: activation === 'softmax', outputActivation: activation };
}

export interface LastLayerFitOptions {
  fisher?: FisherType;
  mcSamples?: number;
  batchSize?: number;
  seed?: number;
  /** 'classification' (default) or 'regression' (likelihoods/). */
  likelihood?: LikelihoodKind;
  onProgress?: (done: number, total: number) => void;
}

/** The last layer's curvature of any model with a Dense output, from the body's features (see the file's comment). */
export async function fitLastLayerFromModel(model: tfl.LayersModel, data: LaplaceData, options: LastLayerFitOptions = {}): Promise<CurvatureFit> {
  const fisher = options.fisher ?? 'mc';
  const mcSamples = options.mcSamples ?? 1;
  const batchSize = options.batchSize ?? 128;
  if (!fisherTypes.includes(fisher)) throw new Error(`Unknown Fisher type "${fisher}"; choose one of ${fisherTypes.join(', ')}.`);
  if (!Number.isInteger(mcSamples) || mcSamples < 1) throw new Error(`mcSamples must be a positive integer, got ${mcSamples}.`);
  const split = splitLastLayer(model);
  const random = new Random(options.seed ?? 0);
  const output = { units: split.classes, activation: split.outputActivation, layerName: (model.outputs[0].sourceLayer as tfl.layers.Layer).name };
  let likelihood: ReturnType<typeof likelihoodFor>;
  try {
    likelihood = likelihoodFor(output, options.likelihood);
  } catch (error) {
    split.weights.dispose();
    throw error;
  }
  const spec: ParameterLayer = {
    name: 'output',
    kind: 'dense',
    kernelShape: [split.features, split.classes],
    hasBias: split.hasBias,
    fanIn: split.features,
    fanOut: split.classes,
    activation: 'linear',
    conv: null,
  };
  let loss: tf.Tensor = tf.scalar(0);
  let sum: tf.Tensor | null = null;
  const add = (term: tf.Tensor) => {
    const next = sum ? tf.add(sum, term) : term;
    if (sum) tf.dispose([sum, term]);
    sum = next;
  };
  try {
    for (let start = 0; start < data.count; start += batchSize) {
      const end = Math.min(data.count, start + batchSize);
      const batch = end - start;
      const x = data.inputs(start, end);
      const labels = likelihood.targets(data.labels, start, end);
      const [augmented, probabilities, batchLoss] = tf.tidy(() => {
        const features = split.body.apply(x, { training: false }) as tf.Tensor2D;
        const augmented: tf.Tensor2D = split.hasBias ? tf.concat([features, tf.ones([batch, 1])], 1) : features;
        const logits = tf.matMul(augmented, split.weights) as tf.Tensor2D;
        return [augmented, likelihood.mean(logits), likelihood.lossSum(logits, labels)] as [tf.Tensor2D, tf.Tensor2D, tf.Scalar];
      });
      const nextLoss = tf.add(loss, batchLoss);
      tf.dispose([loss, batchLoss, x]);
      loss = nextLoss;
      if (fisher === 'exact') add(exactLastLayerKronecker(augmented, probabilities, likelihood.outputHessian));
      else {
        for (const vector of likelihood.backpropVectors(probabilities, labels, fisher, mcSamples, random)) {
          add(
            tf.tidy(() => {
              const perExample = tf.reshape(perExampleGradients(augmented, vector, spec), [batch, -1]);
              return crossProduct(perExample, perExample);
            }),
          );
          vector.dispose();
        }
      }
      tf.dispose([augmented, probabilities]);
      options.onProgress?.(end, data.count);
      await yieldToEventLoop();
    }
    const rows = split.features + (split.hasBias ? 1 : 0);
    const d = rows * split.classes;
    const total = sum as tf.Tensor | null;
    const fisherMatrix = total === null ? tf.zeros([d, d]) : fisher === 'exact' ? lastLayerMatrix(total, rows, split.classes) : tf.clone(total);
    const values = float32Means(await fisherMatrix.data(), data.count);
    const meanLoss = Math.fround((await loss.data())[0] / data.count);
    tf.dispose([fisherMatrix, ...(total ? [total] : [])]);
    return { fisher, mcSamples: fisher === 'mc' ? mcSamples : 1, count: data.count, ...(likelihood.kind === 'regression' ? { likelihood: 'regression' as const } : {}), meanLoss, lastLayer: matrix(d, d, values) };
  } finally {
    loss.dispose();
    split.weights.dispose();
  }
}
