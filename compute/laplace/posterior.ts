/**
 * The Laplace posterior N(W*, (N·F + τ·I)⁻¹) for each curvature structure; in general
 * N(W*, ((N/(σ²T))·F + diag(τ))⁻¹) with a temperature T, a regression's σ and a prior precision τ
 * that is one number, one per layer or one per parameter, and a prior mean μ₀ (the evidence's).
 * A posterior holds the curvature apart from N and τ, so `withHyperparameters`
 * re-regularises without refitting (the search does exactly that).
 *
 * What differs between the structures (diag, kfac, efb, last-layer, full, lowrank) lives in
 * one file per structure under structures/: its marginal variances, its
 * sampler, its basis for the functional covariance and its log det. This file
 * is what they share: the hyperparameters, the MAP weights, and drawing W* + δ
 * layer by layer with the structure's sampler.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from './random.ts';
import type { CurvatureFit, CurvatureKind } from './curvature.ts';
import { PosteriorError, PriorPrecisionError } from './errors.ts';
import type { LayerMatrix, Network } from './network.ts';
import { likelihoodFor, type Likelihood } from './likelihoods/index.ts';
import { structureOf, type PosteriorStructure } from './structures/index.ts';

export { PosteriorError };
export type Structure = CurvatureKind;
export const kfacDampings = ['exact', 'per-factor'] as const;
export type KfacDamping = (typeof kfacDampings)[number];

export function checkHyperparameters(n: number, tau: number): void {
  if (!(Number.isFinite(n) && n > 0)) throw new PosteriorError(`N must be a positive finite number, got ${n}.`);
  if (!(Number.isFinite(tau) && tau > 0)) throw new PosteriorError(`τ (the prior precision) must be a positive finite number, got ${tau}.`);
}

// Eigendecompositions are costly: symmetricEigen keeps each with the matrix it came from, so the
// fit (EFB's eigenbasis of the same KFAC factors), every posterior of that fit, the search and the
// evidence share one decomposition per factor.

export interface PosteriorSpec {
  structure: Structure;
  n: number;
  /** Prior precision τ, the same for every layer unless `layerTau` is given. */
  tau: number;
  /** Per-layer prior precisions, one per parameter layer (the marginal likelihood can tune them); overrides `tau`. */
  layerTau?: number[];
  kfacDamping: KfacDamping;
  /** Regression only: the Gaussian likelihood's noise σ (default 1); the precision's data term is N/σ²·F. */
  sigma?: number;
  /**
   * One prior precision per perturbed parameter (the perturbed layers' W̄ flattened row-major and
   * concatenated in layer order); overrides `tau` and `layerTau`. Only structures that can hold a
   * diagonal prior exactly take it (PosteriorStructure.parameterPrior).
   */
  parameterTau?: Float64Array;
  /** Prior mean μ₀ (default 0): one value for all, or one per perturbed parameter (as `parameterTau`). Enters the evidence only. */
  priorMean?: number | Float64Array;
  /** Temperature T (default 1): the precision is (N/T)·F + τ, laplace-torch's convention; the evidence's data term is divided by T too. */
  temperature?: number;
}

/** A prior precision: one τ, one per parameter layer (a plain array that long), or one per perturbed parameter (a typed array, or a plain array that long). */
export type PriorPrecision = number | number[] | Float32Array | Float64Array;

/** The perturbed parameters' count and where each perturbed layer starts among them. */
export function perturbedParameters(network: Network, layers: number[]): { offsets: Map<number, number>; total: number } {
  const offsets = new Map<number, number>();
  let total = 0;
  for (const layer of layers) {
    offsets.set(layer, total);
    total += network.parameterCount(layer);
  }
  return { offsets, total };
}

export class Posterior {
  private likelihoodOf?: Likelihood;

