/**
 * The fast gradient sign method (Goodfellow, Shlens & Szegedy 2015):
 * x' = clip(x + ε · sign(∇ₓ loss(x, y)), 0, 1), one step from the clean image,
 * with y the true label and ε a fraction of the pixel range [0, 1].
 *
 * The signs do not depend on ε, so they are computed once per set and network
 * (`fgsmSigns`) and then applied at every ε of a grid (`perturbSet`).
 *
 * Two choices of the network whose loss is climbed:
 *  - 'map': the deterministic network at W*, loss = cross-entropy of the true
 *    label, −log softmax(f(x, W*))_y. This is what the original study did: the
 *    same adversarial images are shown to SGD, DIAG and KFAC.
 *  - 'predictive': the Monte Carlo predictive of a posterior, loss =
 *    −log (1/S Σ_s softmax(f(x, W_s))_y), for an attacker who knows the
 *    Bayesian network and attacks it directly (computed as a log-sum-exp over
 *    the samples, so it stays finite when every p_s(y) is tiny).
 *
 * Gradients are those of the summed (not averaged) per-example losses of a
 * batch. The networks here have no batch coupling (no batch normalisation), so
 * each image's gradient is its own loss's gradient, whatever the batch size.
 * sign(0) = 0: a pixel whose gradient is exactly zero is left unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describeSet, type ImageSet } from '../data/index.ts';
import type { LayerMatrix, Network } from '../laplace/network.ts';

export class AttackError extends Error {
  override name = 'AttackError';
}

/** Which loss the attack climbs; see the module comment. */
export type GradientSource =
  | { kind: 'map'; network: Network; weights: LayerMatrix[] }
  | { kind: 'predictive'; network: Network; weightSets: LayerMatrix[][] };

export interface FgsmOptions {
  /** Images per gradient computation (default 250; the predictive holds S forward passes of a batch). */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * The step sizes of the study's FGSM curves, as fractions of the pixel range:
 * roughly logarithmic from 0.005 to 0.2, where MNIST-sized networks go from
 * untouched to broken, then coarse steps to 1. At ε = 1 an image is nothing
 * but its sign pattern (every pixel with a non-zero sign is pushed to 0 or 1),
 * so the grid ends there; ε = 0 is the clean set.
 */
export const defaultEpsilons: readonly number[] = Object.freeze([0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1]);

/** Words for a gradient source, used in the `derived` text of attacked sets. */
export function describeSource(source: GradientSource): string {
  if (source.kind === 'map') return 'the deterministic network';
  const count = source.weightSets.length;
  return `the Monte Carlo predictive (${count} weight sample${count === 1 ? '' : 's'})`;
}

/** Provenance of the sign arrays this module made, so `perturbSet` can name the attacked network. */
const signSources = new WeakMap<Int8Array, { kind: GradientSource['kind']; description: string }>();

/** Throws an AttackError unless ε is a number in [0, 1]. */
export function checkEpsilon(epsilon: number): void {
  if (typeof epsilon !== 'number' || Number.isNaN(epsilon) || epsilon < 0 || epsilon > 1) {
    throw new AttackError(`The FGSM step ε must be a number from 0 to 1 (a fraction of the pixel range), got ${epsilon}.`);
  }
}

function checkSource(source: GradientSource, set: ImageSet): void {
  const { network } = source;
  const inputSize = network.inputShape.reduce((a, b) => a * b, 1);
  if (inputSize !== set.height * set.width) {
    throw new AttackError(`The network takes inputs of shape [${network.inputShape.join(', ')}], which do not hold the ${set.height}×${set.width} images of ${set.name}.`);
  }
  const layers = network.layers.length;
  const checkWeights = (weights: LayerMatrix[], what: string) => {
    if (!Array.isArray(weights) || weights.length !== layers) {
      throw new AttackError(`${what} must hold one W̄ matrix per parameter layer (${layers}), got ${Array.isArray(weights) ? weights.length : typeof weights}.`);
    }
  };
  if (source.kind === 'map') checkWeights(source.weights, 'The MAP weights');
  else if (source.kind === 'predictive') {
    if (!Array.isArray(source.weightSets) || source.weightSets.length === 0) {
      throw new AttackError('The predictive gradient source needs at least one weight set; pass posterior.sample(count, seed).');
    }
    source.weightSets.forEach((weights, index) => checkWeights(weights, `Weight set ${index}`));
  } else {
    throw new AttackError(`Unknown gradient source "${(source as { kind: unknown }).kind}"; use 'map' or 'predictive'.`);
  }
  for (let i = 0; i < set.count; i++) {
    if (set.labels[i] >= network.classes) {
      throw new AttackError(`Label ${set.labels[i]} of example ${i} of ${set.name} is outside the network's ${network.classes} classes.`);
    }
  }
}

/**
 * The summed loss of a batch as a function of the stacked logits [S, batch, C]
 * of S weight sets (S = 1 for 'map'): −Σ_i log (1/S Σ_s p_s(y_i | x_i)).
 *
 * Its gradient with respect to the logits of set s is r_s (p_s − e_y), with
 * r_s = p_s(y) / Σ_t p_t(y) the share of set s in the predictive (1 for 'map').
 * We supply that gradient ourselves instead of letting tf differentiate
 * log-softmax: for a confidently right example float32 rounds p_y to 1, and
 * the automatic gradient's true-class entry p_y − 1 then comes out 0 (or a
 * rounding residue) while the other entries p_c stay accurate, which drops the
 * "lower the true logit" half of the direction. Here that entry is computed as
 * −Σ_{c≠y} p_c, accurate to float32 relative precision however small.
 */
function stackedLoss(oneHot: tf.Tensor2D): (stacked: tf.Tensor3D) => tf.Scalar {
  return tf.customGrad(((stacked: tf.Tensor3D, save: tf.GradSaveFunc) => {
    const samples = stacked.shape[0];
    const logProbabilities = tf.logSoftmax(stacked);
    const logTrue = tf.sum(tf.mul(logProbabilities, oneHot), 2); // [S, batch]
    const logPredictive = tf.logSumExp(logTrue, 0, true); // [1, batch], log Σ_s p_s(y)
    const value = tf.neg(tf.sum(tf.sub(logPredictive, Math.log(samples)))) as tf.Scalar;
    const others = tf.mul(tf.exp(logProbabilities), tf.sub(1, oneHot)); // p_c for c ≠ y, 0 at y
    const probabilitiesMinusTrue = tf.sub(others, tf.mul(oneHot, tf.sum(others, 2, true)));
    const shares = tf.exp(tf.sub(logTrue, logPredictive)); // r_s, [S, batch]
    save([tf.mul(probabilitiesMinusTrue, tf.expandDims(shares, 2))]);
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]) };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Scalar>>[0]) as (stacked: tf.Tensor3D) => tf.Scalar;
}

