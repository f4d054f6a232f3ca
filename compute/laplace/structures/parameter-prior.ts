/**
 * A diagonal prior precision D = diag(τ_i), one τ per parameter, where a structure can hold it
 * exactly (PosteriorStructure.parameterPrior): H = s·F + D with s the data scale (N/σ²/T).
 *  - diag: H stays diagonal, s·d_i + τ_i (diag.ts itself);
 *  - last-layer, full (dense F = Q Λ Qᵀ): F's eigenbasis no longer diagonalises H, so H itself is
 *    decomposed, H = V diag(h) Vᵀ, once per posterior and scale (denseDampedEigen); variances,
 *    samples, the functional covariance and log det then read V and h as they read Q and s·λ + τ;
 *  - lowrank (F = U Λ Uᵀ, k columns): by Woodbury, with B = D^{-1/2} U diag(√(s·λ)) = W diag(√σ) Rᵀ
 *    (R diag(σ) Rᵀ the eigendecomposition of the k × k BᵀB, W = B R diag(σ)^{-1/2} orthonormal),
 *    H = D^{1/2} (I + W diag(σ) Wᵀ) D^{1/2}, so
 *      Σ = D^{-1/2} (I − W diag(σ/(1 + σ)) Wᵀ) D^{-1/2},   log det H = Σ_i log τ_i + Σ_k log(1 + σ_k),
 *    and δ = D^{-1/2} (z + W diag(1/√(1 + σ) − 1) Wᵀ z) has covariance Σ (lowrankDampedForm).
 * With D = τ·I each reduces to its structure's scalar form.
 */
import { matrix, symmetricEigen, type Matrix, type SymmetricEigen } from '../linalg/index.ts';
import type { Posterior } from '../posterior.ts';
import { clampedValues } from './structure.ts';

/** Per posterior, the decompositions made so far, by what they decompose and the scale. */
const cache = new WeakMap<Posterior, Map<string, unknown>>();

function cached<T>(posterior: Posterior, key: string, make: () => T): T {
  let entries = cache.get(posterior);
  if (!entries) cache.set(posterior, (entries = new Map()));
  if (!entries.has(key)) entries.set(key, make());
  return entries.get(key) as T;
}

/** The per-parameter τ of every perturbed layer, concatenated in their order. */
export function coveredPrecision(posterior: Posterior): Float64Array {
  const parts = posterior.perturbedLayers.map((layer) => posterior.priorPrecisionOf(layer)!);
  const out = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Eigendecomposition of s·F + diag(τ) for a dense F (last-layer, full), made once per posterior and scale. */
export function denseDampedEigen(posterior: Posterior, fisher: Matrix, scale: number, name: string): SymmetricEigen {
  return cached(posterior, `dense ${name} ${scale}`, () => {
    const tau = coveredPrecision(posterior);
    const size = fisher.rows;
    const h = matrix(size, size);
    for (let i = 0; i < size * size; i++) h.data[i] = scale * fisher.data[i];
    for (let i = 0; i < size; i++) h.data[i * size + i] += tau[i];
    return symmetricEigen(h, `${name} with its per-parameter prior`);
  });
}

/** Σ_k V_ik² / h_k for rows [start, start + count) of V: the marginal variances of a decomposed precision. */
export function eigenRowVariances(eigen: SymmetricEigen, start: number, count: number): Float64Array {
  const total = eigen.values.length;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const row = (start + i) * total;
    let sum = 0;
    for (let k = 0; k < total; k++) sum += eigen.vectors.data[row + k] ** 2 / eigen.values[k];
    out[i] = sum;
  }
  return out;
}

/** Σ_k log h_k. */
export function sumLog(values: Float64Array): number {
  let sum = 0;
  for (const value of values) sum += Math.log(value);
  return sum;
}

export interface LowrankDampedForm {
  /** τ_i^{-1/2}, over every parameter. */
  inverseRoot: Float64Array;
  /** D^{-1/2} W, [P, k] (columns of zero eigenvalue σ_k = 0 are zero). */
  scaledW: Matrix;
  /** W itself, [P, k]: the sampler's rotation. */
  w: Matrix;
  sigma: Float64Array;
  logDet: number;
}

/** lowrank's H = s·U Λ Uᵀ + D in the form at the top of this file, once per posterior and scale. */
export function lowrankDampedForm(posterior: Posterior, scale: number): LowrankDampedForm {
  return cached(posterior, `lowrank ${scale}`, () => {
    const tau = coveredPrecision(posterior);
    const { values, vectors } = posterior.curvature.lowrank!;
    const [total, rank] = [vectors.rows, vectors.cols];
    const roots = clampedValues(values).map((value) => Math.sqrt(scale * value));
    const inverseRoot = tau.map((value) => 1 / Math.sqrt(value));
    // B = D^{-1/2} U diag(√(sλ)), [P, k], and BᵀB.
    const b = new Float64Array(total * rank);
    for (let i = 0; i < total; i++) for (let k = 0; k < rank; k++) b[i * rank + k] = inverseRoot[i] * vectors.data[i * rank + k] * roots[k];
    const gram = matrix(rank, rank);
    for (let i = 0; i < total; i++)
      for (let a = 0; a < rank; a++) {
        const bia = b[i * rank + a];
        if (bia === 0) continue;
        for (let c = 0; c < rank; c++) gram.data[a * rank + c] += bia * b[i * rank + c];
      }
    const eigen = symmetricEigen(gram, 'The lowrank Gram matrix with a per-parameter prior');
    const sigma = clampedValues(eigen.values);
    const w = matrix(total, rank);
    const scaledW = matrix(total, rank);
    const largest = Math.max(...sigma, 0);
    for (let k = 0; k < rank; k++) {
      if (!(sigma[k] > 1e-12 * largest)) continue;
      const norm = 1 / Math.sqrt(sigma[k]);
      for (let i = 0; i < total; i++) {
        let sum = 0;
        for (let a = 0; a < rank; a++) sum += b[i * rank + a] * eigen.vectors.data[a * rank + k];
        w.data[i * rank + k] = sum * norm;
        scaledW.data[i * rank + k] = sum * norm * inverseRoot[i];
      }
    }
    let logDet = sumLog(tau);
    for (const value of sigma) logDet += Math.log1p(value);
    return { inverseRoot, scaledW, w, sigma, logDet };
  });
}
