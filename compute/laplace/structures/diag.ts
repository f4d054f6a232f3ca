/**
 * diag: one precision per parameter, H = N·diag(d) + τ·I, d the diagonal of the Fisher.
 *  - variance and sampling: 1/(N·d + τ), δ = z / √(N·d + τ);
 *  - functional covariance: the natural basis, v = 1/(N·d + τ);
 *  - log det: Σ_k log(N d_k + τ).
 */
import * as tf from '@tensorflow/tfjs-core';
import { allLayers, clamp, clamped, layerShape, ratioWeights, scaled, sumLogShifted, type PosteriorStructure } from './structure.ts';

export const diagStructure: PosteriorStructure = {
  kind: 'diag',
  fitted: (fit) => !!fit.diag,
  perturbedLayers: allLayers,

  marginalVariances(posterior, layer) {
    const n = posterior.dataScale;
    const tau = posterior.tauOf(layer);
    const diagonal = posterior.curvature.diag![layer];
    const out = new Float64Array(diagonal.length);
    diagonal.forEach((d, i) => (out[i] = 1 / (n * d + tau)));
    return out;
  },

  sampler(posterior, layer) {
    const { rows, cols } = layerShape(posterior.network, layer);
    const n = posterior.dataScale;
    const tau = posterior.tauOf(layer);
    const std = tf.tensor2d(Float32Array.from(posterior.curvature.diag![layer], (d) => 1 / Math.sqrt(n * d + tau)), [rows, cols]);
    return {
      draw: (random) => tf.tidy(() => tf.mul(tf.tensor2d(random.normals(rows * cols), [rows, cols]), std)),
      dispose: () => std.dispose(),
    };
  },

  functionalBasis(posterior, layer) {
    return { layer, kind: 'separable', qa: null, qg: null, q: null, scaledVariances: ratioWeights(posterior.curvature.diag![layer].map(clamp)) };
  },

  logDet(posterior, layer, n) {
    const values = scaled(clamped(posterior.curvature.diag![layer]), n);
    return (tau) => sumLogShifted(values, tau);
  },
};
