/**
 * A functional view of a tfjs-layers Sequential model: the same computation,
 * but with the weights passed in (so sampled weights need no copy into the
 * model) and with hooks the curvature needs — each parameter layer's input
 * and an additive offset on its pre-activations, whose gradient is the
 * per-example gradient with respect to the pre-activations.
 *
 * Parameter layout: every Dense or Conv2D layer is a matrix W̄ with one row per
 * input feature (for a convolution, per (kh, kw, cin) entry of the patch, in
 * that row-major order) plus a last row for the bias, and one column per
 * output unit or channel. Flattened row-major, this is the order of every
 * vector of that layer (diagonals, samples, eigenvalue grids).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { averagePoolGradient, registerGradientFixes } from './backend/gradients.ts';
import { nativeSymmetricEigen } from './backend/native-eigen.ts';
import { setSymmetricEigenAccelerator } from './linalg/eigen.ts';
import type { OutputDescription } from './likelihoods/likelihood.ts';

export class UnsupportedModelError extends Error {
  override name = 'UnsupportedModelError';
}

/** The activations the hand-written backward passes know (relu, tanh, sigmoid, linear), then the rest, differentiated by tf.grads. */
export const classicActivations = ['linear', 'relu', 'tanh', 'sigmoid'] as const;
export const modernActivations = ['elu', 'selu', 'swish', 'gelu', 'gelu_new', 'relu6', 'softplus', 'leakyRelu'] as const;
export type Activation = (typeof classicActivations)[number] | (typeof modernActivations)[number];
/** LeakyReLU's slope for negative inputs, as the LeakyReLU layer's alpha (tfjs's default 0.3). */
const defaultLeakyAlpha = 0.3;

export interface ConvGeometry {
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
}

/**
 * One layer that carries parameters. Dense and Conv2D (and a SeparableConv2D's pointwise half) have
 * per-example gradients ā gᵀ, so a Kronecker form; DepthwiseConv2D (and a SeparableConv2D's
 * depthwise half) and BatchNormalization act channel by channel, so their W̄ columns each see their
 * own input ("elementwise" layers): diag and last-layer only.
 *  - depthwise: W̄ = [kernel reshaped (kh·kw, cin·multiplier); bias row], column c·multiplier + m
 *    being output channel c·multiplier + m, tfjs's order;
 *  - batchNorm (inference mode, moving statistics fixed): W̄ = [γ row; β row], the layer's input
 *    normalised by its moving mean and variance playing the role of ā.
 */
export interface ParameterLayer {
  name: string;
  kind: 'dense' | 'conv2d' | 'depthwise' | 'batchNorm';
  /** Shape of the tfjs kernel: [in, out], [kh, kw, cin, cout], [kh, kw, cin, multiplier], or [1, channels] (γ). */
  kernelShape: number[];
  hasBias: boolean;
  /** Rows of W̄ without the bias row: in, kh·kw·cin, kh·kw (depthwise), or 1 (γ). */
  fanIn: number;
  /** Columns of W̄: units, filters, or channels. */
  fanOut: number;
  activation: Activation;
  conv: ConvGeometry | null;
  /** Where the weights come from when not the whole of layer `name`'s (a SeparableConv2D's halves): the model layer and the indices in its getWeights(). */
  source?: { layer: string; weights: number[] };
  /** batchNorm: its epsilon. */
  epsilon?: number;
}

/** Kernel, bias, channel by channel: the per-example gradient of each W̄ column comes from that column's own input. */
export const isElementwise = (spec: ParameterLayer): boolean => spec.kind === 'depthwise' || spec.kind === 'batchNorm';

/** One step of the forward pass; `parameter` runs parameter layer `layer` with its activation. */
export type NetworkOperation =
  | { kind: 'parameter'; layer: number }
  | { kind: 'activation'; activation: Activation; alpha?: number }
  | { kind: 'maxPool' | 'avgPool'; poolSize: [number, number]; strides: [number, number]; padding: 'same' | 'valid' }
  | { kind: 'flatten' }
  | { kind: 'reshape'; shape: number[] }
  | { kind: 'globalAvgPool' }
  /** Residual graphs: keep the current tensor in a slot, make a slot's tensor current, add slots to the current one. */
  | { kind: 'store' | 'load'; slot: number }
  | { kind: 'add'; slots: number[] }
  /** Any tfjs-layers model run as tfjs-layers runs it, in inference mode: the body of a last-layer-only network, never differentiated. */
  | { kind: 'body'; body: tfl.LayersModel };
type Operation = NetworkOperation;

/** Weights of one parameter layer as W̄ = [kernel rows; bias row], shape [fanIn + 1, fanOut] (no bias row without a bias). */
export type LayerMatrix = tf.Tensor2D;

export interface ForwardCapture {
  /** Zero tensors added to each layer's pre-activations; differentiate with respect to them. */
  offsets?: tf.Tensor[];
  /** Collect each parameter layer's input (before unfolding; a BatchNormalization's input normalised by its moving statistics). */
  inputs?: tf.Tensor[];
  /** Collect each parameter layer's pre-activations (after the offset). */
  preActivations?: tf.Tensor[];
}

const pair = (value: number | number[]): [number, number] => (Array.isArray(value) ? [value[0], value[1] ?? value[0]] : [value, value]);

const knownActivations: readonly string[] = [...classicActivations, ...modernActivations.filter((name) => name !== 'leakyRelu')];

