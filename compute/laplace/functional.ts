/**
 * The functional covariance Σ_f(x) = J(x) Σ J(x)ᵀ of a block-diagonal Laplace
 * posterior: the C × C covariance of the logits of the network linearised at
 * W* (Immer, Korzepa & Bauer 2021), without ever forming a P × P matrix.
 *
 * Every structure's covariance is diagonal in a basis of its own, so each
 * layer's term is Σ_k v_k j_k j_kᵀ, with j_k ∈ R^C the k-th coordinate of the
 * per-class Jacobians in that basis and v_k the posterior variance there (each
 * structure gives its basis, structures/*.ts; the projection here is shared):
 *  - diag: the natural basis, v = 1/(N·d + τ);
 *  - kfac (exact damping, N·A⊗G + τ·I): the Kronecker eigenbasis Q_A ⊗ Q_G,
 *    v_ij = 1/(N·λ_A,i·λ_G,j + τ);
 *  - kfac (per-factor damping, (√N·A + √τ·I) ⊗ (√N·G + √τ·I)): the same
 *    basis, whose precision eigenvalues are (√N·λ_A,i + √τ)(√N·λ_G,j + √τ);
 *  - efb: the same basis with the refitted diagonal Λ, v_ij = 1/(N·Λ_ij + τ);
 *  - last-layer: the eigenbasis of the last layer's full Fisher, v = 1/(N·λ + τ);
 *  - full: the eigenbasis Q of every parameter's Fisher, one covariance across the layers: each
 *    layer projects onto its rows of Q, and the projections add over layers before the square;
 *  - lowrank: every layer's natural basis with v = 1/τ, plus full's joint projection onto the
 *    top-k eigenvectors U with the (negative) correction v_k = 1/(N·λ_k + τ) − 1/τ;
 *  - inf: per layer the natural basis with v = 1/(N·D + τ), plus a projection onto a low-rank
 *    basis with negative v (Woodbury), built at the posterior's own N and τ (inf.ts);
 *  - subnetwork: full's joint basis on the chosen entries only (`entries`: the Jacobians are
 *    gathered there before the projection, so no layer-sized basis is formed).
 *
 * The per-class Jacobian of a Dense layer is ā g_cᵀ (layer input with the bias
 * 1, pre-activation gradient of logit c), of a Conv2D layer Σ_t ā_t g_c,tᵀ over
 * positions. One forward pass, then one backward pass of the batch repeated per
 * class, gives g_c for every class and layer, and a convolution's J_c is formed once per batch in the natural basis (the
 * per-example product is the costly step); those statistics serve every
 * posterior fitted on the network, each rotating them into its own basis.
 *
 * In every structure τ·v_k depends on N and τ only through s = ln(N/τ)
 * (1/(1 + e^s·λ), or 1/((1 + e^{s/2}·λ_A)(1 + e^{s/2}·λ_G)) per factor), so
 * the variances at many (N, τ) are the variances at a few s, divided by τ:
 * the search evaluates each distinct s once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { augmentedInput } from './curvature.ts';
import type { LaplaceData } from './data.ts';
import { averagePoolGradient } from './backend/gradients.ts';
import { activate, type Activation, type LayerMatrix, type Network } from './network.ts';
import { PosteriorError, type Posterior } from './posterior.ts';
import type { LayerBasis } from './structures/index.ts';
import { yieldToEventLoop } from './yield.ts';

/** Inputs per batch of the GLM pass, which differentiates each batch replicated once per class. */
export const glmBatchSize = 100;

/** A batch's Jacobian statistics: shared by every posterior on the same network and weights. */
export interface JacobianBatch {
  count: number;
  /** Logits at W*, [B, C]. */
  logits: tf.Tensor2D;
  /** Per parameter layer (undefined where not needed): the augmented input, dense [B, rows], conv [B, T, rows]. */
  inputs: (tf.Tensor | undefined)[];
  /**
   * Per parameter layer (undefined where not needed): ∂f_c/∂z for every class,
   * dense [B, C, cols], conv [B, C, T, cols]; null for a linear last layer, whose gradient is e_c.
   */
  gradients: (tf.Tensor | null | undefined)[];
  /**
   * Per convolution layer, its per-class Jacobians in the natural basis, [B, C, rows·cols],
   * made on first use and shared by every structure (the per-example product is the
   * costly step; each structure then rotates it with plain matrix products).
   */
  convJacobians: Map<number, tf.Tensor3D>;
  /**
   * A layer's Jacobians in a rotated basis, keyed by layer and basis, made on first use: kfac
   * and efb of one fit share their Kronecker eigenbasis, so one rotation serves both.
   */
  projections: Map<string, Projection>;
}

type Projection = { inputs: tf.Tensor2D; gradients: tf.Tensor3D } | { jacobian: tf.Tensor3D };

