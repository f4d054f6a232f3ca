/**
 * The playground's image operations on one 28×28 grey image (row-major floats
 * in [0, 1]), browser-safe, written to match the study's: rotation by the
 * study's own sampling (compute/data/rotation.ts: bilinear, about the centre, zero outside),
 * inversion, seeded uniform noise, and FGSM as compute/attacks does it with the
 * deterministic network (tests/site/playground-images.test.ts compares them).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerMatrix, Network } from '../../compute/laplace/network.ts';
import { applyRotation, rotationSampling } from '../../compute/data/rotation.ts';
import { Random } from '../../compute/laplace/random.ts';

/** Counter-clockwise rotation by `degrees` about the centre, by the study's own sampling (compute/data/rotation.ts). */
export function rotateImage(image: Float32Array, height: number, width: number, degrees: number): Float32Array {
  const out = new Float32Array(height * width);
  applyRotation(rotationSampling(height, width, degrees), image, out, 0, height * width);
  return out;
}

export const invertImage = (image: Float32Array) => image.map((value) => 1 - value);

/** x + amount·(2u − 1) with u uniform from the study's seeded generator, clipped to [0, 1]. */
export function addNoise(image: Float32Array, amount: number, seed: number): Float32Array {
  if (amount === 0) return image.slice();
  const random = new Random(seed);
  return image.map((value) => Math.min(1, Math.max(0, value + amount * (2 * random.uniform() - 1))));
}

/**
 * sign(∇ₓ −log softmax(f(x, W*))_label) of the deterministic network, computed as
 * compute/attacks/fgsm.ts does: the logits' gradient p − e_y with its true-class
 * entry −Σ_{c≠y} p_c (accurate when p_y rounds to 1), pulled back through the network.
 */
export function fgsmSign(network: Network, weights: LayerMatrix[], image: Float32Array, label: number): Int8Array {
  const gradient = tf.tidy(() => {
    const x = tf.tensor(image, [1, ...network.inputShape]);
    const oneHot = tf.oneHot(tf.tensor1d([label], 'int32'), network.classes);
    const logProbabilities = tf.logSoftmax(network.forward(x, weights));
    const others = tf.mul(tf.exp(logProbabilities), tf.sub(1, oneHot));
    const logitGradient = tf.sub(others, tf.mul(oneHot, tf.sum(others, 1, true)));
    return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(network.forward(input, weights), logitGradient)))(x);
  });
  const values = gradient.dataSync();
  gradient.dispose();
  return Int8Array.from(values, (value) => (value > 0 ? 1 : value < 0 ? -1 : 0));
}

export function applySigns(image: Float32Array, signs: Int8Array, epsilon: number): Float32Array {
  return image.map((value, i) => {
    const moved = value + epsilon * signs[i];
    return moved < 0 ? 0 : moved > 1 ? 1 : moved;
  });
}

/** Predictive entropy −Σ p log p in nats (0 log 0 = 0). */
export function entropyOf(probabilities: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) if (probabilities[i] > 0) sum -= probabilities[i] * Math.log(probabilities[i]);
  return sum;
}

/** The bytes of an exported test image (base64) as the network's input, pixel / 255 as compute/data does. */
export function decodeImage(base64: string): Float32Array {
  const text = atob(base64);
  const out = new Float32Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) / 255;
  return out;
}
