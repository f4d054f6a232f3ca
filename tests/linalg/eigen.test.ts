import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { fromRows, matrix, symmetricEigen, symmetricEigenComputations, symmetrize, type Matrix } from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import {
  at,
  makeMatrix,
  maxAbs,
  maxAbsDifference,
  randomMatrix,
  randomOrthogonal,
  referenceIdentity,
  referenceMatmul,
  referenceTranspose,
} from './helpers.ts';

/**
 * Checks the defining properties against independent arithmetic: A V = V diag(λ)
 * relative to max |A|, Vᵀ V = I, and ascending values. Returns nothing; fails loudly.
 */
function expectValidDecomposition(a: Matrix, values: Float64Array, vectors: Matrix, tolerance: number, label = ''): void {
  const n = a.rows;
  expect(values.length).toBe(n);
  expect(vectors.rows).toBe(n);
  expect(vectors.cols).toBe(n);
  for (let k = 1; k < n; k++) expect(values[k], `${label} ascending at ${k}`).toBeGreaterThanOrEqual(values[k - 1]);
  const av = referenceMatmul(a, vectors);
  const vLambda = makeMatrix(n, n, (i, j) => at(vectors, i, j) * values[j]);
  const scaleOfA = Math.max(maxAbs(a.data), Number.MIN_VALUE);
  expect(maxAbsDifference(av.data, vLambda.data) / scaleOfA, `${label} A V = V Λ`).toBeLessThan(tolerance);
  const gram = referenceMatmul(referenceTranspose(vectors), vectors);
  expect(maxAbsDifference(gram.data, referenceIdentity(n).data), `${label} Vᵀ V = I`).toBeLessThan(tolerance);
}

function randomSymmetric(random: Random, n: number): Matrix {
  const x = randomMatrix(random, n, n);
  return makeMatrix(n, n, (i, j) => (at(x, i, j) + at(x, j, i)) / 2);
}

function mlMatrixEigenvalues(a: Matrix): number[] {
  const rows = Array.from({ length: a.rows }, (_, i) => Array.from(a.data.subarray(i * a.cols, (i + 1) * a.cols)));
  const decomposition = new EigenvalueDecomposition(new MlMatrix(rows), { assumeSymmetric: true });
  return [...decomposition.realEigenvalues].sort((x, y) => x - y);
}