/** One-hot rows of `rowClass` as float32; a single output's rows are all ones (tf.oneHot refuses depth 1, as a one-output regression has). */
function selectorRows(rowClass: Int32Array, classes: number): tf.Tensor2D {
  if (classes === 1) return tf.ones([rowClass.length, 1]) as tf.Tensor2D;
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(rowClass, 'int32'), classes), 'float32') as tf.Tensor2D);
}

/**
 * One backward pass over the batch replicated C times gives every class's pre-activation
 * gradients. The forward pass runs once, on the batch itself: only the backward pass differs
 * per class, so the replicated forward pass of tf.grads (jacobianBatchByGrads) did the same
 * work C times. The backward pass here is tfjs's own gradients op for op (ReLU mul(dy, step(x)),
 * tanh (1 − y²)·dy, sigmoid dy·y(1 − y), MaxPoolGrad, the corrected average-pool gradient,
 * Conv2DBackpropInput, dy Wᵀ) on the forward tensors repeated per class, so the gradients are
 * the same numbers (tested against jacobianBatchByGrads).
 */
export function jacobianBatch(network: Network, weights: LayerMatrix[], x: tf.Tensor, layers: number[]): JacobianBatch {
  const batch = x.shape[0];
  const classes = network.classes;
  const last = network.layers.length - 1;
  const wanted = new Set(layers);
  const needsBackward = layers.some((layer) => layer !== last || network.layers[last].activation !== 'linear');
  // Layers beyond the hand-written backward pass (network.ts, `classic`), or an opaque body: tf.grads.
  if (!needsBackward || !network.classic || network.body) return jacobianBatchByGrads(network, weights, x, layers);
  const inputs: (tf.Tensor | undefined)[] = network.layers.map(() => undefined);
  const gradients: (tf.Tensor | null | undefined)[] = network.layers.map(() => undefined);
  let logits: tf.Tensor2D | null = null;
  const earliest = Math.min(...layers);
  tf.tidy(() => {
    // Forward once, recording what each step's gradient needs.
    const trace: TraceStep[] = [];
    let h = x;
    for (const operation of network.operationList) {
      switch (operation.kind) {
        case 'parameter': {
          const spec = network.layers[operation.layer];
          const matrix = weights[operation.layer];
          if (wanted.has(operation.layer)) inputs[operation.layer] = tf.keep(augmentedInput(h, spec));
          const kernel = tf.slice(matrix, [0, 0], [spec.fanIn, spec.fanOut]);
          const filter = spec.kind === 'conv2d' ? (tf.reshape(kernel, spec.kernelShape as [number, number, number, number]) as tf.Tensor4D) : null;
          let z: tf.Tensor = filter ? tf.conv2d(h as tf.Tensor4D, filter, spec.conv!.strides, spec.conv!.padding) : tf.matMul(h as tf.Tensor2D, kernel);
          if (spec.hasBias) z = tf.add(z, tf.reshape(tf.slice(matrix, [spec.fanIn, 0], [1, spec.fanOut]), [spec.fanOut]));
          const out = activate(z, spec.activation);
          trace.push({ kind: 'parameter', layer: operation.layer, input: h, kernel, filter, activation: spec.activation, z, out });
          h = out;
          break;
        }
        case 'activation': {
          const out = activate(h, operation.activation);
          trace.push({ kind: 'activation', activation: operation.activation, z: h, out });
          h = out;
          break;
        }
        case 'maxPool':
        case 'avgPool': {
          const out = operation.kind === 'maxPool' ? tf.maxPool(h as tf.Tensor4D, operation.poolSize, operation.strides, operation.padding) : tf.avgPool(h as tf.Tensor4D, operation.poolSize, operation.strides, operation.padding);
          trace.push({ kind: operation.kind, poolSize: operation.poolSize, strides: operation.strides, padding: operation.padding, input: h, out });
          h = out;
          break;
        }
        case 'flatten':
        case 'reshape': {
          const out = operation.kind === 'flatten' ? tf.reshape(h, [h.shape[0], -1]) : tf.reshape(h, [h.shape[0], ...operation.shape]);
          trace.push({ kind: 'reshape', input: h, out });
          h = out;
          break;
        }
      }
    }
    logits = tf.keep(h) as tf.Tensor2D;
    // Row c·B + b carries example b, differentiated for logit c: the forward tensors repeated per class.
    const repeated = (t: tf.Tensor) => tf.concat(Array.from({ length: classes }, () => t), 0);
    const rowClass = Int32Array.from({ length: classes * batch }, (_, row) => Math.floor(row / batch));
    // d Σ f·selector / d f = selector, as tf.grads has it (ones times the one-hot rows).
    let dy: tf.Tensor = selectorRows(rowClass, classes);
    for (let index = trace.length - 1; index >= 0; index--) {
      const step = trace[index];
      if (step.kind === 'parameter') {
        const dz = activationGradient(dy, step.activation, step.z, step.out, repeated);
        const spec = network.layers[step.layer];
        if (wanted.has(step.layer)) {
          const shape = spec.kind === 'dense' ? [classes, batch, spec.fanOut] : [classes, batch, -1, spec.fanOut];
          gradients[step.layer] = tf.keep(tf.transpose(tf.reshape(dz, shape), spec.kind === 'dense' ? [1, 0, 2] : [1, 0, 2, 3]));
        }
        if (step.layer === earliest) break;
        const inputShape = [classes * batch, ...step.input.shape.slice(1)] as [number, number, number, number];
        dy = step.filter ? tf.conv2dTranspose(dz as tf.Tensor4D, step.filter, inputShape, spec.conv!.strides, spec.conv!.padding) : tf.matMul(dz as tf.Tensor2D, step.kernel as tf.Tensor2D, false, true);
      } else if (step.kind === 'activation') {
        dy = activationGradient(dy, step.activation, step.z, step.out, repeated);
      } else if (step.kind === 'maxPool') {
        const mask = firstMaximumMask(step.input as tf.Tensor4D, step.out as tf.Tensor4D, step.poolSize, step.strides, step.padding);
        if (mask) {
          // Each window's gradient to its first maximum, as MaxPoolGrad routes it (non-overlapping windows only).
          const [rows, cols, channels] = step.out.shape.slice(1) as [number, number, number];
          const [ph, pw] = step.poolSize;
          const spread = tf.mul(tf.reshape(dy, [classes * batch, rows, 1, cols, 1, channels]), repeated(mask));
          // + 0 turns the −0 of a negative dy times 0 into MaxPoolGrad's +0, so the gradients match it bit for bit.
          dy = tf.add(tf.reshape(spread, [classes * batch, rows * ph, cols * pw, channels]), 0);
        } else {
          const attrs = { filterSize: step.poolSize, strides: step.strides, pad: step.padding, dimRoundingMode: undefined };
          dy = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input: repeated(step.input), output: repeated(step.out) } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
        }
      } else if (step.kind === 'avgPool') {
        dy = averagePoolGradient(dy as tf.Tensor4D, repeated(step.input) as tf.Tensor4D, { filterSize: step.poolSize, strides: step.strides, pad: step.padding } as unknown as tf.AvgPoolAttrs);
      } else {
        dy = tf.reshape(dy, [classes * batch, ...step.input.shape.slice(1)]);
      }
    }
  });
  return { count: batch, logits: logits!, inputs, gradients, convJacobians: new Map(), projections: new Map() };
}

