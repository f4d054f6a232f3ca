import { describe, expect, it } from 'vitest';
import { cholesky, fromRows, inverseSpd, kronecker, sampleMatrixNormal, symmetricEigen, type Matrix } from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { at, makeMatrix, maxAbsDifference, randomMatrix, referenceMatmul, referenceTranspose, relativeError } from './helpers.ts';

const mean = fromRows([
  [1, -2],
  [0.5, 3],
  [0, -1],
]);
// Row covariance U (3 × 3) and column covariance V (2 × 2), both positive definite.
const rowCovariance = fromRows([
  [2, 0.6, -0.3],
  [0.6, 1, 0.2],
  [-0.3, 0.2, 0.5],
]);
const colCovariance = fromRows([
  [1, -0.4],
  [-0.4, 0.7],
]);

/**
 * Draws `count` samples and returns, for every pair of entries (a, b) of the
 * row-major flattening, the z-score of the sample covariance against `expected`:
 * (Ĉ_ab − Σ_ab) / SE_ab. With the mean known, Ĉ_ab = (1/n) Σ_t (x_a − μ_a)(x_b − μ_b)
 * and, for Gaussian x, Var[(x_a − μ_a)(x_b − μ_b)] = Σ_aa Σ_bb + Σ_ab² (Isserlis), so
 * SE_ab = sqrt((Σ_aa Σ_bb + Σ_ab²) / n). Also returns the z-scores of the sample means.
 */
function covarianceZScores(
  draw: (normals: Float32Array) => Matrix,
  expected: Matrix,
  count: number,
  seed: number,
): { covariance: number[]; mean: number[] } {
  const size = mean.rows * mean.cols;
  const random = new Random(seed);
  const sumOfProducts = new Float64Array(size * size);
  const sum = new Float64Array(size);
  for (let t = 0; t < count; t++) {
    const sample = draw(random.normals(size));
    const deviation = sample.data.map((x, a) => x - mean.data[a]);
    for (let a = 0; a < size; a++) {
      sum[a] += deviation[a];
      for (let b = 0; b < size; b++) sumOfProducts[a * size + b] += deviation[a] * deviation[b];
    }
  }
  const covarianceScores: number[] = [];
  const meanScores: number[] = [];
  for (let a = 0; a < size; a++) {
    meanScores.push(sum[a] / count / Math.sqrt(at(expected, a, a) / count));
    for (let b = 0; b < size; b++) {
      const sigma = at(expected, a, b);
      const standardError = Math.sqrt((at(expected, a, a) * at(expected, b, b) + sigma * sigma) / count);
      covarianceScores.push((sumOfProducts[a * size + b] / count - sigma) / standardError);
    }
  }
  return { covariance: covarianceScores, mean: meanScores };
}

const maxAbsOf = (values: number[]): number => Math.max(...values.map(Math.abs));

