/**
 * Binary classification with one sigmoid output unit: p = σ(f) the probability of class 1, loss
 * the Bernoulli −log p(y | f) = softplus(f) − y·f, output Hessian p(1 − p), and the probit
 * approximation σ(μ / √(1 + π/8 · v)) for the GLM predictive. Predictions are the two classes'
 * probabilities [1 − p, p], so labels, metrics and predictions read as for a two-class softmax: the
 * same model as a softmax over the logits [0, f] (mc labels are drawn as that softmax draws them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { choleskyRows } from '../links.ts';
import type { Likelihood } from './likelihood.ts';
import { classTargets } from './softmax.ts';

/** [1 − p, p] along the last axis. */
const bothClasses = (p: tf.Tensor): tf.Tensor => tf.concat([tf.sub(1, p), p], p.rank - 1);

export function sigmoidLikelihood(): Likelihood {
  return {
    kind: 'classification',
    name: 'sigmoid',
    outputs: 1,
    predictionWidth: 2,
    exactVectors: 1,
    targets: classTargets,
    mean: (logits) => tf.sigmoid(logits) as tf.Tensor2D,
    lossSum: (logits, labels) =>
      tf.tidy(() => {
        const y = tf.tensor2d(Float32Array.from(labels), [labels.length, 1]);
        return tf.sum(tf.sub(tf.softplus(logits), tf.mul(y, logits))) as tf.Scalar;
      }),
    backpropVectors(p, labels, fisher, mcSamples, random) {
      const batch = p.shape[0];
      const residual = (y: ArrayLike<number>, scale: number) => tf.tidy(() => tf.div(tf.sub(p, tf.tensor2d(Float32Array.from(y), [batch, 1])), scale) as tf.Tensor2D);
      if (fisher === 'empirical') return [residual(labels, 1)];
      // Σ_y p(y) (p − y)² = p(1 − p): one vector carries the exact Fisher.
      if (fisher === 'exact') return [tf.tidy(() => tf.sqrt(tf.mul(p, tf.sub(1, p))) as tf.Tensor2D)];
      const values = p.dataSync();
      return Array.from({ length: mcSamples }, () => residual(Float32Array.from(values, (value) => (random.uniform() - (1 - value) < 0 ? 0 : 1)), Math.sqrt(mcSamples)));
    },
    outputHessian: (p) => tf.tidy(() => tf.mul(p, tf.sub(1, p)) as tf.Tensor2D),
    predict: (logits) => tf.tidy(() => bothClasses(tf.sigmoid(logits)) as tf.Tensor2D),
    probit: (mean, variances) => tf.tidy(() => bothClasses(tf.sigmoid(tf.div(mean, tf.sqrt(tf.add(1, tf.mul(Math.PI / 8, tf.relu(variances))))))) as tf.Tensor2D),
    monteCarlo(mean, covariances, draws) {
      const count = mean.shape[0];
      const scales = choleskyRows(covariances.dataSync() as Float32Array, count, 1);
      return tf.tidy(() => {
        // f_bt = μ_b + √v_b z_t, then the mean of σ over the draws.
        const logits = tf.add(tf.mul(tf.tensor2d(scales, [count, 1]), tf.reshape(draws, [1, -1])), mean);
        return bothClasses(tf.mean(tf.sigmoid(logits), 1, true)) as tf.Tensor2D;
      });
    },
    probitFromStatistics(logits, scaledVariances, tau) {
      const out = new Float32Array(2 * logits.length);
      for (let i = 0; i < logits.length; i++) {
        const p = 1 / (1 + Math.exp(-logits[i] / Math.sqrt(1 + (Math.PI / 8) * (Math.max(scaledVariances[i], 0) / tau))));
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return out;
    },
    logLikelihood: (meanLoss, n) => -n * meanLoss,
  };
}