type TraceStep =
  | { kind: 'parameter'; layer: number; input: tf.Tensor; kernel: tf.Tensor; filter: tf.Tensor4D | null; activation: Activation; z: tf.Tensor; out: tf.Tensor }
  | { kind: 'activation'; activation: Activation; z: tf.Tensor; out: tf.Tensor }
  | { kind: 'maxPool' | 'avgPool'; poolSize: [number, number]; strides: [number, number]; padding: 'same' | 'valid'; input: tf.Tensor; out: tf.Tensor }
  | { kind: 'reshape'; input: tf.Tensor; out: tf.Tensor };

/**
 * For max-pooling in non-overlapping windows that tile the input ('valid', stride = window,
 * sides divisible): 1 at each window's first maximum in row-major order, the cell MaxPoolGrad
 * gives the window's gradient to on every backend (ties included, checked in
 * tests/laplace/jacobian-batch.test.ts), 0 elsewhere, as [B, rows, ph, cols, pw, channels].
 * Made once per batch, where MaxPoolGrad ran once per class on repeated tensors and, with
 * LeNet-5's 6 channels, took a quarter of the GLM pass. Null for any other pooling.
 */
function firstMaximumMask(input: tf.Tensor4D, out: tf.Tensor4D, [ph, pw]: [number, number], [sh, sw]: [number, number], padding: 'same' | 'valid'): tf.Tensor | null {
  const [batch, height, width, channels] = input.shape;
  if (padding !== 'valid' || sh !== ph || sw !== pw || height % ph !== 0 || width % pw !== 0) return null;
  const [rows, cols] = [height / ph, width / pw];
  // Window cells last: [B, rows, cols, channels, ph·pw] in row-major order within the window.
  const cells = tf.reshape(tf.transpose(tf.reshape(input, [batch, rows, ph, cols, pw, channels]), [0, 1, 3, 5, 2, 4]), [batch, rows, cols, channels, ph * pw]);
  const isMaximum = tf.cast(tf.equal(cells, tf.expandDims(out, 4)), 'float32');
  // First maximum: a maximum with none before it in the window. The cumulative sum runs on a 2-D view:
  // WebGL's cumsum takes at most rank 4 (the playground runs this in the browser).
  const maximaBefore = tf.reshape(tf.cumsum(tf.reshape(isMaximum, [-1, ph * pw]), 1, true), isMaximum.shape);
  const first = tf.mul(isMaximum, tf.cast(tf.equal(maximaBefore, 0), 'float32'));
  return tf.transpose(tf.reshape(first, [batch, rows, cols, channels, ph, pw]), [0, 1, 4, 2, 5, 3]);
}

