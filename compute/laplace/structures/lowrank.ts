/**
 * lowrank: the top-k eigenpairs U diag(λ) Uᵀ of the Fisher (GGN) of every parameter, the precision
 * H = N·U diag(λ) Uᵀ + τ·I (laplace-torch's LowRankLaplace), so its covariance is
 * Σ = (1/τ)(I − U diag(w) Uᵀ) with w = N·λ/(N·λ + τ):
 *  - variances 1/τ − Σ_k U_ik² w_k/τ; samples δ = (z + U diag(c) Uᵀ z)/√τ with c = √(τ/(N·λ + τ)) − 1,
 *    since (I + U diag(c) Uᵀ)² = I − U diag(w) Uᵀ for orthonormal U;
 *  - functional covariance J Σ Jᵀ = J Jᵀ/τ − J U diag(w/τ) Uᵀ Jᵀ: every layer's natural basis with
 *    τ·v = 1, plus the layers' projections onto their rows of U (added before the square, as full's)
 *    with τ·v_k = 1/(1 + e^s·λ_k) − 1 at s = ln(N/τ);
 *  - log det Σ_k log(N λ_k + τ) + (P − k) log τ, one τ for all layers.
 *
 * The eigenpairs come without forming the P × P matrix: subspace iteration with Rayleigh–Ritz on
 * products F·V for a block V of m = k + 10 orthonormal columns, one sweep over the data per product
 * (curvature.ts; each sweep redraws the same mc labels from the fit's seed, so every product is with
 * the same F), until the top k Ritz pairs' residuals ‖F u − θ u‖ fall below `tolerance`·θ_max or
 * the iterations run out. Memory is P·m per block, so P is not limited as full's is.
 *
 * A per-parameter τ (or one per layer) D: Woodbury's form in parameter-prior.ts, the same three
 * parts with D^{-1/2} W in place of U: variances 1/τ_i − Σ_k (D^{-1/2}W)_ik² σ_k/(1 + σ_k), samples
 * D^{-1/2}(z + W diag(1/√(1 + σ) − 1) Wᵀ z), the natural basis with v = 1/τ_i plus the joint
 * projection onto D^{-1/2}W with v_k = −σ_k/(1 + σ_k), log det Σ log τ_i + Σ log(1 + σ_k).
 */
import * as tf from '@tensorflow/tfjs-core';
import { matrix, symmetricEigen, type SymmetricEigen } from '../linalg/index.ts';
import { Random } from '../random.ts';
import { PosteriorError } from '../errors.ts';
import { lowrankDampedForm } from './parameter-prior.ts';
import type { Posterior } from '../posterior.ts';
import { clamp, clampedValues, layerShape, parameterOffsets, toTensor, type JointSampler, type LayerBasis, type PosteriorStructure } from './structure.ts';

export const lowrankDefaults = {
  /** Eigenpairs kept, k (at most P). */
  rank: 20,
  /** Extra columns of the iterated block, which speed convergence of the top k. */
  oversampling: 10,
  /**
   * Most products F·V, each a sweep over the data. Measured on a 20-50-10 MLP (P = 1,560, 200
   * examples), k = 20: 17 sweeps to a residual of 1e-3, 38 to 1e-5; k = 5: 11 to 1e-5.
   */
  iterations: 30,
  /** Converged when every top-k Ritz residual ‖F u − θ u‖ is below this fraction of the largest θ. */
  tolerance: 1e-4,
};

export interface LowrankSettings {
  rank: number;
  block: number;
  iterations: number;
  tolerance: number;
}

/** k, the block size and the iteration budget for a network of `parameters` parameters; bad options refused in one sentence. */
export function lowrankSettings(parameters: number, options: { rank?: number; lowrankIterations?: number; lowrankTolerance?: number }): LowrankSettings {
  const rank = options.rank ?? Math.min(parameters, lowrankDefaults.rank);
  if (!(Number.isSafeInteger(rank) && rank >= 1 && rank <= parameters)) throw new PosteriorError(`The lowrank rank k must be a whole number from 1 to the ${parameters} parameters, got ${String(rank)}.`);
  const iterations = options.lowrankIterations ?? lowrankDefaults.iterations;
  if (!(Number.isSafeInteger(iterations) && iterations >= 1)) throw new PosteriorError(`lowrankIterations must be a whole number of at least 1, got ${String(iterations)}.`);
  const tolerance = options.lowrankTolerance ?? lowrankDefaults.tolerance;
  if (!(Number.isFinite(tolerance) && tolerance > 0)) throw new PosteriorError(`lowrankTolerance must be a positive number, got ${String(tolerance)}.`);
  return { rank, block: Math.min(parameters, rank + lowrankDefaults.oversampling), iterations, tolerance };
}