  constructor(
    readonly network: Network,
    /** MAP weights as W̄ matrices (owned by the posterior). */
    readonly mapWeights: LayerMatrix[],
    readonly curvature: CurvatureFit,
    readonly spec: PosteriorSpec,
  ) {
    checkHyperparameters(spec.n, spec.tau);
    if (spec.layerTau) {
      if (spec.layerTau.length !== network.layers.length) throw new PosteriorError(`Per-layer τ needs one value per parameter layer (${network.layers.length}), got ${spec.layerTau.length}.`);
      spec.layerTau.forEach((tau) => checkHyperparameters(spec.n, tau));
    }
    const implementation = structureOf(spec.structure);
    if (spec.layerTau && implementation.couplesLayers && !implementation.parameterPrior) throw new PosteriorError(`The ${spec.structure} posterior couples the layers, so it takes one τ for all of them, not one per layer.`);
    const covered = perturbedParameters(network, implementation.perturbedLayers(network)).total;
    if (spec.parameterTau) {
      if (spec.parameterTau.length !== covered) throw new PosteriorError(`A per-parameter τ needs one value per perturbed parameter (${covered}), got ${spec.parameterTau.length}.`);
      if (!spec.parameterTau.every((value) => Number.isFinite(value) && value > 0)) throw new PosteriorError('Every per-parameter τ (the prior precision) must be a positive finite number.');
      if (!implementation.parameterPrior) throw new PriorPrecisionError(`The ${spec.structure} posterior's eigen-form holds one τ per layer, not one per parameter; give one τ per layer, or use diag, last-layer, full or lowrank.`);
    }
    if (spec.priorMean !== undefined) {
      if (typeof spec.priorMean === 'number') {
        if (!Number.isFinite(spec.priorMean)) throw new PosteriorError(`The prior mean must be a finite number, got ${spec.priorMean}.`);
      } else if (spec.priorMean.length !== covered || !spec.priorMean.every(Number.isFinite)) {
        throw new PosteriorError(`A per-parameter prior mean needs one finite value per perturbed parameter (${covered}), got ${spec.priorMean.length} values.`);
      }
    }
    if (spec.temperature !== undefined && !(Number.isFinite(spec.temperature) && spec.temperature > 0)) throw new PosteriorError(`The temperature T must be a positive finite number, got ${spec.temperature}.`);
    if (!structureOf(spec.structure).fitted(curvature)) throw new PosteriorError(`This fit holds no ${spec.structure} curvature; fit it with that curvature first.`);
    // Refuses an output the fit's likelihood does not fit (a file's, say) before any use.
    const { kind } = this.likelihood;
    if (spec.sigma !== undefined) {
      if (kind !== 'regression') throw new PosteriorError(`σ is the noise of a regression's Gaussian likelihood; this posterior's likelihood is ${kind}, so drop σ.`);
      if (!(Number.isFinite(spec.sigma) && spec.sigma > 0)) throw new PosteriorError(`σ (the observation noise) must be a positive finite number, got ${spec.sigma}.`);
    }
  }

  get structure(): Structure {
    return this.spec.structure;
  }

  get n(): number {
    return this.spec.n;
  }

  get tau(): number {
    return this.spec.tau;
  }

  /** Prior precision of parameter layer `layer` (with per-parameter τ, the scalar shown; structures read priorPrecisionOf). */
  tauOf(layer: number): number {
    return this.spec.layerTau?.[layer] ?? this.spec.tau;
  }

  /** The temperature T (1 unless given). */
  get temperature(): number {
    return this.spec.temperature ?? 1;
  }

  /** Whether the prior precision varies within a layer's block: per-parameter τ, or per-layer τ on a structure that couples the layers. */
  get hasParameterTau(): boolean {
    return !!this.spec.parameterTau || (!!this.spec.layerTau && !!this.implementation.couplesLayers);
  }

  /**
   * Per-parameter τ of a perturbed layer (its W̄ row-major), or null when the layer's τ is one
   * number (tauOf). A structure that couples the layers gets per-layer τ this way too.
   */
  priorPrecisionOf(layer: number): Float64Array | null {
    if (!this.hasParameterTau) return null;
    const count = this.network.parameterCount(layer);
    if (!this.spec.parameterTau) return new Float64Array(count).fill(this.tauOf(layer));
    const start = perturbedParameters(this.network, this.perturbedLayers).offsets.get(layer)!;
    return this.spec.parameterTau.subarray(start, start + count);
  }

