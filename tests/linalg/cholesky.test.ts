import { LuDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { NotPositiveDefiniteError, cholesky, fromRows, logDetFromCholesky, matrix, toRows } from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { at, randomSpd, referenceMatmul, referenceTranspose, relativeError } from './helpers.ts';

describe('cholesky', () => {
  it('factors a hand-worked 2 × 2 matrix', () => {
    // L11 = √4 = 2, L21 = 2 / 2 = 1, L22 = √(3 − 1²) = √2.
    const lower = cholesky(
      fromRows([
        [4, 2],
        [2, 3],
      ]),
    );
    expect(toRows(lower)).toEqual([
      [2, 0],
      [1, Math.SQRT2],
    ]);
    expect(logDetFromCholesky(lower)).toBeCloseTo(Math.log(4 * 3 - 2 * 2), 14);
  });

  it('factors a hand-worked 3 × 3 matrix', () => {
    // Column 0: 2, 12/2 = 6, −16/2 = −8. Row 1: √(37 − 36) = 1.
    // Row 2: (−43 − (−8)(6)) / 1 = 5, then √(98 − 64 − 25) = 3.
    const lower = cholesky(
      fromRows([
        [4, 12, -16],
        [12, 37, -43],
        [-16, -43, 98],
      ]),
    );
    expect(toRows(lower)).toEqual([
      [2, 0, 0],
      [6, 1, 0],
      [-8, 5, 3],
    ]);
    // det = (2 · 1 · 3)² = 36.
    expect(logDetFromCholesky(lower)).toBeCloseTo(Math.log(36), 14);
  });

  it('reconstructs L Lᵀ = A on random SPD matrices to 1e-10 relative', () => {
    const random = new Random(7);
    for (const n of [1, 2, 5, 50, 200]) {
      const a = randomSpd(random, n);
      const lower = cholesky(a);
      for (let i = 0; i < n; i++) {
        expect(at(lower, i, i)).toBeGreaterThan(0);
        for (let j = i + 1; j < n; j++) expect(at(lower, i, j)).toBe(0);
      }
      const reconstructed = referenceMatmul(lower, referenceTranspose(lower));
      expect(relativeError(reconstructed, a), `n = ${n}`).toBeLessThan(1e-10);
    }
  });

  it('reads only the lower triangle', () => {
    const random = new Random(8);
    const a = randomSpd(random, 6);
    const garbledUpper = matrix(6, 6, a.data.slice());
    for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) garbledUpper.data[i * 6 + j] = 1e3 * (i - j);
    expect(cholesky(garbledUpper).data).toEqual(cholesky(a).data);
  });

  it('gives the log-determinant of an independent LU factorisation', () => {
    const random = new Random(9);
    const a = randomSpd(random, 50);
    const rows = Array.from({ length: 50 }, (_, i) => Array.from(a.data.subarray(i * 50, (i + 1) * 50)));
    const determinant = new LuDecomposition(new MlMatrix(rows)).determinant;
    expect(determinant).toBeGreaterThan(0);
    expect(logDetFromCholesky(cholesky(a))).toBeCloseTo(Math.log(determinant), 9);
  });

  it('rejects a non-square matrix', () => {
    expect(() => cholesky(matrix(2, 3))).toThrow('cholesky needs a square matrix, got 2 × 3.');
  });
});

describe('NotPositiveDefiniteError', () => {
  it('names the matrix, the failing pivot and the fix for an indefinite matrix', () => {
    // Pivot 0 is 1, L21 = 2, pivot 1 is 1 − 2² = −3.
    const indefinite = fromRows([
      [1, 2],
      [2, 1],
    ]);
    let caught: unknown;
    try {
      cholesky(indefinite, 'KFAC factor A of layer dense_1');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NotPositiveDefiniteError);
    expect(caught).toBeInstanceOf(Error);
    const error = caught as NotPositiveDefiniteError;
    expect(error.name).toBe('NotPositiveDefiniteError');
    expect(error.matrixName).toBe('KFAC factor A of layer dense_1');
    expect(error.pivotIndex).toBe(1);
    expect(error.pivotValue).toBe(-3);
    expect(error.message).toBe(
      'KFAC factor A of layer dense_1 (2 × 2) is not positive definite: its Cholesky pivot at row 1 (0-based) is -3, ' +
        'so increase the prior precision τ (the damping added to its diagonal) until it is positive definite.',
    );
  });

  it('fails at the first non-positive pivot, including a zero one (semi-definite)', () => {
    const negativeLast = fromRows([
      [1, 0, 0],
      [0, 2, 0],
      [0, 0, -0.5],
    ]);
    expect(() => cholesky(negativeLast)).toThrow(
      'The matrix (3 × 3) is not positive definite: its Cholesky pivot at row 2 (0-based) is -0.5, ' +
        'so increase the prior precision τ (the damping added to its diagonal) until it is positive definite.',
    );
    const singular = fromRows([
      [1, 1],
      [1, 1],
    ]);
    expect(() => cholesky(singular, 'the damped factor G')).toThrow(
      /^The damped factor G \(2 × 2\) is not positive definite: its Cholesky pivot at row 1 \(0-based\) is 0, so increase the prior precision τ/,
    );
  });

  it('reports a NaN entry, and says that damping cannot fix it', () => {
    const withNaN = fromRows([
      [4, 1, 0],
      [1, 3, 0],
      [0, NaN, 2],
    ]);
    let caught: unknown;
    try {
      cholesky(withNaN, 'KFAC factor G of layer dense_2');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NotPositiveDefiniteError);
    const error = caught as NotPositiveDefiniteError;
    expect(error.pivotIndex).toBe(2);
    expect(error.pivotValue).toBeNaN();
    expect(error.message).toBe(
      'KFAC factor G of layer dense_2 (3 × 3) is not positive definite: its entry (2, 1) is NaN, ' +
        'so its Cholesky pivot at row 2 (0-based) is NaN, which no damping can fix: ' +
        'find where the non-finite value comes from (a diverged model, or an overflowing or empty curvature sum).',
    );
    // A non-finite entry in the upper triangle, which the factorisation would not read, is still loud.
    expect(() => cholesky(fromRows([[1, Infinity], [0, 1]]))).toThrow(/entry \(0, 1\) is Infinity/);
  });
});
