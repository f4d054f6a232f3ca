/**
 * The likelihood's seam: everything the library asks of the output distribution p(y | f), f the
 * network's outputs. Curvature, predictives, search and evidence call these, never a softmax of
 * their own; a new likelihood is one new file here and a case in likelihoodFor (index.ts).
 *
 * The curvature is the GGN Σ_n J_nᵀ Λ_n J_n with Λ the output Hessian of −log p(y | f) (the
 * Fisher of the output distribution): diag(p) − p pᵀ for a softmax, p(1 − p) for one sigmoid
 * unit, I/σ² for a Gaussian. The fit pushes vectors v back from the outputs whose outer products
 * give Λ (exact: Σ_k v_k v_kᵀ = Λ), an unbiased draw of it (mc) or the data's own (empirical).
 * A Gaussian's Λ = I/σ² is fitted at σ = 1 and scaled by the posterior (Posterior.dataScale), so
 * σ can be tuned without refitting.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Random } from '../random.ts';
import type { FisherType } from '../curvature.ts';

export const likelihoodKinds = ['classification', 'regression'] as const;
export type LikelihoodKind = (typeof likelihoodKinds)[number];

/** A batch's targets: class indices (classification) or `outputs` reals per example, row-major (regression). */
export type Targets = Int32Array | Float32Array;

export interface Likelihood {
  readonly kind: LikelihoodKind;
  /** The output distribution: a softmax over classes, one sigmoid unit, or a Gaussian. */
  readonly name: 'softmax' | 'sigmoid' | 'gaussian';
  /** Network outputs: the C of the Jacobians and of the output Hessian. */
  readonly outputs: number;
  /** Columns of a prediction: class probabilities (two for one sigmoid unit) or a regression's means. */
  readonly predictionWidth: number;
  /** Label vectors per example for the exact Fisher. */
  readonly exactVectors: number;
  /** Examples [start, end)'s targets from the data's labels. */
  targets(labels: ArrayLike<number>, start: number, end: number): Targets;
  /** The output's mean parameter μ(f) (softmax, sigmoid, identity): the Fisher's vectors and Λ are functions of it. */
  mean(outputs: tf.Tensor2D): tf.Tensor2D;
  /** Σ over the batch of the fit's loss at f: −log p(y | f), for a Gaussian at σ = 1 without its constant (½‖y − f‖²). */
  lossSum(outputs: tf.Tensor2D, targets: Targets): tf.Scalar;
  /** Vectors pushed back from the outputs, [B, C] each (see the top of this file). */
  backpropVectors(mean: tf.Tensor2D, targets: Targets, fisher: FisherType, mcSamples: number, random: Random): tf.Tensor2D[];
  /** Λ per example, [B, C·C] row-major. */
  outputHessian(mean: tf.Tensor2D): tf.Tensor2D;
  /** The prediction of one network's outputs: class probabilities, or the means. */
  predict(outputs: tf.Tensor2D): tf.Tensor2D;
  /** The GLM predictive from Gaussian outputs N(μ, diag v): the probit approximation (classification) or μ. */
  probit(mean: tf.Tensor2D, variances: tf.Tensor2D): tf.Tensor2D;
  /** The Laplace bridge link from N(μ, diag v) (bridge.ts): a softmax's only; absent where it does not apply. */
  bridge?(mean: tf.Tensor2D, variances: tf.Tensor2D): tf.Tensor2D;
  /** The GLM predictive by draws μ + L z_t of the Gaussian outputs (links.ts's Cholesky rows): E[prediction]. */
  monteCarlo(mean: tf.Tensor2D, covariances: tf.Tensor3D, draws: tf.Tensor2D): tf.Tensor2D;
  /**
   * The probit predictive on cached arrays, as the search scores its grid: outputs [count × C] and
   * τ·v, divided by τ here (float64 arithmetic, so a grid of points costs no tensors).
   */
  probitFromStatistics(outputs: Float32Array, scaledVariances: Float32Array, tau: number): Float32Array;
  /** log p(D | W*) at data scale n from the fit's mean loss (and, for a Gaussian, its noise σ). */
  logLikelihood(meanLoss: number, n: number, sigma: number): number;
}

/** What the likelihood needs to know of a network's output: its units and the activation it ends in (stripped to reach f). */
export interface OutputDescription {
  units: number;
  activation: 'softmax' | 'sigmoid' | 'linear';
  /** Named in refusals. */
  layerName: string;
}
