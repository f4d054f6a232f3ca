/**
 * The wasm kernels registered by registerWasmKernels, checked against the cpu
 * backend (an independent implementation in plain JavaScript) on seeded random
 * inputs, and a small CNN trained on wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
// Also registers the gradient functions, which tfjs-core's Node bundle alone does not.
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerWasmKernels, wasmKernelNames } from '../../compute/backend/wasm-kernels.ts';
import { Random } from '../../compute/laplace/random.ts';
import { relativeError } from '../laplace/helpers.ts';

type Rank4 = [number, number, number, number];
type Padding = 'same' | 'valid';
type Strides = [number, number];

const TOLERANCE = 1e-5;

/** Runs `compute` on a backend and returns the values of the tensors it makes. */
async function onBackend(name: 'cpu' | 'wasm', compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(name);
  const results = tf.tidy(compute);
  const values = results.map((t) => t.dataSync() as Float32Array);
  tf.dispose(results);
  return values;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function conv2DOutShape(inShape: Rank4, filterShape: Rank4, strides: Strides, pad: Padding): Rank4 {
  return tf.backend_util.computeConv2DInfo(inShape, filterShape, strides, 1, pad).outShape as Rank4;
}

interface ConvCase {
  inShape: Rank4;
  filterShape: Rank4;
  strides: Strides;
  pad: Padding;
}

/** Strides 1 and 2 (and one of each), both paddings, square and non-square filters. */
function convCases(): ConvCase[] {
  const shapes: Array<[Rank4, Rank4]> = [
    [[2, 9, 9, 1], [5, 5, 1, 6]], // LeNet-like first layer, single input channel
    [[3, 8, 7, 3], [3, 2, 3, 4]], // non-square filter and image
    [[2, 7, 10, 4], [2, 3, 4, 5]],
    [[2, 6, 6, 6], [3, 3, 6, 16]], // more output than input channels
    [[2, 8, 8, 5], [1, 1, 5, 2]], // 1×1: filter smaller than the stride
    [[2, 11, 9, 2], [4, 4, 2, 3]], // even filter: 'same' pads unevenly
  ];
  const cases: ConvCase[] = [];
  for (const [inShape, filterShape] of shapes) {
    for (const strides of [[1, 1], [2, 2], [2, 1]] as Strides[]) {
      for (const pad of ['same', 'valid'] as Padding[]) cases.push({ inShape, filterShape, strides, pad });
    }
  }
  return cases;
}

const caseName = (c: ConvCase) =>
  `x [${c.inShape}], filter [${c.filterShape}], strides [${c.strides}], ${c.pad}`;

/** Largest relative error seen per kernel, printed at the end for the record. */
const worstErrors: Record<string, number> = {};
function record(kernel: string, error: number): void {
  worstErrors[kernel] = Math.max(worstErrors[kernel] ?? 0, error);
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmKernels();
});

afterAll(() => {
  console.info(`Largest relative error against cpu: ${JSON.stringify(worstErrors)}`);
});

describe('registerWasmKernels', () => {
  it('can be called again without warnings and keeps the same kernels', () => {
    const before = wasmKernelNames.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
    const warn = vi.spyOn(console, 'warn');
    registerWasmKernels();
    registerWasmKernels();
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    const after = wasmKernelNames.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
    expect(after).toEqual(before);
    expect(wasmKernelNames).toEqual(
      expect.arrayContaining(['BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad']),
    );
  });
});

describe('BatchMatMul on wasm', () => {
  // Plain, batched, and with a batch of one broadcast against a batch of three; every transpose combination.
  const shapes: Array<[string, number[], number[]]> = [
    ['2-D', [5, 7], [7, 3]],
    ['batched', [3, 5, 7], [3, 7, 3]],
    ['broadcast batch', [3, 5, 7], [1, 7, 3]],
    ['dense-layer sized', [128, 300], [300, 64]],
  ];
  const cases = shapes.flatMap(([name, aShape, bShape]) =>
    [false, true].flatMap((transposeA) => [false, true].map((transposeB) => [`${name}, transposeA ${transposeA}, transposeB ${transposeB}`, aShape, bShape, transposeA, transposeB] as const)),
  );
  const swapLast = (shape: number[]) => [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]];
  it.each(cases)('matches cpu: %s', async (_, aShape, bShape, transposeA, transposeB) => {
    const random = new Random(77);
    const aStored = transposeA ? swapLast(aShape) : aShape;
    const bStored = transposeB ? swapLast(bShape) : bShape;
    const aValues = random.normals(size(aStored));
    const bValues = random.normals(size(bStored));
    const compute = () => [
      tf.engine().runKernel('BatchMatMul', { a: tf.tensor(aValues, aStored), b: tf.tensor(bValues, bStored) }, { transposeA, transposeB }) as tf.Tensor,
    ];
    const [reference] = await onBackend('cpu', compute);
    const [actual] = await onBackend('wasm', compute);
    const error = relativeError(actual, reference);
    record('BatchMatMul', error);
    expect(error).toBeLessThanOrEqual(TOLERANCE);
  });

  it('frees the transposed copies', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const a = tf.tensor(new Random(78).normals(6 * 4), [6, 4]);
    const before = backend.numDataIds();
    const product = tf.matMul(a, a, true, false);
    expect(product.shape).toEqual([4, 4]);
    product.dispose();
    expect(backend.numDataIds()).toBe(before);
    a.dispose();
  });
});

