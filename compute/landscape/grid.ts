/**
 * Loss and accuracy on a line or a plane through W*: at every grid point the
 * network runs on the whole (fixed) data subset with weights
 * W* + α·d₁ (+ β·d₂).
 *
 * Loss is the mean cross-entropy −(1/n) Σ log softmax(f(x, W))_y in nats, the
 * data term only: no weight decay, so the value at the origin is the model's
 * test loss, not its training objective. Accuracy is the fraction of inputs
 * whose largest logit is at the label (ties: the first largest).
 *
 * The device runs only the forward passes; the logits come back and the
 * log-sum-exp, the sums and the argmax are done in float64 on the host, so
 * the loss does not depend on the batch size beyond float32 logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LaplaceData, LayerMatrix, Network } from '../laplace/index.ts';
import { LandscapeError, checkDirection, checkWeights, directionTensors, type Direction } from './directions.ts';

export interface LandscapeOptions {
  /** Inputs per forward pass; default 1000 (the subsets here are ≤ a few thousand images). */
  batchSize?: number;
  /** Called after every grid point with (points done, points in the grid). */
  onProgress?: (done: number, total: number) => void;
}

export interface Landscape1d {
  alphas: number[];
  /** loss[i] at W* + alphas[i]·d. */
  loss: number[];
  accuracy: number[];
  /** Number of inputs each value averages over. */
  count: number;
}

export interface Landscape2d {
  alphas: number[];
  betas: number[];
  /**
   * Row-major, one row per β, one column per α: loss[j·alphas.length + i] is the loss at
   * W* + alphas[i]·d₁ + betas[j]·d₂ (α runs along x, β along y, like an image with y as the row).
   */
  loss: number[];
  accuracy: number[];
  count: number;
}

/** n evenly spaced numbers from `from` to `to`, both included (the grid axes). */
export function linspace(from: number, to: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new LandscapeError(`A grid axis needs a whole number of points ≥ 1, got ${n}.`);
  if (n === 1) return [from];
  // Symmetric formula, so a symmetric range has its 0 exactly on the middle point.
  return Array.from({ length: n }, (_, i) => (from * (n - 1 - i) + to * i) / (n - 1));
}

function checkAxis(values: readonly number[], name: string): void {
  if (values.length === 0) throw new LandscapeError(`The ${name} axis is empty; give at least one coefficient.`);
  const bad = values.find((value) => !Number.isFinite(value));
  if (bad !== undefined) throw new LandscapeError(`The ${name} axis contains ${bad}; every coefficient must be a finite number.`);
}

/** Loss and accuracy along W* + α·d for every α in `alphas`. */
export async function landscape1d(
  network: Network,
  weights: readonly LayerMatrix[],
  data: LaplaceData,
  direction: Direction,
  alphas: readonly number[],
  options: LandscapeOptions = {},
): Promise<Landscape1d> {
  checkAxis(alphas, 'α');
  checkDirection(network, direction);
  const points = alphas.map((alpha) => [alpha]);
  const { loss, accuracy } = await evaluatePoints(network, weights, data, [direction], points, options);
  return { alphas: [...alphas], loss, accuracy, count: data.count };
}

/** Loss and accuracy on the plane W* + α·d₁ + β·d₂ over alphas × betas (layout: see Landscape2d). */
export async function landscape2d(
  network: Network,
  weights: readonly LayerMatrix[],
  data: LaplaceData,
  directionX: Direction,
  directionY: Direction,
  alphas: readonly number[],
  betas: readonly number[],
  options: LandscapeOptions = {},
): Promise<Landscape2d> {
  checkAxis(alphas, 'α');
  checkAxis(betas, 'β');
  checkDirection(network, directionX, 'x direction');
  checkDirection(network, directionY, 'y direction');
  const points: number[][] = [];
  for (const beta of betas) for (const alpha of alphas) points.push([alpha, beta]);
  const { loss, accuracy } = await evaluatePoints(network, weights, data, [directionX, directionY], points, options);
  return { alphas: [...alphas], betas: [...betas], loss, accuracy, count: data.count };
}

/** Throws when the data is empty or has a label the network cannot output. */
export function checkData(network: Network, data: LaplaceData): void {
  if (data.count < 1) throw new LandscapeError('The landscape data set is empty; pass at least one input.');
  if (data.labels.length !== data.count) throw new LandscapeError(`The data has ${data.count} inputs but ${data.labels.length} labels; pass one label per input.`);
  const classes = network.classes;
  for (const label of data.labels) {
    if (!Number.isInteger(label) || label < 0 || label >= classes) throw new LandscapeError(`The data has label ${label}, outside 0..${classes - 1} of the network's outputs.`);
  }
}

export function checkBatchSize(batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new LandscapeError(`The batch size must be a whole number ≥ 1, got ${batchSize}.`);
  return batchSize;
}

/**
 * Loss and accuracy at W* + Σ_k c_k·d_k for each coefficient vector c in `points`.
 * The inputs are cut into batches once and kept on the device for the whole grid.
 */
async function evaluatePoints(
  network: Network,
  weights: readonly LayerMatrix[],
  data: LaplaceData,
  directions: Direction[],
  points: number[][],
  options: LandscapeOptions,
): Promise<{ loss: number[]; accuracy: number[] }> {
  checkWeights(network, weights);
  checkData(network, data);
  const batchSize = checkBatchSize(options.batchSize ?? 1000);
  const classes = network.classes;

  const owned: tf.Tensor[] = [];
  try {
    const batches: { start: number; inputs: tf.Tensor }[] = [];
    for (let start = 0; start < data.count; start += batchSize) {
      const inputs = tf.tidy(() => tf.clone(data.inputs(start, Math.min(data.count, start + batchSize))));
      owned.push(inputs);
      batches.push({ start, inputs });
    }
    const directionLayers = directions.map((direction) => directionTensors(network, direction));
    owned.push(...directionLayers.flat());

    const loss: number[] = [];
    const accuracy: number[] = [];
    for (const coefficients of points) {
      const shifted = tf.tidy(() =>
        weights.map((matrix, layer) => {
          let moved: tf.Tensor = matrix;
          coefficients.forEach((coefficient, k) => {
            if (coefficient !== 0) moved = tf.add(moved, tf.mul(directionLayers[k][layer], coefficient));
          });
          // A fresh tensor even at the origin, so disposing `shifted` never frees W*.
          return moved === matrix ? tf.clone(matrix) : moved;
        }),
      ) as tf.Tensor2D[];
      let lossSum = 0;
      let correct = 0;
      try {
        for (const { start, inputs } of batches) {
          const logits = tf.tidy(() => network.forward(inputs, shifted));
          const values = await logits.data<'float32'>();
          logits.dispose();
          const rows = values.length / classes;
          for (let row = 0; row < rows; row++) {
            const offset = row * classes;
            let best = 0;
            let max = values[offset];
            for (let c = 1; c < classes; c++) {
              if (values[offset + c] > max) {
                max = values[offset + c];
                best = c;
              }
            }
            let sum = 0;
            for (let c = 0; c < classes; c++) sum += Math.exp(values[offset + c] - max);
            const label = data.labels[start + row];
            lossSum += max + Math.log(sum) - values[offset + label];
            if (best === label) correct++;
          }
        }
      } finally {
        tf.dispose(shifted);
      }
      loss.push(lossSum / data.count);
      accuracy.push(correct / data.count);
      options.onProgress?.(loss.length, points.length);
      // Let timers and other tasks run between grid points.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { loss, accuracy };
  } finally {
    tf.dispose(owned);
  }
}
