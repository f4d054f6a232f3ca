/**
 * Curvature of the log likelihood at the trained weights, from per-example
 * gradients with respect to each layer's pre-activations: one draw per input
 * takes one tf.grads pass over the batch; the exact Fisher's C vectors (or M
 * draws) go back together in one backward pass (Network.tapedForward); a last
 * layer that gives the logits needs no backward pass at all (its gradient for
 * vector v is v, so exact: Σ φ̄φ̄ᵀ ⊗ (diag p − ppᵀ)).
 *
 * Fisher types, as vectors v pushed back from the logits (v = ∂ loss/∂ logits
 * for a label y is p − e_y):
 *  - empirical: y the data's label;
 *  - mc: y drawn from the model's predictive, `mcSamples` draws weighted 1/M;
 *  - exact: all classes, v_c = √p_c (p − e_c), so Σ_c v_c v_cᵀ = diag(p) − ppᵀ.
 *
 * Structures (W̄ layout of network.ts; ā is the layer input with a 1 appended,
 * g the pre-activation gradient):
 *  - diag: mean over examples of the squared per-example gradient of W̄;
 *  - kfac: A = E[ā āᵀ], G = E[g gᵀ]; for a convolution A averages over
 *    examples and positions, G sums over positions (KFC's scaling), so that
 *    A ⊗ G is on the scale of the exact Fisher block;
 *  - efb: eigenbases of A and G, and the mean squared per-example gradient
 *    projected onto them (George et al. 2018);
 *  - last-layer: the full Fisher of the last layer's W̄;
 *  - full: the dense Fisher of every parameter, the layers' W̄ flattened and concatenated (at most
 *    fullParameterLimit of them): per example the concatenated gradient, summed as its outer product;
 *  - lowrank: the top-k eigenpairs of that matrix without forming it (lowrank.ts), by subspace
 *    iteration on products F·V, one sweep per product;
 *  - inf: per layer the EFB eigenpairs with the L largest eigenvalues and the diagonal correction
 *    to the exact diagonal (inf.ts), from the diag and efb sweeps;
 *  - subnetwork: that matrix restricted to a chosen set of k parameters (subnetwork.ts), the
 *    per-example gradients gathered at them; chosen by the largest-variance heuristic, it takes
 *    one more sweep after the one that gives the diagonal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matrix, symmetricEigen, type Matrix, type SymmetricEigen } from './linalg/index.ts';
import { Random } from './random.ts';
import type { LaplaceData } from './data.ts';
import { likelihoodFor, softmaxOutputHessian, type Likelihood, type LikelihoodKind } from './likelihoods/index.ts';
import { isElementwise, UnsupportedModelError, unfoldPatches, type LayerMatrix, type Network, type ParameterLayer } from './network.ts';
import { checkFullSize } from './structures/full.ts';
import { infFactors, infRankOf, type InfFactors } from './structures/inf.ts';
import { blockColumns, blockTensor, initialBlock, lowrankSettings, topEigenpairs } from './structures/lowrank.ts';
import { checkedSubnetworkIndices, checkSubnetworkCount, smallestDiagonalIndices, subnetworkDefaults, type SubnetworkFit } from './structures/subnetwork.ts';
import { yieldToEventLoop } from './yield.ts';

export const fisherTypes = ['mc', 'exact', 'empirical'] as const;
export type FisherType = (typeof fisherTypes)[number];

export const curvatureKinds = ['diag', 'kfac', 'efb', 'last-layer', 'full', 'lowrank', 'inf', 'subnetwork'] as const;
export type CurvatureKind = (typeof curvatureKinds)[number];

export interface CurvatureOptions {
  kinds: CurvatureKind[];
  fisher?: FisherType;
  /** Label draws per input for the mc Fisher. */
  mcSamples?: number;
  batchSize?: number;
  seed?: number;
  /** The output distribution (likelihoods/): 'classification' (default; a softmax, or one sigmoid unit) or 'regression' (a Gaussian). */
  likelihood?: LikelihoodKind;
  /** lowrank only: the eigenpairs kept, k (default min(P, 20)). */
  rank?: number;
  /** lowrank only: most subspace iterations, each a sweep over the data (default 30). */
  lowrankIterations?: number;
  /** lowrank only: the top-k Ritz residuals at which the iteration stops, relative to the largest eigenvalue (default 1e-4). */
  lowrankTolerance?: number;
  /** inf only: the EFB eigenpairs kept per layer, L (default min(P_l, 20)). */
  infRank?: number;
  /** subnetwork only: the parameters of the subnetwork, as flat indices into the layers' W̄ flattened row-major and concatenated in layer order. */
  subnetworkIndices?: ArrayLike<number>;
  /** subnetwork only, without indices: how many parameters the largest-variance heuristic chooses (default min(P, 500), at most fullParameterLimit). */
  subnetworkCount?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface KroneckerFactors {
  a: Matrix;
  g: Matrix;
}

