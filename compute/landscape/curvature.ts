/**
 * The curvature of the summed loss S(W) = Σ_n ℓ_n (cross-entropy, no weight
 * decay) restricted to the span of a few directions D = [d₁ … d_k] through W*:
 * the k × k matrix Dᵀ H D that the second-order (Laplace) model of S on the
 * plane W* + α·d₁ + β·d₂ is made of.
 *
 * Exact Gauss–Newton (generalised Gauss–Newton, GGN): H = Σ_n J_nᵀ Λ_n J_n with
 * J_n the C × P Jacobian of the logits at W* and Λ_n = diag(p_n) − p_n p_nᵀ the
 * Hessian of the cross-entropy in the logits. For softmax outputs it equals the
 * Fisher with labels drawn from the model (the library's 'exact' Fisher), and
 * it is the Hessian of S without the term that the logits' own second
 * derivatives contribute. Only the products J_n d_k are needed, and the
 * library's per-class Jacobian statistics (laplace/functional.ts) give them:
 * for a Dense layer (J d)_c = āᵀ D_l g_c, for a Conv2D layer Σ_t ā_tᵀ D_l g_c,t,
 * with ā the layer input (a 1 appended for the bias) and g_c the gradient of
 * logit c with respect to the layer's pre-activations.
 *
 * KFAC (laplace/curvature.ts): each layer's block of the Fisher of one example
 * is approximated by A ⊗ G in the W̄ layout (row index with A, column index
 * with G), so the layer adds n · Σ_ii'jj' A_ii' G_jj' D_k,ij D_l,i'j' =
 * n · tr(D_kᵀ A D_l G), with n examples and A, G their means.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forEachJacobianBatchOver, glmBatchSize, type JacobianBatch } from '../laplace/functional.ts';
import type { KroneckerFactors } from '../laplace/curvature.ts';
import type { LaplaceData, LayerMatrix, Network } from '../laplace/index.ts';
import { LandscapeError, checkDirection, checkWeights, directionTensors, layerRows, type Direction } from './directions.ts';
import { checkBatchSize, checkData } from './grid.ts';

export interface PlaneCurvatureOptions {
  /** Inputs per batch; default 100 (each batch is differentiated replicated once per class). */
  batchSize?: number;
  /** Called after every batch with (inputs done, inputs in the data). */
  onProgress?: (done: number, total: number) => void;
}

export interface PlaneCurvature {
  /** Dᵀ H D with H the exact Gauss–Newton matrix of S at W*, k × k, in float64. */
  gaussNewton: number[][];
  /** ∇S(W*)·d_k, the slope of S along each direction at W* (not 0: W* minimises the training objective, not S on these inputs). */
  gradient: number[];
  /** S(W*) = Σ_n ℓ_n at W*, in nats. */
  lossSum: number;
  count: number;
}

/** The directional derivatives J_n d of the logits of every input of the batch, [B, C]. */
function jacobianVectorProduct(network: Network, batch: JacobianBatch, direction: LayerMatrix[]): tf.Tensor2D {
  return tf.tidy(() => {
    const terms = network.layers.map((spec, layer) => {
      const a = batch.inputs[layer]!;
      const g = batch.gradients[layer];
      const rows = layerRows(network, layer);
      // āᵀ D_l: what the step does to the layer's pre-activations, dense [B, cols], conv [B, T, cols].
      const moved = spec.kind === 'dense' ? tf.matMul(a as tf.Tensor2D, direction[layer]) : tf.reshape(tf.matMul(tf.reshape(a, [-1, rows]), direction[layer]), [batch.count, -1, spec.fanOut]);
      // A linear last layer has ∂f_c/∂z = e_c: the moved pre-activations are the logits' change.
      if (g === null) return moved;
      return tf.sum(tf.mul(g!, tf.expandDims(moved, 1)), spec.kind === 'dense' ? 2 : [2, 3]);
    });
    return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Tensor2D;
  });
}

/**
 * Dᵀ H D of the exact Gauss–Newton matrix of S over `data` at `weights`, with the slope of S
 * along each direction and S itself from the same logits. The products J_n d are computed on
 * the device in float32; the sums over inputs and classes in float64 on the host.
 */