  /** The prior mean of a perturbed layer's W̄ (row-major), or the one number for all. */
  priorMeanOf(layer: number): number | Float64Array {
    const mean = this.spec.priorMean ?? 0;
    if (typeof mean === 'number') return mean;
    const start = perturbedParameters(this.network, this.perturbedLayers).offsets.get(layer)!;
    return mean.subarray(start, start + this.network.parameterCount(layer));
  }

  /** The prior precision as withHyperparameters takes it: τ, per-layer τ or per-parameter τ. */
  get priorPrecision(): PriorPrecision {
    return this.spec.parameterTau ?? (this.spec.layerTau ? [...this.spec.layerTau] : this.spec.tau);
  }

  /** The same posterior with another prior mean and/or temperature (undefined keeps the current one). */
  withPrior(options: { mean?: number | ArrayLike<number>; temperature?: number }): Posterior {
    const spec = { ...this.spec };
    if (options.mean !== undefined) spec.priorMean = typeof options.mean === 'number' ? options.mean : Float64Array.from(options.mean);
    if (options.temperature !== undefined) spec.temperature = options.temperature;
    return new Posterior(this.network, this.mapWeights, this.curvature, spec);
  }

  /**
   * The same curvature and MAP with other N, τ (or damping); shares memory with this one.
   * An array τ sets one prior precision per parameter layer (the scalar `tau` then holds their geometric mean, for display).
   */
  withHyperparameters(n: number, tau: PriorPrecision, kfacDamping = this.spec.kfacDamping): Posterior {
    const { layerTau: _layerTau, parameterTau: _parameterTau, ...rest } = this.spec;
    if (typeof tau === 'number') return new Posterior(this.network, this.mapWeights, this.curvature, { ...rest, n, tau, kfacDamping });
    const layers = this.network.layers.length;
    const perLayer = Array.isArray(tau) && tau.length === layers;
    const values = perLayer ? tau : this.perParameterTau(tau);
    if (!values.every((value) => Number.isFinite(value) && value > 0)) throw new PosteriorError('Every τ (the prior precision) must be a positive finite number.');
    let sum = 0;
    for (const value of values) sum += Math.log(value);
    const mean = Math.exp(sum / values.length);
    if (perLayer) return new Posterior(this.network, this.mapWeights, this.curvature, { ...rest, n, tau: mean, layerTau: [...tau], kfacDamping });
    return new Posterior(this.network, this.mapWeights, this.curvature, { ...rest, n, tau: mean, ...this.parameterTauSpec(values as Float64Array), kfacDamping });
  }

  /** An array τ as one value per perturbed parameter, its length checked. */
  private perParameterTau(tau: ArrayLike<number>): Float64Array {
    const covered = perturbedParameters(this.network, this.perturbedLayers).total;
    if (tau.length !== covered) throw new PosteriorError(`An array τ needs one value per parameter layer (${this.network.layers.length}) or one per perturbed parameter (${covered}), got ${tau.length}.`);
    return Float64Array.from(tau);
  }

  /**
   * Per-parameter τ as the spec holds it: a structure without a diagonal prior (kfac, efb) takes
   * it when it is one value per layer (exactly its per-layer τ), and refuses it otherwise.
   */
  private parameterTauSpec(values: Float64Array): { parameterTau: Float64Array } | { layerTau: number[] } {
    if (this.implementation.parameterPrior) return { parameterTau: values };
    const { offsets } = perturbedParameters(this.network, this.perturbedLayers);
    const layerTau = this.network.layers.map((_, layer) => this.tauOf(layer));
    for (const [layer, start] of offsets) {
      const block = values.subarray(start, start + this.network.parameterCount(layer));
      if (!block.every((value) => value === block[0])) {
        throw new PriorPrecisionError(`The ${this.structure} posterior's eigen-form holds one τ per layer, but the per-parameter τ given varies within layer ${this.network.layers[layer].name}; give one τ per layer, or use diag, last-layer, full or lowrank.`);
      }
      layerTau[layer] = block[0];
    }
    return { layerTau };
  }

