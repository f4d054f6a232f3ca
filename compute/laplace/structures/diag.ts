/**
 * diag: one precision per parameter, H = N·diag(d) + τ·I, d the diagonal of the Fisher.
 *  - variance and sampling: 1/(N·d + τ), δ = z / √(N·d + τ);
 *  - functional covariance: the natural basis, v = 1/(N·d + τ);
 *  - log det: Σ_k log(N d_k + τ).
 * A per-parameter τ_k (Posterior.priorPrecisionOf) keeps it diagonal: N·d_k + τ_k in each of them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { allLayers, clamp, clamped, layerShape, ratioWeights, scaled, sumLogShifted, type PosteriorStructure } from './structure.ts';

export const diagStructure: PosteriorStructure = {
  kind: 'diag',
  fitted: (fit) => !!fit.diag,
  parameterPrior: true,
  perturbedLayers: allLayers,

  marginalVariances(posterior, layer) {
    const n = posterior.dataScale;
    const tau = posterior.tauOf(layer);
    const precision = posterior.priorPrecisionOf(layer);
    const diagonal = posterior.curvature.diag![layer];
    const out = new Float64Array(diagonal.length);
    diagonal.forEach((d, i) => (out[i] = 1 / (n * d + (precision ? precision[i] : tau))));
    return out;
  },

  sampler(posterior, layer) {
    const { rows, cols } = layerShape(posterior.network, layer);
    const n = posterior.dataScale;
    const tau = posterior.tauOf(layer);
    const precision = posterior.priorPrecisionOf(layer);
    const std = tf.tensor2d(Float32Array.from(posterior.curvature.diag![layer], (d, i) => 1 / Math.sqrt(n * d + (precision ? precision[i] : tau))), [rows, cols]);
    return {
      draw: (random) => tf.tidy(() => tf.mul(tf.tensor2d(random.normals(rows * cols), [rows, cols]), std)),
      dispose: () => std.dispose(),
    };
  },

  functionalBasis(posterior, layer) {
    const basis = { layer, kind: 'separable' as const, qa: null, qg: null, q: null, scaledVariances: ratioWeights(posterior.curvature.diag![layer].map(clamp)) };
    const precision = posterior.priorPrecisionOf(layer);
    if (!precision) return basis;
    const n = posterior.dataScale;
    return { ...basis, variances: Float64Array.from(posterior.curvature.diag![layer], (d, i) => 1 / (n * clamp(d) + precision[i])) };
  },

  logDet(posterior, layer, n) {
    const values = scaled(clamped(posterior.curvature.diag![layer]), n);
    const precision = posterior.priorPrecisionOf(layer);
    if (precision) return () => values.reduce((sum, value, i) => sum + Math.log(value + precision[i]), 0);
    return (tau) => sumLogShifted(values, tau);
  },

  curvatureSpectrum: (posterior, layer) => ({ values: clamped(posterior.curvature.diag![layer]), natural: true }),
};
