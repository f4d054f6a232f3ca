/**
 * The Laplace bridge link (Hobbhahn, Kristiadi & Hennig 2022): the Gaussian logits N(μ, Σ_f) of the
 * GLM predictive mapped to the Dirichlet whose Laplace approximation (in the softmax basis) they
 * are, from μ and diag Σ_f alone, K classes:
 *
 *   α_k = (1 − 2/K + e^{μ_k}/K² · Σ_l e^{−μ_l}) / σ²_k,
 *
 * and the predictive is the Dirichlet's mean, p_k = α_k / Σ_l α_l: closed form, no draws.
 * Computed in logs so large logit gaps do not overflow float32: log α_k = log(a + e^{b_k}) − log σ²_k
 * with a = 1 − 2/K and b_k = μ_k + log Σ_l e^{−μ_l} − 2 log K, then p = softmax(log α). A variance
 * that rounds to 0 (a logit the posterior leaves fixed) is floored at 1e-30 instead of dividing by 0.
 * For softmax outputs only: one sigmoid unit has a single logit, and the bridge needs K ≥ 2.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Smallest logit variance the bridge divides by. */
const varianceFloor = 1e-30;

/** The bridge's Dirichlet parameters as log α, [B, K]. */
export function bridgeLogConcentrations(mean: tf.Tensor2D, variances: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const classes = mean.shape[1];
    const b = tf.sub(tf.add(mean, tf.logSumExp(tf.neg(mean), 1, true)), 2 * Math.log(classes));
    const a = 1 - 2 / classes;
    // log(a + e^b) = max(log a, b) + log(1 + e^{−|log a − b|}); for K = 2, a = 0 and it is b.
    const logNumerator = a > 0 ? tf.add(tf.maximum(b, Math.log(a)), tf.log1p(tf.exp(tf.neg(tf.abs(tf.sub(b, Math.log(a))))))) : b;
    return tf.sub(logNumerator, tf.log(tf.maximum(variances, varianceFloor))) as tf.Tensor2D;
  });
}

/** The Laplace bridge's predictive α / Σα from the logits' mean and variances, [B, K] each. */
export function bridgeLink(mean: tf.Tensor2D, variances: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.softmax(bridgeLogConcentrations(mean, variances)) as tf.Tensor2D);
}
