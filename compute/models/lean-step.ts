/**
 * A training step with fewer TensorFlow ops than `optimizer.minimize` over
 * `model.apply`, computing the same floats. On the native backend every op
 * costs tens of microseconds of dispatch whatever its size, and a LeNet-5
 * step at batch 128 ran 432 of them: 144 in Adam (fourteen per variable),
 * about 60 for the weight decay's forward and backward pass on the tape.
 *
 * What changes, and why the numbers do not:
 * - the layers' `call` in sequence instead of `model.apply`: the same ops,
 *   without tfjs-layers' per-layer bookkeeping (and a first convolution
 *   without the gradient of the images, see `convolutionWithoutInputGradient`);
 * - only the cross-entropy goes on the tape. The decay's gradient is written
 *   out as the tape computes it, c·(2θ) with c = float32(λ/2) (the chain
 *   dy = 1 → mul → addN → sum → square multiplies by 1 exactly), and added to
 *   the cross-entropy's: two terms, so the order of the sum does not matter;
 * - Adam runs once on every parameter laid end to end instead of once per
 *   variable: the same element-wise ops with the same scalars, so each
 *   element gets the same float;
 * - ReLU's gradient masks with x > 0 instead of tfjs-node's costly Step
 *   (see `reluGradient`).
 * The objective it reports is computed as before (the decay from per-variable
 * sums), so the training history is the same too. tests/models/train.test.ts
 * checks all of this bit for bit against the reference step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** One training step: takes a batch and this step's rate, updates the weights, returns the objective (kept; caller disposes). */
export interface TrainingStep {
  run(images: tf.Tensor4D, labels: tf.Tensor1D, learningRate: number): tf.Scalar;
  dispose(): void;
}

export type Objective = (logits: tf.Tensor, labels: tf.Tensor1D) => tf.Scalar;

/**
 * The model's layers applied one after the other in training mode; the same
 * ops as `model.apply(x, { training: true })`, except that the first layer
 * may skip its input's gradient (`convolutionWithoutInputGradient`).
 */
export function sequentialForward(model: tfl.LayersModel): (input: tf.Tensor) => tf.Tensor {
  const layers = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Error(`sequentialForward needs a one-input, one-output model; ${model.name} has ${model.inputs.length} and ${model.outputs.length}.`);
  const steps = layers.map((layer) => (input: tf.Tensor) => layer.call(input, { training: true }) as tf.Tensor);
  if (layers.length > 0) steps[0] = convolutionWithoutInputGradient(layers[0]) ?? steps[0];
  return (input) => steps.reduce((activations, step) => step(activations), input);
}

/**
 * A convolution that tfjs-core runs fused on the tape (linear activation and
 * a bias, as every layer of the cnn family) gets a gradient that computes
 * the input's gradient eagerly, needed or not: for a first layer that is a
 * Conv2DBackpropInput onto the images, 8% of cnn-3's step, thrown away.
 * This runs the same FusedConv2D forward and the same filter and bias
 * gradients as tfjs-core's fused conv2d, and hands back zeros for the
 * images. Null for any other layer, which then runs its own `call`.
 */
