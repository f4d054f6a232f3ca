/**
 * Loss and accuracy on a line and a plane, against tfjs-layers' own forward pass:
 * at the origin they are the model's loss (crossEntropy of model.apply) and accuracy; off the
 * origin they are those of a copy of the model whose weights were set by hand to W* + α·d₁ + β·d₂.
 * Every point of a non-square 2-D grid is checked, which pins the row-major (row = β) layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Network, tensorData, type LaplaceData, type LayerMatrix } from '../../compute/laplace/index.ts';
import { LandscapeError, landscape1d, landscape2d, linspace, randomDirection, type Direction } from '../../compute/landscape/index.ts';
import { buildTinyCnn, referenceLoss, setShiftedWeights, tinyData } from './helpers.ts';

let model: tfl.Sequential;
let copy: tfl.Sequential;
let network: Network;
let weights: LayerMatrix[];
let inputs: tf.Tensor4D;
let labels: Int32Array;
let data: LaplaceData;
let dx: Direction;
let dy: Direction;

beforeAll(async () => {
  await startBackend('wasm');
  model = buildTinyCnn(9, '_grid');
  copy = buildTinyCnn(10, '_grid_copy');
  network = new Network(model);
  weights = network.matricesFromModel(model);
  ({ inputs, labels } = tinyData(model, 48, 2));
  data = tensorData(inputs, labels);
  dx = randomDirection(network, weights, 101);
  dy = randomDirection(network, weights, 202);
});

afterAll(() => {
  tf.dispose([...weights, inputs]);
});

/** |a − b| ≤ tolerance · max(1, |b|). */
function expectClose(actual: number, reference: number, tolerance = 1e-5): void {
  expect(Math.abs(actual - reference)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(reference)));
}

describe('landscape1d', () => {
  it('at α = 0 equals the model’s own loss and accuracy on the subset', async () => {
    const line = await landscape1d(network, weights, data, dx, linspace(-1, 1, 101));
    expect(line.alphas[50]).toBe(0);
    expect(line.loss.length).toBe(101);
    expect(line.count).toBe(48);
    const reference = referenceLoss(model, inputs, labels);
    expect(Math.abs(line.loss[50] - reference.loss)).toBeLessThan(1e-5);
    expect(line.accuracy[50]).toBe(reference.accuracy);
    // The labels are mostly the model's own predictions, so W* is a good point on the line.
    expect(reference.accuracy).toBeGreaterThan(0.5);
  });

  it('off the origin equals a model whose weights were set by hand to W* + α·d', async () => {
    const alphas = [-0.8, -0.25, 0.35, 1];
    const line = await landscape1d(network, weights, data, dx, alphas, { batchSize: 20 });
    alphas.forEach((alpha, i) => {
      setShiftedWeights(copy, model, [dx], [alpha]);
      const reference = referenceLoss(copy, inputs, labels);
      expectClose(line.loss[i], reference.loss);
      expect(line.accuracy[i]).toBe(reference.accuracy);
    });
    // The line is not flat: moving by a whole filter norm changes the loss.
    expect(Math.abs(line.loss[3] - referenceLoss(model, inputs, labels).loss)).toBeGreaterThan(1e-3);
  });

  it('does not depend on the batch size, reports progress and leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const progress: [number, number][] = [];
    const whole = await landscape1d(network, weights, data, dx, [0.1, 0.2, 0.3], { onProgress: (done, total) => progress.push([done, total]) });
    const batched = await landscape1d(network, weights, data, dx, [0.1, 0.2, 0.3], { batchSize: 7 });
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    whole.loss.forEach((loss, i) => expectClose(batched.loss[i], loss, 1e-6));
    expect(batched.accuracy).toEqual(whole.accuracy);
  });

  it('refuses a direction of another network, an empty or non-finite axis and a bad batch size', async () => {
    await expect(landscape1d(network, weights, data, dx.slice(1), [0])).rejects.toThrow(LandscapeError);
    await expect(landscape1d(network, weights, data, [dx[0], dx[1], dx[2], dx[3].subarray(1)], [0])).rejects.toThrow(LandscapeError);
    await expect(landscape1d(network, weights, data, dx, [])).rejects.toThrow(LandscapeError);
    await expect(landscape1d(network, weights, data, dx, [0, Number.NaN])).rejects.toThrow(LandscapeError);
    await expect(landscape1d(network, weights, data, dx, [0], { batchSize: 0 })).rejects.toThrow(LandscapeError);
  });
});

describe('landscape2d', () => {
  it('at (0, 0) equals the model’s own loss; every point equals a hand-set model; row = β, column = α', async () => {
    const alphas = [-0.6, 0, 0.45];
    const betas = [-0.3, 0, 0.2, 0.7];
    const progress: number[] = [];
    const plane = await landscape2d(network, weights, data, dx, dy, alphas, betas, { batchSize: 30, onProgress: (done, total) => progress.push(done / total) });
    expect(plane.loss.length).toBe(12);
    expect(plane.accuracy.length).toBe(12);
    expect(progress.length).toBe(12);
    expect(progress[11]).toBe(1);
    const origin = referenceLoss(model, inputs, labels);
    expect(Math.abs(plane.loss[1 * alphas.length + 1] - origin.loss)).toBeLessThan(1e-5);
    expect(plane.accuracy[1 * alphas.length + 1]).toBe(origin.accuracy);
    betas.forEach((beta, j) => {
      alphas.forEach((alpha, i) => {
        setShiftedWeights(copy, model, [dx, dy], [alpha, beta]);
        const reference = referenceLoss(copy, inputs, labels);
        expectClose(plane.loss[j * alphas.length + i], reference.loss);
        expect(plane.accuracy[j * alphas.length + i]).toBe(reference.accuracy);
      });
    });
  });

  it('along β = 0 is the 1-D landscape along d₁, along α = 0 the one along d₂', async () => {
    const axis = linspace(-1, 1, 5);
    const plane = await landscape2d(network, weights, data, dx, dy, axis, axis);
    const alongX = await landscape1d(network, weights, data, dx, axis);
    const alongY = await landscape1d(network, weights, data, dy, axis);
    axis.forEach((_, k) => {
      expectClose(plane.loss[2 * 5 + k], alongX.loss[k], 1e-6);
      expectClose(plane.loss[k * 5 + 2], alongY.loss[k], 1e-6);
    });
  });
});

describe('linspace', () => {
  it('includes both ends and puts 0 exactly in the middle of a symmetric range', () => {
    const axis = linspace(-1, 1, 41);
    expect(axis.length).toBe(41);
    expect(axis[0]).toBe(-1);
    expect(axis[40]).toBe(1);
    expect(axis[20]).toBe(0);
    expect(axis[30]).toBeCloseTo(0.5, 15);
    expect(() => linspace(0, 1, 0)).toThrow(LandscapeError);
  });
});
