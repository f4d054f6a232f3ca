/**
 * Links from the Gaussian logits f ~ N(μ, Σ_f) of the GLM predictive to class
 * probabilities:
 *  - probit: softmax(μ / √(1 + π/8 · diag Σ_f)), the probit approximation of
 *    E[softmax(f)] extended to many classes (MacKay 1992; used by Laplace Redux);
 *  - mc: 1/T Σ_t softmax(μ + L z_t) with L L ᵀ = Σ_f and z_t ~ N(0, I_C), the
 *    same T seeded draws z_t for every input;
 *  - bridge: the Laplace bridge's Dirichlet mean α/Σα from μ and diag Σ_f (bridge.ts), softmax outputs only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from './random.ts';

export const glmLinks = ['probit', 'mc', 'bridge'] as const;
export type GlmLink = (typeof glmLinks)[number];

/** Draws of the logit Gaussian per input for the mc link when none are asked for: C-dimensional draws are cheap. */
export const defaultLinkSamples = 1000;

export function probitLink(mean: tf.Tensor2D, variances: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.softmax(tf.div(mean, tf.sqrt(tf.add(1, tf.mul(Math.PI / 8, tf.relu(variances)))))) as tf.Tensor2D);
}

/**
 * Lower Cholesky factors of a batch of C × C covariances [B, C, C]. Σ_f is
 * positive semi-definite but may be singular (a class whose logit the posterior
 * leaves fixed), so a pivot that rounds to ≤ 0 gives a zero column instead of failing.
 */
export function choleskyRows(covariances: Float32Array, count: number, classes: number): Float32Array {
  const out = new Float32Array(count * classes * classes);
  const l = new Float64Array(classes * classes);
  for (let b = 0; b < count; b++) {
    const base = b * classes * classes;
    l.fill(0);
    for (let j = 0; j < classes; j++) {
      let pivot = covariances[base + j * classes + j];
      for (let k = 0; k < j; k++) pivot -= l[j * classes + k] ** 2;
      const scale = pivot > 1e-12 * Math.max(covariances[base + j * classes + j], 1e-30) ? Math.sqrt(pivot) : 0;
      l[j * classes + j] = scale;
      for (let i = j + 1; i < classes; i++) {
        if (scale === 0) continue;
        let value = covariances[base + i * classes + j];
        for (let k = 0; k < j; k++) value -= l[i * classes + k] * l[j * classes + k];
        l[i * classes + j] = value / scale;
      }
    }
    for (let k = 0; k < classes * classes; k++) out[base + k] = l[k];
  }
  return out;
}

/** Standard normal draws z_t, [T, C], from `seed`. */
export function linkDraws(samples: number, classes: number, seed: number): tf.Tensor2D {
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`The mc link needs a positive integer number of draws, got ${samples}.`);
  return tf.tensor2d(new Random(seed).normals(samples * classes), [samples, classes]);
}

/** E[softmax(f)] by T draws through each input's Cholesky factor; `draws` from linkDraws. */
export function monteCarloLink(mean: tf.Tensor2D, covariances: tf.Tensor3D, draws: tf.Tensor2D): tf.Tensor2D {
  const [count, classes] = mean.shape;
  const factors = choleskyRows(covariances.dataSync() as Float32Array, count, classes);
  return tf.tidy(() => {
    const l = tf.tensor3d(factors, [count, classes, classes]);
    // f_bt = μ_b + L_b z_t: [B, C, T] then [B, T, C].
    const shifts = tf.transpose(tf.matMul(l, tf.broadcastTo(tf.transpose(draws), [count, classes, draws.shape[0]])), [0, 2, 1]);
    const probabilities = tf.softmax(tf.add(shifts, tf.expandDims(mean, 1)));
    return tf.mean(probabilities, 1) as tf.Tensor2D;
  });
}
