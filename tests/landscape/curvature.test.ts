/**
 * Dᵀ H D of the summed cross-entropy on a plane, against independent computations:
 *  - a hand-worked linear softmax case (one input, W* = 0, so p = ½ and Λ = ¼[[1, −1], [−1, 1]]);
 *  - a linear softmax classifier, where the Hessian of the cross-entropy is exactly the
 *    Gauss–Newton matrix, against second differences of S computed in float64 on the host;
 *  - a small CNN (conv with and without bias, relu, tanh, dense), against the brute-force
 *    Σ_n (J_n D)ᵀ (diag p_n − p_n p_nᵀ) (J_n D), with every row of J_n a per-example gradient of one
 *    logit with respect to the weights themselves (tf.grads through the weight matrices);
 *  - KFAC's projection against an explicit Kronecker product, and against the exact one where
 *    KFAC is exact (one input, one dense layer).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, tensorData, type LayerMatrix } from '../../compute/laplace/index.ts';
import { LandscapeError, kfacPlaneCurvature, planeCurvature, randomDirection, type Direction } from '../../compute/landscape/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { buildLinearSoftmax, buildTinyCnn, linearLossSum, referenceLoss, tinyData } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

/** |a − b| ≤ tolerance · max(scale, |b|). */
function expectClose(actual: number, reference: number, tolerance: number, scale = 1): void {
  expect(Math.abs(actual - reference)).toBeLessThanOrEqual(tolerance * Math.max(scale, Math.abs(reference)));
}

describe('planeCurvature, worked by hand', () => {
  it('one input x = (1, 2), two classes, W* = 0: P = ¼ [[1, −1], [−1, 1]], slope (−½, ½), S = ln 2', async () => {
    const model = buildLinearSoftmax(2, 2, 1, '_hand');
    const zeros = model.getWeights().map((w) => tf.zerosLike(w));
    model.setWeights(zeros);
    tf.dispose(zeros);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const x = tf.tensor2d([[1, 2]]);
    // W̄ is 3 × 2 (two kernel rows, the bias row); ā = (1, 2, 1).
    // d₁ moves W̄[0, 0]: J d₁ = (ā₀, 0) = (1, 0). d₂ moves W̄[1, 1] and the bias of class 0: J d₂ = (ā₂, ā₁) = (1, 2).
    const d1: Direction = [Float32Array.from([1, 0, 0, 0, 0, 0])];
    const d2: Direction = [Float32Array.from([0, 0, 0, 1, 1, 0])];
    const result = await planeCurvature(network, weights, tensorData(x, [0]), [d1, d2]);
    // uᵀ Λ u' = ¼ (u₀ − u₁)(u'₀ − u'₁): differences 1 and −1.
    expect(result.gaussNewton[0][0]).toBeCloseTo(0.25, 7);
    expect(result.gaussNewton[0][1]).toBeCloseTo(-0.25, 7);
    expect(result.gaussNewton[1][0]).toBeCloseTo(-0.25, 7);
    expect(result.gaussNewton[1][1]).toBeCloseTo(0.25, 7);
    // (p − e₀)ᵀ u = (−½, ½)ᵀ u.
    expect(result.gradient[0]).toBeCloseTo(-0.5, 7);
    expect(result.gradient[1]).toBeCloseTo(0.5, 7);
    expect(result.lossSum).toBeCloseTo(Math.log(2), 7);
    expect(result.count).toBe(1);
    tf.dispose([...weights, x]);
    model.dispose();
  });
});

