/**
 * The Laplace posterior N(W*, (N·F + τ·I)⁻¹) for each curvature structure.
 * A posterior holds the curvature apart from N and τ, so `withHyperparameters`
 * re-regularises without refitting (the search does exactly that).
 *
 * Every structure samples W = W* + δ with δ drawn in closed form:
 *  - diag: δ = z / √(N·d + τ);
 *  - kfac, damping 'exact' (N·A⊗G + τ·I): with A = Q_A S_A Q_Aᵀ, G = Q_G S_G Q_Gᵀ,
 *    δ = Q_A (Z ∘ 1/√(N·s_a s_gᵀ + τ)) Q_Gᵀ;
 *  - kfac, damping 'per-factor' (the original code's (√N·A + √τ·I) ⊗ (√N·G + √τ·I)):
 *    a matrix normal, δ = L_A Z L_Gᵀ with L L ᵀ the inverse of each damped factor;
 *  - efb: δ = Q_A (Z ∘ 1/√(N·Λ + τ)) Q_Gᵀ with the refitted diagonal Λ;
 *  - last-layer: with F = Q diag(λ) Qᵀ, δ = Q (z / √(N·λ + τ)) on the last layer, the
 *    other layers stay at W*.
 * Eigenvalues of the (positive semi-definite) curvature that come out slightly
 * negative from rounding are clamped at 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addScaledIdentity, cholesky, inverseSpd, matmul, NotPositiveDefiniteError, scale, symmetricEigen, transpose, type Matrix, type SymmetricEigen } from '../linalg/index.ts';
import { Random } from '../random/index.ts';
import type { CurvatureFit, CurvatureKind } from './curvature.ts';
import type { LayerMatrix, Network } from './network.ts';

export type Structure = CurvatureKind;
export const kfacDampings = ['exact', 'per-factor'] as const;
export type KfacDamping = (typeof kfacDampings)[number];

export class PosteriorError extends Error {
  override name = 'PosteriorError';
}

export function checkHyperparameters(n: number, tau: number): void {
  if (!(Number.isFinite(n) && n > 0)) throw new PosteriorError(`N must be a positive finite number, got ${n}.`);
  if (!(Number.isFinite(tau) && tau > 0)) throw new PosteriorError(`τ (the prior precision) must be a positive finite number, got ${tau}.`);
}

const toTensor = (m: Matrix) => tf.tensor2d(Float32Array.from(m.data), [m.rows, m.cols]);
const clampedValues = (values: Float64Array) => values.map((value) => Math.max(value, 0));

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
}

export class Posterior {
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
    const present: Record<Structure, unknown> = { diag: curvature.diag, kfac: curvature.kfac, efb: curvature.efb, 'last-layer': curvature.lastLayer };
    if (!present[spec.structure]) throw new PosteriorError(`This fit holds no ${spec.structure} curvature; fit it with that curvature first.`);
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

  /** Layers whose weights the posterior perturbs. */
  get perturbedLayers(): number[] {
    const all = this.network.layers.map((_, index) => index);
    return this.structure === 'last-layer' ? [all.length - 1] : all;
  }

  /** Posterior variance of every entry of each perturbed layer's W̄ (row-major), for inspection and tests. */
  marginalVariances(): Float64Array[] {
    const { n } = this.spec;
    return this.perturbedLayers.map((layer) => {
      const tau = this.tauOf(layer);
      const { rows, cols } = this.shape(layer);
      const out = new Float64Array(rows * cols);
      switch (this.structure) {
        case 'diag':
          this.curvature.diag![layer].forEach((d, i) => (out[i] = 1 / (n * d + tau)));
          return out;
        case 'last-layer': {
          const eigen = this.lastLayerEigen();
          const values = clampedValues(eigen.values);
          const d = values.length;
          for (let i = 0; i < d; i++) {
            let sum = 0;
            for (let k = 0; k < d; k++) sum += eigen.vectors.data[i * d + k] ** 2 / (n * values[k] + tau);
            out[i] = sum;
          }
          return out;
        }
        default: {
          if (this.structure === 'kfac' && this.spec.kfacDamping === 'per-factor') {
            // Covariance (√N·A + √τ·I)⁻¹ ⊗ (√N·G + √τ·I)⁻¹: its diagonal is the outer product of the factors' diagonals.
            const { la, lg } = this.perFactorCholesky(layer);
            const rowVariance = (l: Matrix, i: number) => l.data.slice(i * l.cols, (i + 1) * l.cols).reduce((sum, value) => sum + value * value, 0);
            for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = rowVariance(la, i) * rowVariance(lg, j);
            return out;
          }
          // var[i, j] = Σ_kl Q_A[i,k]² Q_G[j,l]² s[k,l]²: two matrix products.
          const { qa, qg, scales } = this.eigenScales(layer);
          const squared = (m: Matrix) => ({ ...m, data: m.data.map((value) => value * value) });
          const variances = matmul(matmul(squared(qa), { rows, cols, data: scales.map((value) => value * value) }), transpose(squared(qg)));
          out.set(variances.data);
          return out;
        }
      }
    });
  }

  shape(layer: number): { rows: number; cols: number } {
    const spec = this.network.layers[layer];
    return { rows: spec.fanIn + (spec.hasBias ? 1 : 0), cols: spec.fanOut };
  }

  /** Eigendecomposition of the last-layer Fisher, computed once per fit. */
  lastLayerEigen(): SymmetricEigen {
    return symmetricEigen(this.curvature.lastLayer!, `Last-layer Fisher of layer ${this.network.layers[this.network.layers.length - 1].name}`);
  }

  /** Eigendecompositions of layer `layer`'s KFAC factors A and G, computed once per fit and shared with the sampler (the evidence reads them). */
  kfacEigen(layer: number): { a: SymmetricEigen; g: SymmetricEigen } {
    const factors = this.curvature.kfac![layer];
    const name = this.network.layers[layer].name;
    return { a: symmetricEigen(factors.a, `KFAC factor A of layer ${name}`), g: symmetricEigen(factors.g, `KFAC factor G of layer ${name}`) };
  }

  /**
   * For eigenbasis structures (kfac exact, efb): Q_A, Q_G and the standard
   * deviations 1/√(N·λ + τ) of the coefficients in that basis.
   */
  private eigenScales(layer: number): { qa: Matrix; qg: Matrix; scales: Float64Array } {
    const { n } = this.spec;
    const tau = this.tauOf(layer);
    const name = this.network.layers[layer].name;
    let a: SymmetricEigen;
    let g: SymmetricEigen;
    let lambda: (i: number, j: number) => number;
    if (this.structure === 'efb') {
      const factors = this.curvature.efb![layer];
      a = factors.a;
      g = factors.g;
      const cols = g.values.length;
      lambda = (i, j) => Math.max(factors.diagonal[i * cols + j], 0);
    } else {
      const factors = this.curvature.kfac![layer];
      a = symmetricEigen(factors.a, `KFAC factor A of layer ${name}`);
      g = symmetricEigen(factors.g, `KFAC factor G of layer ${name}`);
      const sa = clampedValues(a.values);
      const sg = clampedValues(g.values);
      lambda = (i, j) => sa[i] * sg[j];
    }
    const rows = a.values.length;
    const cols = g.values.length;
    const scales = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) scales[i * cols + j] = 1 / Math.sqrt(n * lambda(i, j) + tau);
    return { qa: a.vectors, qg: g.vectors, scales };
  }

  /** Cholesky factors of the inverted, separately damped Kronecker factors (the original's sampler). */
  private perFactorCholesky(layer: number): { la: Matrix; lg: Matrix } {
    const { n } = this.spec;
    const tau = this.tauOf(layer);
    const name = this.network.layers[layer].name;
    const factors = this.curvature.kfac![layer];
    const damped = (m: Matrix, label: string) => {
      const factorName = `KFAC factor ${label} of layer ${name} damped as √N·${label} + √τ·I`;
      try {
        return cholesky(inverseSpd(addScaledIdentity(scale(m, Math.sqrt(n)), Math.sqrt(tau)), factorName), `inverse of ${factorName}`);
      } catch (error) {
        if (error instanceof NotPositiveDefiniteError) throw error;
        throw new PosteriorError(`${factorName} could not be inverted (${(error as Error).message}); increase τ.`);
      }
    };
    return { la: damped(factors.a, 'A'), lg: damped(factors.g, 'G') };
  }

  /**
   * Weight deviations δ for `count` samples: per sample, per perturbed layer,
   * a [rows, cols] tensor. Seeded: the same seed gives the same draws.
   */
  sampleDeviations(count: number, seed: number): tf.Tensor2D[][] {
    if (!Number.isInteger(count) || count < 1) throw new PosteriorError(`The number of weight samples must be a positive integer, got ${count}.`);
    const random = new Random(seed);
    const layers = this.perturbedLayers;
    const samplers = layers.map((layer) => this.layerSampler(layer));
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

  private layerSampler(layer: number): { draw(random: Random): tf.Tensor2D; dispose(): void } {
    const { rows, cols } = this.shape(layer);
    const normals = (random: Random) => tf.tensor2d(random.normals(rows * cols), [rows, cols]);
    const { n } = this.spec;
    const tau = this.tauOf(layer);
    switch (this.structure) {
      case 'diag': {
        const std = tf.tensor2d(Float32Array.from(this.curvature.diag![layer], (d) => 1 / Math.sqrt(n * d + tau)), [rows, cols]);
        return { draw: (random) => tf.tidy(() => tf.mul(normals(random), std)), dispose: () => std.dispose() };
      }
      case 'last-layer': {
        const eigen = this.lastLayerEigen();
        const values = clampedValues(eigen.values);
        const q = toTensor(eigen.vectors);
        const std = tf.tensor1d(Float32Array.from(values, (value) => 1 / Math.sqrt(n * value + tau)));
        return {
          draw: (random) =>
            tf.tidy(() => {
              const z = tf.mul(tf.tensor1d(random.normals(rows * cols)), std);
              return tf.reshape(tf.matMul(q, tf.reshape(z, [-1, 1])), [rows, cols]) as tf.Tensor2D;
            }),
          dispose: () => tf.dispose([q, std]),
        };
      }
      case 'kfac':
        if (this.spec.kfacDamping === 'per-factor') {
          const { la, lg } = this.perFactorCholesky(layer);
          const [laT, lgT] = [toTensor(la), toTensor(lg)];
          return {
            draw: (random) => tf.tidy(() => tf.matMul(tf.matMul(laT, normals(random)), lgT, false, true)),
            dispose: () => tf.dispose([laT, lgT]),
          };
        }
      // falls through: exact damping samples in the eigenbasis like efb
      case 'efb': {
        const { qa, qg, scales } = this.eigenScales(layer);
        const [qaT, qgT] = [toTensor(qa), toTensor(qg)];
        const std = tf.tensor2d(Float32Array.from(scales), [rows, cols]);
        return {
          draw: (random) => tf.tidy(() => tf.matMul(tf.matMul(qaT, tf.mul(normals(random), std)), qgT, false, true)),
          dispose: () => tf.dispose([qaT, qgT, std]),
        };
      }
    }
  }

  dispose(): void {
    tf.dispose(this.mapWeights);
  }
}