/** Summed loss of a batch, as a function of its inputs. */
function batchLoss(source: GradientSource, labels: tf.Tensor1D): (x: tf.Tensor) => tf.Scalar {
  const { network } = source;
  const oneHot = tf.oneHot(labels, network.classes) as tf.Tensor2D;
  const loss = stackedLoss(oneHot);
  const weightSets = source.kind === 'map' ? [source.weights] : source.weightSets;
  return (x) => loss(tf.stack(weightSets.map((weights) => network.forward(x, weights))) as tf.Tensor3D);
}

/**
 * sign(∇ₓ loss) for every pixel of every image of `set`, row-major like
 * `set.images`: −1, 0 or +1. Labels are the set's true labels.
 */
export async function fgsmSigns(source: GradientSource, set: ImageSet, options: FgsmOptions = {}): Promise<Int8Array> {
  const batchSize = options.batchSize ?? 250;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new AttackError(`The batch size must be a positive integer, got ${batchSize}.`);
  checkSource(source, set);
  const pixels = set.height * set.width;
  const signs = new Int8Array(set.count * pixels);
  for (let start = 0; start < set.count; start += batchSize) {
    const end = Math.min(set.count, start + batchSize);
    const gradient = tf.tidy(() => {
      const x = tf.tensor(set.images.subarray(start * pixels, end * pixels), [end - start, ...source.network.inputShape]);
      const labels = tf.tensor1d(Int32Array.from(set.labels.subarray(start, end)), 'int32');
      return tf.grad(batchLoss(source, labels))(x);
    });
    const values = await gradient.data<'float32'>();
    gradient.dispose();
    // The sign is taken here, not with tf.sign: the wasm backend's Sign returns 0 for |x| below
    // about 1.2e-7 (sign(1e-7) = 0), and confidently classified images have gradients that small.
    for (let i = 0; i < values.length; i++) signs[start * pixels + i] = values[i] > 0 ? 1 : values[i] < 0 ? -1 : 0;
    options.onProgress?.(end, set.count);
    await new Promise((resolve) => setImmediate(resolve));
  }
  signSources.set(signs, { kind: source.kind, description: describeSource(source) });
  return signs;
}

export interface PerturbOptions {
  /**
   * What the signs were computed on, for the `derived` text. Defaults to the
   * source recorded by `fgsmSigns` for this very array; required for signs
   * made elsewhere, so no attacked set goes unlabelled.
   */
  against?: string;
}

/** Shortest decimal text of ε for names ("0.1", "0.005", "1"). */
const epsilonText = (epsilon: number) => String(epsilon);

/**
 * The FGSM images x' = clip(x + ε · sign, 0, 1) as a new, derived image set
 * (labels copied). At ε = 0 the images are the same bytes as the input's.
 * Name: `<set>-fgsm-<ε>` for signs from the deterministic network,
 * `<set>-fgsm-predictive-<ε>` for signs from the Monte Carlo predictive.
 */
export function perturbSet(set: ImageSet, signs: Int8Array, epsilon: number, options: PerturbOptions = {}): ImageSet {
  checkEpsilon(epsilon);
  const size = set.count * set.height * set.width;
  if (!(signs instanceof Int8Array) || signs.length !== size) {
    throw new AttackError(`The signs must be an Int8Array with one entry per pixel of ${set.name} (${size}), got ${signs instanceof Int8Array ? signs.length : typeof signs}.`);
  }
  const recorded = signSources.get(signs);
  const against = options.against ?? recorded?.description;
  if (!against) {
    throw new AttackError('These signs were not made by fgsmSigns, so say what they attack with options.against (e.g. "the deterministic network").');
  }
  const images = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const s = signs[i];
    if (s !== 1 && s !== -1 && s !== 0) throw new AttackError(`Sign ${i} is ${s}; FGSM signs are −1, 0 or +1.`);
    const value = set.images[i] + epsilon * s;
    images[i] = value < 0 ? 0 : value > 1 ? 1 : value;
  }
  const tag = recorded?.kind === 'predictive' ? 'fgsm-predictive' : 'fgsm';
  return {
    ...set,
    name: `${set.name}-${tag}-${epsilonText(epsilon)}`,
    images,
    labels: set.labels.slice(),
    derived: `${describeSet(set)}, FGSM ε = ${epsilonText(epsilon)} on ${against}`,
  };
}
