/**
 * The Kronecker eigenbasis Q_A ⊗ Q_G shared by kfac (exact damping) and efb: their precision is
 * diagonal there, with eigenvalues N·λ_ij + τ (λ_ij = λ_A,i·λ_G,j for kfac, the refitted Λ_ij for
 * efb), so both sample δ = Q_A (Z ∘ 1/√(N·λ + τ)) Q_Gᵀ and have the same marginal variances.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matmul, transpose, type Matrix, type SymmetricEigen } from '../linalg/index.ts';
import type { Posterior } from '../posterior.ts';
import { layerShape, toTensor, type LayerSampler } from './structure.ts';

/** Q_A, Q_G and the standard deviations 1/√(N·λ + τ) of the coefficients in that basis. */
export function eigenScales(posterior: Posterior, layer: number, a: SymmetricEigen, g: SymmetricEigen, lambda: (i: number, j: number) => number): { qa: Matrix; qg: Matrix; scales: Float64Array } {
  const n = posterior.dataScale;
  const tau = posterior.tauOf(layer);
  const rows = a.values.length;
  const cols = g.values.length;
  const scales = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) scales[i * cols + j] = 1 / Math.sqrt(n * lambda(i, j) + tau);
  return { qa: a.vectors, qg: g.vectors, scales };
}

/** var[i, j] = Σ_kl Q_A[i,k]² Q_G[j,l]² s[k,l]²: two matrix products. */
export function eigenbasisVariances(posterior: Posterior, layer: number, { qa, qg, scales }: { qa: Matrix; qg: Matrix; scales: Float64Array }): Float64Array {
  const { rows, cols } = layerShape(posterior.network, layer);
  const out = new Float64Array(rows * cols);
  const squared = (m: Matrix) => ({ ...m, data: m.data.map((value) => value * value) });
  const variances = matmul(matmul(squared(qa), { rows, cols, data: scales.map((value) => value * value) }), transpose(squared(qg)));
  out.set(variances.data);
  return out;
}

export function eigenbasisSampler(posterior: Posterior, layer: number, { qa, qg, scales }: { qa: Matrix; qg: Matrix; scales: Float64Array }): LayerSampler {
  const { rows, cols } = layerShape(posterior.network, layer);
  const [qaT, qgT] = [toTensor(qa.data, qa.rows, qa.cols), toTensor(qg.data, qg.rows, qg.cols)];
  const std = tf.tensor2d(Float32Array.from(scales), [rows, cols]);
  return {
    draw: (random) => tf.tidy(() => tf.matMul(tf.matMul(qaT, tf.mul(tf.tensor2d(random.normals(rows * cols), [rows, cols]), std)), qgT, false, true)),
    dispose: () => tf.dispose([qaT, qgT, std]),
  };
}