function activationOf(name: unknown, layerName: string, isLast: boolean): Activation | 'softmax' {
  const activation = String(name ?? 'linear');
  if (knownActivations.includes(activation)) return activation as Activation;
  if (activation === 'softmax' && isLast) return 'softmax';
  throw new UnsupportedModelError(`Layer ${layerName} uses activation "${activation}", which the Laplace code does not support; use ${knownActivations.join(', ')} (softmax only on the output).`);
}

/** The layer kinds the hand-written backward passes (tapedForward, functional.ts, stacked.ts) cover. */
const classicOperations: readonly string[] = ['parameter', 'activation', 'maxPool', 'avgPool', 'flatten', 'reshape'];

/**
 * Which weights a network exposes: 'all' reads every layer (the whole-network structures need
 * each layer's algebra); 'last-layer' exposes the output Dense layer alone and runs everything
 * before it (any layers, any graph) as one opaque body.
 */
export type WeightSubset = 'all' | 'last-layer';
export const weightSubsets: readonly WeightSubset[] = ['all', 'last-layer'];

export class Network {
  readonly layers: ParameterLayer[] = [];
  private readonly operations: Operation[] = [];
  /** True when the model ends in a softmax that we stripped to reach the logits. */
  readonly strippedSoftmax: boolean = false;
  /** The activation the model ends in, stripped to reach the outputs f the likelihood sees (likelihoods/). */
  readonly outputActivation: 'softmax' | 'sigmoid' | 'linear' = 'linear';
  readonly inputShape: number[];
  readonly classes: number;
  readonly subset: WeightSubset;
  private source: tfl.LayersModel | null = null;

  /**
   * Read the architecture of a model; unsupported layers are named in the error. With subset
   * 'last-layer' the network keeps `model` (its layers and weights, live) as its body: pass a
   * copy the caller owns (lastLayerNetwork makes one) when the model may change afterwards.
   */
  constructor(model: tfl.LayersModel, subset: WeightSubset = 'all') {
    // Curvature and Jacobians differentiate through pooling, and tfjs's AvgPool gradient is wrong with 'same'
    // padding. The study's backend start-up installs the fix; a user of the package may never run it.
    registerGradientFixes();
    // Curvature eigendecompositions in TensorFlow's float64 kernel when the native backend runs (it declines elsewhere).
    setSymmetricEigenAccelerator(nativeSymmetricEigen);
    this.inputShape = (model.inputs[0].shape as (number | null)[]).slice(1) as number[];
    this.subset = subset;
    if (subset === 'last-layer') {
      const { body, output, activation } = outputDenseLayer(model);
      const [kernel, bias] = output.getWeights();
      const [features, classes] = kernel.shape;
      this.source = model;
      this.operations.push({ kind: 'body', body }, { kind: 'parameter', layer: 0 });
      this.layers.push({ name: output.name, kind: 'dense', kernelShape: kernel.shape, hasBias: bias !== undefined, fanIn: features, fanOut: classes, activation: 'linear', conv: null });
      this.strippedSoftmax = activation === 'softmax';
      this.outputActivation = activation;
      this.classes = classes;
      return;
    }
    if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new UnsupportedModelError(`The model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; the Laplace code needs one of each.`);
    const modelLayers = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
    // A graph runs as one sequence of layers in topological order; a tensor used later than by the
    // next layer (a residual branch's input) is kept in a slot. A Sequential model needs no slots.
    const tensorsOf = (value: unknown) => (Array.isArray(value) ? value : [value]) as tfl.SymbolicTensor[];
    const consumers = new Map<number, number[]>();
    modelLayers.forEach((layer, index) => {
      if (layer.inboundNodes.length > 1) throw new UnsupportedModelError(`Layer ${layer.name} is applied ${layer.inboundNodes.length} times (a shared layer), which the Laplace code does not support.`);
      for (const input of tensorsOf(layer.input)) consumers.set(input.id, [...(consumers.get(input.id) ?? []), index]);
    });
    const slots = new Map<number, number>();
    let current = model.inputs[0].id;
    const bring = (tensor: tfl.SymbolicTensor) => {
      if (tensor.id === current) return;
      const slot = slots.get(tensor.id);
      if (slot === undefined) throw new UnsupportedModelError(`The model's graph reaches ${tensor.name} in an order the Laplace code cannot follow.`);
      this.operations.push({ kind: 'load', slot });
      current = tensor.id;
    };
    modelLayers.forEach((layer, index) => {
      const config = layer.getConfig() as Record<string, unknown>;
      const isLast = index === modelLayers.length - 1;
      const className = layer.getClassName();
      const inputs = tensorsOf(layer.input);
      if (className === 'Add') {
        // The current tensor (or the first input) plus the others, each from its slot.
        const first = inputs.find((input) => input.id === current) ?? inputs[0];
        bring(first);
        this.operations.push({ kind: 'add', slots: inputs.filter((input) => input !== first).map((input) => slots.get(input.id)!) });
      } else {
        if (inputs.length !== 1) throw new UnsupportedModelError(`Layer ${layer.name} is a ${className} with ${inputs.length} inputs, which the Laplace code does not support; of layers with several inputs it reads Add.`);
        bring(inputs[0]);
        this.readLayer(layer, config, className, isLast);
      }
      const output = (layer.output as tfl.SymbolicTensor).id;
      current = output;
      const usedBy = consumers.get(output) ?? [];
      if (usedBy.length > 1 || (usedBy.length === 1 && usedBy[0] !== index + 1)) {
        slots.set(output, slots.size);
        this.operations.push({ kind: 'store', slot: slots.get(output)! });
      }
    });
    if (current !== model.outputs[0].id) throw new UnsupportedModelError("The model's output is not its last layer's, which the Laplace code cannot follow.");
    if (this.layers.length === 0) throw new UnsupportedModelError('The model has no Dense or Conv2D layer, so there is nothing to put a posterior on.');
    const last = this.layers[this.layers.length - 1];
    this.classes = last.fanOut;
    if (this.strippedSoftmax) this.outputActivation = 'softmax';
    this.classic =
      this.operations.every((operation) => classicOperations.includes(operation.kind) && (operation.kind !== 'activation' || (classicActivations as readonly string[]).includes(operation.activation))) &&
      this.layers.every((spec) => (spec.kind === 'dense' || spec.kind === 'conv2d') && !spec.source && (classicActivations as readonly string[]).includes(spec.activation));
  }

