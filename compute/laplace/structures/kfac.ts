/**
 * kfac: per layer the Fisher block A ⊗ G, with one of two dampings.
 *  - 'exact', H = N·A⊗G + τ·I: diagonal in the Kronecker eigenbasis Q_A ⊗ Q_G with eigenvalues
 *    N·λ_A,i·λ_G,j + τ (eigenbasis.ts samples it, like efb);
 *  - 'per-factor', H = (√N·A + √τ·I) ⊗ (√N·G + √τ·I) (the original code's, Ritter et al. 2018):
 *    a matrix normal, sampled as δ = L_A Z L_Gᵀ with L Lᵀ the inverse of each damped factor; in
 *    the same eigenbasis its precision eigenvalues are (√N·λ_A,i + √τ)(√N·λ_G,j + √τ), and
 *    log det(X ⊗ Y) = dim(Y)·log det X + dim(X)·log det Y.
 * The eigendecompositions of A and G are computed once per fit (symmetricEigen keeps each with
 * its matrix) and shared by the sampler, the functional covariance, the evidence and efb.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addScaledIdentity, cholesky, inverseSpd, NotPositiveDefiniteError, scale, symmetricEigen, type Matrix, type SymmetricEigen } from '../linalg/index.ts';
import { PosteriorError } from '../errors.ts';
import type { Posterior } from '../posterior.ts';
import { eigenbasisSampler, eigenbasisVariances, eigenScales } from './eigenbasis.ts';
import { allLayers, clamp, clamped, clampedValues, layerShape, ratioWeights, scaled, sumLogShifted, toTensor, type PosteriorStructure } from './structure.ts';

/** Eigendecompositions of layer `layer`'s KFAC factors A and G, computed once per fit. */
export function kfacEigen(posterior: Posterior, layer: number): { a: SymmetricEigen; g: SymmetricEigen } {
  const factors = posterior.curvature.kfac![layer];
  const name = posterior.network.layers[layer].name;
  return { a: symmetricEigen(factors.a, `KFAC factor A of layer ${name}`), g: symmetricEigen(factors.g, `KFAC factor G of layer ${name}`) };
}

/** Q_A, Q_G and 1/√(N·λ_A,i·λ_G,j + τ), for exact damping. */
function exactScales(posterior: Posterior, layer: number) {
  const { a, g } = kfacEigen(posterior, layer);
  const sa = clampedValues(a.values);
  const sg = clampedValues(g.values);
  return eigenScales(posterior, layer, a, g, (i, j) => sa[i] * sg[j]);
}

/** Cholesky factors of the inverted, separately damped Kronecker factors (the original's sampler). */
function perFactorCholesky(posterior: Posterior, layer: number): { la: Matrix; lg: Matrix } {
  const n = posterior.dataScale;
  const tau = posterior.tauOf(layer);
  const name = posterior.network.layers[layer].name;
  const factors = posterior.curvature.kfac![layer];
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

const perFactor = (posterior: Posterior) => posterior.spec.kfacDamping === 'per-factor';

export const kfacStructure: PosteriorStructure = {
  kind: 'kfac',
  fitted: (fit) => !!fit.kfac,
  perturbedLayers: allLayers,

  marginalVariances(posterior, layer) {
    if (!perFactor(posterior)) return eigenbasisVariances(posterior, layer, exactScales(posterior, layer));
    // Covariance (√N·A + √τ·I)⁻¹ ⊗ (√N·G + √τ·I)⁻¹: its diagonal is the outer product of the factors' diagonals.
    const { rows, cols } = layerShape(posterior.network, layer);
    const out = new Float64Array(rows * cols);
    const { la, lg } = perFactorCholesky(posterior, layer);
    const rowVariance = (l: Matrix, i: number) => l.data.slice(i * l.cols, (i + 1) * l.cols).reduce((sum, value) => sum + value * value, 0);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = rowVariance(la, i) * rowVariance(lg, j);
    return out;
  },

  sampler(posterior, layer) {
    if (!perFactor(posterior)) return eigenbasisSampler(posterior, layer, exactScales(posterior, layer));
    const { rows, cols } = layerShape(posterior.network, layer);
    const { la, lg } = perFactorCholesky(posterior, layer);
    const [laT, lgT] = [toTensor(la.data, la.rows, la.cols), toTensor(lg.data, lg.rows, lg.cols)];
    return {
      draw: (random) => tf.tidy(() => tf.matMul(tf.matMul(laT, tf.tensor2d(random.normals(rows * cols), [rows, cols])), lgT, false, true)),
      dispose: () => tf.dispose([laT, lgT]),
    };
  },

  functionalBasis(posterior, layer) {
    const { rows, cols } = layerShape(posterior.network, layer);
    const { a, g } = kfacEigen(posterior, layer);
    const sa = a.values.map(clamp);
    const sg = g.values.map(clamp);
    const bases = { layer, kind: 'separable' as const, qa: toTensor(a.vectors.data, rows, rows), qg: toTensor(g.vectors.data, cols, cols), q: null };
    if (perFactor(posterior)) {
      return {
        ...bases,
        scaledVariances: (logRatio) => {
          const root = Math.exp(logRatio / 2);
          const out = new Float64Array(rows * cols);
          for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = 1 / ((1 + root * sa[i]) * (1 + root * sg[j]));
          return out;
        },
      };
    }
    const products = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) products[i * cols + j] = sa[i] * sg[j];
    return { ...bases, scaledVariances: ratioWeights(products) };
  },

  logDet(posterior, layer, n) {
    const { rows, cols } = layerShape(posterior.network, layer);
    const { a, g } = kfacEigen(posterior, layer);
    if (perFactor(posterior)) {
      const root = Math.sqrt(n);
      const sa = scaled(clamped(a.values), root);
      const sg = scaled(clamped(g.values), root);
      return (tau) => {
        const rootTau = Math.sqrt(tau);
        return cols * sumLogShifted(sa, rootTau) + rows * sumLogShifted(sg, rootTau);
      };
    }
    // N λ_A,i λ_G,j for all (i, j), row-major.
    const sa = clamped(a.values);
    const sg = clamped(g.values);
    const values = new Float64Array(sa.length * sg.length);
    for (let i = 0; i < sa.length; i++) for (let j = 0; j < sg.length; j++) values[i * sg.length + j] = n * sa[i] * sg[j];
    return (tau) => sumLogShifted(values, tau);
  },

  curvatureSpectrum(posterior, layer) {
    if (perFactor(posterior)) throw new PosteriorError(`The per-factor damped KFAC precision is not N·λ + τ in one basis, so its evidence has no differentiable form here; use exact damping.`);
    const { a, g } = kfacEigen(posterior, layer);
    const sa = clamped(a.values);
    const sg = clamped(g.values);
    const values = new Float64Array(sa.length * sg.length);
    for (let i = 0; i < sa.length; i++) for (let j = 0; j < sg.length; j++) values[i * sg.length + j] = sa[i] * sg[j];
    return { values, natural: false };
  },
};
