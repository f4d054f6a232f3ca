/**
 * subnetwork: a full (dense) Laplace over a chosen set S of k parameters, every other weight fixed
 * at the MAP (Daxberger, Nalisnick, Allingham, Antorán and Hernández-Lobato 2021, "Bayesian deep
 * learning via subnetwork inference", ICML; laplace-torch's SubnetLaplace). Its precision is
 * H_S = N·F_S + τ·I_k, F_S the Fisher (GGN) of every parameter restricted to S's rows and columns
 * (curvature.ts accumulates it from the per-example gradients at S), from the eigendecomposition
 * F_S = Q diag(λ) Qᵀ, computed once per fit:
 *  - variances Σ_k Q_ik² / (N·λ_k + τ) at S, 0 elsewhere; samples δ_S = Q (z / √(N·λ + τ)) and
 *    δ = 0 exactly off S, so those weights stay at the MAP;
 *  - functional covariance in the basis Q, v = 1/(N·λ + τ): each layer projects its per-class
 *    Jacobians at its entries of S onto its rows of Q, and the layers' projections add before the
 *    square (as full's);
 *  - log det Σ_k log(N λ_k + τ), one τ for all; the evidence's prior terms (‖W*‖², the count)
 *    run over S alone, as laplace-torch's: the fixed weights carry no prior.
 *
 * S is either given (flat indices into the layers' W̄ flattened row-major and concatenated in
 * layer order) or chosen by the largest-variance heuristic (laplace-torch's
 * LargestVarianceDiagLaplaceSubnetMask): the k largest marginal variances of a diag Laplace.
 * Under one scalar τ the diag variance 1/(N·d + τ) falls as the diagonal Fisher d rises, so
 * whatever N and τ, those are the k smallest d (ties to the lower index); largestVarianceSubnetwork
 * picks from any posterior's own variances (per-layer τ, say). k is at most fullParameterLimit,
 * for the same k × k eigendecomposition as full's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { symmetricEigen, type Matrix, type SymmetricEigen } from '../linalg/index.ts';
import { PosteriorError, TooManyParametersError } from '../errors.ts';
import type { Network } from '../network.ts';
import type { Posterior } from '../posterior.ts';
import { fullParameterLimit } from './full.ts';
import { allLayers, clamp, clamped, clampedValues, layerShape, parameterOffsets, ratioWeights, scaled, sumLogShifted, type LayerBasis, type PosteriorStructure } from './structure.ts';

export const subnetworkDefaults = {
  /** Parameters chosen by the heuristic, k (capped at P). */
  count: 500,
};

export interface SubnetworkFit {
  /** S: flat parameter indices, ascending. */
  indices: Int32Array;
  /** F_S, [k × k], rows and columns in the order of `indices`. */
  fisher: Matrix;
}

/** The number of parameters to choose, checked against P and the full structure's limit; one sentence when refused. */
export function checkSubnetworkCount(count: number, parameters: number): void {
  if (!(Number.isSafeInteger(count) && count >= 1)) throw new PosteriorError(`The subnetwork's parameter count must be a whole number of at least 1, got ${String(count)}.`);
  if (count > fullParameterLimit) {
    throw new TooManyParametersError(
      `The subnetwork takes at most ${fullParameterLimit.toLocaleString('en-US')} parameters (its dense k × k covariance is full's, which grows as k³), but ${count.toLocaleString('en-US')} were asked for; choose fewer.`,
    );
  }
  if (count > parameters) throw new PosteriorError(`The subnetwork's parameter count ${count} exceeds the network's ${parameters} parameters; choose at most ${parameters}.`);
}

/** Given indices checked (whole, in range, distinct, not too many) and sorted ascending. */
export function checkedSubnetworkIndices(indices: ArrayLike<number>, parameters: number): Int32Array {
  checkSubnetworkCount(indices.length, parameters);
  const sorted = Int32Array.from(indices, (index) => {
    if (!(Number.isSafeInteger(index) && index >= 0 && index < parameters)) throw new PosteriorError(`Subnetwork indices must be whole numbers from 0 to ${parameters - 1} (the network's parameters), got ${String(index)}.`);
    return index;
  }).sort();
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) throw new PosteriorError(`Subnetwork index ${sorted[i]} is given twice; give each parameter once.`);
  return sorted;
}

/** Indices of the `count` largest of `variances` (ties to the lower index), ascending. */
export function largestVarianceIndices(variances: ArrayLike<number>, count: number): Int32Array {
  checkSubnetworkCount(count, variances.length);
  const order = Array.from({ length: variances.length }, (_, index) => index).sort((x, y) => variances[y] - variances[x] || x - y);
  return Int32Array.from(order.slice(0, count)).sort();
}

/** The heuristic at fit time: the k smallest diagonal Fisher entries, which are the k largest diag variances under any scalar τ. */
export function smallestDiagonalIndices(diagonal: Float64Array[], count: number): Int32Array {
  const flat = Float64Array.from(diagonal.flatMap((layer) => Array.from(layer)), (d) => -d);
  return largestVarianceIndices(flat, count);
}