  /** One layer with one input, appended to the operations. */
  private readLayer(layer: tfl.layers.Layer, config: Record<string, unknown>, className: string, isLast: boolean): void {
      switch (className) {
        case 'Dense':
        case 'Conv2D': {
          const weights = layer.getWeights();
          const kernelShape = weights[0].shape;
          // Fix (tests/laplace/errors.test.ts): a Dense layer on a rank > 2 input (tfjs applies it
          // per position) was accepted and its curvature came out with the wrong size (a diag of
          // 32 entries for 8 parameters); the per-example algebra here is for [batch, features].
          const inputRank = (layer.input as { shape: unknown[] }).shape.length;
          if (className === 'Dense' && inputRank !== 2) throw new UnsupportedModelError(`Layer ${layer.name} is a Dense layer on a rank-${inputRank} input, which the Laplace code does not support; put a Flatten before it.`);
          const activation = activationOf(config.activation, layer.name, isLast);
          if (className === 'Conv2D') {
            const dilation = pair(config.dilationRate as number | number[]);
            if (dilation[0] !== 1 || dilation[1] !== 1) throw new UnsupportedModelError(`Layer ${layer.name} is a dilated convolution, which the Laplace code does not support.`);
            if (config.dataFormat === 'channelsFirst') throw new UnsupportedModelError(`Layer ${layer.name} uses channelsFirst; the Laplace code needs channelsLast convolutions.`);
          }
          const parameterLayer: ParameterLayer = {
            name: layer.name,
            kind: className === 'Dense' ? 'dense' : 'conv2d',
            kernelShape,
            hasBias: weights.length > 1,
            fanIn: kernelShape.slice(0, -1).reduce((a, b) => a * b, 1),
            fanOut: kernelShape[kernelShape.length - 1],
            // The output's softmax or sigmoid is the likelihood's (likelihoods/): stripped to reach the outputs f.
            activation: activation === 'softmax' || (isLast && activation === 'sigmoid') ? 'linear' : activation,
            conv:
              className === 'Conv2D'
                ? { kernelSize: pair(config.kernelSize as number | number[]), strides: pair(config.strides as number | number[]), padding: config.padding as 'same' | 'valid' }
                : null,
          };
          this.operations.push({ kind: 'parameter', layer: this.layers.length });
          this.layers.push(parameterLayer);
          if (activation === 'softmax') (this as { strippedSoftmax: boolean }).strippedSoftmax = true;
          if (isLast && activation === 'sigmoid') (this as { outputActivation: string }).outputActivation = 'sigmoid';
          break;
        }
        case 'Activation': {
          const activation = activationOf(config.activation, layer.name, isLast);
          if (activation === 'softmax') (this as { strippedSoftmax: boolean }).strippedSoftmax = true;
          else if (isLast && activation === 'sigmoid') (this as { outputActivation: string }).outputActivation = 'sigmoid';
          else this.operations.push({ kind: 'activation', activation });
          break;
        }
        case 'MaxPooling2D':
        case 'AveragePooling2D': {
          const poolSize = pair(config.poolSize as number | number[]);
          this.operations.push({
            kind: className === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
            poolSize,
            strides: config.strides ? pair(config.strides as number | number[]) : poolSize,
            padding: (config.padding as 'same' | 'valid') ?? 'valid',
          });
          break;
        }
        case 'Flatten':
          this.operations.push({ kind: 'flatten' });
          break;
        case 'Reshape':
          this.operations.push({ kind: 'reshape', shape: config.targetShape as number[] });
          break;
        case 'Dropout':
          break; // identity at prediction time, and the curvature is taken at prediction time
        case 'GlobalAveragePooling2D':
          if (config.dataFormat === 'channelsFirst') throw new UnsupportedModelError(`Layer ${layer.name} uses channelsFirst; the Laplace code needs channelsLast.`);
          this.operations.push({ kind: 'globalAvgPool' });
          break;
        case 'LeakyReLU':
          this.operations.push({ kind: 'activation', activation: 'leakyRelu', alpha: (config.alpha as number | undefined) ?? defaultLeakyAlpha });
          break;
        case 'DepthwiseConv2D':
        case 'SeparableConv2D': {
          const weights = layer.getWeights();
          const activation = activationOf(config.activation, layer.name, isLast);
          const dilation = pair((config.dilationRate ?? 1) as number | number[]);
          if (dilation[0] !== 1 || dilation[1] !== 1) throw new UnsupportedModelError(`Layer ${layer.name} is a dilated convolution, which the Laplace code does not support.`);
          if (config.dataFormat === 'channelsFirst') throw new UnsupportedModelError(`Layer ${layer.name} uses channelsFirst; the Laplace code needs channelsLast convolutions.`);
          const conv: ConvGeometry = { kernelSize: pair(config.kernelSize as number | number[]), strides: pair(config.strides as number | number[]), padding: config.padding as 'same' | 'valid' };
          const depthwiseShape = weights[0].shape;
          const [kh, kw, channels, multiplier] = depthwiseShape as [number, number, number, number];
          const separable = className === 'SeparableConv2D';
          const hasBias = weights.length > (separable ? 2 : 1);
          this.operations.push({ kind: 'parameter', layer: this.layers.length });
          this.layers.push({
            name: separable ? `${layer.name}/depthwise` : layer.name,
            kind: 'depthwise',
            kernelShape: depthwiseShape,
            hasBias: separable ? false : hasBias,
            fanIn: kh * kw,
            fanOut: channels * multiplier,
            activation: separable || activation === 'softmax' ? 'linear' : activation,
            conv,
            ...(separable ? { source: { layer: layer.name, weights: [0] } } : {}),
          });
          if (separable) {
            // The pointwise half: a 1×1 convolution, stride 1, no padding (tf.separableConv2d's second step).
            const pointwiseShape = weights[1].shape;
            this.operations.push({ kind: 'parameter', layer: this.layers.length });
            this.layers.push({
              name: `${layer.name}/pointwise`,
              kind: 'conv2d',
              kernelShape: pointwiseShape,
              hasBias,
              fanIn: pointwiseShape[2]!,
              fanOut: pointwiseShape[3]!,
              activation: activation === 'softmax' ? 'linear' : activation,
              conv: { kernelSize: [1, 1], strides: [1, 1], padding: 'valid' },
              source: { layer: layer.name, weights: hasBias ? [1, 2] : [1] },
            });
          }
          if (activation === 'softmax') (this as { strippedSoftmax: boolean }).strippedSoftmax = true;
          break;
        }
        case 'BatchNormalization': {
          const axis = config.axis as number;
          const rank = (layer.input as tfl.SymbolicTensor).shape.length;
          if (axis !== -1 && axis !== rank - 1) throw new UnsupportedModelError(`Layer ${layer.name} normalises axis ${axis}; the Laplace code needs BatchNormalization over the last axis (channels last).`);
          if (config.scale === false) throw new UnsupportedModelError(`Layer ${layer.name} is a BatchNormalization without scale (γ), which the Laplace code does not support.`);
          const center = config.center !== false;
          const weights = layer.getWeights();
          const channels = weights[0].shape[0]!;
          this.normalization.set(this.layers.length, { mean: tf.clone(weights[center ? 2 : 1]), variance: tf.clone(weights[center ? 3 : 2]) });
          this.operations.push({ kind: 'parameter', layer: this.layers.length });
          this.layers.push({ name: layer.name, kind: 'batchNorm', kernelShape: [1, channels], hasBias: center, fanIn: 1, fanOut: channels, activation: 'linear', conv: null, epsilon: config.epsilon as number });
          break;
        }
        default:
          throw new UnsupportedModelError(
            `Layer ${layer.name} is a ${className}, which the Laplace code does not support; supported: Dense, Conv2D, DepthwiseConv2D, SeparableConv2D, BatchNormalization, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Reshape, Activation, LeakyReLU, Dropout, Add (or curvature 'last-layer' on any body).`,
          );
      }
  }