export interface EigenFactors {
  a: SymmetricEigen;
  g: SymmetricEigen;
  /** Mean squared projected per-example gradient, [rows × cols] row-major. */
  diagonal: Float64Array;
}

export interface CurvatureFit {
  fisher: FisherType;
  mcSamples: number;
  count: number;
  /** Absent for classification; 'regression' for a Gaussian likelihood, whose curvature is fitted at σ = 1. */
  likelihood?: 'regression';
  /**
   * Mean loss of the fitting data at the weights fitted (for the marginal likelihood's data term): the
   * cross-entropy for classification, ½‖y − f‖² for regression.
   */
  meanLoss?: number;
  diag?: Float64Array[];
  kfac?: KroneckerFactors[];
  efb?: EigenFactors[];
  /** Fisher of the last layer's flattened W̄, [d × d] with d = rows·cols. */
  lastLayer?: Matrix;
  /** Fisher of every parameter, [P × P]: the layers' flattened W̄ concatenated in layer order. */
  full?: Matrix;
  /** The top-k eigenpairs of `full`'s matrix (never formed): values descending, vectors [P × k] as columns. */
  lowrank?: SymmetricEigen;
  /** Per layer, the information form U diag(Λ) Uᵀ + D (inf.ts). */
  inf?: InfFactors[];
  /** The chosen parameters and their dense Fisher (subnetwork.ts). */
  subnetwork?: SubnetworkFit;
}

/**
 * A layer's input with a column of ones for the bias: dense [B, in+1], conv [B, T, kkc+1] (also the
 * functional covariance's). Elementwise layers give each W̄ column its own input, [B, T, rows, cols]:
 * a depthwise convolution's patch of that column's input channel, a BatchNormalization's normalised input.
 */
export function augmentedInput(input: tf.Tensor, spec: ParameterLayer): tf.Tensor {
  if (isElementwise(spec)) return elementwiseInput(input, spec);
  return tf.tidy(() => {
    const features = spec.kind === 'dense' ? input : unfoldPatches(input as tf.Tensor4D, spec.conv!);
    if (!spec.hasBias) return features;
    const onesShape = [...features.shape.slice(0, -1), 1];
    return tf.concat([features, tf.ones(onesShape)], features.rank - 1);
  });
}

function elementwiseInput(input: tf.Tensor, spec: ParameterLayer): tf.Tensor {
  return tf.tidy(() => {
    const batch = input.shape[0];
    let features: tf.Tensor;
    if (spec.kind === 'batchNorm') features = tf.reshape(input, [batch, -1, 1, spec.fanOut]);
    else {
      // Patches in (kh, kw, cin) order, each input channel repeated for its `multiplier` output channels.
      const [, , channels, multiplier] = spec.kernelShape as [number, number, number, number];
      const patches = tf.reshape(unfoldPatches(input as tf.Tensor4D, spec.conv!), [batch, -1, spec.fanIn, channels, 1]);
      features = tf.reshape(multiplier === 1 ? patches : tf.tile(patches, [1, 1, 1, 1, multiplier]), [batch, -1, spec.fanIn, spec.fanOut]);
    }
    if (!spec.hasBias) return features;
    return tf.concat([features, tf.ones([...features.shape.slice(0, 2), 1, spec.fanOut])], 2);
  });
}

/** Pre-activation gradient as dense [B, out] or conv [B, T, out]. */
function flatGradient(gradient: tf.Tensor, spec: ParameterLayer): tf.Tensor {
  return spec.kind === 'dense' ? gradient : tf.reshape(gradient, [gradient.shape[0], -1, spec.fanOut]);
}

/** Per-example gradients of W̄: [B, rows, cols]. */
export function perExampleGradients(a: tf.Tensor, g: tf.Tensor, spec: ParameterLayer): tf.Tensor3D {
  return tf.tidy(() => {
    if (spec.kind === 'dense') return tf.mul(tf.expandDims(a, 2), tf.expandDims(g, 1)) as tf.Tensor3D;
    if (isElementwise(spec)) return tf.sum(tf.mul(a, tf.expandDims(g, 2)), 1) as tf.Tensor3D;
    return tf.matMul(tf.transpose(a, [0, 2, 1]) as tf.Tensor3D, g as tf.Tensor3D);
  });
}

// The softmax's vectors and loss live with its likelihood (likelihoods/softmax.ts); re-exported for callers that import them here.
export { backpropVectors, crossEntropySum } from './likelihoods/index.ts';