/** tfjs's gradient of each activation, op for op, with its saved tensor computed once and repeated per class. */
function activationGradient(dy: tf.Tensor, activation: Activation, z: tf.Tensor, out: tf.Tensor, repeated: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  switch (activation) {
    case 'linear':
      return dy;
    case 'relu':
      return tf.mul(dy, repeated(tf.cast(tf.step(z), 'float32')));
    case 'tanh':
      return tf.mul(repeated(tf.sub(tf.scalar(1), tf.square(out))), dy);
    case 'sigmoid':
      return tf.mul(dy, repeated(tf.mul(out, tf.sub(tf.scalar(1), out))));
    default:
      throw new RangeError(`No hand-written gradient for ${activation}; such networks go through jacobianBatchByGrads.`);
  }
}

/**
 * jacobianBatch the straightforward way, kept as its reference: tf.grads through the forward
 * pass of the batch replicated C times, with zero offsets on the pre-activations to differentiate.
 */
export function jacobianBatchByGrads(network: Network, weights: LayerMatrix[], x: tf.Tensor, layers: number[]): JacobianBatch {
  const batch = x.shape[0];
  const classes = network.classes;
  const last = network.layers.length - 1;
  const wanted = new Set(layers);
  const needsBackward = layers.some((layer) => layer !== last || network.layers[last].activation !== 'linear');
  const inputs: (tf.Tensor | undefined)[] = network.layers.map(() => undefined);
  const gradients: (tf.Tensor | null | undefined)[] = network.layers.map(() => undefined);
  let logits: tf.Tensor2D | null = null;
  // Everything else made here is freed; what the batch holds is kept explicitly.
  tf.tidy(() => {
    const keepInputs = (captured: tf.Tensor[]) =>
      captured.forEach((input, index) => {
        if (wanted.has(index)) inputs[index] = tf.keep(augmentedInput(needsBackward ? tf.slice(input, 0, batch) : input, network.layers[index]));
      });
    if (!needsBackward) {
      const captured: tf.Tensor[] = [];
      logits = tf.keep(network.forward(x, weights, { inputs: captured }));
      keepInputs(captured);
      gradients[last] = null;
      return;
    }
    // Row c·B + b of the replicated batch carries example b, differentiated for logit c.
    const replicated = tf.concat(Array.from({ length: classes }, () => x), 0);
    const rowClass = Int32Array.from({ length: classes * batch }, (_, row) => Math.floor(row / batch));
    const selector = selectorRows(rowClass, classes);
    const zeros = network.preActivationShapes(classes * batch).map((shape) => tf.zeros(shape));
    const perClass = tf.grads((...offsets: tf.Tensor[]) => {
      const captured: tf.Tensor[] = [];
      const out = network.forward(replicated, weights, { offsets, inputs: captured });
      // grads disposes what the function made; keep what we still need.
      keepInputs(captured);
      logits = tf.keep(tf.slice(out, 0, batch)) as tf.Tensor2D;
      return tf.sum(tf.mul(out, selector));
    })(zeros);
    perClass.forEach((gradient, layer) => {
      if (!wanted.has(layer)) return;
      const spec = network.layers[layer];
      const shape = spec.kind === 'dense' ? [classes, batch, spec.fanOut] : [classes, batch, -1, spec.fanOut];
      gradients[layer] = tf.keep(tf.transpose(tf.reshape(gradient, shape), spec.kind === 'dense' ? [1, 0, 2] : [1, 0, 2, 3]));
    });
  });
  return { count: batch, logits: logits!, inputs, gradients, convJacobians: new Map(), projections: new Map() };
}

export function disposeJacobianBatch(batch: JacobianBatch): void {
  const projected = [...batch.projections.values()].flatMap((parts) => ('jacobian' in parts ? [parts.jacobian] : [parts.inputs, parts.gradients]));
  tf.dispose([batch.logits, ...batch.inputs.filter((t): t is tf.Tensor => !!t), ...batch.gradients.filter((t): t is tf.Tensor => !!t), ...batch.convJacobians.values(), ...projected]);
  batch.convJacobians.clear();
  batch.projections.clear();
}

