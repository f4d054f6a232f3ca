/**
 * The native backend's kernels that the library's training, curvature and
 * predictives lean on, checked against the cpu backend (an independent
 * implementation in plain JavaScript) on seeded random inputs: matrix
 * products with every transpose, the two convolution gradients, max-pool
 * gradients with ties, the gradients of a small CNN, and Adam lowering a
 * loss. Skipped, saying so, where `npm run setup -- --native` has not built
 * the binding.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { nativeBinding } from '../../compute/backend/native.ts';
import { Random } from '../../compute/laplace/random.ts';
import { relativeError } from '../laplace/helpers.ts';

type Rank4 = [number, number, number, number];
type Padding = 'same' | 'valid';
type Pair = [number, number];

// TensorFlow's kernels (oneDNN, Eigen) sum in other orders than the cpu backend's loops.
const TOLERANCE = 2e-5;
const built = 'path' in nativeBinding('@tensorflow/tfjs-node');
const native = 'tensorflow';

async function onBackend(name: string, compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(name);
  const results = tf.tidy(compute);
  const values = results.map((t) => t.dataSync() as Float32Array);
  tf.dispose(results);
  return values;
}

async function againstCpu(compute: () => tf.Tensor[]): Promise<number[]> {
  const reference = await onBackend('cpu', compute);
  const actual = await onBackend(native, compute);
  return actual.map((values, i) => relativeError(values, reference[i]));
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

describe.skipIf(!built)('native kernels against cpu', () => {
  beforeAll(async () => {
    await startBackend('node');
  });

  it('runs on TensorFlow 2.21 through the built binding', () => {
    expect(tf.getBackend()).toBe(native);
    const binding = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
    expect(binding.TF_Version).toBe('2.21.0');
  });

  describe('BatchMatMul', () => {
    const shapes: Array<[string, number[], number[]]> = [
      ['2-D', [5, 7], [7, 3]],
      ['batched', [3, 5, 7], [3, 7, 3]],
      ['broadcast batch', [3, 5, 7], [1, 7, 3]],
      ['dense-layer sized', [128, 300], [300, 64]],
    ];
    const swapLast = (shape: number[]) => [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]];
    const cases = shapes.flatMap(([name, a, b]) => [false, true].flatMap((ta) => [false, true].map((tb) => [`${name}, transposeA ${ta}, transposeB ${tb}`, a, b, ta, tb] as const)));
    it.each(cases)('matches cpu: %s', async (_, aShape, bShape, transposeA, transposeB) => {
      const random = new Random(77);
      const [aStored, bStored] = [transposeA ? swapLast(aShape) : aShape, transposeB ? swapLast(bShape) : bShape];
      const [aValues, bValues] = [random.normals(size(aStored)), random.normals(size(bStored))];
      const [error] = await againstCpu(() => [tf.matMul(tf.tensor(aValues, aStored as number[]) as tf.Tensor, tf.tensor(bValues, bStored as number[]) as tf.Tensor, transposeA, transposeB)]);
      expect(error).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  describe('convolution gradients', () => {
    const shapes: Array<[Rank4, Rank4]> = [
      [[2, 9, 9, 1], [5, 5, 1, 6]],
      [[3, 8, 7, 3], [3, 2, 3, 4]],
      [[2, 6, 6, 6], [3, 3, 6, 16]],
      [[2, 11, 9, 2], [4, 4, 2, 3]],
    ];
    const cases = shapes.flatMap(([x, f]) => ([[1, 1], [2, 2], [2, 1]] as Pair[]).flatMap((strides) => (['same', 'valid'] as Padding[]).map((pad) => [`x [${x}], filter [${f}], strides [${strides}], ${pad}`, x, f, strides, pad] as const)));
    it.each(cases)('Conv2DBackpropFilter and Conv2DBackpropInput match cpu: %s', async (_, inShape, filterShape, strides, pad) => {
      const random = new Random(101);
      const outShape = tf.backend_util.computeConv2DInfo(inShape, filterShape, strides, 1, pad).outShape as Rank4;
      const [xValues, filterValues, dyValues] = [random.normals(size(inShape)), random.normals(size(filterShape)), random.normals(size(outShape))];
      const errors = await againstCpu(() => {
        const [x, filter, dy] = [tf.tensor4d(xValues, inShape), tf.tensor4d(filterValues, filterShape), tf.tensor4d(dyValues, outShape)];
        return [
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat: 'NHWC', filterShape }) as tf.Tensor,
          tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides, pad, dataFormat: 'NHWC', inputShape: inShape }) as tf.Tensor,
        ];
      });
      for (const error of errors) expect(error).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  describe('MaxPoolGrad', () => {
    const cases = ([[2, 8, 8, 1], [3, 7, 9, 3]] as Rank4[]).flatMap((x) =>
      ([[[2, 2], [2, 2]], [[3, 3], [2, 2]], [[2, 3], [1, 1]]] as Array<[Pair, Pair]>).flatMap(([window, strides]) => (['same', 'valid'] as Padding[]).map((pad) => [`x [${x}], window [${window}], strides [${strides}], ${pad}`, x, window, strides, pad] as const)),
    );
    it.each(cases)('matches cpu, ties included: %s', async (_, inShape, filterSize, strides, pad) => {
      const random = new Random(303);
      // A third of the inputs are exact zeros, as after a ReLU, so windows have ties.
      const xValues = random.normals(size(inShape)).map((v) => (v > 0 && v < 0.43 ? 0 : v));
      const outShape = tf.backend_util.computePool2DInfo(inShape, filterSize, strides, 1, pad).outShape as Rank4;
      const dyValues = random.normals(size(outShape));
      const [poolError, gradientError] = await againstCpu(() => {
        const x = tf.tensor4d(xValues, inShape);
        const y = tf.maxPool(x, filterSize, strides, pad);
        return [y, tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor4d(dyValues, outShape), input: x, output: y }, { filterSize, strides, pad }) as tf.Tensor];
      });
      expect(poolError).toBe(0);
      expect(gradientError).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  it('gives a small CNN the gradients cpu gives, for the input, a pre-activation and every weight', async () => {
    const random = new Random(505);
    const inShape: Rank4 = [3, 12, 12, 2];
    const xValues = random.normals(size(inShape));
    const w1Values = random.normals(3 * 3 * 2 * 4).map((v) => v * 0.4);
    const b1Values = random.normals(4).map((v) => v * 0.1);
    const w2Values = random.normals(3 * 2 * 4 * 5).map((v) => v * 0.3);
    const denseValues = random.normals(1 * 2 * 5 * 3).map((v) => v * 0.3);
    const errors = await againstCpu(() => {
      const x = tf.tensor4d(xValues, inShape);
      const [w1, b1, w2, dense] = [tf.tensor4d(w1Values, [3, 3, 2, 4]), tf.tensor1d(b1Values), tf.tensor4d(w2Values, [3, 2, 4, 5]), tf.tensor2d(denseValues, [1 * 2 * 5, 3])];
      const zero = tf.zerosLike(tf.conv2d(x, w1, 1, 'same'));
      const loss = (xIn: tf.Tensor, zeroIn: tf.Tensor, w1In: tf.Tensor, w2In: tf.Tensor, denseIn: tf.Tensor) => {
        const pre = tf.add(tf.add(tf.conv2d(xIn as tf.Tensor4D, w1In as tf.Tensor4D, 1, 'same'), b1), zeroIn);
        const pooled = tf.maxPool(tf.tanh(pre) as tf.Tensor4D, 2, 2, 'valid');
        const second = tf.relu(tf.conv2d(pooled, w2In as tf.Tensor4D, 2, 'valid'));
        const averaged = tf.avgPool(second as tf.Tensor4D, 2, 1, 'valid');
        const logits = tf.matMul(tf.reshape(averaged, [3, -1]), denseIn as tf.Tensor2D);
        return tf.losses.softmaxCrossEntropy(tf.cast(tf.oneHot([0, 2, 1], 3), 'float32'), logits);
      };
      return [loss(x, zero, w1, w2, dense), ...tf.grads(loss)([x, zero, w1, w2, dense])];
    });
    ['loss', 'input', 'pre-activation', 'conv1 filter', 'conv2 filter', 'dense'].forEach((name, i) => expect(errors[i], name).toBeLessThanOrEqual(TOLERANCE));
  });

  it('frees every intermediate of a convolution network’s gradient', async () => {
    await tf.setBackend(native);
    const random = new Random(404);
    const x = tf.tensor4d(random.normals(2 * 9 * 8 * 3), [2, 9, 8, 3]);
    const filter = tf.tensor4d(random.normals(3 * 2 * 3 * 4), [3, 2, 3, 4]);
    const before = tf.memory().numTensors;
    for (const pad of ['same', 'valid'] as Padding[]) {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, pad), 2, 2, 'same')))([x, filter]);
      tf.dispose(grads);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, filter]);
  });
});

// Where it is not built, one skipped test says why (vitest prints its name).
if (!built) describe('native kernels against cpu', () => {
  it.skip('skipped: the native backend is not built here (`npm run setup -- --native` builds it)', () => {});
});