describe('Conv2DBackpropFilter on wasm', () => {
  it.each(convCases().map((c) => [caseName(c), c] as const))('matches cpu: %s', async (_, c) => {
    const random = new Random(101);
    const xValues = random.normals(size(c.inShape));
    const outShape = conv2DOutShape(c.inShape, c.filterShape, c.strides, c.pad);
    const dyValues = random.normals(size(outShape));
    const compute = () => [
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(xValues, c.inShape), dy: tf.tensor4d(dyValues, outShape) },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filterShape },
      ) as tf.Tensor,
    ];
    const [reference] = await onBackend('cpu', compute);
    const [actual] = await onBackend('wasm', compute);
    const error = relativeError(actual, reference);
    record('Conv2DBackpropFilter', error);
    expect(error).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('Conv2DBackpropInput on wasm', () => {
  it.each(convCases().map((c) => [caseName(c), c] as const))('matches cpu: %s', async (_, c) => {
    const random = new Random(202);
    const filterValues = random.normals(size(c.filterShape));
    const outShape = conv2DOutShape(c.inShape, c.filterShape, c.strides, c.pad);
    const dyValues = random.normals(size(outShape));
    const compute = () => [
      tf.engine().runKernel(
        'Conv2DBackpropInput',
        { dy: tf.tensor4d(dyValues, outShape), filter: tf.tensor4d(filterValues, c.filterShape) },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.inShape },
      ) as tf.Tensor,
    ];
    const [reference] = await onBackend('cpu', compute);
    const [actual] = await onBackend('wasm', compute);
    const error = relativeError(actual, reference);
    record('Conv2DBackpropInput', error);
    expect(error).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('MaxPoolGrad on wasm', () => {
  const cases: Array<{ inShape: Rank4; filterSize: Strides; strides: Strides; pad: Padding }> = [];
  for (const inShape of [[2, 8, 8, 1], [3, 7, 9, 3], [2, 6, 6, 8]] as Rank4[]) {
    for (const [filterSize, strides] of [
      [[2, 2], [2, 2]], // the usual MaxPooling2D
      [[3, 3], [2, 2]], // overlapping windows
      [[2, 3], [1, 1]],
      [[3, 2], [1, 2]],
    ] as Array<[Strides, Strides]>) {
      for (const pad of ['same', 'valid'] as Padding[]) cases.push({ inShape, filterSize, strides, pad });
    }
  }
  it.each(cases.map((c) => [`x [${c.inShape}], window [${c.filterSize}], strides [${c.strides}], ${c.pad}`, c] as const))(
    'matches cpu: %s',
    async (_, c) => {
      const random = new Random(303);
      // A third of the inputs are exact zeros, as after a ReLU, so windows have ties;
      // the rest are of both signs, so some windows have negative maxima.
      const xValues = random.normals(size(c.inShape)).map((v) => (v > 0 && v < 0.43 ? 0 : v));
      const outShape = tf.backend_util.computePool2DInfo(c.inShape, c.filterSize, c.strides, 1, c.pad).outShape;
      const dyValues = random.normals(size(outShape));
      const compute = () => {
        const x = tf.tensor4d(xValues, c.inShape);
        const y = tf.maxPool(x, c.filterSize, c.strides, c.pad);
        const dx = tf.engine().runKernel(
          'MaxPoolGrad',
          { dy: tf.tensor4d(dyValues, outShape as Rank4), input: x, output: y },
          { filterSize: c.filterSize, strides: c.strides, pad: c.pad },
        ) as tf.Tensor;
        return [y, dx];
      };
      const [referencePool, reference] = await onBackend('cpu', compute);
      const [actualPool, actual] = await onBackend('wasm', compute);
      expect(relativeError(actualPool, referencePool)).toBe(0);
      const error = relativeError(actual, reference);
      record('MaxPoolGrad', error);
      expect(error).toBeLessThanOrEqual(TOLERANCE);
    },
  );
});

describe('kernels on wasm keep memory tidy', () => {
  it('frees every intermediate', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const random = new Random(404);
    const x = tf.tensor4d(random.normals(2 * 9 * 8 * 3), [2, 9, 8, 3]);
    const filter = tf.tensor4d(random.normals(3 * 2 * 3 * 4), [3, 2, 3, 4]);
    const dataIdsBefore = backend.numDataIds();
    for (const strides of [1, 2]) {
      for (const pad of ['same', 'valid'] as Padding[]) {
        const [dx, dFilter] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), 2, 2, 'same')),
        )([x, filter]);
        tf.dispose([dx, dFilter]);
      }
    }
    expect(backend.numDataIds()).toBe(dataIdsBefore);
    tf.dispose([x, filter]);
  });
});

