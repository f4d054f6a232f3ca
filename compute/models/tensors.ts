/** Moving images between the data layer's typed arrays and tensors. */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/index.ts';
import { inputShape } from './zoo.ts';

const pixels = inputShape[0] * inputShape[1] * inputShape[2];

/** The images at `indices` (or the range [start, end)) as a [n, 28, 28, 1] tensor. */
export function imageBatch(set: ImageSet, indices: ArrayLike<number>): tf.Tensor4D {
  const out = new Float32Array(indices.length * pixels);
  for (let row = 0; row < indices.length; row++) {
    const from = indices[row] * pixels;
    out.set(set.images.subarray(from, from + pixels), row * pixels);
  }
  return tf.tensor4d(out, [indices.length, inputShape[0], inputShape[1], inputShape[2]]);
}

export function imageRange(set: ImageSet, start: number, end: number): tf.Tensor4D {
  return tf.tensor4d(set.images.subarray(start * pixels, end * pixels), [end - start, inputShape[0], inputShape[1], inputShape[2]]);
}

export function labelBatch(set: ImageSet, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let row = 0; row < indices.length; row++) out[row] = set.labels[indices[row]];
  return out;
}

/** Row-wise softmax of logits held in a typed array, in float64 for stability. */
export function softmaxRows(logits: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let start = 0; start < logits.length; start += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[start + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[start + c] - max);
    for (let c = 0; c < classes; c++) out[start + c] = Math.exp(logits[start + c] - max) / sum;
  }
  return out;
}