function convolutionWithoutInputGradient(layer: tfl.layers.Layer): ((input: tf.Tensor) => tf.Tensor) | null {
  if (layer.getClassName() !== 'Conv2D') return null;
  const config = layer.getConfig() as { activation: string; useBias: boolean; strides: [number, number]; padding: string; dilationRate: [number, number]; dataFormat: string };
  const dilated = config.dilationRate.some((rate) => rate !== 1);
  if (config.activation !== 'linear' || !config.useBias || config.dataFormat !== 'channelsLast' || dilated || !['same', 'valid'].includes(config.padding)) return null;
  const [kernel, bias] = layer.trainableWeights.map((weight) => weight.read());
  const strides = config.strides;
  const pad = config.padding as 'same' | 'valid';
  const forward = (images: tf.Tensor, filter: tf.Tensor, offset: tf.Tensor, save: tf.GradSaveFunc): { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] } => {
    const value = tf.engine().runKernel(tf.FusedConv2D, { x: images, filter, bias: offset }, { strides, pad, dataFormat: 'NHWC', dilations: config.dilationRate, activation: 'linear' } as unknown as tf.NamedAttrMap) as tf.Tensor;
    save([images, filter, offset]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [savedImages, savedFilter, savedOffset] = saved;
        const filterGradient = tf.engine().runKernel(
          tf.Conv2DBackpropFilter,
          { x: savedImages, dy },
          { strides, pad, dataFormat: 'NHWC', filterShape: savedFilter.shape } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
        const offsetGradient = tf.reshape(tf.sum(dy, [0, 1, 2]), savedOffset.shape);
        return [tf.zerosLike(savedImages), filterGradient, offsetGradient];
      },
    };
  };
  const convolution = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]) as (images: tf.Tensor, filter: tf.Tensor, offset: tf.Tensor) => tf.Tensor;
  return (input) => convolution(input, kernel, bias);
}

/**
 * tfjs-core's Relu gradient is dy·step(x); tfjs-node's Step takes five ops
 * and fills a JavaScript array the size of x with ones on every call (a
 * quarter of LeNet-5's kernel time at batch 128). dy·float(x > 0) is the
 * same float for every finite x (dy·1 or dy·0, signed zeros alike); only
 * step(NaN) = NaN differs, and a NaN stops training anyway.
 */
const reluGradient: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.greater(x, 0), 'float32')) };
  },
};

/**
 * Run `record` (a forward pass on the tape) with the Relu gradient above.
 * The tape takes a node's gradient function when it records the node, so
 * the registry holds ours only while `record` runs; it is synchronous, so
 * nothing else on this thread records meanwhile.
 */
function withLeanReluGradient<T>(record: () => T): T {
  const original = tf.getGradient(tf.Relu);
  tf.registerGradient(reluGradient);
  try {
    return record();
  } finally {
    if (original) tf.registerGradient(original);
    else tf.unregisterGradient(tf.Relu);
  }
}

/** tf.train.adam's defaults; the reference step uses `tf.train.adam(rate)` with these. */
const beta1 = 0.9;
const beta2 = 0.999;

/**
 * Adam over the variables laid end to end, with tfjs-core's AdamOptimizer's
 * arithmetic op for op (its `applyGradients`, beta1 0.9, beta2 0.999, the
 * backend's epsilon).
 */
export class FlatAdam {
  private readonly shapes: number[][];
  private readonly sizes: number[];
  private readonly epsilon: number;
  /** The parameters end to end, always equal to the variables' values (only this class writes them). */
  private parameters: tf.Tensor1D;
  private firstMoment: tf.Tensor1D;
  private secondMoment: tf.Tensor1D;
  private accumulatedBeta1: tf.Scalar;
  private accumulatedBeta2: tf.Scalar;

  constructor(private readonly variables: tf.Variable[]) {
    this.shapes = variables.map((variable) => variable.shape);
    this.sizes = variables.map((variable) => variable.size);
    this.epsilon = tf.backend().epsilon();
    this.parameters = tf.tidy(() => tf.concat(variables.map((variable) => tf.reshape(variable, [-1])))) as tf.Tensor1D;
    this.firstMoment = tf.zerosLike(this.parameters);
    this.secondMoment = tf.zerosLike(this.parameters);
    this.accumulatedBeta1 = tf.scalar(beta1);
    this.accumulatedBeta2 = tf.scalar(beta2);
  }

  /** The parameters end to end (owned by this object). */
  get flatParameters(): tf.Tensor1D {
    return this.parameters;
  }

  /** Gradients in the variables' shapes, end to end. */
  flatten(gradients: tf.Tensor[]): tf.Tensor1D {
    return tf.tidy(() => tf.concat(gradients.map((gradient) => tf.reshape(gradient, [-1])))) as tf.Tensor1D;
  }

