/**
 * efb: KFAC's eigenbases Q_A ⊗ Q_G with the diagonal there refitted to the data (George et al.
 * 2018): H = (Q_A ⊗ Q_G) diag(N·Λ + τ) (Q_A ⊗ Q_G)ᵀ, so variances, samples (eigenbasis.ts), the
 * functional covariance (v_ij = 1/(N·Λ_ij + τ)) and log det (Σ_ij log(N Λ_ij + τ)) all come from Λ.
 */
import type { Posterior } from '../posterior.ts';
import { eigenbasisSampler, eigenbasisVariances, eigenScales } from './eigenbasis.ts';
import { allLayers, clamp, clamped, layerShape, ratioWeights, scaled, sumLogShifted, toTensor, type PosteriorStructure } from './structure.ts';

function scalesOf(posterior: Posterior, layer: number) {
  const factors = posterior.curvature.efb![layer];
  const cols = factors.g.values.length;
  return eigenScales(posterior, layer, factors.a, factors.g, (i, j) => Math.max(factors.diagonal[i * cols + j], 0));
}

export const efbStructure: PosteriorStructure = {
  kind: 'efb',
  fitted: (fit) => !!fit.efb,
  perturbedLayers: allLayers,
  marginalVariances: (posterior, layer) => eigenbasisVariances(posterior, layer, scalesOf(posterior, layer)),
  sampler: (posterior, layer) => eigenbasisSampler(posterior, layer, scalesOf(posterior, layer)),

  functionalBasis(posterior, layer) {
    const { rows, cols } = layerShape(posterior.network, layer);
    const factors = posterior.curvature.efb![layer];
    return {
      layer,
      kind: 'separable',
      qa: toTensor(factors.a.vectors.data, rows, rows),
      qg: toTensor(factors.g.vectors.data, cols, cols),
      q: null,
      scaledVariances: ratioWeights(factors.diagonal.map(clamp)),
    };
  },

  logDet(posterior, layer, n) {
    const values = scaled(clamped(posterior.curvature.efb![layer].diagonal), n);
    return (tau) => sumLogShifted(values, tau);
  },

  curvatureSpectrum: (posterior, layer) => ({ values: clamped(posterior.curvature.efb![layer].diagonal), natural: false }),
};