/** xᵀy for tall 2-D x, y. An explicit transpose: wasm's matMul with transposeA is ~10× slower on tall inputs. */
export function crossProduct(x: tf.Tensor, y: tf.Tensor): tf.Tensor2D {
  return tf.matMul(tf.transpose(x as tf.Tensor2D), y as tf.Tensor2D);
}

/**
 * Each value ÷ divisor, rounded to float32: a fit's sums as their means. A plain loop: Float64Array.from with a
 * map function took ~300 ms for a last-layer Fisher's 722,500 values (V8's generic path), the loop ~15 ms.
 */
export function float32Means(values: ArrayLike<number>, divisor: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let k = 0; k < values.length; k++) out[k] = Math.fround(values[k] / divisor);
  return out;
}

type Accumulator = Map<string, tf.Tensor>;

function accumulate(store: Accumulator, key: string, value: tf.Tensor): void {
  const previous = store.get(key);
  if (previous) {
    store.set(key, tf.add(previous, value));
    previous.dispose();
    value.dispose();
  } else store.set(key, value);
}

interface PassPlan {
  kfac: boolean;
  diag: boolean;
  lastLayer: boolean;
  /** Eigenbases for the EFB diagonal: per layer [Q_A, Q_G] as tensors. */
  efbBases: [tf.Tensor2D, tf.Tensor2D][] | null;
  /** The dense Fisher of every parameter, Σ g gᵀ over per-example gradients g ∈ R^P. */
  full?: boolean;
  /** The product F·V with this [P, m] block (lowrank's subspace iteration): Σ g (gᵀ V). */
  productBlock?: tf.Tensor2D | null;
  /** The dense Fisher of these parameters (int32 flat indices): Σ g_S g_Sᵀ. */
  subnetwork?: tf.Tensor1D | null;
}

/** Per-example gradients of every parameter, [rows of `a`, P]: each layer's W̄ gradient flattened, concatenated in layer order. */
function allParameterRows(network: Network, inputs: tf.Tensor[], gradients: tf.Tensor[], sets: number): tf.Tensor2D {
  return tf.tidy(() => {
    const parts = network.layers.map((spec, layer) => {
      // Stacked sets: the inputs repeated once per set, so row k·B + b pairs example b's input with set k's gradient.
      const a = sets === 1 ? inputs[layer] : tf.concat(Array.from({ length: sets }, () => inputs[layer]), 0);
      const perExample = perExampleGradients(a, flatGradient(gradients[layer], spec), spec);
      return tf.reshape(perExample, [perExample.shape[0], -1]);
    });
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor2D;
  });
}

/** The full structure's sums of one batch: Σ g gᵀ, or Σ g (gᵀ V) for a product block. */
function accumulateAllParameters(store: Accumulator, network: Network, plan: PassPlan, inputs: tf.Tensor[], gradients: tf.Tensor[], sets: number): void {
  if (!plan.full && !plan.productBlock && !plan.subnetwork) return;
  const rows = allParameterRows(network, inputs, gradients, sets);
  if (plan.full) accumulate(store, 'F', crossProduct(rows, rows));
  if (plan.subnetwork) {
    accumulate(
      store,
      'S',
      tf.tidy(() => {
        const picked = tf.gather(rows, plan.subnetwork!, 1);
        return crossProduct(picked, picked);
      }),
    );
  }
  if (plan.productBlock) accumulate(store, 'FV', tf.tidy(() => crossProduct(rows, tf.matMul(rows, plan.productBlock!))));
  rows.dispose();
}

/** Per-layer sums of one batch whose gradients come one set per label draw, each [B, …]: the original accumulation, kept float for float. */
function accumulatePerSet(store: Accumulator, network: Network, plan: PassPlan, inputs: tf.Tensor[], gradientSets: tf.Tensor[][], batch: number): void {
  const lastIndex = network.layers.length - 1;
  for (let layer = 0; layer < network.layers.length; layer++) {
    const spec = network.layers[layer];
    if (plan.kfac) accumulate(store, `A${layer}`, inputFactor(inputs[layer], spec));
  }
  for (const gradients of gradientSets) {
    accumulateAllParameters(store, network, plan, inputs, gradients, 1);
    for (let layer = 0; layer < network.layers.length; layer++) {
      const spec = network.layers[layer];
      const a = inputs[layer];
      const g = flatGradient(gradients[layer], spec);
      if (plan.kfac) {
        accumulate(
          store,
          `G${layer}`,
          tf.tidy(() => {
            const rows = tf.reshape(g, [-1, spec.fanOut]);
            return crossProduct(rows, rows);
          }),
        );
      }
      if (plan.diag) {
        accumulate(
          store,
          `D${layer}`,
          tf.tidy(() => {
            if (spec.kind === 'dense') return crossProduct(tf.square(a), tf.square(g));
            return tf.sum(tf.square(perExampleGradients(a, g, spec)), 0);
          }),
        );
      }
      if (plan.efbBases) {
        const [qa, qg] = plan.efbBases[layer];
        accumulate(
          store,
          `E${layer}`,
          tf.tidy(() => {
            if (spec.kind === 'dense') return crossProduct(tf.square(tf.matMul(a, qa)), tf.square(tf.matMul(g, qg)));
            const perExample = perExampleGradients(a, g, spec);
            const [b, rows, cols] = perExample.shape;
            const projectedRows = tf.reshape(tf.matMul(tf.reshape(tf.transpose(perExample, [0, 2, 1]), [b * cols, rows]), qa), [b, cols, rows]);
            const projected = tf.matMul(tf.reshape(tf.transpose(projectedRows, [0, 2, 1]), [b * rows, cols]), qg);
            return tf.reshape(tf.sum(tf.square(tf.reshape(projected, [b, rows * cols])), 0), [rows, cols]);
          }),
        );
      }
      if (plan.lastLayer && layer === lastIndex) {
        accumulate(
          store,
          'L',
          tf.tidy(() => {
            const perExample = tf.reshape(perExampleGradients(a, g, spec), [batch, -1]);
            return crossProduct(perExample, perExample);
          }),
        );
      }
      if (g !== gradients[layer]) g.dispose();
    }
    tf.dispose(gradients);
  }
}