/**
 * How a rotated basis gets a convolution's Jacobians: by rotating the shared natural-basis
 * ones, by rotating the inputs and gradients first, or whichever costs less (the default).
 * The two give the same numbers up to rounding; the choice exists for speed and for tests.
 */
export type ConvolutionRoute = 'auto' | 'rotate-jacobian' | 'rotate-factors';

/** The bases of a posterior's layers, for its functional covariance; dispose when done. */
export class FunctionalCovariance {
  readonly layers: LayerBasis[];
  /** Indices into `layers` whose Jacobians add before the square: one per basis, or a joint covariance's layers together. */
  private readonly groups: number[][];
  private readonly convolutionRoute: ConvolutionRoute;
  /** Per layer, v_k as a [K, 1] tensor: the same for every batch, so made once. */
  private varianceColumns: tf.Tensor2D[] | null = null;
  /** τ·v_k at a list of s values, [K, S] per layer, keyed by the list: every batch of a search asks for the same. */
  private readonly scaledStacks = new Map<string, tf.Tensor2D[]>();

  constructor(
    readonly posterior: Posterior,
    options: { convolutionRoute?: ConvolutionRoute } = {},
  ) {
    this.convolutionRoute = options.convolutionRoute ?? 'auto';
    const implementation = posterior.implementation;
    this.layers = implementation.functionalBases?.(posterior) ?? posterior.perturbedLayers.map((layer) => implementation.functionalBasis!(posterior, layer));
    // Each basis alone, except the layers of one joint covariance, whose projections add before the square.
    const groups = new Map<string, number[]>();
    this.layers.forEach((basis, index) => {
      const key = basis.jointGroup ?? `basis ${index}`;
      groups.set(key, [...(groups.get(key) ?? []), index]);
    });
    this.groups = [...groups.values()];
    for (const basis of this.layers) if (basis.qa && basis.qg) basis.sharedKey = sharedBasisKey(posterior.curvature, basis.layer, basis.qa, basis.qg);
  }

  /** v_k of layer `basis` at the posterior's own N and τ (per-layer τ respected). */
  variances(basis: LayerBasis): Float64Array {
    if (basis.variances) return basis.variances;
    const tau = this.posterior.tauOf(basis.layer);
    return basis.scaledVariances(Math.log(this.posterior.dataScale / tau)).map((value) => value / tau);
  }

  /**
   * The per-class Jacobians of one layer in its basis: separable dense layers
   * as the factors (ã [B, rows], g̃ [B, C, cols]) since J_c = ã g̃_cᵀ is rank one;
   * everything else as explicit J̃ [B, C, K].
   */
  private projected(batch: JacobianBatch, basis: LayerBasis): Projection {
    if (!basis.sharedKey) return this.project(batch, basis);
    const key = `${basis.sharedKey} ${this.convolutionRoute}`;
    let parts = batch.projections.get(key);
    if (!parts) {
      // Made inside a caller's tidy: keep it for the batch, which frees it.
      const made = this.project(batch, basis);
      parts = 'jacobian' in made ? { jacobian: tf.keep(made.jacobian) } : { inputs: tf.keep(made.inputs), gradients: tf.keep(made.gradients) };
      batch.projections.set(key, parts);
    }
    return parts;
  }

