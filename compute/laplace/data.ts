/** What the Laplace code needs of a data set: inputs in batches and integer labels. */
import * as tf from '@tensorflow/tfjs-core';

export interface LaplaceData {
  count: number;
  /** Inputs [end - start, ...inputShape]; the caller disposes the tensor. */
  inputs(start: number, end: number): tf.Tensor;
  labels: Int32Array | Uint8Array | readonly number[];
}

/**
 * Grey images as one row-major float array (the study's ImageSet has this shape); declared
 * here rather than imported so the library does not depend on the study's data layer.
 */
export interface GreyImages {
  count: number;
  height: number;
  width: number;
  /** count × height × width, row-major. */
  images: Float32Array;
  labels: Int32Array | Uint8Array | readonly number[];
}

/** Grey images as Laplace data ([n, height, width, 1] inputs). */
export function imageData(set: GreyImages): LaplaceData {
  const pixels = set.height * set.width;
  return {
    count: set.count,
    inputs: (start, end) => tf.tensor4d(set.images.subarray(start * pixels, end * pixels), [end - start, set.height, set.width, 1]),
    labels: set.labels,
  };
}

/** Laplace data from a tensor of inputs and an array of labels. */
export function tensorData(inputs: tf.Tensor, labels: Int32Array | Uint8Array | readonly number[]): LaplaceData {
  if (inputs.shape[0] !== labels.length) {
    throw new Error(`There are ${inputs.shape[0]} inputs but ${labels.length} labels; pass one label per input.`);
  }
  return {
    count: labels.length,
    inputs: (start, end) => tf.slice(inputs, start, end - start),
    labels,
  };
}