const dotColumns = (x: Float64Array, y: Float64Array) => {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * y[i];
  return sum;
};

/**
 * Orthonormal columns spanning `columns` (modified Gram–Schmidt, twice for float64 orthogonality);
 * a column that vanishes against the others (F of lower rank than the block) becomes a fresh random one.
 */
function orthonormalize(columns: Float64Array[], random: Random): Float64Array[] {
  const out: Float64Array[] = [];
  for (const column of columns) {
    let v = Float64Array.from(column);
    const original = Math.sqrt(dotColumns(v, v));
    for (let attempt = 0; attempt < 3; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (const q of out) {
          const projection = dotColumns(q, v);
          for (let i = 0; i < v.length; i++) v[i] -= projection * q[i];
        }
      }
      const norm = Math.sqrt(dotColumns(v, v));
      if (norm > 1e-10 * Math.max(original, 1e-300)) {
        for (let i = 0; i < v.length; i++) v[i] /= norm;
        break;
      }
      v = Float64Array.from(random.normals(v.length));
    }
    out.push(v);
  }
  return out;
}

/** The starting block: m orthonormalised Gaussian columns of length P, from the fit's seed. */
export function initialBlock(parameters: number, block: number, seed: number): Float64Array[] {
  const random = new Random(seed + 0x10f);
  return orthonormalize(
    Array.from({ length: block }, () => Float64Array.from(random.normals(parameters))),
    random,
  );
}

/** A block of columns as a float32 [P, m] tensor. */
export function blockTensor(columns: Float64Array[]): tf.Tensor2D {
  const [parameters, block] = [columns[0].length, columns.length];
  const data = new Float32Array(parameters * block);
  columns.forEach((column, j) => column.forEach((value, i) => (data[i * block + j] = value)));
  return tf.tensor2d(data, [parameters, block]);
}

/** A row-major [P, m] product back as m columns. */
export function blockColumns(data: Float64Array, parameters: number, block: number): Float64Array[] {
  return Array.from({ length: block }, (_, j) => Float64Array.from({ length: parameters }, (_, i) => data[i * block + j]));
}

/**
 * The top `rank` eigenpairs of the symmetric positive semi-definite F given only products F·V,
 * starting from the orthonormal block `start` (see the top of this file). Values ascend, as
 * symmetricEigen's do; the vectors are [P × rank], column k for values[k].
 */
export async function topEigenpairs(product: (block: Float64Array[]) => Promise<Float64Array[]>, start: Float64Array[], rank: number, iterations: number, tolerance: number, seed: number): Promise<SymmetricEigen> {
  const random = new Random(seed + 0x20f);
  const parameters = start[0].length;
  const block = start.length;
  let v = start;
  for (let iteration = 1; ; iteration++) {
    const w = await product(v);
    // Rayleigh–Ritz: T = Vᵀ F V, symmetrised, then Ritz pairs (θ, V s) and F (V s) = W s.
    const t = matrix(block, block);
    for (let a = 0; a < block; a++) for (let b = 0; b <= a; b++) t.data[a * block + b] = t.data[b * block + a] = (dotColumns(v[a], w[b]) + dotColumns(v[b], w[a])) / 2;
    const eigen = symmetricEigen(t, 'The lowrank Rayleigh–Ritz matrix');
    // Descending Ritz order: column j of `combine` is the eigenvector of the j-th largest θ.
    const order = Array.from({ length: block }, (_, j) => block - 1 - j);
    const combine = (columns: Float64Array[], j: number) => {
      const out = new Float64Array(parameters);
      const s = order[j];
      for (let b = 0; b < block; b++) {
        const weight = eigen.vectors.data[b * block + s];
        if (weight !== 0) for (let i = 0; i < parameters; i++) out[i] += weight * columns[b][i];
      }
      return out;
    };
    const ritzVectors = Array.from({ length: block }, (_, j) => combine(v, j));
    const images = Array.from({ length: block }, (_, j) => combine(w, j));
    const largest = Math.max(eigen.values[block - 1], 1e-300);
    let residual = 0;
    for (let j = 0; j < rank; j++) {
      const theta = eigen.values[order[j]];
      let squares = 0;
      for (let i = 0; i < parameters; i++) squares += (images[j][i] - theta * ritzVectors[j][i]) ** 2;
      residual = Math.max(residual, Math.sqrt(squares) / largest);
    }
    if (residual <= tolerance || iteration >= iterations) {
      const values = Float64Array.from({ length: rank }, (_, k) => eigen.values[order[rank - 1 - k]]);
      const vectors = matrix(parameters, rank);
      for (let k = 0; k < rank; k++) {
        const column = ritzVectors[rank - 1 - k];
        for (let i = 0; i < parameters; i++) vectors.data[i * rank + k] = column[i];
      }
      return { values, vectors };
    }
    v = orthonormalize(images, random);
  }
}