  /** The output distribution (likelihoods/): what the fit's curvature was taken for. */
  get likelihood(): Likelihood {
    return (this.likelihoodOf ??= likelihoodFor(this.network.output, this.curvature.likelihood ?? 'classification'));
  }

  /** The structure's own operations (structures/): variances, sampler, functional basis, log det. */
  get implementation(): PosteriorStructure {
    return structureOf(this.spec.structure);
  }

  /** The regression's observation noise σ (1 unless given or tuned); undefined for classification. */
  get sigma(): number | undefined {
    return this.likelihood.kind === 'regression' ? (this.spec.sigma ?? 1) : undefined;
  }

  /** The data term's scale in the precision N·F + τ·I: N, and N/σ² for a Gaussian likelihood, whose curvature is fitted at σ = 1. */
  get dataScale(): number {
    const sigma = this.sigma;
    // Dividing by T = 1 is exact, so the default is bit for bit what it was.
    return (sigma === undefined ? this.spec.n : this.spec.n / (sigma * sigma)) / this.temperature;
  }

  /** The same posterior with the regression's noise σ (no refit: the curvature is σ's free). */
  withSigma(sigma: number): Posterior {
    if (this.likelihood.kind !== 'regression') throw new PosteriorError(`σ is the noise of a regression's Gaussian likelihood; this posterior's likelihood is ${this.likelihood.kind}.`);
    return new Posterior(this.network, this.mapWeights, this.curvature, { ...this.spec, sigma });
  }

  /** Layers whose weights the posterior perturbs. */
  get perturbedLayers(): number[] {
    return this.implementation.perturbedLayers(this.network);
  }

  /** Posterior variance of every entry of each perturbed layer's W̄ (row-major), for inspection and tests. */
  marginalVariances(): Float64Array[] {
    return this.perturbedLayers.map((layer) => this.implementation.marginalVariances(this, layer));
  }

  shape(layer: number): { rows: number; cols: number } {
    const spec = this.network.layers[layer];
    return { rows: spec.fanIn + (spec.hasBias ? 1 : 0), cols: spec.fanOut };
  }

  /**
   * Weight deviations δ for `count` samples: per sample, per perturbed layer,
   * a [rows, cols] tensor. Seeded: the same seed gives the same draws.
   */
  sampleDeviations(count: number, seed: number): tf.Tensor2D[][] {
    if (!Number.isInteger(count) || count < 1) throw new PosteriorError(`The number of weight samples must be a positive integer, got ${count}.`);
    const random = new Random(seed);
    const joint = this.implementation.jointSampler?.(this);
    if (joint) {
      try {
        return Array.from({ length: count }, () => joint.draw(random));
      } finally {
        joint.dispose();
      }
    }
    const layers = this.perturbedLayers;
    const samplers = layers.map((layer) => this.implementation.sampler!(this, layer));
    try {
      return Array.from({ length: count }, () => samplers.map((sampler) => sampler.draw(random)));
    } finally {
      samplers.forEach((sampler) => sampler.dispose());
    }
  }

  /** `count` weight samples W* + δ, as full lists of W̄ matrices (unperturbed layers shared with the MAP). */
  sample(count: number, seed: number): LayerMatrix[][] {
    const deviations = this.sampleDeviations(count, seed);
    // Fix (tests/laplace/sampling.test.ts): the deviations were never disposed, leaking
    // count × perturbed-layers tensors per call; shiftedWeights makes new tensors, so free them.
    try {
      return deviations.map((perLayer) => this.shiftedWeights(perLayer, 1));
    } finally {
      tf.dispose(deviations.flat());
    }
  }

  /** W* + step·δ for each layer (δ for the perturbed layers only); disposes nothing. */
  shiftedWeights(deviations: tf.Tensor2D[], step: number): LayerMatrix[] {
    const layers = this.perturbedLayers;
    return this.mapWeights.map((weights, layer) => {
      const index = layers.indexOf(layer);
      return index < 0 ? weights : (tf.tidy(() => tf.add(weights, tf.mul(deviations[index], step))) as tf.Tensor2D);
    });
  }

  dispose(): void {
    tf.dispose(this.mapWeights);
  }
}