  /** True when every layer is one the hand-written backward passes cover (Dense, Conv2D, pooling, relu/tanh/sigmoid); other networks are differentiated by tf.grads. */
  readonly classic: boolean = true;
  /** Per BatchNormalization parameter layer, its moving mean and variance (state, not parameters). */
  private readonly normalization = new Map<number, { mean: tf.Tensor; variance: tf.Tensor }>();

  /** A BatchNormalization layer's moving statistics (for the posterior file). */
  normalizationState(layer: number): { mean: tf.Tensor; variance: tf.Tensor } {
    const state = this.normalization.get(layer);
    if (!state) throw new RangeError(`Parameter layer ${layer} is not a BatchNormalization layer.`);
    return state;
  }

  /** Replace a BatchNormalization layer's moving statistics (the posterior file's, where the topology gave initial ones); the network takes the tensors. */
  setNormalizationState(layer: number, mean: tf.Tensor, variance: tf.Tensor): void {
    const previous = this.normalizationState(layer);
    if (mean.size !== previous.mean.size || variance.size !== previous.variance.size) throw new RangeError(`Layer ${this.layers[layer].name}'s moving statistics need ${previous.mean.size} values each.`);
    tf.dispose([previous.mean, previous.variance]);
    this.normalization.set(layer, { mean, variance });
  }

  /** The output as the likelihood sees it: its units (the Jacobians' C) and the activation stripped from it. */
  get output(): OutputDescription {
    return { units: this.classes, activation: this.outputActivation, layerName: this.layers[this.layers.length - 1].name };
  }