  private project(batch: JacobianBatch, basis: LayerBasis): Projection {
    const network = this.posterior.network;
    const spec = network.layers[basis.layer];
    const classes = network.classes;
    const a = batch.inputs[basis.layer]!;
    const g = batch.gradients[basis.layer];
    const size = batch.count;
    if (basis.kind === 'full' && basis.entries) return this.projectEntries(batch, basis);
    if (basis.kind === 'full') {
      const d = basis.q!.shape[1] / spec.fanOut;
      if (spec.kind !== 'dense') {
        // A convolution (or elementwise layer) of a joint covariance: its natural-basis J_c times Q_l [rows·cols, d].
        const natural = convJacobian(batch, basis.layer, spec.fanOut, classes);
        return { jacobian: tf.reshape(tf.matMul(tf.reshape(natural, [size * classes, -1]), tf.reshape(basis.q!, [-1, d])), [size, classes, d]) as tf.Tensor3D };
      }
      const projectedInputs = tf.reshape(tf.matMul(a as tf.Tensor2D, basis.q!), [size, spec.fanOut, d]) as tf.Tensor3D;
      // A linear last layer has ∂f_c/∂z = e_c, so J̃_c is row c of the projection.
      return { jacobian: g ? (tf.matMul(g as tf.Tensor3D, projectedInputs) as tf.Tensor3D) : projectedInputs };
    }
    if (spec.kind === 'dense') {
      const inputs = (basis.qa ? tf.matMul(a as tf.Tensor2D, basis.qa) : a) as tf.Tensor2D;
      const rotated = g && basis.qg ? tf.reshape(tf.matMul(tf.reshape(g, [-1, spec.fanOut]), basis.qg), g.shape) : g;
      // A linear last layer: g_c = e_c, so g̃_c is row c of Q_G.
      const gradients = (rotated ?? tf.tile(tf.expandDims(basis.qg ?? tf.eye(classes), 0), [size, 1, 1])) as tf.Tensor3D;
      return { inputs, gradients };
    }
    // Convolution. J_c = āᵀ g_c (summed over positions) in the natural basis is formed once per batch
    // and shared; a rotated basis then either rotates that J_c (Q_Aᵀ J_c Q_G) or rotates ā and g_c
    // first and forms its own product, whichever costs less (see rotatesJacobian).
    const positions = a.shape[1]!;
    const rows = a.shape[2]!;
    const cols = spec.fanOut;
    if (!basis.qa) return { jacobian: convJacobian(batch, basis.layer, cols, classes) };
    const route = this.convolutionRoute === 'auto' ? (rotatesJacobian(positions, rows, cols, classes) ? 'rotate-jacobian' : 'rotate-factors') : this.convolutionRoute;
    if (route === 'rotate-factors') {
      const rotatedInputs = tf.reshape(tf.matMul(tf.reshape(a, [-1, rows]), basis.qa), [size, positions, rows]);
      const rotatedGradients = tf.reshape(tf.matMul(tf.reshape(g!, [-1, cols]), basis.qg!), g!.shape);
      return { jacobian: positionSums(rotatedInputs, rotatedGradients, classes, cols) };
    }
    const natural = convJacobian(batch, basis.layer, cols, classes);
    // (J_cᵀ Q_A)ᵀ = Q_Aᵀ J_c, then · Q_G, as two plain products over all (example, class) pairs.
    const left = tf.matMul(tf.reshape(tf.transpose(tf.reshape(natural, [size * classes, rows, cols]), [0, 2, 1]), [-1, rows]), basis.qa);
    const rotated = tf.matMul(tf.reshape(tf.transpose(tf.reshape(left, [size * classes, cols, rows]), [0, 2, 1]), [-1, cols]), basis.qg!);
    return { jacobian: tf.reshape(rotated, [size, classes, rows * cols]) as tf.Tensor3D };
  }

  /**
   * A basis on some of the layer's entries (subnetwork): the per-class Jacobians at those entries,
   * [B, C, k_l] (a Dense layer's entry (r, o) is ā_r g_c,o), times the basis's rows there, [k_l, d].
   */
  private projectEntries(batch: JacobianBatch, basis: LayerBasis): Projection {
    const network = this.posterior.network;
    const spec = network.layers[basis.layer];
    const classes = network.classes;
    const size = batch.count;
    const entries = Array.from(basis.entries!);
    let atEntries: tf.Tensor;
    if (spec.kind === 'dense') {
      const a = tf.gather(batch.inputs[basis.layer]!, entries.map((entry) => Math.floor(entry / spec.fanOut)), 1);
      const columns = entries.map((entry) => entry % spec.fanOut);
      const g = batch.gradients[basis.layer];
      // A linear last layer has ∂f_c/∂z = e_c: the gradient at column o is 1 for class o.
      const selector = new Float32Array(classes * columns.length);
      columns.forEach((column, i) => (selector[column * columns.length + i] = 1));
      const gradients = g ? tf.gather(g, columns, 2) : tf.tensor3d(selector, [1, classes, columns.length]);
      atEntries = tf.mul(tf.expandDims(a, 1), gradients);
    } else {
      atEntries = tf.gather(convJacobian(batch, basis.layer, spec.fanOut, classes), entries, 2);
    }
    const d = basis.q!.shape[1];
    return { jacobian: tf.reshape(tf.matMul(tf.reshape(atEntries, [size * classes, entries.length]), basis.q!), [size, classes, d]) as tf.Tensor3D };
  }

  /** One basis's projection, or a joint covariance's Jacobians summed over its layers (they share one basis and its variances). */
  private groupProjection(batch: JacobianBatch, members: number[]): Projection {
    if (members.length === 1) return this.projected(batch, this.layers[members[0]]);
    return { jacobian: tf.addN(members.map((index) => (this.projected(batch, this.layers[index]) as { jacobian: tf.Tensor3D }).jacobian)) as tf.Tensor3D };
  }

  private variancesAsColumns(): tf.Tensor2D[] {
    // Kept: the first call may come from inside a caller's tidy, which must not free them.
    this.varianceColumns ??= this.layers.map((basis) => tf.keep(tf.tensor2d(Float32Array.from(this.variances(basis)), [this.size(basis), 1])));
    return this.varianceColumns;
  }