describe('planeCurvature on a linear softmax classifier (Hessian = Gauss–Newton)', () => {
  const features = 5;
  const classes = 4;
  const count = 30;
  let model: tfl.Sequential;
  let network: Network;
  let weights: LayerMatrix[];
  let inputs: tf.Tensor2D;
  let xs: Float32Array;
  let labels: Int32Array;

  beforeAll(() => {
    model = buildLinearSoftmax(features, classes, 3, '_fd');
    network = new Network(model);
    weights = network.matricesFromModel(model);
    const random = new Random(4);
    xs = Float32Array.from(random.normals(count * features));
    inputs = tf.tensor2d(xs, [count, features]);
    labels = Int32Array.from({ length: count }, () => random.integer(classes));
  });
  afterAll(() => {
    tf.dispose([...weights, inputs]);
    model.dispose();
  });

  it('equals the second differences of S at W*, and the slope its first differences', async () => {
    // Bias entries move too ('filter' mode), so the bias row's part of J is checked as well.
    const directions = [randomDirection(network, weights, 11, { biases: 'filter' }), randomDirection(network, weights, 12, { biases: 'filter' })];
    const result = await planeCurvature(network, weights, tensorData(inputs, labels), directions, { batchSize: 7 });
    const w = Float64Array.from(weights[0].dataSync());
    const S = (alpha: number, beta: number) =>
      linearLossSum(
        w.map((value, k) => value + alpha * directions[0][0][k] + beta * directions[1][0][k]),
        xs,
        labels,
        features,
        classes,
      );
    const h = 1e-3;
    const s0 = S(0, 0);
    const hessian = [
      [(S(h, 0) - 2 * s0 + S(-h, 0)) / h ** 2, (S(h, h) - S(h, -h) - S(-h, h) + S(-h, -h)) / (4 * h * h)],
      [0, (S(0, h) - 2 * s0 + S(0, -h)) / h ** 2],
    ];
    hessian[1][0] = hessian[0][1];
    const scale = Math.max(Math.abs(hessian[0][0]), Math.abs(hessian[1][1]));
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expectClose(result.gaussNewton[i][j], hessian[i][j], 1e-4, scale);
    expect(result.gaussNewton[0][1]).toBe(result.gaussNewton[1][0]);
    // The matrix is not trivially small: the test would catch a missing factor.
    expect(scale).toBeGreaterThan(1);
    const slope = [(S(h, 0) - S(-h, 0)) / (2 * h), (S(0, h) - S(0, -h)) / (2 * h)];
    slope.forEach((value, k) => expectClose(result.gradient[k], value, 1e-4, Math.abs(slope[0]) + Math.abs(slope[1])));
    expectClose(result.lossSum, s0, 1e-6);
  });

  it('is the same for any batch size, and leaves no tensors behind', async () => {
    const directions = [randomDirection(network, weights, 21), randomDirection(network, weights, 22)];
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const whole = await planeCurvature(network, weights, tensorData(inputs, labels), directions, { onProgress: (done) => progress.push(done) });
    const batched = await planeCurvature(network, weights, tensorData(inputs, labels), directions, { batchSize: 4, onProgress: (done) => progress.push(done) });
    expect(tf.memory().numTensors).toBe(before);
    expect(progress.slice(0, 2)).toEqual([30, 4]);
    expect(progress[progress.length - 1]).toBe(30);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expectClose(batched.gaussNewton[i][j], whole.gaussNewton[i][j], 1e-5);
  });

  it('KFAC is exact with one input and one dense layer, so its projection equals the Gauss–Newton one', async () => {
    const directions = [randomDirection(network, weights, 31, { biases: 'filter' }), randomDirection(network, weights, 32, { biases: 'filter' })];
    const one = tensorData(tf.slice(inputs, 0, 1), labels.subarray(0, 1));
    const exact = await planeCurvature(network, weights, one, directions);
    const fit = await fitCurvature(network, weights, one, { kinds: ['kfac'], fisher: 'exact' });
    const kfac = kfacPlaneCurvature(network, fit.kfac!, fit.count, directions);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expectClose(kfac[i][j], exact.gaussNewton[i][j], 1e-4, Math.abs(exact.gaussNewton[0][0]));
    // With many inputs KFAC is an approximation: E[ā āᵀ] ⊗ E[g gᵀ] ≠ E[ā āᵀ ⊗ g gᵀ].
    const many = await planeCurvature(network, weights, tensorData(inputs, labels), directions);
    const manyFit = await fitCurvature(network, weights, tensorData(inputs, labels), { kinds: ['kfac'], fisher: 'exact' });
    const approximate = kfacPlaneCurvature(network, manyFit.kfac!, manyFit.count, directions);
    expect(Math.abs(approximate[0][0] - many.gaussNewton[0][0])).toBeGreaterThan(1e-3 * many.gaussNewton[0][0]);
  });
});