/**
 * The largest-variance heuristic on any posterior: the `count` parameters with the largest marginal
 * variances (a diag posterior's, as laplace-torch's LargestVarianceDiagLaplaceSubnetMask), as flat
 * indices for fitCurvature's subnetworkIndices. Layers the posterior leaves at the MAP count as variance 0.
 */
export function largestVarianceSubnetwork(posterior: Posterior, count: number): Int32Array {
  const { offsets, total } = parameterOffsets(posterior.network);
  const flat = new Float64Array(total);
  const variances = posterior.marginalVariances();
  posterior.perturbedLayers.forEach((layer, index) => flat.set(variances[index], offsets[layer]));
  return largestVarianceIndices(flat, count);
}

/** Eigendecomposition of F_S, computed once per fit. */
export function subnetworkEigen(posterior: Posterior): SymmetricEigen {
  return symmetricEigen(posterior.curvature.subnetwork!.fisher, 'Fisher of the subnetwork');
}

/** Per layer, the positions in S (into `indices`) of its entries and their offsets within the layer. */
function entriesByLayer(network: Network, indices: Int32Array): { positions: number[]; within: number[] }[] {
  const { offsets } = parameterOffsets(network);
  const out = network.layers.map(() => ({ positions: [] as number[], within: [] as number[] }));
  let layer = 0;
  indices.forEach((index, position) => {
    while (layer + 1 < offsets.length && index >= offsets[layer + 1]) layer++;
    out[layer].positions.push(position);
    out[layer].within.push(index - offsets[layer]);
  });
  return out;
}

export const subnetworkStructure: PosteriorStructure = {
  kind: 'subnetwork',
  couplesLayers: true,
  fitted: (fit) => !!fit.subnetwork,
  perturbedLayers: allLayers,

  marginalVariances(posterior, layer) {
    const eigen = subnetworkEigen(posterior);
    const k = eigen.values.length;
    const inverse = clampedValues(eigen.values).map((value) => 1 / (posterior.dataScale * value + posterior.tau));
    const out = new Float64Array(posterior.network.parameterCount(layer));
    const { positions, within } = entriesByLayer(posterior.network, posterior.curvature.subnetwork!.indices)[layer];
    positions.forEach((position, i) => {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += eigen.vectors.data[position * k + j] ** 2 * inverse[j];
      out[within[i]] = sum;
    });
    return out;
  },

  jointSampler(posterior) {
    const eigen = subnetworkEigen(posterior);
    const k = eigen.values.length;
    const std = clampedValues(eigen.values).map((value) => 1 / Math.sqrt(posterior.dataScale * value + posterior.tau));
    const { indices } = posterior.curvature.subnetwork!;
    const shapes = posterior.network.layers.map((_, layer) => layerShape(posterior.network, layer));
    const byLayer = entriesByLayer(posterior.network, indices);
    return {
      draw: (random) => {
        const z = random.normals(k);
        const scaledZ = Float64Array.from({ length: k }, (_, j) => z[j] * std[j]);
        // δ_S = Q (z ∘ std) in float64; every other entry stays exactly 0.
        const delta = new Float64Array(k);
        for (let i = 0; i < k; i++) {
          let sum = 0;
          for (let j = 0; j < k; j++) sum += eigen.vectors.data[i * k + j] * scaledZ[j];
          delta[i] = sum;
        }
        return shapes.map(({ rows, cols }, layer) => {
          const values = new Float32Array(rows * cols);
          const { positions, within } = byLayer[layer];
          positions.forEach((position, i) => (values[within[i]] = delta[position]));
          return tf.tensor2d(values, [rows, cols]);
        });
      },
      dispose: () => {},
    };
  },

  functionalBases(posterior) {
    const eigen = subnetworkEigen(posterior);
    const k = eigen.values.length;
    const weights = ratioWeights(eigen.values.map(clamp));
    const byLayer = entriesByLayer(posterior.network, posterior.curvature.subnetwork!.indices);
    const bases: LayerBasis[] = [];
    byLayer.forEach(({ positions, within }, layer) => {
      if (positions.length === 0) return;
      // This layer's rows of Q, [k_l, k], on its entries of S.
      const q = new Float32Array(positions.length * k);
      positions.forEach((position, i) => q.set(eigen.vectors.data.subarray(position * k, (position + 1) * k), i * k));
      bases.push({ layer, kind: 'full', qa: null, qg: null, q: tf.tensor2d(q, [positions.length, k]), entries: Int32Array.from(within), jointGroup: 'subnetwork', scaledVariances: weights });
    });
    return bases;
  },

  logDet(posterior, layer, n) {
    if (layer !== 0) return () => 0;
    const values = scaled(clamped(subnetworkEigen(posterior).values), n);
    return (tau) => sumLogShifted(values, tau);
  },

  priorEntries(posterior, layer) {
    return Int32Array.from(entriesByLayer(posterior.network, posterior.curvature.subnetwork!.indices)[layer].within);
  },
};
