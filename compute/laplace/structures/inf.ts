/**
 * inf: the sparse information form of Lee, Humt, Feng and Triebel 2020 ("Estimating model
 * uncertainty of neural networks in sparse information form", ICML; DLR-RM/curvature), per layer
 * a low-rank information matrix plus a diagonal:
 *
 *   F_l ≈ U diag(Λ) Uᵀ + D,   precision H_l = N·(U diag(Λ) Uᵀ + D) + τ·I,
 *
 * U the L columns of the EFB eigenbasis Q_A ⊗ Q_G with the largest EFB eigenvalues Λ (efb.ts),
 * and D = diag(F) − diag(U diag(Λ) Uᵀ) the correction that makes the diagonal of the
 * approximation the exact diagonal Fisher (the diag structure's). Where that difference is
 * negative (the kept directions overshoot an entry's Fisher, which nothing rules out) D is
 * clamped at 0, and that entry's diagonal exceeds the diag structure's.
 *
 * With E = N·D + τ·I (diagonal) and Ũ = E^{-1/2} U (N·Λ)^{1/2} = V diag(σ) Wᵀ (thin SVD, from the
 * L × L eigenproblem ŨᵀŨ = W diag(σ²) Wᵀ), H = E^{1/2} (I + Ũ Ũᵀ) E^{1/2}, so
 *  - covariance Σ = E^{-1/2} (I − V diag(σ²/(1 + σ²)) Vᵀ) E^{-1/2} (Woodbury): variances
 *    (1 − Σ_k V_ik² σ_k²/(1 + σ_k²)) / E_i;
 *  - samples δ = E^{-1/2} (z + V diag(c) Vᵀ z) with c = 1/√(1 + σ²) − 1, since
 *    (I + V diag(c) Vᵀ)² = (I + V diag(σ²) Vᵀ)⁻¹ for orthonormal V;
 *  - functional covariance J Σ Jᵀ: the natural basis with τ·v = τ/E_i = 1/(1 + e^s·D_i), s = ln(N/τ),
 *    plus the basis (1 + e^s·D)^{-1/2} V with τ·v = −σ²/(1 + σ²). That second basis moves with
 *    s, so it is built at the posterior's own N and τ, and the search evaluates each (N, τ) anew
 *    (functionalBasisMovesWithRatio);
 *  - log det H = Σ_i log E_i + log det(I_L + N Λ^{1/2} Uᵀ E⁻¹ U Λ^{1/2}) (matrix determinant lemma).
 *
 * U is P_l × L per layer: L (infDefaults.rank, capped at P_l) times the memory of a diagonal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cholesky, logDetFromCholesky, matrix, symmetricEigen, type Matrix } from '../linalg/index.ts';
import type { EigenFactors } from '../curvature.ts';
import { PosteriorError } from '../errors.ts';
import type { Posterior } from '../posterior.ts';
import { allLayers, layerShape, type PosteriorStructure } from './structure.ts';

export const infDefaults = {
  /** Eigenpairs of the EFB eigenbasis kept per layer, L (capped at the layer's parameters). */
  rank: 20,
};

/** One layer's information form: F_l ≈ U diag(Λ) Uᵀ + D. */
export interface InfFactors {
  /** Λ: the kept EFB eigenvalues, descending. */
  values: Float64Array;
  /** U: their eigenvectors, column k = Q_A[:, i_k] ⊗ Q_G[:, j_k] on row-major vec(W̄), [P_l × L]. */
  vectors: Matrix;
  /** D: diag(F) − diag(U diag(Λ) Uᵀ), clamped at 0 (those entries' diagonal then exceeds the exact diagonal Fisher), [P_l]. */
  correction: Float64Array;
}

/** L per layer, checked: a whole number of at least 1. */
export function infRankOf(rank: number | undefined): number {
  const value = rank ?? infDefaults.rank;
  if (!(Number.isSafeInteger(value) && value >= 1)) throw new PosteriorError(`The inf rank L (eigenpairs kept per layer) must be a whole number of at least 1, got ${String(value)}.`);
  return value;
}

/**
 * A layer's information form from its EFB factors and its exact diagonal Fisher: the `rank` largest
 * EFB eigenvalues (ties to the lower index) with their Kronecker eigenvectors, and the clamped
 * diagonal correction. Everything is rounded to float32, as the file keeps it, and D is computed
 * from the rounded U and Λ, so a saved fit equals the fitted one and diag(U Λ Uᵀ) + D is the
 * diagonal Fisher to float32 rounding of D.
 */