describe('planeCurvature on a small CNN', () => {
  let model: tfl.Sequential;
  let network: Network;
  let weights: LayerMatrix[];
  let inputs: tf.Tensor4D;
  let labels: Int32Array;

  beforeAll(() => {
    model = buildTinyCnn(5, '_curv');
    network = new Network(model);
    weights = network.matricesFromModel(model);
    ({ inputs, labels } = tinyData(model, 24, 6));
  });
  afterAll(() => {
    tf.dispose([...weights, inputs]);
    model.dispose();
  });

  it('equals Σ_n (J_n D)ᵀ Λ_n (J_n D) with J_n from per-example gradients of each logit in the weights', async () => {
    const directions = [randomDirection(network, weights, 41, { biases: 'filter' }), randomDirection(network, weights, 42)];
    const result = await planeCurvature(network, weights, tensorData(inputs, labels), directions, { batchSize: 5 });

    const classes = network.classes;
    const brute = [
      [0, 0],
      [0, 0],
    ];
    const slope = [0, 0];
    // The model's own forward pass gives p, independent of Network.forward.
    const logits = tf.tidy(() => (model.apply(inputs, { training: false }) as tf.Tensor2D).arraySync());
    for (let n = 0; n < labels.length; n++) {
      const x = tf.slice(inputs, n, 1);
      // u[k][c] = Σ_l ⟨∂f_c/∂W̄_l, D_k,l⟩.
      const u = [new Float64Array(classes), new Float64Array(classes)];
      for (let c = 0; c < classes; c++) {
        const gradients = tf.grads((...matrices: tf.Tensor[]) => tf.sum(tf.slice(network.forward(x, matrices as LayerMatrix[]), [0, c], [1, 1])))(weights);
        gradients.forEach((gradient, layer) => {
          const values = gradient.dataSync();
          for (let k = 0; k < 2; k++) {
            let dot = 0;
            for (let e = 0; e < values.length; e++) dot += values[e] * directions[k][layer][e];
            u[k][c] += dot;
          }
        });
        tf.dispose(gradients);
      }
      x.dispose();
      const max = Math.max(...logits[n]);
      const exps = logits[n].map((z) => Math.exp(z - max));
      const total = exps.reduce((a, b) => a + b, 0);
      const p = exps.map((e) => e / total);
      // Λ = diag(p) − p pᵀ, written out as a matrix.
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          let sum = 0;
          for (let c = 0; c < classes; c++) for (let c2 = 0; c2 < classes; c2++) sum += u[i][c] * ((c === c2 ? p[c] : 0) - p[c] * p[c2]) * u[j][c2];
          brute[i][j] += sum;
        }
        for (let c = 0; c < classes; c++) slope[i] += (p[c] - (c === labels[n] ? 1 : 0)) * u[i][c];
      }
    }
    const scale = Math.max(brute[0][0], brute[1][1]);
    expect(scale).toBeGreaterThan(0.1);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expectClose(result.gaussNewton[i][j], brute[i][j], 1e-4, scale);
    slope.forEach((value, k) => expectClose(result.gradient[k], value, 1e-4, Math.abs(slope[0]) + Math.abs(slope[1])));
    expectClose(result.lossSum, referenceLoss(model, inputs, labels).loss * labels.length, 1e-5);
  });

  it('refuses no directions, a direction of another network and an empty data set', async () => {
    const good = randomDirection(network, weights, 51);
    await expect(planeCurvature(network, weights, tensorData(inputs, labels), [])).rejects.toThrow(LandscapeError);
    await expect(planeCurvature(network, weights, tensorData(inputs, labels), [good, good.slice(1)])).rejects.toThrow(/direction 2/);
    await expect(planeCurvature(network, weights, tensorData(tf.slice(inputs, 0, 0), []), [good])).rejects.toThrow(LandscapeError);
  });
});

describe('kfacPlaneCurvature', () => {
  it('equals dᵀ (A ⊗ G) e summed over layers, times the count, with A ⊗ G indexed (i, j), (i′, j′) as in W̄', () => {
    const model = buildTinyCnn(7, '_kron');
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const directions = [randomDirection(network, weights, 61, { biases: 'filter' }), randomDirection(network, weights, 62)];
    const random = new Random(8);
    // Arbitrary symmetric factors: the contraction does not need them positive.
    const symmetric = (size: number) => {
      const raw = random.normals(size * size);
      const data = new Float64Array(size * size);
      for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) data[i * size + j] = (raw[i * size + j] + raw[j * size + i]) / 2;
      return { rows: size, cols: size, data };
    };
    const factors = network.layers.map((spec) => ({ a: symmetric(spec.fanIn + (spec.hasBias ? 1 : 0)), g: symmetric(spec.fanOut) }));
    const count = 3;
    const result = kfacPlaneCurvature(network, factors, count, directions);
    const brute = [
      [0, 0],
      [0, 0],
    ];
    network.layers.forEach((spec, layer) => {
      const rows = spec.fanIn + (spec.hasBias ? 1 : 0);
      const cols = spec.fanOut;
      const { a, g } = factors[layer];
      for (let s = 0; s < 2; s++) {
        for (let t = 0; t < 2; t++) {
          let sum = 0;
          for (let i = 0; i < rows; i++)
            for (let j = 0; j < cols; j++)
              for (let i2 = 0; i2 < rows; i2++)
                for (let j2 = 0; j2 < cols; j2++) sum += directions[s][layer][i * cols + j] * a.data[i * rows + i2] * g.data[j * cols + j2] * directions[t][layer][i2 * cols + j2];
          brute[s][t] += count * sum;
        }
      }
    });
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expectClose(result[i][j], brute[i][j], 1e-10, Math.abs(brute[0][0]) + Math.abs(brute[1][1]));
    expect(() => kfacPlaneCurvature(network, factors.slice(1), count, directions)).toThrow(LandscapeError);
    expect(() => kfacPlaneCurvature(network, [factors[1], ...factors.slice(1)], count, directions)).toThrow(/Kronecker factors of layer 0/);
    tf.dispose(weights);
    model.dispose();
  });
});
