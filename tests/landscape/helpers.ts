/**
 * A tiny network and data for the landscape tests, and the reference loss:
 * tfjs-layers' own forward pass (model.apply) with weights set by hand
 * through setWeights, and the training code's crossEntropy. Nothing here
 * goes through compute/landscape or Network.forward.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { crossEntropy } from '../../compute/models/train.ts';
import { Random } from '../../compute/laplace/random.ts';

/**
 * 8×8×1 → conv 3@3×3 valid relu (bias) → conv 4@2×2 stride 2 tanh WITHOUT bias → flatten (36)
 * → dense 5 relu → dense 10 linear logits (10 classes, as crossEntropy expects).
 */
export function buildTinyCnn(seed: number, suffix = ''): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, padding: 'valid', activation: 'relu', name: `land_conv1${suffix}` }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 2, strides: 2, padding: 'valid', activation: 'tanh', useBias: false, name: `land_conv2${suffix}` }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 5, activation: 'relu', name: `land_dense1${suffix}` }),
      tfl.layers.dense({ units: 10, activation: 'linear', name: `land_dense2${suffix}` }),
    ],
  });
  const random = new Random(seed);
  const weights = model.getWeights().map((w) => {
    const fanIn = w.shape.length > 1 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
    const scale = w.shape.length > 1 ? 1.5 / Math.sqrt(fanIn) : 0.2;
    return tf.tensor(Float32Array.from(random.normals(w.size), (v) => v * scale), w.shape);
  });
  model.setWeights(weights);
  tf.dispose(weights);
  return model;
}

/** `count` inputs uniform in [0, 1] and labels: the model's own prediction, every third one replaced by a random class. */
export function tinyData(model: tfl.LayersModel, count: number, seed: number): { inputs: tf.Tensor4D; labels: Int32Array } {
  const random = new Random(seed);
  const inputs = tf.tensor4d(Float32Array.from({ length: count * 64 }, () => random.uniform()), [count, 8, 8, 1]);
  const predicted = tf.tidy(() => tf.argMax(model.apply(inputs) as tf.Tensor, 1).dataSync());
  const labels = Int32Array.from(predicted, (label, i) => (i % 3 === 0 ? random.integer(10) : label));
  return { inputs, labels };
}

/** Mean cross-entropy and accuracy of the model with its current weights, through model.apply. */
export function referenceLoss(model: tfl.LayersModel, inputs: tf.Tensor, labels: Int32Array): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const logits = model.apply(inputs, { training: false }) as tf.Tensor2D;
    const loss = crossEntropy(logits, tf.tensor1d(labels, 'int32')).dataSync()[0];
    const predicted = tf.argMax(logits, 1).dataSync();
    let correct = 0;
    predicted.forEach((label, i) => {
      if (label === labels[i]) correct++;
    });
    return { loss, accuracy: correct / labels.length };
  });
}

/**
 * Sets `target`'s weights to those of `source` plus Σ_k c_k·d_k, by hand in float64: each
 * direction layer is W̄ row-major (kernel rows = the tfjs kernel flattened row-major, then the
 * bias row when the layer has a bias), so its first kernel.size entries move the kernel and
 * the rest the bias.
 */
export function setShiftedWeights(target: tfl.LayersModel, source: tfl.LayersModel, directions: Float32Array[][], coefficients: number[]): void {
  const parameterLayers = source.layers.filter((layer) => ['Dense', 'Conv2D'].includes(layer.getClassName()));
  const targetLayers = target.layers.filter((layer) => ['Dense', 'Conv2D'].includes(layer.getClassName()));
  parameterLayers.forEach((layer, index) => {
    let offset = 0;
    const shifted = layer.getWeights().map((weight) => {
      const values = weight.dataSync();
      const moved = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        let value = values[i];
        directions.forEach((direction, k) => {
          value += coefficients[k] * direction[index][offset + i];
        });
        moved[i] = value;
      }
      offset += values.length;
      return tf.tensor(moved, weight.shape);
    });
    if (offset !== directions[0][index].length) throw new Error(`layer ${index}: ${offset} weights but ${directions[0][index].length} direction entries`);
    targetLayers[index].setWeights(shifted);
    tf.dispose(shifted);
  });
}

/** A Gaussian surface A·exp(−½ dᵀ Σ⁻¹ d) on alphas × betas, one row per β (the landscape layout). */
export function gaussianSurface(alphas: number[], betas: number[], amplitude: number, mean: [number, number], covariance: [[number, number], [number, number]]): number[] {
  const [[sxx, sxy], [, syy]] = covariance;
  const det = sxx * syy - sxy * sxy;
  const out: number[] = [];
  for (const beta of betas) {
    for (const alpha of alphas) {
      const dx = alpha - mean[0];
      const dy = beta - mean[1];
      const q = (syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / det;
      out.push(amplitude * Math.exp(-0.5 * q));
    }
  }
  return out;
}

/** A linear softmax classifier (one Dense layer, linear logits) with seeded weights: its cross-entropy's Hessian is exactly the Gauss–Newton matrix. */
export function buildLinearSoftmax(features: number, classes: number, seed: number, suffix: string): tfl.Sequential {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [features], units: classes, activation: 'linear', name: `land_linear${suffix}` })] });
  const random = new Random(seed);
  const weights = model.getWeights().map((w) => tf.tensor(Float32Array.from(random.normals(w.size), (v) => v * 0.8), w.shape));
  model.setWeights(weights);
  tf.dispose(weights);
  return model;
}

/**
 * Σ_n −log softmax(x̄_n W̄)_{y_n} in float64 on the host for a linear softmax classifier with
 * W̄ = w ([features + 1] × classes, row-major, bias row last): no tfjs in the loop.
 */
export function linearLossSum(w: ArrayLike<number>, x: ArrayLike<number>, labels: ArrayLike<number>, features: number, classes: number): number {
  let total = 0;
  for (let n = 0; n < labels.length; n++) {
    const logits = new Float64Array(classes);
    for (let c = 0; c < classes; c++) {
      let z = w[features * classes + c];
      for (let i = 0; i < features; i++) z += x[n * features + i] * w[i * classes + c];
      logits[c] = z;
    }
    const max = Math.max(...logits);
    let sum = 0;
    for (const z of logits) sum += Math.exp(z - max);
    total += max + Math.log(sum) - logits[labels[n]];
  }
  return total;
}
