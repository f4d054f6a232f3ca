/** Batched forward passes of a trained model over an image set. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageSet } from '../data/index.ts';
import { imageRange, softmaxRows } from './tensors.ts';
import { classCount } from './zoo.ts';

/** Logits for every image of `set`, row-major [count, classes]. */
export async function predictLogits(model: tfl.LayersModel, set: ImageSet, batchSize = 1000): Promise<Float32Array> {
  const out = new Float32Array(set.count * classCount);
  for (let start = 0; start < set.count; start += batchSize) {
    const end = Math.min(set.count, start + batchSize);
    const logits = tf.tidy(() => model.apply(imageRange(set, start, end), { training: false }) as tf.Tensor);
    out.set(await logits.data<'float32'>(), start * classCount);
    logits.dispose();
  }
  return out;
}

/** Softmax probabilities for every image of `set`, row-major [count, classes]. */
export async function predictProbabilities(model: tfl.LayersModel, set: ImageSet, batchSize = 1000): Promise<Float32Array> {
  return softmaxRows(await predictLogits(model, set, batchSize), classCount);
}