describe('sampleMatrixNormal', () => {
  it('computes mean + F_row Z F_colᵀ exactly, for Cholesky and for non-triangular factors', () => {
    const random = new Random(51);
    const normals = Float32Array.from({ length: 6 }, () => random.normal());
    const z = makeMatrix(3, 2, (i, j) => normals[i * 2 + j]);
    const rowFactor = cholesky(rowCovariance);
    const colFactor = cholesky(colCovariance);
    const expected = referenceMatmul(referenceMatmul(rowFactor, z), referenceTranspose(colFactor));
    const sample = sampleMatrixNormal(mean, rowFactor, colFactor, normals);
    expect(maxAbsDifference(sample.data, expected.data.map((x, a) => x + mean.data[a]))).toBeLessThan(1e-15);

    const fullRow = randomMatrix(random, 3, 3);
    const fullCol = randomMatrix(random, 2, 2);
    const expectedFull = referenceMatmul(referenceMatmul(fullRow, z), referenceTranspose(fullCol));
    const sampleFull = sampleMatrixNormal(mean, fullRow, fullCol, Float64Array.from(normals));
    expect(maxAbsDifference(sampleFull.data, expectedFull.data.map((x, a) => x + mean.data[a]))).toBeLessThan(1e-14);

    expect(sampleMatrixNormal(mean, rowFactor, colFactor, new Float32Array(6)).data).toEqual(mean.data);
    expect(mean.data).toEqual(Float64Array.from([1, -2, 0.5, 3, 0, -1]));
  });

  it('has covariance rowCov ⊗ colCov on the row-major flattening (20,000 draws, every entry within 5 standard errors)', () => {
    const rowFactor = cholesky(rowCovariance);
    const colFactor = cholesky(colCovariance);
    const expected = kronecker(rowCovariance, colCovariance);
    const draw = (normals: Float32Array) => sampleMatrixNormal(mean, rowFactor, colFactor, normals);
    const scores = covarianceZScores(draw, expected, 20_000, 52);
    expect(maxAbsOf(scores.covariance)).toBeLessThan(5);
    expect(maxAbsOf(scores.mean)).toBeLessThan(5);
    // The test can tell the conventions apart: the flipped product colCov ⊗ rowCov
    // (the column-major answer) is rejected by a wide margin.
    const flipped = covarianceZScores(draw, kronecker(colCovariance, rowCovariance), 20_000, 52);
    expect(maxAbsOf(flipped.covariance)).toBeGreaterThan(50);
  });

  it('gives the same distribution with eigen-based square roots of the covariances', () => {
    const squareRoot = (covariance: Matrix): Matrix => {
      const { values, vectors } = symmetricEigen(covariance);
      return makeMatrix(covariance.rows, covariance.cols, (i, j) => at(vectors, i, j) * Math.sqrt(values[j]));
    };
    const rowFactor = squareRoot(rowCovariance);
    const colFactor = squareRoot(colCovariance);
    expect(rowFactor.data[1]).not.toBe(0); // not triangular, so the general path is the one tested
    const draw = (normals: Float32Array) => sampleMatrixNormal(mean, rowFactor, colFactor, normals);
    const scores = covarianceZScores(draw, kronecker(rowCovariance, colCovariance), 20_000, 53);
    expect(maxAbsOf(scores.covariance)).toBeLessThan(5);
    expect(maxAbsOf(scores.mean)).toBeLessThan(5);
  });

  it('samples the KFAC posterior: precision A ⊗ G on a [in, out] weight gives covariance (A ⊗ G)⁻¹', () => {
    const precisionA = fromRows([
      [3, 1, 0.5],
      [1, 2, -0.4],
      [0.5, -0.4, 1.5],
    ]);
    const precisionG = fromRows([
      [2, 0.7],
      [0.7, 1],
    ]);
    const rowFactor = cholesky(inverseSpd(precisionA));
    const colFactor = cholesky(inverseSpd(precisionG));
    const expected = inverseSpd(kronecker(precisionA, precisionG));
    expect(relativeError(expected, kronecker(inverseSpd(precisionA), inverseSpd(precisionG)))).toBeLessThan(1e-12);
    const draw = (normals: Float32Array) => sampleMatrixNormal(mean, rowFactor, colFactor, normals);
    const scores = covarianceZScores(draw, expected, 20_000, 54);
    expect(maxAbsOf(scores.covariance)).toBeLessThan(5);
    expect(maxAbsOf(scores.mean)).toBeLessThan(5);
  });

  it('rejects factors and normals of the wrong size', () => {
    const rowFactor = cholesky(rowCovariance);
    const colFactor = cholesky(colCovariance);
    expect(() => sampleMatrixNormal(mean, colFactor, colFactor, new Float32Array(6))).toThrow(
      'sampleMatrixNormal: the mean is 3 × 2, so the row covariance factor must be 3 × 3, got 2 × 2.',
    );
    expect(() => sampleMatrixNormal(mean, rowFactor, rowFactor, new Float32Array(6))).toThrow(
      'sampleMatrixNormal: the mean is 3 × 2, so the column covariance factor must be 2 × 2, got 3 × 3.',
    );
    expect(() => sampleMatrixNormal(mean, rowFactor, colFactor, new Float32Array(5))).toThrow(
      'sampleMatrixNormal: a 3 × 2 sample needs 6 standard normals, got 5.',
    );
  });
});