describe('symmetricEigen on hand-made matrices', () => {
  it('[[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2', () => {
    const a = fromRows([
      [2, 1],
      [1, 2],
    ]);
    const { values, vectors } = symmetricEigen(a);
    expect(values[0]).toBeCloseTo(1, 14);
    expect(values[1]).toBeCloseTo(3, 14);
    // Eigenvectors are defined up to sign.
    expect(Math.abs(at(vectors, 0, 0))).toBeCloseTo(Math.SQRT1_2, 14);
    expect(at(vectors, 0, 0) * at(vectors, 1, 0)).toBeCloseTo(-0.5, 14);
    expect(at(vectors, 0, 1) * at(vectors, 1, 1)).toBeCloseTo(0.5, 14);
    expectValidDecomposition(a, values, vectors, 1e-14);
  });

  it('the second-difference matrix tridiag(−1, 2, −1) of size 3 has eigenvalues 2 − √2, 2, 2 + √2', () => {
    const a = fromRows([
      [2, -1, 0],
      [-1, 2, -1],
      [0, -1, 2],
    ]);
    const { values, vectors } = symmetricEigen(a);
    expect(maxAbsDifference(values, [2 - Math.SQRT2, 2, 2 + Math.SQRT2])).toBeLessThan(1e-14);
    expectValidDecomposition(a, values, vectors, 1e-14);
  });

  it('the second-difference matrix of size 60 has eigenvalues 2 − 2 cos(kπ/61)', () => {
    const n = 60;
    const a = makeMatrix(n, n, (i, j) => (i === j ? 2 : Math.abs(i - j) === 1 ? -1 : 0));
    const { values, vectors } = symmetricEigen(a);
    const expected = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
    expect(maxAbsDifference(values, expected)).toBeLessThan(1e-13);
    expectValidDecomposition(a, values, vectors, 1e-13);
  });

  it('sorts a diagonal matrix and returns unit vectors', () => {
    const a = fromRows([
      [3, 0, 0],
      [0, -1, 0],
      [0, 0, 2],
    ]);
    const { values, vectors } = symmetricEigen(a);
    expect(Array.from(values)).toEqual([-1, 2, 3]);
    expect(Math.abs(at(vectors, 1, 0))).toBe(1);
    expect(Math.abs(at(vectors, 2, 1))).toBe(1);
    expect(Math.abs(at(vectors, 0, 2))).toBe(1);
  });

  it('handles 1 × 1, 0 × 0 and all-zero matrices', () => {
    const single = symmetricEigen(fromRows([[-4.5]]));
    expect(Array.from(single.values)).toEqual([-4.5]);
    expect(Array.from(single.vectors.data)).toEqual([1]);
    expect(symmetricEigen(matrix(0, 0)).values.length).toBe(0);
    const zero = matrix(5, 5);
    const { values, vectors } = symmetricEigen(zero);
    expect(Array.from(values)).toEqual([0, 0, 0, 0, 0]);
    expectValidDecomposition(zero, values, vectors, 1e-15);
  });

  it('recovers a known spectrum with repeated and zero eigenvalues, Q diag(λ) Qᵀ', () => {
    const random = new Random(31);
    const n = 40;
    // Ten exact zeros (as from always-zero inputs in a KFAC factor), a tiny one, a
    // five-fold repeated one, then distinct values spanning four orders of magnitude.
    const spectrum = [...Array(10).fill(0), 1e-8, ...Array(5).fill(1), ...Array.from({ length: 24 }, (_, k) => 2 + k * k * 0.2)];
    const q = randomOrthogonal(random, n);
    const a = referenceMatmul(makeMatrix(n, n, (i, j) => at(q, i, j) * spectrum[j]), referenceTranspose(q));
    const { values, vectors } = symmetricEigen(a);
    const largest = Math.max(...spectrum);
    expect(maxAbsDifference(values, spectrum) / largest).toBeLessThan(1e-13);
    expectValidDecomposition(a, values, vectors, 1e-13);
  });

  it("separates Wilkinson's W21+, whose top two eigenvalues agree to 13 digits", () => {
    const n = 21;
    const a = makeMatrix(n, n, (i, j) => (i === j ? Math.abs(10 - i) : Math.abs(i - j) === 1 ? 1 : 0));
    const { values, vectors } = symmetricEigen(a);
    // Published value (Wilkinson 1965): 10.7461941829033...
    expect(Math.abs(values[n - 1] - 10.7461941829033)).toBeLessThan(1e-12);
    expect(Math.abs(values[n - 2] - 10.7461941829033)).toBeLessThan(1e-12);
    expectValidDecomposition(a, values, vectors, 1e-14);
  });
});

