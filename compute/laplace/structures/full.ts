/**
 * full: one dense covariance over every parameter, H = N·F + τ·I with F the Fisher (GGN) of all
 * layers' W̄ flattened and concatenated (curvature.ts), from its eigendecomposition
 * F = Q diag(λ) Qᵀ, computed once per fit (symmetricEigen keeps it with the matrix):
 *  - variances Σ_k Q_ik² / (N·λ_k + τ); samples δ = Q (z / √(N·λ + τ)), all layers in one draw;
 *  - functional covariance in the basis Q, v = 1/(N·λ + τ), each layer projecting onto its rows of
 *    Q (functional.ts adds the layers' projections before the square);
 *  - log det Σ_k log(N λ_k + τ), over all layers at once (one τ for all).
 * A per-parameter τ (or one per layer, which is one per parameter here) replaces Q and N·λ + τ by
 * the eigendecomposition V diag(h) Vᵀ of H = N·F + diag(τ) itself (parameter-prior.ts).
 *
 * The eigendecomposition costs about 8 P³ flops and F, Q and its float32 copy 20 P² bytes, so full
 * is refused beyond fullParameterLimit parameters: at 3,000 the decomposition takes about 2 minutes
 * on this project's 2-core machine (measured 16 s at P = 1,600, growing as P³) and the matrices
 * about 180 MB; at 5,000 it would be 8 minutes and 500 MB. Larger networks: lowrank, kfac, diag or last-layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { symmetricEigen, type SymmetricEigen } from '../linalg/index.ts';
import { PosteriorError, TooManyParametersError } from '../errors.ts';
import type { Posterior } from '../posterior.ts';
import { denseDampedEigen, eigenRowVariances, sumLog } from './parameter-prior.ts';
import { allLayers, clamp, clamped, clampedValues, layerShape, parameterOffsets, ratioWeights, scaled, sumLogShifted, toTensor, type PosteriorStructure } from './structure.ts';

/** The most parameters the full structure takes (see the top of this file). */
export const fullParameterLimit = 3000;

export function checkFullSize(parameters: number): void {
  if (parameters > fullParameterLimit) {
    throw new TooManyParametersError(
      `The full structure takes at most ${fullParameterLimit.toLocaleString('en-US')} parameters (its P × P eigendecomposition grows as P³), but this network has ${parameters.toLocaleString('en-US')}; use lowrank, kfac, diag or last-layer.`,
    );
  }
}

/** Eigendecomposition of every parameter's Fisher, computed once per fit. */
export function fullEigen(posterior: Posterior): SymmetricEigen {
  return symmetricEigen(posterior.curvature.full!, 'Fisher of every parameter');
}

/** With a per-parameter τ: the eigendecomposition of N·F + diag(τ) at data scale `scale`; null for one τ. */
function dampedEigen(posterior: Posterior, scale = posterior.dataScale): SymmetricEigen | null {
  if (!posterior.hasParameterTau) return null;
  return denseDampedEigen(posterior, posterior.curvature.full!, scale, 'Precision of every parameter');
}

export const fullStructure: PosteriorStructure = {
  kind: 'full',
  couplesLayers: true,
  parameterPrior: true,
  fitted: (fit) => !!fit.full,
  perturbedLayers: allLayers,

  marginalVariances(posterior, layer) {
    const damped = dampedEigen(posterior);
    if (damped) return eigenRowVariances(damped, parameterOffsets(posterior.network).offsets[layer], posterior.network.parameterCount(layer));
    const n = posterior.dataScale;
    const tau = posterior.tau;
    const eigen = fullEigen(posterior);
    const values = clampedValues(eigen.values);
    const total = values.length;
    const inverse = values.map((value) => 1 / (n * value + tau));
    const start = parameterOffsets(posterior.network).offsets[layer];
    const out = new Float64Array(posterior.network.parameterCount(layer));
    for (let i = 0; i < out.length; i++) {
      const row = (start + i) * total;
      let sum = 0;
      for (let k = 0; k < total; k++) sum += eigen.vectors.data[row + k] ** 2 * inverse[k];
      out[i] = sum;
    }
    return out;
  },

  jointSampler(posterior) {
    const n = posterior.dataScale;
    const tau = posterior.tau;
    const damped = dampedEigen(posterior);
    const eigen = damped ?? fullEigen(posterior);
    const total = eigen.values.length;
    const q = toTensor(eigen.vectors.data, total, total);
    const std = tf.tensor1d(Float32Array.from(clampedValues(eigen.values), (value) => (damped ? 1 / Math.sqrt(value) : 1 / Math.sqrt(n * value + tau))));
    const shapes = posterior.network.layers.map((_, layer) => layerShape(posterior.network, layer));
    return {
      draw: (random) =>
        tf.tidy(() => {
          const delta = tf.matMul(q, tf.reshape(tf.mul(tf.tensor1d(random.normals(total)), std), [-1, 1]));
          const parts = tf.split(tf.reshape(delta, [-1]), shapes.map(({ rows, cols }) => rows * cols));
          return parts.map((part, layer) => tf.reshape(part, [shapes[layer].rows, shapes[layer].cols]) as tf.Tensor2D);
        }),
      dispose: () => tf.dispose([q, std]),
    };
  },

  functionalBases(posterior) {
    const damped = dampedEigen(posterior);
    const eigen = damped ?? fullEigen(posterior);
    const total = eigen.values.length;
    const { offsets } = parameterOffsets(posterior.network);
    const weights = damped
      ? () => {
          throw new PosteriorError('Variances at several N/τ need one τ for all parameters; this posterior has a per-parameter τ.');
        }
      : ratioWeights(eigen.values.map(clamp));
    const variances = damped ? { variances: damped.values.map((value) => 1 / value) } : {};
    return posterior.network.layers.map((_, layer) => {
      const { rows, cols } = layerShape(posterior.network, layer);
      // Rows of Q for this layer, [rows·cols, P], read as [rows, cols·P]: entry [i, j·P + k] = Q[(i, j), k].
      const block = eigen.vectors.data.subarray(offsets[layer] * total, (offsets[layer] + rows * cols) * total);
      return { layer, kind: 'full', qa: null, qg: null, q: toTensor(block, rows, cols * total), jointGroup: 'full', scaledVariances: weights, ...variances };
    });
  },

  logDet(posterior, layer, n) {
    if (layer !== 0) return () => 0;
    const damped = dampedEigen(posterior, n);
    if (damped) {
      const total = sumLog(damped.values);
      return () => total;
    }
    const values = scaled(clamped(fullEigen(posterior).values), n);
    return (tau) => sumLogShifted(values, tau);
  },

  curvatureSpectrum: (posterior, layer) => ({ values: layer === 0 ? clamped(fullEigen(posterior).values) : new Float64Array(0), natural: false }),
};