export function infFactors(efb: EigenFactors, diagonal: Float64Array, rank: number): InfFactors {
  const rows = efb.a.values.length;
  const cols = efb.g.values.length;
  const parameters = rows * cols;
  const kept = Math.min(rank, parameters);
  const order = Array.from({ length: parameters }, (_, index) => index).sort((x, y) => efb.diagonal[y] - efb.diagonal[x] || x - y);
  const values = Float64Array.from({ length: kept }, (_, k) => Math.fround(Math.max(efb.diagonal[order[k]], 0)));
  const vectors = matrix(parameters, kept);
  const qa = efb.a.vectors.data;
  const qg = efb.g.vectors.data;
  for (let k = 0; k < kept; k++) {
    const i = Math.floor(order[k] / cols);
    const j = order[k] % cols;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) vectors.data[(r * cols + c) * kept + k] = Math.fround(qa[r * rows + i] * qg[c * cols + j]);
  }
  const correction = new Float64Array(parameters);
  for (let p = 0; p < parameters; p++) {
    let lowRank = 0;
    for (let k = 0; k < kept; k++) lowRank += vectors.data[p * kept + k] ** 2 * values[k];
    correction[p] = Math.fround(Math.max(diagonal[p] - lowRank, 0));
  }
  return { values, vectors, correction };
}

/**
 * The layer's precision at data scale `n` and prior precision `tau` in the form above: E's diagonal,
 * V [P_l × m] (the directions with σ² above rounding) and σ².
 */
function decomposition(factors: InfFactors, n: number, tau: number): { e: Float64Array; v: Float64Array; squares: Float64Array; m: number } {
  const { values, vectors, correction } = factors;
  const parameters = correction.length;
  const rank = values.length;
  const e = correction.map((d) => n * d + tau);
  // Ũ = E^{-1/2} U (N·Λ)^{1/2}, row-major [P, L].
  const tilde = new Float64Array(parameters * rank);
  for (let p = 0; p < parameters; p++) {
    const scale = 1 / Math.sqrt(e[p]);
    for (let k = 0; k < rank; k++) tilde[p * rank + k] = vectors.data[p * rank + k] * scale * Math.sqrt(n * values[k]);
  }
  const gram = matrix(rank, rank);
  for (let p = 0; p < parameters; p++) {
    for (let a = 0; a < rank; a++) {
      const x = tilde[p * rank + a];
      if (x === 0) continue;
      for (let b = 0; b <= a; b++) gram.data[a * rank + b] += x * tilde[p * rank + b];
    }
  }
  for (let a = 0; a < rank; a++) for (let b = 0; b < a; b++) gram.data[b * rank + a] = gram.data[a * rank + b];
  const eigen = symmetricEigen(gram, 'The inf low-rank Gram matrix');
  const largest = Math.max(...eigen.values, 0);
  // Directions with σ² at rounding level carry no correction (c = 0) and have no stable V column.
  const kept = Array.from(eigen.values.keys()).filter((k) => eigen.values[k] > 1e-12 * largest && eigen.values[k] > 0);
  const m = kept.length;
  const squares = Float64Array.from(kept, (k) => eigen.values[k]);
  const v = new Float64Array(parameters * m);
  kept.forEach((k, column) => {
    const inverse = 1 / Math.sqrt(eigen.values[k]);
    for (let p = 0; p < parameters; p++) {
      let sum = 0;
      for (let a = 0; a < rank; a++) sum += tilde[p * rank + a] * eigen.vectors.data[a * rank + k];
      v[p * m + column] = sum * inverse;
    }
  });
  return { e, v, squares, m };
}

const factorsOf = (posterior: Posterior, layer: number): InfFactors => posterior.curvature.inf![layer];

