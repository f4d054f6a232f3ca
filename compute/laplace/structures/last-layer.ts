/**
 * last-layer: a full covariance over the last layer's W̄ only, from the eigendecomposition
 * F = Q diag(λ) Qᵀ of its Fisher (computed once per fit); the other layers stay at W*.
 *  - variances Σ_k Q_ik² / (N·λ_k + τ); samples δ = Q (z / √(N·λ + τ));
 *  - functional covariance in the basis Q, v = 1/(N·λ + τ); log det Σ_k log(N λ_k + τ).
 * With a per-parameter τ the same in the eigenbasis V of H = N·F + diag(τ) itself, h its eigenvalues
 * in place of N·λ + τ (parameter-prior.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { symmetricEigen, type SymmetricEigen } from '../linalg/index.ts';
import { PosteriorError } from '../errors.ts';
import type { Posterior } from '../posterior.ts';
import { denseDampedEigen, eigenRowVariances, sumLog } from './parameter-prior.ts';
import { clamp, clamped, clampedValues, layerShape, ratioWeights, scaled, sumLogShifted, toTensor, type PosteriorStructure } from './structure.ts';

/** With a per-parameter τ: the eigendecomposition of N·F + diag(τ) at data scale `scale`; null for one τ. */
function dampedEigen(posterior: Posterior, scale = posterior.dataScale): SymmetricEigen | null {
  if (!posterior.hasParameterTau) return null;
  return denseDampedEigen(posterior, posterior.curvature.lastLayer!, scale, 'Last-layer precision');
}

/** Eigendecomposition of the last-layer Fisher, computed once per fit. */
export function lastLayerEigen(posterior: Posterior): SymmetricEigen {
  const layers = posterior.network.layers;
  return symmetricEigen(posterior.curvature.lastLayer!, `Last-layer Fisher of layer ${layers[layers.length - 1].name}`);
}

export const lastLayerStructure: PosteriorStructure = {
  kind: 'last-layer',
  fitted: (fit) => !!fit.lastLayer,
  parameterPrior: true,
  perturbedLayers: (network) => [network.layers.length - 1],

  marginalVariances(posterior, layer) {
    const damped = dampedEigen(posterior);
    if (damped) return eigenRowVariances(damped, 0, damped.values.length);
    const n = posterior.dataScale;
    const tau = posterior.tauOf(layer);
    const eigen = lastLayerEigen(posterior);
    const values = clampedValues(eigen.values);
    const d = values.length;
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let sum = 0;
      for (let k = 0; k < d; k++) sum += eigen.vectors.data[i * d + k] ** 2 / (n * values[k] + tau);
      out[i] = sum;
    }
    return out;
  },

  sampler(posterior, layer) {
    const { rows, cols } = layerShape(posterior.network, layer);
    const n = posterior.dataScale;
    const tau = posterior.tauOf(layer);
    const damped = dampedEigen(posterior);
    const eigen = damped ?? lastLayerEigen(posterior);
    const values = clampedValues(eigen.values);
    const q = toTensor(eigen.vectors.data, eigen.vectors.rows, eigen.vectors.cols);
    const std = tf.tensor1d(Float32Array.from(values, (value) => (damped ? 1 / Math.sqrt(value) : 1 / Math.sqrt(n * value + tau))));
    return {
      draw: (random) =>
        tf.tidy(() => {
          const z = tf.mul(tf.tensor1d(random.normals(rows * cols)), std);
          return tf.reshape(tf.matMul(q, tf.reshape(z, [-1, 1])), [rows, cols]) as tf.Tensor2D;
        }),
      dispose: () => tf.dispose([q, std]),
    };
  },

  functionalBasis(posterior, layer) {
    const spec = posterior.network.layers[layer];
    if (spec.kind !== 'dense') throw new PosteriorError(`The last-layer functional covariance needs a Dense last layer, but ${spec.name} is a Conv2D; use diag, kfac or efb.`);
    const { rows, cols } = layerShape(posterior.network, layer);
    const damped = dampedEigen(posterior);
    if (damped) {
      const d = damped.values.length;
      const scaledVariances = () => {
        throw new PosteriorError('Variances at several N/τ need one τ for the layer; this posterior has a per-parameter τ.');
      };
      return { layer, kind: 'full', qa: null, qg: null, q: toTensor(damped.vectors.data, rows, cols * d), scaledVariances, variances: damped.values.map((value) => 1 / value) };
    }
    const eigen = lastLayerEigen(posterior);
    const d = eigen.values.length;
    return { layer, kind: 'full', qa: null, qg: null, q: toTensor(eigen.vectors.data, rows, cols * d), scaledVariances: ratioWeights(eigen.values.map(clamp)) };
  },

  logDet(posterior, _layer, n) {
    const damped = dampedEigen(posterior, n);
    if (damped) {
      const total = sumLog(damped.values);
      return () => total;
    }
    const values = scaled(clamped(lastLayerEigen(posterior).values), n);
    return (tau) => sumLogShifted(values, tau);
  },

  curvatureSpectrum: (posterior) => ({ values: clamped(lastLayerEigen(posterior).values), natural: false }),
};