/** KFAC's A of one batch: E[ā āᵀ], for a convolution averaged over positions too. */
function inputFactor(input: tf.Tensor, spec: ParameterLayer): tf.Tensor {
  return tf.tidy(() => {
    const rows = tf.reshape(input, [-1, input.shape[input.rank - 1]]);
    const positions = spec.kind === 'dense' ? 1 : input.shape[1]!;
    return tf.div(crossProduct(rows, rows), positions);
  });
}

/**
 * Per-example, per-set W̄ gradients of a convolution, [B, rows, K·cols]: example b's input patches
 * [T, rows] times its K sets' gradients side by side [T, K·cols], one batched product for all sets.
 */
function stackedConvGradients(patches: tf.Tensor, gradientRows: tf.Tensor, sets: number, batch: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [, positions, rows] = patches.shape;
    const cols = gradientRows.shape[1]!;
    const byExample = tf.reshape(tf.transpose(tf.reshape(gradientRows, [sets, batch, positions!, cols]), [1, 2, 0, 3]), [batch, positions!, sets * cols]);
    return tf.matMul(tf.transpose(tf.reshape(patches, [batch, positions!, rows!]), [0, 2, 1]) as tf.Tensor3D, byExample as tf.Tensor3D);
  });
}

/** Σ over examples and sets of the squared entries of stackedConvGradients' output, [rows, cols]. */
function summedSquares(stacked: tf.Tensor3D, sets: number): tf.Tensor {
  return tf.tidy(() => {
    const [, rows, width] = stacked.shape;
    return tf.sum(tf.reshape(tf.sum(tf.square(stacked), 0), [rows, sets, width / sets]), 1);
  });
}

/**
 * Per-layer sums of one batch whose gradients stack K sets of it in one tensor, [K·B, …] with row
 * k·B + b for example b and set k (one backward pass carried every set). Sums that separate over
 * examples use the inputs once: a dense layer's diagonal is (ā²)ᵀ Σ_k g_k².
 */