  /** Σ_f for every input of the batch, [B, C, C]. */
  covariance(batch: JacobianBatch): tf.Tensor3D {
    const columns = this.variancesAsColumns();
    return tf.tidy(() => {
      const terms = this.groups.map((members) => {
        const index = members[0];
        const parts = this.groupProjection(batch, members);
        if ('jacobian' in parts) {
          const scaled = tf.mul(parts.jacobian, tf.reshape(columns[index], [-1]));
          return tf.matMul(scaled, parts.jacobian, false, true);
        }
        const cols = parts.gradients.shape[2];
        const rows = parts.inputs.shape[1];
        const weights = tf.matMul(tf.square(parts.inputs), tf.reshape(columns[index], [rows, cols]));
        return tf.matMul(tf.mul(parts.gradients, tf.expandDims(weights, 1)), parts.gradients, false, true);
      });
      return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Tensor3D;
    });
  }

  /** diag Σ_f for every input, [B, C]: all the probit link needs. */
  variancesOf(batch: JacobianBatch): tf.Tensor2D {
    const columns = this.variancesAsColumns();
    return tf.tidy(() => tf.reshape(this.diagonalTerms(batch, columns), [batch.count, -1]) as tf.Tensor2D);
  }

  /**
   * τ·diag Σ_f at several s = ln(N/τ) at once, [B, C, S]: divide by τ for the
   * variances at any (N, τ) with ln(N/τ) = s (scalar τ only).
   */
  scaledVariancesAt(batch: JacobianBatch, logRatios: number[]): tf.Tensor3D {
    if (this.posterior.spec.layerTau) throw new PosteriorError('Variances at several N/τ need one τ for all layers; this posterior has per-layer τ.');
    if (this.posterior.hasParameterTau) throw new PosteriorError('Variances at several N/τ need one τ for all parameters; this posterior has a per-parameter τ.');
    if (this.posterior.temperature !== 1) throw new PosteriorError('Variances at several N/τ take s = ln(N/τ) at temperature 1; this posterior has another temperature.');
    const key = logRatios.join(',');
    let stacks = this.scaledStacks.get(key);
    if (!stacks) {
      stacks = this.layers.map((basis) => {
        const size = this.size(basis);
        const stack = new Float32Array(size * logRatios.length);
        logRatios.forEach((logRatio, s) => basis.scaledVariances(logRatio).forEach((value, k) => (stack[k * logRatios.length + s] = value)));
        return tf.keep(tf.tensor2d(stack, [size, logRatios.length]));
      });
      this.scaledStacks.set(key, stacks);
    }
    const kept = stacks;
    return tf.tidy(() => this.diagonalTerms(batch, kept));
  }

  private size(basis: LayerBasis): number {
    const { rows, cols } = this.posterior.shape(basis.layer);
    if (basis.entries) return basis.q!.shape[1];
    return basis.kind === 'full' ? basis.q!.shape[1] / cols : rows * cols;
  }

  /** Σ_k j_kc² w_ks summed over layers, [B, C, S], for weight stacks [K, S] per layer. */
  private diagonalTerms(batch: JacobianBatch, stacks: tf.Tensor2D[]): tf.Tensor3D {
    const classes = this.posterior.network.classes;
    const terms = this.groups.map((members) => {
      const stack = stacks[members[0]];
      const points = stack.shape[1];
      const parts = this.groupProjection(batch, members);
      if ('jacobian' in parts) {
        const squared = tf.reshape(tf.square(parts.jacobian), [batch.count * classes, -1]);
        return tf.reshape(tf.matMul(squared, stack), [batch.count, classes, points]);
      }
      const cols = parts.gradients.shape[2];
      const rows = parts.inputs.shape[1];
      // u[b, j, s] = Σ_i ã_bi² w_(i,j),s, then Σ_j g̃_bcj² u[b, j, s].
      const weights = tf.reshape(tf.matMul(tf.square(parts.inputs), tf.reshape(stack, [rows, cols * points])), [batch.count, cols, points]);
      return tf.matMul(tf.square(parts.gradients), weights);
    });
    return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Tensor3D;
  }

  dispose(): void {
    tf.dispose(this.layers.flatMap((basis) => [basis.qa, basis.qg, basis.q].filter((t): t is tf.Tensor2D => !!t)));
    tf.dispose([...(this.varianceColumns ?? []), ...[...this.scaledStacks.values()].flat()]);
    this.varianceColumns = null;
    this.scaledStacks.clear();
  }
}

/** Per fit, the rotated bases seen so far, by layer: a new one equal entry for entry to one of them gets its key. */
const basesByFit = new WeakMap<object, { layer: number; qa: Float32Array; qg: Float32Array; key: string }[]>();
let basisCount = 0;