  /**
   * True when the logits are the last parameter layer's pre-activations: a linear Dense layer with
   * nothing after it (a stripped softmax aside). Its per-class gradients are then e_c, so its
   * curvature has a closed form in its input and the probabilities, with no backward pass.
   */
  get logitsAreLastLayerOutput(): boolean {
    const lastOperation = this.operations[this.operations.length - 1];
    const lastIndex = this.layers.length - 1;
    const last = this.layers[lastIndex];
    return lastOperation.kind === 'parameter' && lastOperation.layer === lastIndex && last.kind === 'dense' && last.activation === 'linear';
  }

  /** The forward pass's steps in order, for callers that run it their own way (many weight samples at once: stacked.ts). */
  get operationList(): readonly NetworkOperation[] {
    return this.operations;
  }

  /** Number of parameters of layer i (entries of W̄). */
  parameterCount(layer: number): number {
    const spec = this.layers[layer];
    return (spec.fanIn + (spec.hasBias ? 1 : 0)) * spec.fanOut;
  }

  get totalParameters(): number {
    return this.layers.reduce((sum, _, index) => sum + this.parameterCount(index), 0);
  }

  /** The model's weights as W̄ matrices, one per parameter layer. */
  matricesFromModel(model: tfl.LayersModel): LayerMatrix[] {
    const byName = new Map(model.layers.map((layer) => [layer.name, layer]));
    return this.layers.map((spec) => {
      const all = byName.get(spec.source?.layer ?? spec.name)!.getWeights();
      // A BatchNormalization's weights are [γ, β, moving mean, moving variance]; its W̄ is [γ; β].
      const weights = spec.source ? spec.source.weights.map((index) => all[index]) : spec.kind === 'batchNorm' ? all.slice(0, spec.hasBias ? 2 : 1) : all;
      return tf.tidy(() => {
        const kernel = tf.reshape(weights[0], [spec.fanIn, spec.fanOut]);
        return (spec.hasBias ? tf.concat([kernel, tf.reshape(weights[1], [1, spec.fanOut])], 0) : kernel) as tf.Tensor2D;
      });
    });
  }

  /** Forward pass with weights `matrices`; returns logits. */
  forward(x: tf.Tensor, matrices: LayerMatrix[], capture?: ForwardCapture): tf.Tensor2D {
    return this.run(x, matrices, 0, this.operations.length, capture) as tf.Tensor2D;
  }

  /**
   * The forward pass cut before parameter layer `layer`: `head` runs the
   * operations before it, `tail` the rest from the head's output. Posterior
   * samples that leave the earlier layers at W* (last-layer Laplace) share one
   * head; tail(head(x)) is op for op the same computation as forward(x), so
   * the logits are bit-identical.
   */
  splitAt(layer: number): { head(x: tf.Tensor, matrices: LayerMatrix[]): tf.Tensor; tail(h: tf.Tensor, matrices: LayerMatrix[]): tf.Tensor2D } {
    let cut = this.operations.findIndex((operation) => operation.kind === 'parameter' && operation.layer === layer);
    if (cut < 0) throw new RangeError(`The network has no parameter layer ${layer}.`);
    // A slot stored before the cut and read after it would not reach the tail: run everything in the tail then.
    const storedBefore = new Set(this.operations.slice(0, cut).flatMap((operation) => (operation.kind === 'store' ? [operation.slot] : [])));
    const readAfter = this.operations.slice(cut).flatMap((operation) => (operation.kind === 'load' ? [operation.slot] : operation.kind === 'add' ? operation.slots : []));
    if (readAfter.some((slot) => storedBefore.has(slot))) cut = 0;
    return {
      head: (x, matrices) => this.run(x, matrices, 0, cut),
      tail: (h, matrices) => this.run(h, matrices, cut, this.operations.length) as tf.Tensor2D,
    };
  }