function accumulateStacked(store: Accumulator, network: Network, plan: PassPlan, inputs: tf.Tensor[], gradients: tf.Tensor[], sets: number, batch: number, lastLayerFromGradients: boolean): void {
  const lastIndex = network.layers.length - 1;
  accumulateAllParameters(store, network, plan, inputs, gradients, sets);
  for (let layer = 0; layer < network.layers.length; layer++) {
    const spec = network.layers[layer];
    const a = inputs[layer];
    const cols = spec.fanOut;
    const gradientRows = tf.reshape(gradients[layer], [-1, cols]);
    if (plan.kfac) {
      accumulate(store, `A${layer}`, inputFactor(a, spec));
      accumulate(store, `G${layer}`, crossProduct(gradientRows, gradientRows));
    }
    if (plan.diag) {
      accumulate(
        store,
        `D${layer}`,
        tf.tidy(() => {
          if (spec.kind === 'dense') return crossProduct(tf.square(a), tf.sum(tf.square(tf.reshape(gradientRows, [sets, batch, cols])), 0));
          if (isElementwise(spec)) {
            // Per set and example Σ_t ā_t[r, o] g_t[o], squared and summed over both.
            const perExample = tf.sum(tf.mul(tf.expandDims(a, 0), tf.reshape(gradientRows, [sets, batch, -1, 1, cols])), 2);
            return tf.sum(tf.square(tf.reshape(perExample, [-1, a.shape[2]!, cols])), 0);
          }
          return summedSquares(stackedConvGradients(a, gradientRows, sets, batch), sets);
        }),
      );
    }
    if (plan.efbBases) {
      const [qa, qg] = plan.efbBases[layer];
      accumulate(
        store,
        `E${layer}`,
        tf.tidy(() => {
          // Rotating the factors first: Q_Aᵀ (Σ_t ā_t g_tᵀ) Q_G = Σ_t (Q_Aᵀ ā_t)(Q_Gᵀ g_t)ᵀ.
          const rotatedGradients = tf.matMul(gradientRows as tf.Tensor2D, qg);
          if (spec.kind === 'dense') return crossProduct(tf.square(tf.matMul(a as tf.Tensor2D, qa)), tf.sum(tf.square(tf.reshape(rotatedGradients, [sets, batch, cols])), 0));
          const [, positions, rows] = a.shape;
          const rotatedPatches = tf.reshape(tf.matMul(tf.reshape(a, [-1, rows!]) as tf.Tensor2D, qa), [batch, positions!, rows!]);
          return summedSquares(stackedConvGradients(rotatedPatches, rotatedGradients, sets, batch), sets);
        }),
      );
    }
    if (plan.lastLayer && lastLayerFromGradients && layer === lastIndex) {
      accumulate(
        store,
        'L',
        tf.tidy(() => {
          const rows = a.shape[a.rank - 1]!;
          const perExample =
            spec.kind === 'dense'
              ? tf.mul(tf.reshape(a, [1, batch, rows, 1]), tf.reshape(gradientRows, [sets, batch, 1, cols]))
              : tf.transpose(tf.reshape(stackedConvGradients(a, gradientRows, sets, batch), [batch, rows, sets, cols]), [2, 0, 1, 3]);
          const flat = tf.reshape(perExample, [sets * batch, rows * cols]);
          return crossProduct(flat, flat);
        }),
      );
    }
    gradientRows.dispose();
  }
  tf.dispose(gradients);
}

/**
 * The exact Fisher of a linear Dense output layer, Σ_b φ̄_b φ̄_bᵀ ⊗ Λ_b (φ̄ its input with the bias 1, Λ
 * the output Hessian: diag(p_b) − p_b p_bᵀ for a softmax, given the probabilities), as [rows·rows, C·C]
 * with entry [i·rows + k, j·C + l] = Σ_b φ̄_i φ̄_k Λ_jl: one product of the batch's input outer products
 * with its output Hessians. lastLayerMatrix puts it in W̄'s layout.
 */
export function exactLastLayerKronecker(input: tf.Tensor, mean: tf.Tensor2D, outputHessian: (mean: tf.Tensor2D) => tf.Tensor2D = softmaxOutputHessian): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, rows] = input.shape;
    // The outer products made already transposed, [rows·rows, B] (entry [i·rows + k, b] = φ_bi φ_bk): the same
    // products and the same product as crossProduct(outer, ·), without transposing the batch's largest tensor.
    const columns = tf.transpose(input);
    const outerTransposed = tf.reshape(tf.mul(tf.expandDims(columns, 1), tf.expandDims(columns, 0)), [rows! * rows!, batch]);
    return tf.matMul(outerTransposed as tf.Tensor2D, outputHessian(mean));
  });
}

/** exactLastLayerKronecker's [rows·rows, C·C] sum as the Fisher of vec(W̄), [(i, j), (k, l)] = [i·C + j, k·C + l]. */
export function lastLayerMatrix(kronecker: tf.Tensor, rows: number, classes: number): tf.Tensor {
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(kronecker, [rows, rows, classes, classes]), [0, 2, 1, 3]), [rows * classes, rows * classes]));
}