export const infStructure: PosteriorStructure = {
  kind: 'inf',
  fitted: (fit) => !!fit.inf,
  perturbedLayers: allLayers,
  functionalBasisMovesWithRatio: true,

  marginalVariances(posterior, layer) {
    const { e, v, squares, m } = decomposition(factorsOf(posterior, layer), posterior.dataScale, posterior.tauOf(layer));
    return e.map((value, p) => {
      let sum = 0;
      for (let k = 0; k < m; k++) sum += v[p * m + k] ** 2 * (squares[k] / (1 + squares[k]));
      return (1 - sum) / value;
    });
  },

  sampler(posterior, layer) {
    const { rows, cols } = layerShape(posterior.network, layer);
    const { e, v, squares, m } = decomposition(factorsOf(posterior, layer), posterior.dataScale, posterior.tauOf(layer));
    const std = tf.tensor2d(Float32Array.from(e, (value) => 1 / Math.sqrt(value)), [rows * cols, 1]);
    const basis = m > 0 ? tf.tensor2d(Float32Array.from(v), [rows * cols, m]) : null;
    const c = m > 0 ? tf.tensor2d(Float32Array.from(squares, (square) => 1 / Math.sqrt(1 + square) - 1), [m, 1]) : null;
    return {
      draw: (random) =>
        tf.tidy(() => {
          const z = tf.tensor2d(random.normals(rows * cols), [rows * cols, 1]);
          const whitened = basis ? tf.add(z, tf.matMul(basis, tf.mul(c!, tf.matMul(basis, z, true, false)))) : z;
          return tf.reshape(tf.mul(whitened, std), [rows, cols]) as tf.Tensor2D;
        }),
      dispose: () => tf.dispose([std, ...(basis ? [basis, c!] : [])]),
    };
  },

  functionalBases(posterior) {
    return posterior.network.layers.flatMap((_, layer) => {
      const { rows, cols } = layerShape(posterior.network, layer);
      const factors = factorsOf(posterior, layer);
      const n = posterior.dataScale;
      const tau = posterior.tauOf(layer);
      const ownRatio = Math.log(n / tau);
      const { e, v, squares, m } = decomposition(factors, n, tau);
      const diagonal = {
        layer,
        kind: 'separable' as const,
        qa: null,
        qg: null,
        q: null,
        scaledVariances: (logRatio: number) => {
          const ratio = Math.exp(logRatio);
          return factors.correction.map((d) => 1 / (1 + ratio * d));
        },
      };
      if (m === 0) return [diagonal];
      // (1 + e^s·D)^{-1/2} V = √τ·E^{-1/2} V, [rows·cols, m] read as [rows, cols·m].
      const q = new Float32Array(rows * cols * m);
      for (let p = 0; p < rows * cols; p++) {
        const scale = Math.sqrt(tau / e[p]);
        for (let k = 0; k < m; k++) q[p * m + k] = v[p * m + k] * scale;
      }
      const weights = squares.map((square) => -square / (1 + square));
      const lowRank = {
        layer,
        kind: 'full' as const,
        qa: null,
        qg: null,
        q: tf.tensor2d(q, [rows, cols * m]),
        scaledVariances: (logRatio: number) => {
          if (logRatio !== ownRatio) throw new PosteriorError('The inf functional covariance is built at its posterior’s own N and τ (its low-rank basis moves with N/τ); make a posterior with the other N and τ (withHyperparameters) instead.');
          return weights;
        },
      };
      return [diagonal, lowRank];
    });
  },

  logDet(posterior, layer, n) {
    const { values, vectors, correction } = factorsOf(posterior, layer);
    const rank = values.length;
    const parameters = correction.length;
    const roots = values.map((value) => Math.sqrt(n * Math.max(value, 0)));
    return (tau) => {
      let sum = 0;
      for (let p = 0; p < parameters; p++) sum += Math.log(n * correction[p] + tau);
      // I_L + (N Λ)^{1/2} Uᵀ E⁻¹ U (N Λ)^{1/2}.
      const inner = matrix(rank, rank);
      for (let p = 0; p < parameters; p++) {
        const inverse = 1 / (n * correction[p] + tau);
        for (let a = 0; a < rank; a++) {
          const x = vectors.data[p * rank + a] * roots[a] * inverse;
          if (x === 0) continue;
          for (let b = 0; b <= a; b++) inner.data[a * rank + b] += x * vectors.data[p * rank + b] * roots[b];
        }
      }
      for (let a = 0; a < rank; a++) {
        inner.data[a * rank + a] += 1;
        for (let b = 0; b < a; b++) inner.data[b * rank + a] = inner.data[a * rank + b];
      }
      return sum + logDetFromCholesky(cholesky(inner, 'The inf determinant-lemma matrix'));
    };
  },
};