  /**
   * One forward pass that keeps what its backward pass needs, and that backward pass for K vectors
   * per input at once: `backward(vectors, K)` takes [K·B, C] (row k·B + b: vector k of example b)
   * and returns each parameter layer's pre-activation gradient of Σ vᵀ f(x), [K·B, …] in the same
   * row order. tf.grads would need the forward pass over the batch stacked K times; here the
   * activation derivatives and the pooling choices come from the one pass and serve all K copies.
   * Call both inside a tidy and keep what you need.
   */
  tapedForward(x: tf.Tensor, matrices: LayerMatrix[], capture?: Pick<ForwardCapture, 'inputs'>): { logits: tf.Tensor2D; backward(vectors: tf.Tensor2D, sets: number): tf.Tensor[] } {
    if (!this.classic) return this.gradsForward(x, matrices, capture);
    const steps: { input: tf.Tensor; output: tf.Tensor; preActivation: tf.Tensor | undefined }[] = [];
    let h = x;
    for (let index = 0; index < this.operations.length; index++) {
      const preActivations: tf.Tensor[] = [];
      const output = this.run(h, matrices, index, index + 1, { inputs: capture?.inputs, preActivations });
      steps.push({ input: h, output, preActivation: preActivations[0] });
      h = output;
    }
    const batch = x.shape[0];
    const firstParameter = this.operations.findIndex((operation) => operation.kind === 'parameter');
    const backward = (vectors: tf.Tensor2D, sets: number): tf.Tensor[] => {
      const stackedShape = (t: tf.Tensor) => [sets * batch, ...t.shape.slice(1)];
      const stack = (t: tf.Tensor) => (sets === 1 ? t : tf.concat(Array.from({ length: sets }, () => t), 0));
      const gradients: tf.Tensor[] = [];
      let d: tf.Tensor = vectors;
      for (let index = this.operations.length - 1; index >= firstParameter; index--) {
        const operation = this.operations[index];
        const step = steps[index];
        switch (operation.kind) {
          case 'parameter': {
            const spec = this.layers[operation.layer];
            const dz = activationBackward(d, step.preActivation!, step.output, spec.activation, sets);
            gradients[operation.layer] = dz;
            if (index === firstParameter) break;
            const kernel = tf.slice(matrices[operation.layer], [0, 0], [spec.fanIn, spec.fanOut]);
            d =
              spec.kind === 'dense'
                ? tf.matMul(dz as tf.Tensor2D, tf.transpose(kernel))
                : tf.conv2dTranspose(
                    dz as tf.Tensor4D,
                    tf.reshape(kernel, spec.kernelShape as [number, number, number, number]) as tf.Tensor4D,
                    stackedShape(step.input) as [number, number, number, number],
                    spec.conv!.strides,
                    spec.conv!.padding,
                  );
            break;
          }
          case 'activation':
            d = activationBackward(d, step.input, step.output, operation.activation, sets);
            break;
          case 'maxPool': {
            const maxPoolGradient = (dy: tf.Tensor, input: tf.Tensor, output: tf.Tensor) =>
              tf.engine().runKernel(
                tf.MaxPoolGrad,
                { dy, input, output } as unknown as tf.NamedTensorMap,
                { filterSize: operation.poolSize, strides: operation.strides, pad: operation.padding } as unknown as tf.NamedAttrMap,
              ) as tf.Tensor4D;
            const [ph, pw] = operation.poolSize;
            const disjoint = operation.padding === 'valid' && operation.strides[0] === ph && operation.strides[1] === pw;
            if (!disjoint || sets === 1) {
              d = maxPoolGradient(d, stack(step.input), stack(step.output));
              break;
            }
            // Disjoint windows: each sends its gradient to the one cell the forward pass chose, so the
            // gradient is dy repeated over the window times the 0/1 mask of chosen cells (the kernel's
            // own choice, ties included, from one pass with dy = 1), with no copies of x and y.
            const chosen = maxPoolGradient(tf.onesLike(step.output), step.input, step.output);
            const [, height, width] = step.input.shape;
            const [, rows, cols] = step.output.shape;
            let spread = tf.image.resizeNearestNeighbor(d as tf.Tensor4D, [rows! * ph, cols! * pw]);
            if (rows! * ph < height! || cols! * pw < width!) spread = tf.pad(spread, [[0, 0], [0, height! - rows! * ph], [0, width! - cols! * pw], [0, 0]]);
            d = broadcastOverSets(spread, chosen, sets);
            break;
          }
          case 'avgPool':
            d = averagePoolGradient(d as tf.Tensor4D, tf.zeros(stackedShape(step.input) as [number, number, number, number]) as tf.Tensor4D, { filterSize: operation.poolSize, strides: operation.strides, pad: operation.padding });
            break;
          case 'flatten':
          case 'reshape':
            d = tf.reshape(d, stackedShape(step.input));
            break;
        }
      }
      return gradients;
    };
    return { logits: h as tf.Tensor2D, backward };
  }

  /**
   * tapedForward for networks beyond the hand-written backward pass (BatchNormalization, depthwise
   * convolutions, residual Adds, other activations): tf.grads through the forward pass of the batch
   * stacked K times, with respect to zero offsets on the pre-activations, so every gradient is tfjs's own.
   */
  private gradsForward(x: tf.Tensor, matrices: LayerMatrix[], capture?: Pick<ForwardCapture, 'inputs'>): { logits: tf.Tensor2D; backward(vectors: tf.Tensor2D, sets: number): tf.Tensor[] } {
    const logits = this.forward(x, matrices, capture);
    const backward = (vectors: tf.Tensor2D, sets: number): tf.Tensor[] => {
      const stacked = sets === 1 ? x : tf.concat(Array.from({ length: sets }, () => x), 0);
      const zeros = this.preActivationShapes(stacked.shape[0]).map((shape) => tf.zeros(shape));
      return tf.grads((...offsets: tf.Tensor[]) => tf.sum(tf.mul(this.forward(stacked, matrices, { offsets }), vectors)))(zeros);
    };
    return { logits, backward };
  }