/** One sweep over the data accumulating the requested sums; returns them keyed by name. */
async function sweep(
  network: Network,
  weights: LayerMatrix[],
  data: LaplaceData,
  plan: PassPlan,
  likelihood: Likelihood,
  options: Required<Pick<CurvatureOptions, 'fisher' | 'mcSamples' | 'batchSize' | 'seed'>> & { onProgress?: (done: number) => void },
): Promise<Map<string, Float64Array>> {
  const random = new Random(options.seed);
  const store: Accumulator = new Map();
  const shapeCache = new Map<number, number[][]>();
  const shapesFor = (batch: number) => {
    if (!shapeCache.has(batch)) shapeCache.set(batch, network.preActivationShapes(batch));
    return shapeCache.get(batch)!;
  };
  const lastIndex = network.layers.length - 1;
  const lastSpec = network.layers[lastIndex];
  // A linear Dense output's gradient for label vector v is v itself, so its curvature needs its input
  // and the vectors only; the backward pass is for the other structures.
  const lastLayerClosedForm = plan.lastLayer && network.logitsAreLastLayerOutput;
  const needsBackward = plan.kfac || plan.diag || plan.efbBases !== null || !!plan.full || !!plan.productBlock || !!plan.subnetwork || (plan.lastLayer && !lastLayerClosedForm);
  // Label vectors per input: the exact Fisher's (C for a softmax), the mc Fisher's M draws; all go back in one pass over the batch stacked that many times.
  const sets = options.fisher === 'exact' ? likelihood.exactVectors : options.fisher === 'mc' ? options.mcSamples : 1;
  for (let start = 0; start < data.count; start += options.batchSize) {
    const end = Math.min(data.count, start + options.batchSize);
    const batch = end - start;
    const x = data.inputs(start, end);
    const labels = likelihood.targets(data.labels, start, end);
    const inputs: tf.Tensor[] = [];
    // Made inside a tidy or grads, so summed into the store only after it.
    let batchLoss: tf.Scalar | null = null;
    if (!needsBackward) {
      // Last layer alone: one forward pass, then its closed form.
      const probabilities = tf.tidy(() => {
        const captured: tf.Tensor[] = [];
        const logits = network.forward(x, weights, { inputs: captured });
        inputs[lastIndex] = tf.keep(augmentedInput(captured[lastIndex], lastSpec));
        batchLoss = tf.keep(likelihood.lossSum(logits, labels));
        return likelihood.mean(logits);
      });
      accumulate(store, 'loss', batchLoss!);
      if (options.fisher === 'exact') accumulate(store, 'L-kronecker', exactLastLayerKronecker(inputs[lastIndex], probabilities, likelihood.outputHessian));
      else {
        // The same draws from the same stream, and the same products, as the backward pass gave: its gradient is the vector.
        for (const vector of likelihood.backpropVectors(probabilities, labels, options.fisher, options.mcSamples, random)) {
          accumulate(
            store,
            'L',
            tf.tidy(() => {
              const perExample = tf.reshape(perExampleGradients(inputs[lastIndex], vector, lastSpec), [batch, -1]);
              return crossProduct(perExample, perExample);
            }),
          );
          vector.dispose();
        }
      }
      probabilities.dispose();
    } else if (sets === 1) {
      // One label per input: draw it from the same forward pass that is differentiated.
      const zeros = shapesFor(batch).map((shape) => tf.zeros(shape));
      const gradients = tf.grads((...offsetArgs: tf.Tensor[]) => {
        const captured: tf.Tensor[] = [];
        const logits = network.forward(x, weights, { offsets: offsetArgs, inputs: captured });
        captured.forEach((input, index) => inputs.push(tf.keep(augmentedInput(input, network.layers[index]))));
        batchLoss = tf.keep(likelihood.lossSum(logits, labels));
        const [vector] = likelihood.backpropVectors(likelihood.mean(logits), labels, options.fisher, 1, random);
        // A copy from its values, so no gradient flows back through p into the vector.
        const constant = tf.tensor2d(vector.dataSync(), vector.shape);
        return tf.sum(tf.mul(logits, constant));
      })(zeros);
      tf.dispose(zeros);
      accumulate(store, 'loss', batchLoss!);
      accumulatePerSet(store, network, plan, inputs, [gradients], batch);
    } else {
      // Every label vector in one forward pass and one backward pass carrying all of them (network.tapedForward).
      let probabilities: tf.Tensor2D | null = null;
      let gradients: tf.Tensor[] = [];
      tf.tidy(() => {
        const captured: tf.Tensor[] = [];
        const { logits, backward } = network.tapedForward(x, weights, { inputs: captured });
        captured.forEach((input, index) => inputs.push(tf.keep(augmentedInput(input, network.layers[index]))));
        batchLoss = tf.keep(likelihood.lossSum(logits, labels));
        probabilities = tf.keep(likelihood.mean(logits));
        gradients = backward(tf.concat(likelihood.backpropVectors(probabilities, labels, options.fisher, options.mcSamples, random), 0), sets).map((gradient) => tf.keep(gradient));
      });
      accumulate(store, 'loss', batchLoss!);
      const exactClosedForm = lastLayerClosedForm && options.fisher === 'exact';
      if (exactClosedForm) accumulate(store, 'L-kronecker', exactLastLayerKronecker(inputs[lastIndex], probabilities!, likelihood.outputHessian));
      accumulateStacked(store, network, plan, inputs, gradients, sets, batch, !exactClosedForm);
      tf.dispose(probabilities!);
    }
    tf.dispose([x, ...inputs.filter((input) => input !== undefined)]);
    options.onProgress?.(end);
    // Yield so worker messages (progress) get out between batches.
    await yieldToEventLoop();
  }
  const kronecker = store.get('L-kronecker');
  if (kronecker) {
    store.set('L', lastLayerMatrix(kronecker, lastSpec.fanIn + (lastSpec.hasBias ? 1 : 0), lastSpec.fanOut));
    store.delete('L-kronecker');
    kronecker.dispose();
  }
  const out = new Map<string, Float64Array>();
  for (const [key, tensor] of store) {
    // Rounded to float32, the precision they were summed in and are saved in, so a saved fit equals the fitted one.
    out.set(key, float32Means(await tensor.data(), data.count));
    tensor.dispose();
  }
  return out;
}

