/**
 * The native backend's replacement Step kernel (compute/backend/native-kernels.ts) against
 * hand-worked values: 1 above zero, +0 at and below it (−0 included), NaN kept, subnormals as the
 * original kernel treats them; alpha ≠ 0
 * still runs tfjs-node's own kernel; and a ReLU gradient through it is dy where x > 0, else 0.
 * Skipped, saying so, where the native binding is not built.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { nativeBinding } from '../../compute/backend/native.ts';

const built = 'path' in nativeBinding('@tensorflow/tfjs-node');

describe.skipIf(!built)('native Step kernel', () => {
  beforeAll(async () => {
    await startBackend('node');
  });

  it('gives 1 above zero, +0 at and below it, and keeps NaN', () => {
    const x = tf.tensor1d([2.5, 1e-30, 0, -0, -3, Infinity, -Infinity, NaN]);
    const values = Array.from(tf.step(x).dataSync());
    expect(values.slice(0, 7)).toEqual([1, 1, 0, 0, 0, 1, 0]);
    expect(values.slice(2, 5).every((value) => Object.is(value, 0))).toBe(true);
    expect(Number.isNaN(values[7])).toBe(true);
    x.dispose();
  });

  it("treats a subnormal as tfjs-node's own kernel does (TensorFlow flushes it to zero)", () => {
    const x = tf.tensor1d([1e-38, -1e-38, 1e-45]);
    // tfjs-node's Step, op for op: where(isNaN(x), x, where(x > 0, ones, fill(alpha))).
    const original = tf.tidy(() => tf.where(tf.isNaN(x), x, tf.where(tf.greater(x, tf.scalar(0)), tf.ones(x.shape), tf.fill(x.shape, 0))));
    expect(Array.from(tf.step(x).dataSync())).toEqual(Array.from(original.dataSync()));
    tf.dispose([x, original]);
  });

  it('leaves a non-zero alpha to the original kernel', () => {
    const x = tf.tensor1d([2, 0, -1]);
    expect(Array.from(tf.step(x, 0.25).dataSync())).toEqual([1, 0.25, 0.25]);
    x.dispose();
  });

  it('gives the ReLU gradient dy where x > 0 and 0 elsewhere', () => {
    const x = tf.tensor2d([[1.5, -2, 0], [3, -0.5, 4]]);
    const dy = tf.tensor2d([[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]]);
    const dx = tf.grad((input: tf.Tensor) => tf.relu(input))(x, dy);
    expect(Array.from(dx.dataSync())).toEqual([Math.fround(0.1), 0, 0, Math.fround(-0.4), 0, Math.fround(-0.6)]);
    tf.dispose([x, dy, dx]);
  });
});