interface Weights {
  /** τ·v on the top-k directions less the isotropic 1: 1/(1 + e^s λ) − 1. */
  correction: (logRatio: number) => Float64Array;
}

function weightsOf(values: Float64Array): Weights {
  const lambda = clampedValues(values);
  return {
    correction: (logRatio) => {
      const ratio = Math.exp(logRatio);
      return lambda.map((value) => 1 / (1 + ratio * value) - 1);
    },
  };
}

export const lowrankStructure: PosteriorStructure = {
  kind: 'lowrank',
  couplesLayers: true,
  parameterPrior: true,
  fitted: (fit) => !!fit.lowrank,
  perturbedLayers: (network) => network.layers.map((_, index) => index),

  marginalVariances(posterior, layer) {
    if (posterior.hasParameterTau) {
      const { inverseRoot, scaledW, sigma } = lowrankDampedForm(posterior, posterior.dataScale);
      const rank = sigma.length;
      const start = parameterOffsets(posterior.network).offsets[layer];
      return Float64Array.from({ length: posterior.network.parameterCount(layer) }, (_, i) => {
        let sum = 0;
        for (let k = 0; k < rank; k++) sum += scaledW.data[(start + i) * rank + k] ** 2 * (sigma[k] / (1 + sigma[k]));
        return inverseRoot[start + i] ** 2 - sum;
      });
    }
    const n = posterior.dataScale;
    const tau = posterior.tau;
    const { values, vectors } = posterior.curvature.lowrank!;
    const rank = values.length;
    const w = clampedValues(values).map((value) => (n * value) / (tau * (n * value + tau)));
    const start = parameterOffsets(posterior.network).offsets[layer];
    const out = new Float64Array(posterior.network.parameterCount(layer));
    for (let i = 0; i < out.length; i++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += vectors.data[(start + i) * rank + k] ** 2 * w[k];
      out[i] = 1 / tau - sum;
    }
    return out;
  },

  jointSampler(posterior) {
    if (posterior.hasParameterTau) return dampedSampler(posterior);
    const n = posterior.dataScale;
    const tau = posterior.tau;
    const { values, vectors } = posterior.curvature.lowrank!;
    const total = vectors.rows;
    const u = toTensor(vectors.data, total, vectors.cols);
    const c = tf.tensor2d(Float32Array.from(clampedValues(values), (value) => Math.sqrt(tau / (n * value + tau)) - 1), [vectors.cols, 1]);
    const shapes = posterior.network.layers.map((_, layer) => layerShape(posterior.network, layer));
    return {
      draw: (random) =>
        tf.tidy(() => {
          const z = tf.tensor2d(random.normals(total), [total, 1]);
          const delta = tf.div(tf.add(z, tf.matMul(u, tf.mul(c, tf.matMul(u, z, true, false)))), Math.sqrt(tau));
          const parts = tf.split(tf.reshape(delta, [-1]), shapes.map(({ rows, cols }) => rows * cols));
          return parts.map((part, layer) => tf.reshape(part, [shapes[layer].rows, shapes[layer].cols]) as tf.Tensor2D);
        }),
      dispose: () => tf.dispose([u, c]),
    };
  },

  functionalBases(posterior) {
    if (posterior.hasParameterTau) return dampedBases(posterior);
    const { values, vectors } = posterior.curvature.lowrank!;
    const rank = values.length;
    const { offsets } = parameterOffsets(posterior.network);
    const { correction } = weightsOf(values.map(clamp));
    const isotropic: LayerBasis[] = [];
    const projections: LayerBasis[] = [];
    posterior.network.layers.forEach((_, layer) => {
      const { rows, cols } = layerShape(posterior.network, layer);
      isotropic.push({ layer, kind: 'separable', qa: null, qg: null, q: null, scaledVariances: () => new Float64Array(rows * cols).fill(1) });
      // This layer's rows of U, [rows·cols, k], read as [rows, cols·k].
      const block = vectors.data.subarray(offsets[layer] * rank, (offsets[layer] + rows * cols) * rank);
      projections.push({ layer, kind: 'full', qa: null, qg: null, q: toTensor(block, rows, cols * rank), jointGroup: 'lowrank', scaledVariances: correction });
    });
    return [...isotropic, ...projections];
  },

  logDet(posterior, layer, n) {
    if (layer !== 0) return () => 0;
    if (posterior.hasParameterTau) {
      const { logDet } = lowrankDampedForm(posterior, n);
      return () => logDet;
    }
    const { values, vectors } = posterior.curvature.lowrank!;
    const scaledValues = clampedValues(values).map((value) => n * value);
    const rest = vectors.rows - values.length;
    return (tau) => scaledValues.reduce((sum, value) => sum + Math.log(value + tau), 0) + rest * Math.log(tau);
  },

  curvatureSpectrum(posterior, layer) {
    if (layer !== 0) return { values: new Float64Array(0), natural: false };
    const { values, vectors } = posterior.curvature.lowrank!;
    return { values: clampedValues(values), natural: false, zeros: vectors.rows - values.length };
  },
};

