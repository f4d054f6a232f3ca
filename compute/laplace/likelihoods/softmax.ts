/**
 * Classification over C ≥ 2 classes with a softmax: p = softmax(f), loss −log p_y, output Hessian
 * diag(p) − p pᵀ, the probit approximation softmax(μ / √(1 + π/8 · v)) for the GLM predictive.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Random } from '../random.ts';
import type { FisherType } from '../curvature.ts';
import { bridgeLink } from '../bridge.ts';
import { monteCarloLink, probitLink } from '../links.ts';
import type { Likelihood, Targets } from './likelihood.ts';

/** Vectors pushed back from the logits for each label draw, [B, C] each: p − e_y (empirical, mc) or √p_c (p − e_c) for every c (exact). */
export function backpropVectors(probabilities: tf.Tensor2D, labels: Int32Array, fisher: FisherType, mcSamples: number, random: Random): tf.Tensor2D[] {
  const [batch, classes] = probabilities.shape;
  if (fisher === 'empirical') return [tf.tidy(() => tf.sub(probabilities, tf.oneHot(tf.tensor1d(labels, 'int32'), classes)) as tf.Tensor2D)];
  if (fisher === 'exact') {
    return Array.from({ length: classes }, (_, c) =>
      tf.tidy(() => {
        const target = tf.oneHot(tf.fill([batch], c, 'int32') as tf.Tensor1D, classes);
        const weight = tf.sqrt(tf.slice(probabilities, [0, c], [batch, 1]));
        return tf.mul(weight, tf.sub(probabilities, target)) as tf.Tensor2D;
      }),
    );
  }
  const values = probabilities.dataSync();
  return Array.from({ length: mcSamples }, () => {
    const drawn = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      let u = random.uniform();
      let c = 0;
      for (; c < classes - 1; c++) {
        u -= values[i * classes + c];
        if (u < 0) break;
      }
      drawn[i] = c;
    }
    return tf.tidy(() => tf.div(tf.sub(probabilities, tf.oneHot(tf.tensor1d(drawn, 'int32'), classes)), Math.sqrt(mcSamples)) as tf.Tensor2D);
  });
}

/** Σ_i −log softmax(logits_i)[y_i], a scalar. */
export function crossEntropySum(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1])))) as tf.Scalar);
}

/** diag(p) − p pᵀ per example, [B, C·C]. */
export function softmaxOutputHessian(probabilities: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, classes] = probabilities.shape;
    const column = tf.expandDims(probabilities, 2);
    return tf.reshape(tf.sub(tf.mul(column, tf.eye(classes)), tf.mul(column, tf.expandDims(probabilities, 1))), [batch, classes * classes]) as tf.Tensor2D;
  });
}

/** Class indices of examples [start, end). */
export const classTargets = (labels: ArrayLike<number>, start: number, end: number): Int32Array => Int32Array.from({ length: end - start }, (_, i) => labels[start + i]);

/** softmax(μ / √(1 + π/8 · σ²)) row by row, σ² = scaled/τ: the probit link of links.ts on cached arrays. */
export function probitFromStatistics(logits: Float32Array, scaledVariances: Float32Array, tau: number, classes: number): Float32Array {
  const out = new Float32Array(logits.length);
  const row = new Float64Array(classes);
  for (let start = 0; start < logits.length; start += classes) {
    let largest = -Infinity;
    for (let c = 0; c < classes; c++) {
      const variance = Math.max(scaledVariances[start + c], 0) / tau;
      row[c] = logits[start + c] / Math.sqrt(1 + (Math.PI / 8) * variance);
      largest = Math.max(largest, row[c]);
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += row[c] = Math.exp(row[c] - largest);
    for (let c = 0; c < classes; c++) out[start + c] = row[c] / sum;
  }
  return out;
}

export function softmaxLikelihood(classes: number): Likelihood {
  return {
    kind: 'classification',
    name: 'softmax',
    outputs: classes,
    predictionWidth: classes,
    exactVectors: classes,
    targets: classTargets,
    mean: (logits) => tf.softmax(logits) as tf.Tensor2D,
    lossSum: (logits, labels: Targets) => crossEntropySum(logits, labels as Int32Array),
    backpropVectors: (probabilities, labels, fisher, mcSamples, random) => backpropVectors(probabilities, labels as Int32Array, fisher, mcSamples, random),
    outputHessian: softmaxOutputHessian,
    predict: (logits) => tf.softmax(logits) as tf.Tensor2D,
    probit: probitLink,
    bridge: bridgeLink,
    monteCarlo: monteCarloLink,
    probitFromStatistics: (logits, scaledVariances, tau) => probitFromStatistics(logits, scaledVariances, tau, classes),
    logLikelihood: (meanLoss, n) => -n * meanLoss,
  };
}
