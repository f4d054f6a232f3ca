/**
 * The likelihood plane exp(−(S − S(W*))) with S the summed loss, against tfjs-layers' own forward
 * pass on hand-shifted weights; the Laplace Gaussian and its half-widths in closed form; the
 * second-difference Hessian against the Gauss–Newton matrix where they agree (linear softmax)
 * and against float64 second differences on the host; and the residual by hand.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { Network, tensorData, type LaplaceData, type LayerMatrix } from '../../compute/laplace/index.ts';
import {
  LandscapeError,
  covarianceOf,
  laplaceGaussian,
  laplaceHalfWidths,
  likelihoodPlane,
  planeCurvature,
  planeHessian,
  randomDirection,
  surfaceResidual,
  type Direction,
} from '../../compute/landscape/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { buildLinearSoftmax, buildTinyCnn, linearLossSum, referenceLoss, setShiftedWeights, tinyData } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

describe('likelihoodPlane on a small CNN', () => {
  let model: tfl.Sequential;
  let copy: tfl.Sequential;
  let network: Network;
  let weights: LayerMatrix[];
  let inputs: tf.Tensor4D;
  let labels: Int32Array;
  let data: LaplaceData;
  let dx: Direction;
  let dy: Direction;

  beforeAll(() => {
    model = buildTinyCnn(9, '_lik');
    copy = buildTinyCnn(10, '_lik_copy');
    network = new Network(model);
    weights = network.matricesFromModel(model);
    ({ inputs, labels } = tinyData(model, 40, 3));
    data = tensorData(inputs, labels);
    dx = randomDirection(network, weights, 71);
    dy = randomDirection(network, weights, 72);
  });
  afterAll(() => {
    tf.dispose([...weights, inputs]);
    model.dispose();
    copy.dispose();
  });

  it('is exp(−(S − S(W*))) with S the summed loss of a hand-set model: 1 at W*, and e^{−n·Δmean} elsewhere', async () => {
    const alphas = [-0.04, 0, 0.03];
    const betas = [-0.02, 0, 0.05, 0.01];
    const plane = await likelihoodPlane(network, weights, data, dx, dy, alphas, betas, { batchSize: 16 });
    const centre = 1 * alphas.length + 1;
    expect(plane.values[centre]).toBe(1);
    expect(plane.deltaLoss[centre]).toBe(0);
    const origin = referenceLoss(model, inputs, labels).loss * labels.length;
    expect(Math.abs(plane.lossSum - origin)).toBeLessThan(1e-4);
    expect(plane.count).toBe(40);
    betas.forEach((beta, j) =>
      alphas.forEach((alpha, i) => {
        setShiftedWeights(copy, model, [dx, dy], [alpha, beta]);
        const delta = referenceLoss(copy, inputs, labels).loss * labels.length - origin;
        const k = j * alphas.length + i;
        expect(Math.abs(plane.deltaLoss[k] - delta)).toBeLessThan(2e-4);
        expect(plane.values[k]).toBeCloseTo(Math.exp(-plane.deltaLoss[k]), 12);
      }),
    );
    // The sum, not the mean: the likelihood falls off n times faster in log than exp(−mean loss).
    const corner = plane.deltaLoss[3 * alphas.length + 2];
    expect(Math.abs(corner)).toBeGreaterThan(0.01);
  });

  it('finds S(W*) with one more point when W* is not on the grid', async () => {
    const onGrid = await likelihoodPlane(network, weights, data, dx, dy, [-0.01, 0, 0.01], [0, 0.02]);
    const offGrid = await likelihoodPlane(network, weights, data, dx, dy, [-0.01, 0.01], [0.02, 0.04]);
    expect(offGrid.lossSum).toBe(onGrid.lossSum);
    // (±0.01, 0.02) is on both grids.
    expect(offGrid.values[0]).toBeCloseTo(onGrid.values[3], 10);
    expect(offGrid.values[1]).toBeCloseTo(onGrid.values[5], 10);
  });
});

describe('laplaceGaussian and laplaceHalfWidths', () => {
  it('is exp(−½ vᵀ P v): 1 at W*, e^{−½} one conditional σ out, layout one row per β', () => {
    const precision = [
      [4, 1],
      [1, 2],
    ];
    const alphas = [-0.5, 0, 0.5];
    const betas = [0, 1];
    const values = laplaceGaussian(precision, alphas, betas);
    expect(values[1]).toBe(1);
    // (α, β) = (0.5, 0): ½·4·¼ = ½. (−0.5, 1): ½ (4·¼ − 2·½ + 2) = 1. (0, 1): ½·2 = 1.
    expect(values[2]).toBeCloseTo(Math.exp(-0.5), 14);
    expect(values[3]).toBeCloseTo(Math.exp(-1), 14);
    expect(values[4]).toBeCloseTo(Math.exp(-1), 14);
    expect(values[5]).toBeCloseTo(Math.exp(-0.5 * (1 + 1 + 2)), 14);
  });

  it('half-widths are k marginal standard deviations √(P⁻¹)_ii; the covariance is P⁻¹', () => {
    const covariance = covarianceOf([
      [2, 1],
      [1, 2],
    ]);
    expect(covariance[0][0]).toBeCloseTo(2 / 3, 14);
    expect(covariance[0][1]).toBeCloseTo(-1 / 3, 14);
    expect(covariance[1][1]).toBeCloseTo(2 / 3, 14);
    const [ha, hb] = laplaceHalfWidths(
      [
        [4, 0],
        [0, 1],
      ],
      3,
    );
    expect(ha).toBeCloseTo(1.5, 14);
    expect(hb).toBeCloseTo(3, 14);
  });

  it('refuses a precision that is not a symmetric positive definite 2 × 2 matrix', () => {
    expect(() => laplaceGaussian([[1, 0, 0]], [0], [0])).toThrow(LandscapeError);
    expect(() => laplaceHalfWidths([[1, 2], [2, 1]])).toThrow(/not positive definite/);
    expect(() => laplaceHalfWidths([[1, 0.5], [0, 1]])).toThrow(/not symmetric/);
    expect(() => laplaceHalfWidths([[1, 0], [0, 1]], 0)).toThrow(LandscapeError);
  });
});

describe('planeHessian on a linear softmax classifier', () => {
  const features = 4;
  const classes = 3;
  const count = 25;
  let model: tfl.Sequential;
  let network: Network;
  let weights: LayerMatrix[];
  let inputs: tf.Tensor2D;
  let xs: Float32Array;
  let labels: Int32Array;

  beforeAll(() => {
    model = buildLinearSoftmax(features, classes, 13, '_hess');
    network = new Network(model);
    weights = network.matricesFromModel(model);
    const random = new Random(14);
    xs = Float32Array.from(random.normals(count * features));
    inputs = tf.tensor2d(xs, [count, features]);
    labels = Int32Array.from({ length: count }, () => random.integer(classes));
  });
  afterAll(() => {
    tf.dispose([...weights, inputs]);
    model.dispose();
  });

  it('matches float64 second differences on the host and, Hessian = Gauss–Newton here, planeCurvature', async () => {
    const directions = [randomDirection(network, weights, 81, { biases: 'filter' }), randomDirection(network, weights, 82, { biases: 'filter' })];
    const step: [number, number] = [0.05, 0.04];
    const hessian = await planeHessian(network, weights, tensorData(inputs, labels), directions[0], directions[1], step);
    expect(hessian.step).toEqual(step);
    const w = Float64Array.from(weights[0].dataSync());
    const S = (alpha: number, beta: number) => linearLossSum(w.map((value, k) => value + alpha * directions[0][0][k] + beta * directions[1][0][k]), xs, labels, features, classes);
    const [h, k] = step;
    const host = [
      (S(h, 0) - 2 * S(0, 0) + S(-h, 0)) / (h * h),
      (S(h, k) - S(h, -k) - S(-h, k) + S(-h, -k)) / (4 * h * k),
      (S(0, k) - 2 * S(0, 0) + S(0, -k)) / (k * k),
    ];
    const scale = Math.max(host[0], host[2]);
    const found = [hessian.matrix[0][0], hessian.matrix[0][1], hessian.matrix[1][1]];
    // Float32 logits against float64: S ≈ 25 nats, so about 1e-6·S/h² of noise.
    found.forEach((value, i) => expect(Math.abs(value - host[i])).toBeLessThan(2e-3 * scale));
    expect(hessian.matrix[1][0]).toBe(hessian.matrix[0][1]);
    // The stencil's O(h²) error is small at these steps: it agrees with the exact Gauss–Newton matrix.
    const { gaussNewton } = await planeCurvature(network, weights, tensorData(inputs, labels), directions);
    expect(Math.abs(found[0] - gaussNewton[0][0])).toBeLessThan(1e-2 * scale);
    expect(Math.abs(found[1] - gaussNewton[0][1])).toBeLessThan(1e-2 * scale);
    expect(Math.abs(found[2] - gaussNewton[1][1])).toBeLessThan(1e-2 * scale);
    await expect(planeHessian(network, weights, tensorData(inputs, labels), directions[0], directions[1], [0, 1])).rejects.toThrow(LandscapeError);
  });
});

describe('surfaceResidual', () => {
  it('by hand: target (0, 1, 2, 3), model (0, 1, 2, 4)', () => {
    const residual = surfaceResidual([0, 1, 2, 4], [0, 1, 2, 3]);
    // Σ r² = 1, mean 1.5, Σ (y − ȳ)² = 5.
    expect(residual.rSquared).toBeCloseTo(0.8, 14);
    expect(residual.rms).toBeCloseTo(0.5, 14);
    expect(residual.maxAbs).toBe(1);
    expect(residual.range).toBe(3);
    expect(residual.relativeRms).toBeCloseTo(0.5 / 3, 14);
    expect(() => surfaceResidual([1], [1, 2])).toThrow(LandscapeError);
  });
});
