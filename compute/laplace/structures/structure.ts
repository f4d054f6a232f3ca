/**
 * What a posterior structure is: one small object per structure (diag.ts, kfac.ts, efb.ts,
 * last-layer.ts, full.ts, lowrank.ts, inf.ts, subnetwork.ts), each computing, from its own curvature, the few things every part of the
 * library asks of a posterior N(W*, H⁻¹) with H = N·F + τ·I on each perturbed layer:
 *  - the posterior variance of every entry of a layer's W̄ (for inspection and tests);
 *  - a sampler of weight deviations δ ~ N(0, H⁻¹), one layer at a time;
 *  - the layer's covariance in the eigen-form the functional covariance needs (functional.ts
 *    projects the per-class Jacobians into that basis, the same code for every structure);
 *  - log det of the layer's block of H as a function of τ (the evidence, evidence.ts).
 * The predictives, the search and the evidence are written once against this interface; a
 * new structure is one new file and one line in index.ts. The data scale N reaches a
 * structure as `posterior.dataScale`, so a likelihood that scales the curvature (a Gaussian's
 * 1/σ²) or a temperature (1/T) needs nothing of it. A structure that can hold a per-parameter τ
 * exactly sets `parameterPrior` and reads `posterior.priorPrecisionOf(layer)` (parameter-prior.ts
 * has the dense and Woodbury forms); the others get one τ per layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Random } from '../random.ts';
import type { CurvatureFit, CurvatureKind } from '../curvature.ts';
import type { Network } from '../network.ts';
import type { Posterior } from '../posterior.ts';

/** Draws one layer's weight deviation δ as a [rows, cols] tensor; dispose when done. */
export interface LayerSampler {
  draw(random: Random): tf.Tensor2D;
  dispose(): void;
}

/** How one layer's posterior covariance is diagonalised, for the functional covariance. */
export interface LayerBasis {
  layer: number;
  /** separable: rotate inputs by Q_A and gradients by Q_G (null: natural basis); full: the last layer's Fisher eigenbasis. */
  kind: 'separable' | 'full';
  qa: tf.Tensor2D | null;
  qg: tf.Tensor2D | null;
  /** full only: Q as [rows, cols·d], entry [i, j·d + k] = Q[(i, j), k]. */
  q: tf.Tensor2D | null;
  /** separable rotated bases: equal for two posteriors whose Q_A and Q_G are equal entry for entry (their projections are shared). */
  sharedKey?: string;
  /**
   * Bases of one covariance over several layers (full, lowrank) share a group: their projections
   * J_l Q_l add up over the layers before the square, J Σ Jᵀ = Σ_k v_k (Σ_l J̃_l,k)(Σ_l J̃_l,k)ᵀ.
   */
  jointGroup?: string;
  /**
   * full only, a basis on some of the layer's entries (subnetwork): the row-major W̄ entries it covers,
   * and `q` is then [entries, d], its rows for those entries (the others are 0).
   */
  entries?: Int32Array;
  /** τ·v_k at s = ln(N/τ), as float64, over the basis (rows·cols, or d). */
  scaledVariances(logRatio: number): Float64Array;
  /** v_k at the posterior's own hyperparameters, where τ varies within the block (per-parameter τ) and scaledVariances does not apply. */
  variances?: Float64Array;
}

/**
 * A block's curvature spectrum for the differentiable evidence (evidence-tensor.ts): the λ_k, in
 * the block's own orthonormal basis, such that its precision there is s·λ_k + τ (s the data scale).
 * `natural`: the basis is the parameters' own (diag), so a per-parameter τ adds to λ entry by entry.
 * `zeros`: eigenvalues 0 beyond `values` (lowrank's P − k).
 */
export interface CurvatureSpectrum {
  values: Float64Array;
  natural: boolean;
  zeros?: number;
}

/** Draws every perturbed layer's δ at once, [rows, cols] each in perturbedLayers' order: for a covariance that couples the layers. */
export interface JointSampler {
  draw(random: Random): tf.Tensor2D[];
  dispose(): void;
}

/**
 * A structure's operations. Block-diagonal structures give a sampler and a functional basis per
 * layer; one whose covariance couples the layers (full, lowrank) gives `jointSampler` and
 * `functionalBases` for all layers at once instead, sets `couplesLayers` (it takes one τ), and its
 * `logDet` is the whole precision's at the first perturbed layer and 0 at the others. A
 * block-diagonal structure may give `functionalBases` too, for more than one basis per layer (inf:
 * a diagonal plus a low-rank term, each alone).
 */
