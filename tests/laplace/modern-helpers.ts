/**
 * Models and references for the modern-layer tests (modern-layers.test.ts on cpu,
 * modern-layers-wasm.test.ts on wasm): everything through tfjs-layers' own forward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { perExampleGradients } from '../../compute/laplace/curvature.ts';
import { disposeJacobianBatch, jacobianBatch, type Network } from '../../compute/laplace/index.ts';
import { seedWeights } from './helpers.ts';

export const classes = 3;

/** BatchNormalization's moving statistics away from 0 and 1 (a model run in training mode would differ). */
export function moveStatistics(model: tfl.LayersModel): void {
  for (const layer of model.layers.filter((candidate) => candidate.getClassName() === 'BatchNormalization')) {
    const [gamma, beta, mean, variance] = layer.getWeights();
    const positive = tf.add(tf.abs(variance), 0.5);
    layer.setWeights([gamma, beta, mean, positive]);
    positive.dispose();
  }
}

/**
 * Sequential: conv elu → BN → depthwise (×2, stride 2) tanh → separable gelu → GAP → dense swish →
 * LeakyReLU → BN → dense selu → dense sigmoid → dense logits. LeakyReLU and selu (whose slope
 * jumps at 0) sit where they see few values: a finite difference across a kink would be wrong,
 * not the library.
 */
export function buildSequential(seed: number): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, padding: 'same', activation: 'elu', name: `seq_conv_${seed}` }),
      tfl.layers.batchNormalization({ name: `seq_bn1_${seed}` }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'tanh', name: `seq_depthwise_${seed}` }),
      tfl.layers.separableConv2d({ filters: 4, kernelSize: 2, padding: 'valid', activation: 'gelu', name: `seq_separable_${seed}` }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 5, activation: 'swish', name: `seq_dense1_${seed}` }),
      tfl.layers.leakyReLU({ alpha: 0.2 }),
      tfl.layers.batchNormalization({ name: `seq_bn2_${seed}` }),
      tfl.layers.dense({ units: 4, activation: 'selu', name: `seq_dense2_${seed}` }),
      tfl.layers.dense({ units: 4, activation: 'sigmoid', name: `seq_dense3_${seed}` }),
      tfl.layers.dense({ units: classes, name: `seq_out_${seed}` }),
    ],
  });
  seedWeights(model, seed, 1.5);
  moveStatistics(model);
  return model;
}

/** A residual graph: conv → BN → swish = x1; depthwise(x1) → BN, plus a 1×1 projection of x1; Add → gelu → GAP → dense logits. */
export function buildResidual(seed: number, elementwise = true): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 6, 2] });
  const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => layer.apply(x) as tfl.SymbolicTensor;
  let x1 = apply(tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: `res_conv_${seed}` }), input);
  if (elementwise) x1 = apply(tfl.layers.batchNormalization({ name: `res_bn1_${seed}` }), x1);
  x1 = apply(tfl.layers.activation({ activation: 'swish' }), x1);
  const main = elementwise
    ? apply(tfl.layers.batchNormalization({ name: `res_bn2_${seed}` }), apply(tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: `res_depthwise_${seed}` }), x1))
    : apply(tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh', name: `res_conv2_${seed}` }), x1);
  const shortcut = apply(tfl.layers.conv2d({ filters: 4, kernelSize: 1, name: `res_projection_${seed}` }), x1);
  const sum = apply(tfl.layers.activation({ activation: 'gelu' }), apply(tfl.layers.add(), [main, shortcut]));
  const output = apply(tfl.layers.dense({ units: classes, name: `res_out_${seed}` }), apply(tfl.layers.globalAveragePooling2d({}), sum));
  const model = tfl.model({ inputs: input, outputs: output });
  seedWeights(model, seed, 1.5);
  moveStatistics(model);
  return model;
}

/** Each parameter layer as the test reads the layout: the model layer and which of its weights, in W̄ order. */
export function parameterBlocks(model: tfl.LayersModel): { layer: tfl.layers.Layer; weights: number[] }[] {
  return model.layers.flatMap((layer) => {
    switch (layer.getClassName()) {
      case 'Dense':
      case 'Conv2D':
      case 'DepthwiseConv2D':
        return [{ layer, weights: layer.getWeights().map((_, index) => index) }];
      case 'SeparableConv2D':
        return [
          { layer, weights: [0] },
          { layer, weights: layer.getWeights().length > 2 ? [1, 2] : [1] },
        ];
      case 'BatchNormalization':
        return [{ layer, weights: [0, 1] }];
      default:
        return [];
    }
  });
}