  /** Runs operations [start, end) on h. */
  private run(x: tf.Tensor, matrices: LayerMatrix[], start: number, end: number, capture?: ForwardCapture): tf.Tensor {
    let h = x;
    const slots = new Map<number, tf.Tensor>();
    for (let index = start; index < end; index++) {
      const operation = this.operations[index];
      switch (operation.kind) {
        case 'parameter': {
          const spec = this.layers[operation.layer];
          const matrix = matrices[operation.layer];
          const kernel = tf.slice(matrix, [0, 0], [spec.fanIn, spec.fanOut]);
          let z: tf.Tensor;
          if (spec.kind === 'batchNorm') {
            // tfjs-layers' inference-mode computation, (x − mean)·rsqrt(variance + ε)·γ + β; the curvature's input is the normalised x.
            const { mean, variance } = this.normalizationState(operation.layer);
            if (capture?.inputs) capture.inputs.push(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, spec.epsilon!))));
            const beta = spec.hasBias ? tf.reshape(tf.slice(matrix, [1, 0], [1, spec.fanOut]), [spec.fanOut]) : undefined;
            z = tf.batchNorm(h, mean, variance, beta, tf.reshape(kernel, [spec.fanOut]), spec.epsilon);
          } else {
            capture?.inputs?.push(h);
            z =
              spec.kind === 'dense'
                ? tf.matMul(h as tf.Tensor2D, kernel)
                : spec.kind === 'depthwise'
                  ? depthwiseConvolution(h as tf.Tensor4D, tf.reshape(kernel, spec.kernelShape as [number, number, number, number]) as tf.Tensor4D, spec.conv!)
                  : tf.conv2d(h as tf.Tensor4D, tf.reshape(kernel, spec.kernelShape as [number, number, number, number]) as tf.Tensor4D, spec.conv!.strides as [number, number], spec.conv!.padding);
            if (spec.hasBias) z = tf.add(z, tf.reshape(tf.slice(matrix, [spec.fanIn, 0], [1, spec.fanOut]), [spec.fanOut]));
          }
          const offset = capture?.offsets?.[operation.layer];
          if (offset) z = tf.add(z, offset);
          capture?.preActivations?.push(z);
          h = activate(z, spec.activation);
          break;
        }
        case 'activation':
          h = activate(h, operation.activation, operation.alpha);
          break;
        case 'globalAvgPool':
          h = tf.mean(h, [1, 2]);
          break;
        case 'store':
          slots.set(operation.slot, h);
          break;
        case 'load':
          h = slots.get(operation.slot)!;
          break;
        case 'add':
          h = tf.addN([h, ...operation.slots.map((slot) => slots.get(slot)!)]);
          break;
        case 'maxPool':
          h = tf.maxPool(h as tf.Tensor4D, operation.poolSize, operation.strides, operation.padding);
          break;
        case 'avgPool':
          h = tf.avgPool(h as tf.Tensor4D, operation.poolSize, operation.strides, operation.padding);
          break;
        case 'flatten':
          h = tf.reshape(h, [h.shape[0], -1]);
          break;
        case 'reshape':
          h = tf.reshape(h, [h.shape[0], ...operation.shape]);
          break;
        case 'body':
          h = operation.body.apply(h, { training: false }) as tf.Tensor;
          break;
      }
    }
    return h;
  }

  /** The opaque body of a last-layer network (null for 'all'). */
  get body(): tfl.LayersModel | null {
    const first = this.operations[0];
    return first.kind === 'body' ? first.body : null;
  }

  /** The model a last-layer network was read from (null for 'all'): its weights are the body's, and the posterior file stores them. */
  get sourceModel(): tfl.LayersModel | null {
    return this.source;
  }

  /** Frees what the network holds: a last-layer network's model copy, BatchNormalization's moving statistics. */
  dispose(): void {
    this.source?.dispose();
    this.source = null;
    for (const state of this.normalization.values()) tf.dispose([state.mean, state.variance]);
    this.normalization.clear();
  }

  /** Shapes of each layer's pre-activations for a batch of `batch` inputs (for the zero offsets). */
  preActivationShapes(batch: number): number[][] {
    return tf.tidy(() => {
      const preActivations: tf.Tensor[] = [];
      const zeros = this.layers.map((spec) => tf.zeros([spec.fanIn + (spec.hasBias ? 1 : 0), spec.fanOut]) as tf.Tensor2D);
      // (A BatchNormalization with γ = 0 has the shape it would have with any γ.)
      this.forward(tf.zeros([1, ...this.inputShape]), zeros, { preActivations });
      return preActivations.map((z) => [batch, ...z.shape.slice(1)]);
    });
  }
}

/**
 * A single-input, single-output model's output Dense layer (softmax, sigmoid or linear) and the
 * body before it as a model of its own (sharing the model's layers and weights).
 */
export function outputDenseLayer(model: tfl.LayersModel): { body: tfl.LayersModel; output: tfl.layers.Layer; activation: 'softmax' | 'sigmoid' | 'linear' } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new UnsupportedModelError(`The model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; last-layer Laplace needs one of each.`);
  const output = model.outputs[0].sourceLayer as tfl.layers.Layer;
  if (output.getClassName() !== 'Dense') throw new UnsupportedModelError(`The model's output layer ${output.name} is a ${output.getClassName()}; last-layer Laplace needs a Dense output layer.`);
  const activation = String((output.getConfig() as { activation?: unknown }).activation ?? 'linear');
  if (activation !== 'softmax' && activation !== 'sigmoid' && activation !== 'linear') throw new UnsupportedModelError(`The output layer ${output.name} uses activation "${activation}"; last-layer Laplace needs a softmax, a sigmoid or a linear output.`);
  const input = output.input as tfl.SymbolicTensor;
  if (input.shape.length !== 2) throw new UnsupportedModelError(`The output layer ${output.name} sees a rank-${input.shape.length} input; put a Flatten or a global pooling before it.`);
  return { body: tfl.model({ inputs: model.inputs, outputs: input }), output, activation };
}

/**
 * A last-layer network over a private copy of `model` (topology and weights), so that training or
 * disposing the model later leaves the posterior as fitted.
 */