export async function planeCurvature(network: Network, weights: LayerMatrix[], data: LaplaceData, directions: Direction[], options: PlaneCurvatureOptions = {}): Promise<PlaneCurvature> {
  checkWeights(network, weights);
  checkData(network, data);
  if (directions.length < 1) throw new LandscapeError('The plane curvature needs at least one direction.');
  directions.forEach((direction, k) => checkDirection(network, direction, `direction ${k + 1}`));
  const batchSize = checkBatchSize(options.batchSize ?? glmBatchSize);
  const k = directions.length;
  const classes = network.classes;
  const layers = network.layers.map((_, layer) => layer);
  const gaussNewton = new Float64Array(k * k);
  const gradient = new Float64Array(k);
  let lossSum = 0;
  const directionLayers = directions.map((direction) => directionTensors(network, direction));
  const probabilities = new Float64Array(classes);
  const weighted = new Float64Array(k);
  try {
    await forEachJacobianBatchOver(
      network,
      weights,
      data,
      layers,
      batchSize,
      async (batch, start) => {
        const end = Math.min(data.count, start + batchSize);
        const tangents = tf.tidy(() => tf.stack(directionLayers.map((direction) => jacobianVectorProduct(network, batch, direction))));
        const products = await tangents.data<'float32'>();
        tangents.dispose();
        const logits = await batch.logits.data<'float32'>();
        const size = end - start;
        for (let b = 0; b < size; b++) {
          const offset = b * classes;
          let max = -Infinity;
          for (let c = 0; c < classes; c++) max = Math.max(max, logits[offset + c]);
          let total = 0;
          for (let c = 0; c < classes; c++) total += (probabilities[c] = Math.exp(logits[offset + c] - max));
          for (let c = 0; c < classes; c++) probabilities[c] /= total;
          const label = data.labels[start + b];
          lossSum += max + Math.log(total) - logits[offset + label];
          // u_k = J_n d_k; uᵀ Λ u' = Σ_c p_c u_c u'_c − (pᵀu)(pᵀu'); the slope is (p − e_y)ᵀ u.
          const at = (direction: number, c: number) => products[(direction * size + b) * classes + c];
          for (let i = 0; i < k; i++) {
            let mean = 0;
            for (let c = 0; c < classes; c++) mean += probabilities[c] * at(i, c);
            weighted[i] = mean;
            gradient[i] += mean - at(i, label);
          }
          for (let i = 0; i < k; i++) {
            for (let j = i; j < k; j++) {
              let second = 0;
              for (let c = 0; c < classes; c++) second += probabilities[c] * at(i, c) * at(j, c);
              gaussNewton[i * k + j] += second - weighted[i] * weighted[j];
            }
          }
        }
      },
      options.onProgress,
    );
  } finally {
    tf.dispose(directionLayers.flat());
  }
  const matrix = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => gaussNewton[Math.min(i, j) * k + Math.max(i, j)]));
  return { gaussNewton: matrix, gradient: Array.from(gradient), lossSum, count: data.count };
}

/**
 * Dᵀ H D of KFAC's approximation H ≈ n · blockdiag(A_l ⊗ G_l) for factors fitted over n inputs
 * (laplace/curvature.ts, means over the inputs), in float64.
 */
export function kfacPlaneCurvature(network: Network, factors: readonly KroneckerFactors[], count: number, directions: Direction[]): number[][] {
  if (factors.length !== network.layers.length) throw new LandscapeError(`Expected one pair of Kronecker factors per parameter layer (${network.layers.length}), got ${factors.length}.`);
  if (!(count > 0)) throw new LandscapeError(`The KFAC factors must come from at least one input, got a count of ${count}.`);
  directions.forEach((direction, k) => checkDirection(network, direction, `direction ${k + 1}`));
  const k = directions.length;
  const out = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  network.layers.forEach((spec, layer) => {
    const rows = layerRows(network, layer);
    const cols = spec.fanOut;
    const { a, g } = factors[layer];
    if (a.rows !== rows || a.cols !== rows || g.rows !== cols || g.cols !== cols) {
      throw new LandscapeError(`The Kronecker factors of layer ${layer} (${spec.name}) are ${a.rows} × ${a.cols} and ${g.rows} × ${g.cols}, expected ${rows} × ${rows} and ${cols} × ${cols}.`);
    }
    // A D_i G for each direction, then its entry-wise product with D_j: tr(D_jᵀ A D_i G).
    const products = directions.map((direction) => {
      const d = direction[layer];
      const ad = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        for (let m = 0; m < rows; m++) {
          const aim = a.data[i * rows + m];
          if (aim === 0) continue;
          for (let j = 0; j < cols; j++) ad[i * cols + j] += aim * d[m * cols + j];
        }
      }
      const adg = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        for (let m = 0; m < cols; m++) {
          const value = ad[i * cols + m];
          if (value === 0) continue;
          for (let j = 0; j < cols; j++) adg[i * cols + j] += value * g.data[m * cols + j];
        }
      }
      return adg;
    });
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const d = directions[j][layer];
        let sum = 0;
        for (let e = 0; e < d.length; e++) sum += products[i][e] * d[e];
        out[i][j] += count * sum;
      }
    }
  });
  // Symmetric in exact arithmetic; average away the rounding.
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) out[i][j] = out[j][i] = (out[i][j] + out[j][i]) / 2;
  return out;
}