export interface PosteriorStructure {
  readonly kind: CurvatureKind;
  readonly couplesLayers?: boolean;
  /** Whether it holds a per-parameter (diagonal) prior precision exactly (Posterior.priorPrecisionOf); absent: one τ per layer. */
  readonly parameterPrior?: boolean;
  /** Whether a fit holds this structure's curvature. */
  fitted(fit: CurvatureFit): boolean;
  /** The parameter layers the posterior perturbs (the others stay at W*). */
  perturbedLayers(network: Network): number[];
  /** Posterior variance of every entry of layer `layer`'s W̄, row-major. */
  marginalVariances(posterior: Posterior, layer: number): Float64Array;
  sampler?(posterior: Posterior, layer: number): LayerSampler;
  jointSampler?(posterior: Posterior): JointSampler;
  /** The layer's covariance as a basis and its variances there (tensors the caller disposes). */
  functionalBasis?(posterior: Posterior, layer: number): LayerBasis;
  /** Every basis of the posterior's functional covariance at once (joint structures). */
  functionalBases?(posterior: Posterior): LayerBasis[];
  /** log det of the layer's precision block at data scale `n`, as a function of the layer's τ (with per-parameter τ, of the posterior's own; the argument is then ignored). */
  logDet(posterior: Posterior, layer: number, n: number): (tau: number) => number;
  /**
   * Set where a functional basis holds at the posterior's own s = ln(N/τ) only (inf): the search then
   * evaluates every (N, τ) with its own posterior instead of from cached statistics.
   */
  readonly functionalBasisMovesWithRatio?: boolean;
  /** The entries of layer `layer`'s W̄ that carry the prior, for the evidence (default all; subnetwork: its chosen ones). */
  priorEntries?(posterior: Posterior, layer: number): Int32Array;
  /** The block's curvature spectrum (see CurvatureSpectrum); absent where the precision is not s·λ + τ in a fixed basis. */
  curvatureSpectrum?(posterior: Posterior, layer: number): CurvatureSpectrum;
}

/** Rows (fanIn, plus one for the bias) and columns (fanOut) of a layer's W̄. */
export function layerShape(network: Network, layer: number): { rows: number; cols: number } {
  const spec = network.layers[layer];
  return { rows: spec.fanIn + (spec.hasBias ? 1 : 0), cols: spec.fanOut };
}

/** Every parameter layer: the whole-network structures perturb them all. */
export const allLayers = (network: Network): number[] => network.layers.map((_, index) => index);

/** Eigenvalues of the (positive semi-definite) curvature that come out slightly negative from rounding, clamped at 0. */
export const clampedValues = (values: Float64Array): Float64Array => values.map((value) => Math.max(value, 0));
export const clamp = (value: number): number => Math.max(value, 0);
export const clamped = (values: ArrayLike<number>): Float64Array => Float64Array.from(values, (value) => Math.max(value, 0));

/** A float64 array as a float32 [rows, cols] tensor. */
export const toTensor = (data: ArrayLike<number>, rows: number, cols: number): tf.Tensor2D => tf.tensor2d(Float32Array.from(data), [rows, cols]);

/** τ·v = 1/(1 + e^s·λ) at s = ln(N/τ), for a basis whose precision eigenvalues are N·λ + τ. */
export const ratioWeights =
  (lambda: Float64Array) =>
  (logRatio: number): Float64Array => {
    const ratio = Math.exp(logRatio);
    return lambda.map((value) => 1 / (1 + ratio * value));
  };

/** Σ_k log(values_k + τ). */
export function sumLogShifted(values: Float64Array, tau: number): number {
  let sum = 0;
  for (let k = 0; k < values.length; k++) sum += Math.log(values[k] + tau);
  return sum;
}

export function scaled(values: Float64Array, factor: number): Float64Array {
  return values.map((value) => value * factor);
}

/** Where each layer's W̄ starts in the vector of all parameters (layers' W̄ flattened row-major, concatenated in layer order), and P. */
export function parameterOffsets(network: Network): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  network.layers.forEach((_, layer) => {
    offsets.push(total);
    total += network.parameterCount(layer);
  });
  return { offsets, total };
}