/** Logits by tfjs-layers, [B, C]. */
export const logitsOf = (model: tfl.LayersModel, x: tf.Tensor) => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);

/** ∂f_c/∂θ of one block by central differences of model.predict: [example][class][entry]. */
export function finiteDifferenceJacobian(model: tfl.LayersModel, x: tf.Tensor, block: { layer: tfl.layers.Layer; weights: number[] }, h: number): number[][][] {
  const all = block.layer.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  const count = x.shape[0];
  const entries = block.weights.reduce((sum, index) => sum + all[index].length, 0);
  const out = Array.from({ length: count }, () => Array.from({ length: classes }, () => new Array<number>(entries).fill(0)));
  const shapes = block.layer.getWeights().map((w) => w.shape);
  const set = (values: Float32Array[]) => {
    const tensors = values.map((v, i) => tf.tensor(v, shapes[i]));
    block.layer.setWeights(tensors);
    tf.dispose(tensors);
  };
  let entry = 0;
  for (const index of block.weights) {
    for (let k = 0; k < all[index].length; k++, entry++) {
      const original = all[index][k];
      all[index][k] = original + h;
      set(all);
      const plus = logitsOf(model, x);
      all[index][k] = original - h;
      set(all);
      const minus = logitsOf(model, x);
      all[index][k] = original;
      for (let b = 0; b < count; b++) for (let c = 0; c < classes; c++) out[b][c][entry] = (plus[b * classes + c] - minus[b * classes + c]) / (2 * h);
    }
  }
  set(all);
  return out;
}

/** The library's per-class Jacobian of parameter layer `layer`: [example][class][entry] from jacobianBatch and perExampleGradients. */
export function libraryJacobian(network: Network, model: tfl.LayersModel, x: tf.Tensor, layer: number): number[][][] {
  const weights = network.matricesFromModel(model);
  const batch = jacobianBatch(network, weights, x, [layer]);
  const spec = network.layers[layer];
  const count = x.shape[0];
  const out = tf.tidy(() =>
    Array.from({ length: classes }, (_, c) => {
      const a = batch.inputs[layer]!;
      const all = batch.gradients[layer];
      // A linear output layer's gradient is e_c (jacobianBatch leaves it null).
      const g = all ? tf.squeeze(tf.slice(all, [0, c], [-1, 1]), [1]) : tf.oneHot(tf.fill([count], c, 'int32') as tf.Tensor1D, classes);
      return (tf.reshape(perExampleGradients(a, g, spec), [count, -1]).arraySync() as number[][]);
    }),
  );
  disposeJacobianBatch(batch);
  tf.dispose(weights);
  return Array.from({ length: count }, (_, b) => out.map((perClass) => perClass[b]));
}

/** Per example, per block, the W̄ gradient of a scalar through model.apply, by tf.variableGrads. */
export function blockGradients(model: tfl.LayersModel, f: () => tf.Scalar): Float64Array[] {
  const blocks = parameterBlocks(model);
  const variables = [...new Set(blocks.flatMap((block) => block.weights.map((index) => block.layer.weights[index].read() as tf.Variable)))];
  const { value, grads } = tf.variableGrads(f, variables);
  const out = blocks.map((block) => Float64Array.from(block.weights.flatMap((index) => Array.from(grads[(block.layer.weights[index].read() as tf.Variable).name].dataSync()))));
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

export const logSoftmaxAt = (model: tfl.LayersModel, xi: tf.Tensor, c: number) => () => tf.sum(tf.slice(tf.logSoftmax(model.apply(xi, { training: false }) as tf.Tensor2D), [0, c], [1, 1])) as tf.Scalar;
export const logitAt = (model: tfl.LayersModel, xi: tf.Tensor, c: number) => () => tf.sum(tf.slice(model.apply(xi, { training: false }) as tf.Tensor2D, [0, c], [1, 1])) as tf.Scalar;


/**
 * Central differences in float32 carry a rounding error of about ε·|f|/h (ε = 6e-8, |f| the largest
 * logit), on top of a truncation error well under 1e-3 of the largest entry for smooth layers: the
 * tolerance is 2e-3 of the largest entry plus twice that rounding error.
 */
export function jacobianTolerance(ours: number[], reference: number[], logits: ArrayLike<number>, h: number): { difference: number; tolerance: number } {
  let difference = 0;
  let scale = 0;
  reference.forEach((value, index) => {
    difference = Math.max(difference, Math.abs(ours[index] - value));
    scale = Math.max(scale, Math.abs(value));
  });
  const largestLogit = Math.max(...Array.from(logits, Math.abs));
  return { difference, tolerance: 2e-3 * scale + (2 * 6e-8 * largestLogit) / h };
}