function sharedBasisKey(fit: object, layer: number, qa: tf.Tensor2D, qg: tf.Tensor2D): string {
  const [a, g] = [qa.dataSync() as Float32Array, qg.dataSync() as Float32Array];
  const seen = basesByFit.get(fit) ?? [];
  basesByFit.set(fit, seen);
  const equal = (x: Float32Array, y: Float32Array) => x.length === y.length && x.every((value, i) => Object.is(value, y[i]));
  const match = seen.find((entry) => entry.layer === layer && equal(entry.qa, a) && equal(entry.qg, g));
  if (match) return match.key;
  const key = `layer ${layer} basis ${basisCount++}`;
  seen.push({ layer, qa: a, qg: g, key });
  return key;
}

/** Σ_t a_t g_c,tᵀ per example and class: a [B, T, rows], g [B, C, T, cols] → [B, C, rows·cols]. */
function positionSums(a: tf.Tensor, g: tf.Tensor, classes: number, cols: number): tf.Tensor3D {
  const [size, positions, rows] = a.shape as [number, number, number];
  const byPosition = tf.reshape(tf.transpose(g, [0, 2, 1, 3]), [size, positions, classes * cols]);
  const products = tf.matMul(tf.transpose(a, [0, 2, 1]) as tf.Tensor3D, byPosition as tf.Tensor3D);
  return tf.reshape(tf.transpose(tf.reshape(products, [size, rows, classes, cols]), [0, 2, 1, 3]), [size, classes, rows * cols]) as tf.Tensor3D;
}

/**
 * Whether rotating the shared natural-basis J_c (C·rows·cols·(rows + cols) per example) beats
 * rotating ā and g_c and forming the per-example product anew (T·rows² + C·T·cols² for the
 * rotations, C·T·rows·cols for the product). wasm runs the per-example product 7× slower than a
 * plain product of its size (measured: 237 ms against 33 ms for [100, 151, 64] × [100, 64, 160]).
 */
function rotatesJacobian(positions: number, rows: number, cols: number, classes: number): boolean {
  const batchedPenalty = tf.getBackend() === 'wasm' ? 7 : 1;
  const rotateJacobian = classes * rows * cols * (rows + cols);
  const rotateFactors = positions * rows * rows + classes * positions * cols * cols + batchedPenalty * classes * positions * rows * cols;
  return rotateJacobian < rotateFactors;
}

/** A convolution layer's per-class Jacobians in the natural basis, [B, C, rows·cols], cached on the batch. */
function convJacobian(batch: JacobianBatch, layer: number, cols: number, classes: number): tf.Tensor3D {
  const cached = batch.convJacobians.get(layer);
  if (cached) return cached;
  const inputs = batch.inputs[layer]!;
  const gradients = batch.gradients[layer]!;
  // An elementwise layer (depthwise, BatchNormalization: inputs [B, T, rows, cols]) has J_c[r, o] = Σ_t ā_t[r, o] g_c,t[o].
  const jacobian = tf.tidy(() =>
    inputs.rank === 4
      ? (tf.reshape(tf.sum(tf.mul(tf.expandDims(inputs, 1), tf.expandDims(gradients, 3)), 2), [batch.count, classes, -1]) as tf.Tensor3D)
      : positionSums(inputs, gradients, classes, cols),
  );
  batch.convJacobians.set(layer, tf.keep(jacobian));
  return jacobian;
}

/** The layers whose Jacobians any of these posteriors needs. */
export function neededLayers(covariances: FunctionalCovariance[]): number[] {
  return [...new Set(covariances.flatMap((covariance) => covariance.layers.map((basis) => basis.layer)))].sort((a, b) => a - b);
}

/**
 * Walk `data` in batches, computing each batch's Jacobian statistics once for
 * all `covariances` (posteriors on the same network and MAP weights).
 */
export async function forEachJacobianBatch(
  network: Network,
  weights: LayerMatrix[],
  data: LaplaceData,
  covariances: FunctionalCovariance[],
  batchSize: number,
  visit: (batch: JacobianBatch, start: number) => Promise<void> | void,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  await forEachJacobianBatchOver(network, weights, data, neededLayers(covariances), batchSize, visit, onProgress);
}

/** The same walk for the Jacobians of the given parameter layers, for callers without posteriors (the landscape's plane curvature). */
export async function forEachJacobianBatchOver(
  network: Network,
  weights: LayerMatrix[],
  data: LaplaceData,
  layers: number[],
  batchSize: number,
  visit: (batch: JacobianBatch, start: number) => Promise<void> | void,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  for (let start = 0; start < data.count; start += batchSize) {
    const end = Math.min(data.count, start + batchSize);
    const x = data.inputs(start, end);
    let batch: JacobianBatch;
    try {
      batch = jacobianBatch(network, weights, x, layers);
    } finally {
      x.dispose();
    }
    try {
      await visit(batch, start);
    } finally {
      disposeJacobianBatch(batch);
    }
    onProgress?.(end, data.count);
    await yieldToEventLoop();
  }
}