function float32Eigen(eigen: SymmetricEigen): SymmetricEigen {
  return { values: eigen.values.map(Math.fround), vectors: { ...eigen.vectors, data: eigen.vectors.data.map(Math.fround) } };
}

/** Fit the requested curvature structures at `weights` (the MAP) over `data`. */
export async function fitCurvature(network: Network, weights: LayerMatrix[], data: LaplaceData, options: CurvatureOptions): Promise<CurvatureFit> {
  const settings = {
    fisher: options.fisher ?? 'mc',
    mcSamples: options.mcSamples ?? 1,
    batchSize: options.batchSize ?? 128,
    seed: options.seed ?? 0,
  };
  if (!fisherTypes.includes(settings.fisher)) throw new Error(`Unknown Fisher type "${settings.fisher}"; choose one of ${fisherTypes.join(', ')}.`);
  if (!Number.isInteger(settings.mcSamples) || settings.mcSamples < 1) throw new Error(`mcSamples must be a positive integer, got ${settings.mcSamples}.`);
  for (const kind of options.kinds) {
    if (!curvatureKinds.includes(kind)) throw new Error(`Unknown curvature "${kind}"; choose one of ${curvatureKinds.join(', ')}.`);
  }
  const likelihood = likelihoodFor(network.output, options.likelihood);
  const kinds = new Set(options.kinds);
  const needsKfac = kinds.has('kfac') || kinds.has('efb') || kinds.has('inf');
  // inf is built from the efb eigenbasis and the exact diagonal.
  const needsEfb = kinds.has('efb') || kinds.has('inf');
  const needsDiag = kinds.has('diag') || kinds.has('inf');
  // Depthwise convolutions and BatchNormalization have no ā ⊗ g form: diag (or last-layer on a Dense output) only.
  const elementwise = network.layers.find(isElementwise);
  if (elementwise && needsKfac) {
    throw new UnsupportedModelError(`Layer ${elementwise.name} (${elementwise.kind === 'batchNorm' ? 'BatchNormalization' : 'a depthwise convolution'}) has no Kronecker-factored form, so ${kinds.has('kfac') ? 'kfac' : kinds.has('efb') ? 'efb' : 'inf'} cannot cover it; use diag, or last-layer.`);
  }
  if (kinds.has('last-layer') && isElementwise(network.layers[network.layers.length - 1])) throw new UnsupportedModelError(`The last parameter layer ${network.layers[network.layers.length - 1].name} is not a Dense or Conv2D layer; last-layer Laplace needs one.`);
  const parameters = network.totalParameters;
  if (kinds.has('full')) checkFullSize(parameters);
  const lowrank = kinds.has('lowrank') ? lowrankSettings(parameters, options) : null;
  const infRank = kinds.has('inf') ? infRankOf(options.infRank) : 0;
  // subnetwork: the given indices ride on the first sweep; the heuristic's need the diagonal first, then a sweep of their own.
  const givenSubnetwork = kinds.has('subnetwork') && options.subnetworkIndices !== undefined ? checkedSubnetworkIndices(options.subnetworkIndices, parameters) : null;
  const subnetworkCount = kinds.has('subnetwork') && !givenSubnetwork ? (options.subnetworkCount ?? Math.min(parameters, subnetworkDefaults.count)) : 0;
  if (subnetworkCount) checkSubnetworkCount(subnetworkCount, parameters);
  const sweeps = (needsEfb ? 2 : 1) + (lowrank ? lowrank.iterations - 1 : 0) + (subnetworkCount ? 1 : 0);
  const total = data.count * sweeps;
  // lowrank's first product F·V₀ rides on the first sweep.
  const startBlock = lowrank ? initialBlock(parameters, lowrank.block, settings.seed) : null;
  const startTensor = startBlock ? blockTensor(startBlock) : null;
  const givenTensor = givenSubnetwork ? tf.tensor1d(givenSubnetwork, 'int32') : null;
  let first: Map<string, Float64Array>;
  try {
    first = await sweep(
      network,
      weights,
      data,
      { kfac: needsKfac, diag: needsDiag || subnetworkCount > 0, lastLayer: kinds.has('last-layer'), efbBases: null, full: kinds.has('full'), productBlock: startTensor, subnetwork: givenTensor },
      likelihood,
      { ...settings, onProgress: (done) => options.onProgress?.(done, total) },
    );
  } finally {
    startTensor?.dispose();
    givenTensor?.dispose();
  }
  const fit: CurvatureFit = { fisher: settings.fisher, mcSamples: settings.fisher === 'mc' ? settings.mcSamples : 1, count: data.count, ...(likelihood.kind === 'regression' ? { likelihood: 'regression' as const } : {}), meanLoss: first.get('loss')![0] };
  const shapeOf = (layer: number) => {
    const spec = network.layers[layer];
    return { rows: spec.fanIn + (spec.hasBias ? 1 : 0), cols: spec.fanOut };
  };
  const layers = network.layers.map((_, index) => index);
  if (kinds.has('diag')) fit.diag = layers.map((layer) => first.get(`D${layer}`)!);
  if (givenSubnetwork) fit.subnetwork = { indices: givenSubnetwork, fisher: matrix(givenSubnetwork.length, givenSubnetwork.length, first.get('S')!) };
  // Sweeps done so far, for progress: the first, then lowrank's, the subnetwork's and efb's as they come.
  let sweepsDone = 1;
  if (subnetworkCount) {
    const indices = smallestDiagonalIndices(layers.map((layer) => first.get(`D${layer}`)!), subnetworkCount);
    const tensor = tf.tensor1d(indices, 'int32');
    try {
      const offset = data.count * sweepsDone++;
      const plan = { kfac: false, diag: false, lastLayer: false, efbBases: null, subnetwork: tensor };
      const swept = await sweep(network, weights, data, plan, likelihood, { ...settings, onProgress: (done) => options.onProgress?.(offset + done, total) });
      fit.subnetwork = { indices, fisher: matrix(indices.length, indices.length, swept.get('S')!) };
    } finally {
      tensor.dispose();
    }
  }
  const factors = needsKfac
    ? layers.map((layer) => {
        const { rows, cols } = shapeOf(layer);
        return { a: matrix(rows, rows, first.get(`A${layer}`)!), g: matrix(cols, cols, first.get(`G${layer}`)!) };
      })
    : null;
  if (kinds.has('kfac')) fit.kfac = factors!;
  if (kinds.has('last-layer')) {
    const { rows, cols } = shapeOf(layers.length - 1);
    fit.lastLayer = matrix(rows * cols, rows * cols, first.get('L')!);
  }
  if (kinds.has('full')) fit.full = matrix(parameters, parameters, first.get('F')!);
  if (lowrank) {
    const product = async (block: Float64Array[]): Promise<Float64Array[]> => {
      if (block === startBlock) return blockColumns(first.get('FV')!, parameters, block.length);
      const tensor = blockTensor(block);
      try {
        const offset = data.count * sweepsDone++;
        const plan = { kfac: false, diag: false, lastLayer: false, efbBases: null, productBlock: tensor };
        const swept = await sweep(network, weights, data, plan, likelihood, { ...settings, onProgress: (done) => options.onProgress?.(offset + done, total) });
        return blockColumns(swept.get('FV')!, parameters, block.length);
      } finally {
        tensor.dispose();
      }
    };
    // Rounded to float32, as the file keeps it, so a saved fit equals the fitted one.
    fit.lowrank = float32Eigen(await topEigenpairs(product, startBlock!, lowrank.rank, lowrank.iterations, lowrank.tolerance, settings.seed));
  }
  if (needsEfb) {
    const eigen = factors!.map((factor, layer) => ({
      a: float32Eigen(symmetricEigen(factor.a, `KFAC factor A of layer ${network.layers[layer].name}`)),
      g: float32Eigen(symmetricEigen(factor.g, `KFAC factor G of layer ${network.layers[layer].name}`)),
    }));
    const bases = eigen.map(
      (pair) =>
        [
          tf.tensor2d(Float32Array.from(pair.a.vectors.data), [pair.a.vectors.rows, pair.a.vectors.cols]),
          tf.tensor2d(Float32Array.from(pair.g.vectors.data), [pair.g.vectors.rows, pair.g.vectors.cols]),
        ] as [tf.Tensor2D, tf.Tensor2D],
    );
    try {
      const second = await sweep(
        network,
        weights,
        data,
        { kfac: false, diag: false, lastLayer: false, efbBases: bases },
        likelihood,
        { ...settings, onProgress: (done) => options.onProgress?.(data.count * sweepsDone + done, total) },
      );
      const efb = eigen.map((pair, layer) => ({ ...pair, diagonal: second.get(`E${layer}`)! }));
      if (kinds.has('efb')) fit.efb = efb;
      if (kinds.has('inf')) fit.inf = efb.map((factors, layer) => infFactors(factors, first.get(`D${layer}`)!, infRank));
    } finally {
      tf.dispose(bases.flat());
    }
  }
  return fit;
}