  /** One update with gradient `gradient` (end to end) at `learningRate`. */
  apply(gradient: tf.Tensor1D, learningRate: number): void {
    const [parameters, firstMoment, secondMoment, accumulatedBeta1, accumulatedBeta2] = tf.tidy(() => {
      const oneMinusAccBeta1 = tf.sub(1, this.accumulatedBeta1);
      const oneMinusAccBeta2 = tf.sub(1, this.accumulatedBeta2);
      const newFirstMoment = tf.add(tf.mul(this.firstMoment, beta1), tf.mul(gradient, 1 - beta1));
      const newSecondMoment = tf.add(tf.mul(this.secondMoment, beta2), tf.mul(tf.square(gradient), 1 - beta2));
      const biasCorrectedFirstMoment = tf.div(newFirstMoment, oneMinusAccBeta1);
      const biasCorrectedSecondMoment = tf.div(newSecondMoment, oneMinusAccBeta2);
      const newParameters = tf.add(tf.mul(tf.div(biasCorrectedFirstMoment, tf.add(tf.sqrt(biasCorrectedSecondMoment), this.epsilon)), -learningRate), this.parameters);
      return [newParameters, newFirstMoment, newSecondMoment, tf.mul(this.accumulatedBeta1, beta1), tf.mul(this.accumulatedBeta2, beta2)];
    });
    tf.dispose([this.parameters, this.firstMoment, this.secondMoment, this.accumulatedBeta1, this.accumulatedBeta2]);
    this.parameters = parameters as tf.Tensor1D;
    this.firstMoment = firstMoment as tf.Tensor1D;
    this.secondMoment = secondMoment as tf.Tensor1D;
    this.accumulatedBeta1 = accumulatedBeta1 as tf.Scalar;
    this.accumulatedBeta2 = accumulatedBeta2 as tf.Scalar;
    // In a tidy, as tfjs-core's optimizers assign: the variable keeps the data, the tensor handed to it goes.
    tf.tidy(() => {
      const pieces = tf.split(this.parameters, this.sizes);
      this.variables.forEach((variable, index) => variable.assign(tf.reshape(pieces[index], this.shapes[index])));
    });
  }

  dispose(): void {
    tf.dispose([this.parameters, this.firstMoment, this.secondMoment, this.accumulatedBeta1, this.accumulatedBeta2]);
  }
}

/**
 * The forward and backward pass of the lean step: `objective` and its
 * gradient with respect to the model's trainable variables (as tf.variableGrads).
 */
export function leanGradients(model: tfl.LayersModel, objective: Objective): (images: tf.Tensor4D, labels: tf.Tensor1D) => { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const forward = sequentialForward(model);
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  return (images, labels) => tf.variableGrads(() => withLeanReluGradient(() => objective(forward(images), labels)), variables);
}

/** The lean step for `model` with objective mean cross-entropy + (λ/2)·‖θ‖², λ = `weightDecay`. */
export function leanStep(model: tfl.LayersModel, crossEntropy: Objective, weightDecay: number): TrainingStep {
  const gradients = leanGradients(model, crossEntropy);
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const optimizer = new FlatAdam(variables);
  const decayFactor = 0.5 * weightDecay;
  return {
    run(images, labels, learningRate) {
      const { value: crossEntropyValue, grads } = gradients(images, labels);
      const [objective, gradient] = tf.tidy(() => {
        // As the reference computes it, from per-variable sums, so the reported objective is the same float.
        const decay = tf.mul(decayFactor, tf.addN(variables.map((variable) => tf.sum(tf.square(variable)))));
        const crossEntropyGradient = optimizer.flatten(variables.map((variable) => grads[variable.name]));
        const decayGradient = tf.mul(tf.mul(optimizer.flatParameters, 2), decayFactor);
        return [tf.add(crossEntropyValue, decay) as tf.Scalar, tf.add(crossEntropyGradient, decayGradient) as tf.Tensor1D];
      });
      tf.dispose([crossEntropyValue, ...Object.values(grads)]);
      optimizer.apply(gradient, learningRate);
      gradient.dispose();
      return objective;
    },
    dispose() {
      optimizer.dispose();
    },
  };
}