describe('symmetricEigen on random matrices', () => {
  it('satisfies A V = V Λ and Vᵀ V = I and agrees with ml-matrix, sizes 1 to 200', () => {
    const random = new Random(32);
    for (const n of [1, 2, 5, 50, 200]) {
      const a = randomSymmetric(random, n);
      const { values, vectors } = symmetricEigen(a);
      expectValidDecomposition(a, values, vectors, 1e-12, `n = ${n}`);
      const reference = mlMatrixEigenvalues(a);
      expect(maxAbsDifference(values, reference) / maxAbs(reference), `n = ${n}`).toBeLessThan(1e-12);
      let trace = 0;
      for (let i = 0; i < n; i++) trace += at(a, i, i);
      expect(values.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 10);
    }
  });

  it('decomposes a rank-deficient KFAC-like factor E[a aᵀ] with always-zero inputs', () => {
    const random = new Random(33);
    const inputs = 60;
    const examples = 30;
    // Inputs 0..9 are always 0 (image border pixels); the last input is the bias 1.
    const factor = makeMatrix(inputs, inputs);
    for (let e = 0; e < examples; e++) {
      const activation = Array.from({ length: inputs }, (_, i) => (i < 10 ? 0 : i === inputs - 1 ? 1 : Math.max(0, random.normal())));
      for (let i = 0; i < inputs; i++) for (let j = 0; j < inputs; j++) factor.data[i * inputs + j] += (activation[i] * activation[j]) / examples;
    }
    const { values, vectors } = symmetricEigen(factor);
    expectValidDecomposition(factor, values, vectors, 1e-13);
    // Rank ≤ 30 examples, so at least 30 eigenvalues vanish (to rounding).
    const scale = values[inputs - 1];
    for (let k = 0; k < inputs - examples; k++) expect(Math.abs(values[k]) / scale).toBeLessThan(1e-13);
  });

  it('symmetrises its argument first', () => {
    const random = new Random(34);
    const asymmetric = randomMatrix(random, 12, 12);
    const fromAsymmetric = symmetricEigen(asymmetric);
    const fromSymmetrized = symmetricEigen(symmetrize(asymmetric));
    expect(fromAsymmetric.values).toEqual(fromSymmetrized.values);
    expect(fromAsymmetric.vectors.data).toEqual(fromSymmetrized.vectors.data);
  });

  it('is unaffected by the scale of the matrix (no overflow or underflow at 1e±150)', () => {
    const random = new Random(35);
    const a = randomSymmetric(random, 30);
    const unit = symmetricEigen(a);
    for (const factor of [1e150, 1e-150]) {
      const scaled = makeMatrix(30, 30, (i, j) => at(a, i, j) * factor);
      const { values, vectors } = symmetricEigen(scaled);
      expectValidDecomposition(scaled, values, vectors, 1e-13, `scale ${factor}`);
      const rescaled = Array.from(values, (x) => x / factor);
      expect(maxAbsDifference(rescaled, unit.values) / maxAbs(unit.values)).toBeLessThan(1e-13);
    }
  });

  it('rejects NaN entries and non-square matrices', () => {
    const withNaN = fromRows([
      [1, 0],
      [NaN, 1],
    ]);
    expect(() => symmetricEigen(withNaN, 'KFAC factor A of layer dense_1')).toThrow(
      /^KFAC factor A of layer dense_1 has no eigendecomposition: its entry \(1, 0\) is NaN/,
    );
    expect(() => symmetricEigen(matrix(2, 3))).toThrow('symmetricEigen needs a square matrix, got 2 × 3.');
  });
});

describe('decompositions kept with their matrix', () => {
  const random = new Random(808);
  const spd = (n: number) => {
    const b = randomMatrix(random, n, n);
    return symmetrize(referenceMatmul(b, referenceTranspose(b)));
  };
  const copyOf = (m: Matrix): Matrix => ({ rows: m.rows, cols: m.cols, data: Float64Array.from(m.data) });

  it('decomposes an unchanged matrix once and returns that decomposition again, equal bit for bit to a fresh one of a copy', () => {
    const a = spd(30);
    const before = symmetricEigenComputations();
    const first = symmetricEigen(a);
    expect(symmetricEigen(a, 'the same matrix under another name')).toBe(first);
    expect(symmetricEigenComputations() - before).toBe(1);
    const fresh = symmetricEigen(copyOf(a));
    expect(symmetricEigenComputations() - before).toBe(2);
    expect(fresh).not.toBe(first);
    expect(fresh).toEqual(first);
  });

  it('decomposes a matrix afresh once its entries changed in place, or its data was replaced', () => {
    const a = spd(12);
    const first = symmetricEigen(a);
    a.data[3 * 12 + 5] += 1e-13;
    a.data[5 * 12 + 3] += 1e-13;
    const changed = symmetricEigen(a);
    expect(changed).not.toBe(first);
    expect(changed).toEqual(symmetricEigen(copyOf(a)));
    a.data = Float64Array.from(a.data, (value, i) => (i % 13 === 0 ? value + 1 : value));
    const replaced = symmetricEigen(a);
    expect(replaced).not.toBe(changed);
    expect(replaced).toEqual(symmetricEigen(copyOf(a)));
  });
});