describe('gradients of a small CNN on wasm', () => {
  it('match cpu for the input, an intermediate pre-activation and every weight', async () => {
    const random = new Random(505);
    const inShape: Rank4 = [3, 12, 12, 2];
    const xValues = random.normals(size(inShape));
    const w1Values = random.normals(3 * 3 * 2 * 4).map((v) => v * 0.4);
    const b1Values = random.normals(4).map((v) => v * 0.1);
    const w2Values = random.normals(3 * 2 * 4 * 5).map((v) => v * 0.3);
    const denseValues = random.normals(2 * 3 * 5 * 3).map((v) => v * 0.3);
    const labels = [0, 2, 1];
    const compute = () => {
      const x = tf.tensor4d(xValues, inShape);
      const w1 = tf.tensor4d(w1Values, [3, 3, 2, 4]);
      const b1 = tf.tensor1d(b1Values);
      const w2 = tf.tensor4d(w2Values, [3, 2, 4, 5]);
      const dense = tf.tensor2d(denseValues, [2 * 3 * 5, 3]);
      const firstPreActivation = tf.add(tf.conv2d(x, w1, 1, 'same'), b1);
      // A zero added to the pre-activation makes it a differentiable input.
      const zero = tf.zerosLike(firstPreActivation);
      const loss = (xIn: tf.Tensor, zeroIn: tf.Tensor, w1In: tf.Tensor, w2In: tf.Tensor, denseIn: tf.Tensor) => {
        const pre = tf.add(tf.add(tf.conv2d(xIn as tf.Tensor4D, w1In as tf.Tensor4D, 1, 'same'), b1), zeroIn);
        // tanh before max-pooling gives windows with negative maxima.
        const pooled = tf.maxPool(tf.tanh(pre) as tf.Tensor4D, 2, 2, 'valid');
        const second = tf.relu(tf.conv2d(pooled, w2In as tf.Tensor4D, 2, 'valid'));
        const averaged = tf.avgPool(second as tf.Tensor4D, 2, 1, 'same');
        const logits = tf.matMul(tf.reshape(averaged, [3, -1]), denseIn as tf.Tensor2D);
        return tf.losses.softmaxCrossEntropy(tf.cast(tf.oneHot(labels, 3), 'float32'), logits);
      };
      return [loss(x, zero, w1, w2, dense), ...tf.grads(loss)([x, zero, w1, w2, dense])];
    };
    const reference = await onBackend('cpu', compute);
    const actual = await onBackend('wasm', compute);
    const names = ['loss', 'input', 'pre-activation', 'conv1 filter', 'conv2 filter', 'dense'];
    names.forEach((name, i) => {
      expect(relativeError(actual[i], reference[i]), name).toBeLessThanOrEqual(TOLERANCE);
    });
  });
});

describe('training a tiny CNN on wasm', () => {
  it('lowers the loss with Adam and keeps every weight finite', async () => {
    await tf.setBackend('wasm');
    tf.engine().startScope();
    const random = new Random(606);
    const examples = 16;
    const images = tf.tensor4d(random.normals(examples * 10 * 10 * 1), [examples, 10, 10, 1]);
    const labels = tf.cast(tf.oneHot(Array.from({ length: examples }, () => random.integer(3)), 3), 'float32');
    const initializer = (seed: number) => tfl.initializers.glorotUniform({ seed });
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [10, 10, 1],
          filters: 4,
          kernelSize: [3, 2],
          padding: 'same',
          activation: 'relu',
          kernelInitializer: initializer(1),
        }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid', activation: 'tanh', kernelInitializer: initializer(2) }),
        tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, kernelInitializer: initializer(3) }),
      ],
    });
    const optimizer = tf.train.adam(0.01);
    const lossOf = () => tf.losses.softmaxCrossEntropy(labels, model.apply(images) as tf.Tensor) as tf.Scalar;
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) {
      const loss = optimizer.minimize(lossOf, true) as tf.Scalar;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.8 * losses[0]);
    for (const weight of model.weights) {
      expect(tf.all(tf.isFinite(weight.read())).dataSync()[0], weight.name).toBe(1);
    }
    optimizer.dispose();
    model.dispose();
    tf.engine().endScope();
  });
});
