/**
 * The average-pooling gradient fix on the wasm backend (a process of its own: backends are
 * process-global): the hand-worked case and every geometry of pooling-reference.ts
 * against explicit loops, never against another backend. gradients.test.ts checks the cpu
 * backend and every supported layer by finite differences.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { relativeError } from '../laplace/helpers.ts';
import { averagePoolByHand, averagePoolGradientByHand, describeGeometry, outputShape, poolGeometries } from './pooling-reference.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

describe('average pooling gradient on wasm', () => {
  it("the issue's hand-worked case: avgPool(2, 2, 'same') on 1…9 as [1, 3, 3, 1]", () => {
    expect(tf.getBackend()).toBe('wasm');
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.avgPool(input as tf.Tensor4D, 2, 2, 'same')))(x);
    expect(Array.from(dx.dataSync())).toEqual([0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1]);
    tf.dispose([x, dx]);
  });

  it.each(poolGeometries.map((g) => [describeGeometry(g), g] as const))('%s: forward and gradient equal explicit loops', (_, g) => {
    const random = new Random(11);
    const [outH, outW] = outputShape(g);
    const xValues = Float32Array.from(random.normals(g.height * g.width * g.channels));
    const wValues = Float32Array.from(random.normals(outH * outW * g.channels));
    const x = tf.tensor4d(xValues, [1, g.height, g.width, g.channels]);
    const w = tf.tensor4d(wValues, [1, outH, outW, g.channels]);
    const y = tf.avgPool(x, g.pool, g.strides, g.padding);
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(input as tf.Tensor4D, g.pool, g.strides, g.padding), w)))(x);
    expect(relativeError(y.dataSync(), averagePoolByHand(xValues, g))).toBeLessThan(1e-6);
    expect(relativeError(dx.dataSync(), averagePoolGradientByHand(wValues, g))).toBeLessThan(1e-6);
    tf.dispose([x, w, y, dx]);
  });
});