const layerShapes = (posterior: Posterior) => posterior.network.layers.map((_, layer) => layerShape(posterior.network, layer));

/** δ = D^{-1/2}(z + W diag(1/√(1 + σ) − 1) Wᵀ z), all layers in one draw (per-parameter τ). */
function dampedSampler(posterior: Posterior): JointSampler {
  const { inverseRoot, w, sigma } = lowrankDampedForm(posterior, posterior.dataScale);
  const total = w.rows;
  const wT = toTensor(w.data, total, w.cols);
  const c = tf.tensor2d(Float32Array.from(sigma, (value) => 1 / Math.sqrt(1 + value) - 1), [w.cols, 1]);
  const root = tf.tensor2d(Float32Array.from(inverseRoot), [total, 1]);
  const shapes = layerShapes(posterior);
  return {
    draw: (random) =>
      tf.tidy(() => {
        const z = tf.tensor2d(random.normals(total), [total, 1]);
        const delta = tf.mul(root, tf.add(z, tf.matMul(wT, tf.mul(c, tf.matMul(wT, z, true, false)))));
        const parts = tf.split(tf.reshape(delta, [-1]), shapes.map(({ rows, cols }) => rows * cols));
        return parts.map((part, layer) => tf.reshape(part, [shapes[layer].rows, shapes[layer].cols]) as tf.Tensor2D);
      }),
    dispose: () => tf.dispose([wT, c, root]),
  };
}

/** The natural basis with v = 1/τ_i, plus the joint projection onto D^{-1/2}W with v_k = −σ_k/(1 + σ_k) (per-parameter τ). */
function dampedBases(posterior: Posterior): LayerBasis[] {
  const { inverseRoot, scaledW, sigma } = lowrankDampedForm(posterior, posterior.dataScale);
  const rank = sigma.length;
  const { offsets } = parameterOffsets(posterior.network);
  const refuse = () => {
    throw new PosteriorError('Variances at several N/τ need one τ for all parameters; this posterior has a per-parameter τ.');
  };
  const correction = sigma.map((value) => -value / (1 + value));
  const isotropic: LayerBasis[] = [];
  const projections: LayerBasis[] = [];
  layerShapes(posterior).forEach(({ rows, cols }, layer) => {
    const start = offsets[layer];
    const variances = Float64Array.from({ length: rows * cols }, (_, i) => inverseRoot[start + i] ** 2);
    isotropic.push({ layer, kind: 'separable', qa: null, qg: null, q: null, scaledVariances: refuse, variances });
    const block = scaledW.data.subarray(start * rank, (start + rows * cols) * rank);
    projections.push({ layer, kind: 'full', qa: null, qg: null, q: toTensor(block, rows, cols * rank), jointGroup: 'lowrank', scaledVariances: refuse, variances: correction });
  });
  return [...isotropic, ...projections];
}