export async function lastLayerNetwork(model: tfl.LayersModel): Promise<Network> {
  outputDenseLayer(model); // refuse an unsuitable model before copying it
  const copy = await tfl.models.modelFromJSON({ modelTopology: model.toJSON(undefined, false) } as never);
  copy.setWeights(model.getWeights());
  return new Network(copy, 'last-layer');
}

/** A layer's activation applied to its pre-activations (also used where the forward pass is run another way: functional.ts, stacked.ts). */
export function activate(z: tf.Tensor, activation: Activation, alpha = defaultLeakyAlpha): tf.Tensor {
  switch (activation) {
    case 'linear':
      return z;
    case 'relu':
      return tf.relu(z);
    case 'tanh':
      return tf.tanh(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    // The rest as tfjs-layers computes them (activations.js), so the forward pass is the model's.
    case 'elu':
      return tf.elu(z);
    case 'selu':
      return tf.selu(z);
    case 'swish':
      return tf.mul(tf.sigmoid(tf.mul(z, 1)), z);
    case 'gelu':
      return tf.mul(z, tf.mul(0.5, tf.add(1, tf.erf(tf.div(z, Math.SQRT2)))));
    case 'gelu_new':
      return tf.mul(0.5, tf.mul(z, tf.add(1, tf.tanh(tf.mul(tf.sqrt(tf.div(2, Math.PI)), tf.add(z, tf.mul(0.044715, tf.pow(z, 3))))))));
    case 'relu6':
      return tf.relu6(z);
    case 'softplus':
      return tf.softplus(z);
    case 'leakyRelu':
      return tf.leakyRelu(z, alpha);
  }
}

/**
 * d·σ'(z) for d stacked K times over the batch ([K·B, …]) and z, h = σ(z) of the batch alone
 * ([B, …]): the derivative is formed once and broadcast over the K copies. The derivatives are
 * tfjs's own (relu: step(z), tanh: 1 − h², sigmoid: h(1 − h)).
 */
function activationBackward(d: tf.Tensor, z: tf.Tensor, h: tf.Tensor, activation: Activation, sets: number): tf.Tensor {
  if (activation === 'linear') return d;
  const derivative =
    activation === 'relu' ? tf.cast(tf.greater(z, 0), 'float32') : activation === 'tanh' ? tf.sub(1, tf.square(h)) : tf.mul(h, tf.sub(1, h));
  return broadcastOverSets(d, derivative, sets);
}

/** d ⊙ m for d stacked K times over the batch ([K·B, …]) and m of the batch alone ([B, …]), as a 2-D broadcast. */
function broadcastOverSets(d: tf.Tensor, m: tf.Tensor, sets: number): tf.Tensor {
  if (sets === 1) return tf.mul(d, m);
  return tf.reshape(tf.mul(tf.reshape(d, [sets, -1]), tf.reshape(m, [-1])), d.shape);
}

/**
 * A depthwise convolution as tfjs-layers computes it, where the backend can differentiate it. The
 * wasm backend has no DepthwiseConv2dNativeBackpropInput kernel, so there it runs as the ordinary
 * convolution it equals, with a block-diagonal filter (input channel c feeds only its outputs
 * c·multiplier + m): the same sums plus exact zeros, whose gradient every backend has.
 */
function depthwiseConvolution(x: tf.Tensor4D, filter: tf.Tensor4D, conv: ConvGeometry): tf.Tensor4D {
  if (tf.getKernel('DepthwiseConv2dNativeBackpropInput', tf.getBackend())) return tf.depthwiseConv2d(x, filter, conv.strides, conv.padding);
  const [kh, kw, channels, multiplier] = filter.shape;
  const blockDiagonal = tf.reshape(tf.mul(tf.reshape(filter, [kh, kw, channels, 1, multiplier]), tf.reshape(tf.eye(channels), [1, 1, channels, channels, 1])), [kh, kw, channels, channels * multiplier]) as tf.Tensor4D;
  return tf.conv2d(x, blockDiagonal, conv.strides, conv.padding);
}

export function convOutputSize(height: number, width: number, conv: ConvGeometry): [number, number] {
  const [kh, kw] = conv.kernelSize;
  const [sh, sw] = conv.strides;
  if (conv.padding === 'same') return [Math.ceil(height / sh), Math.ceil(width / sw)];
  return [Math.ceil((height - kh + 1) / sh), Math.ceil((width - kw + 1) / sw)];
}

/**
 * im2col: the input patches of a convolution, [batch, positions, kh·kw·cin],
 * in the (kh, kw, cin) order of the kernel's rows, with TensorFlow's padding.
 * Computed as a convolution with a one-hot filter bank (output channel
 * (i, j, c) copies input channel c at offset (i, j)): the backend's fast
 * convolution does the gathering, padding and striding, where strided slices
 * were ~50× slower on wasm.
 */
export function unfoldPatches(x: tf.Tensor4D, conv: ConvGeometry): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, , , channels] = x.shape;
    const [kh, kw] = conv.kernelSize;
    const width = kh * kw * channels;
    const filter = tf.reshape(tf.eye(width), [kh, kw, channels, width]) as tf.Tensor4D;
    const patches = tf.conv2d(x, filter, conv.strides, conv.padding);
    return tf.reshape(patches, [batch, -1, width]) as tf.Tensor3D;
  });
}
