/**
 * The Laplace posterior N(W*, (N·F + τ·I)⁻¹) for each curvature structure.
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
import { Random } from '../random/index.ts';
import type { CurvatureFit, CurvatureKind } from './curvature.ts';
import { PosteriorError } from './errors.ts';
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
    if (spec.layerTau && structureOf(spec.structure).couplesLayers) throw new PosteriorError(`The ${spec.structure} posterior couples the layers, so it takes one τ for all of them, not one per layer.`);
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

  /** Prior precision of parameter layer `layer`. */
  tauOf(layer: number): number {
    return this.spec.layerTau?.[layer] ?? this.spec.tau;
  }

  /**
   * The same curvature and MAP with other N, τ (or damping); shares memory with this one.
   * An array τ sets one prior precision per parameter layer (the scalar `tau` then holds their geometric mean, for display).
   */
  withHyperparameters(n: number, tau: number | number[], kfacDamping = this.spec.kfacDamping): Posterior {
    if (Array.isArray(tau)) {
      const mean = Math.exp(tau.reduce((sum, value) => sum + Math.log(value), 0) / tau.length);
      return new Posterior(this.network, this.mapWeights, this.curvature, { ...this.spec, n, tau: mean, layerTau: [...tau], kfacDamping });
    }
    const { layerTau: _layerTau, ...rest } = this.spec;
    return new Posterior(this.network, this.mapWeights, this.curvature, { ...rest, n, tau, kfacDamping });
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
    return sigma === undefined ? this.spec.n : this.spec.n / (sigma * sigma);
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
