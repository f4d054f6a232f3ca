import { describe, expect, it } from 'vitest';
import {
  add,
  addScaledIdentity,
  diagonal,
  diagonalMatrix,
  frobeniusNorm,
  fromRows,
  identity,
  matmul,
  matrix,
  matVec,
  scale,
  subtract,
  symmetrize,
  toRows,
  transpose,
} from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { randomMatrix, referenceMatmul, referenceTranspose, relativeError } from './helpers.ts';

describe('matrix construction', () => {
  it('is row-major: entry (i, j) at data[i * cols + j]', () => {
    const a = fromRows([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(a.rows).toBe(2);
    expect(a.cols).toBe(3);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(toRows(a)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('uses a Float64Array as is, copies other arrays, and zero-fills without data', () => {
    const data = new Float64Array([1, 2, 3, 4]);
    expect(matrix(2, 2, data).data).toBe(data);
    const fromFloat32 = matrix(2, 2, new Float32Array([1, 2, 3, 4]));
    expect(fromFloat32.data).toBeInstanceOf(Float64Array);
    expect(Array.from(matrix(1, 3).data)).toEqual([0, 0, 0]);
  });

  it('rejects a wrong number of entries, bad dimensions and ragged rows', () => {
    expect(() => matrix(2, 2, [1, 2, 3])).toThrow('A 2 × 2 matrix needs 4 entries, got 3.');
    expect(() => matrix(-1, 2)).toThrow(/non-negative integer/);
    expect(() => fromRows([[1, 2], [3]])).toThrow(/equally long/);
  });

  it('builds identity and diagonal matrices and reads the diagonal back', () => {
    expect(toRows(identity(2))).toEqual([
      [1, 0],
      [0, 1],
    ]);
    const d = diagonalMatrix([3, -1, 2]);
    expect(toRows(d)).toEqual([
      [3, 0, 0],
      [0, -1, 0],
      [0, 0, 2],
    ]);
    expect(Array.from(diagonal(d))).toEqual([3, -1, 2]);
  });
});

describe('matrix arithmetic', () => {
  it('works out hand examples', () => {
    const a = fromRows([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const b = fromRows([
      [1, 0, -1],
      [2, 1, 0],
    ]);
    // Row 0 of a·b: [1·1 + 2·2, 1·0 + 2·1, 1·(−1) + 2·0] = [5, 2, −1], and so on.
    expect(toRows(matmul(a, b))).toEqual([
      [5, 2, -1],
      [11, 4, -3],
      [17, 6, -5],
    ]);
    expect(toRows(transpose(a))).toEqual([
      [1, 3, 5],
      [2, 4, 6],
    ]);
    expect(Array.from(matVec(a, [1, -1]))).toEqual([-1, -1, -1]);
    const square = fromRows([
      [1, 2],
      [4, 3],
    ]);
    expect(toRows(addScaledIdentity(square, 0.5))).toEqual([
      [1.5, 2],
      [4, 3.5],
    ]);
    expect(toRows(symmetrize(square))).toEqual([
      [1, 3],
      [3, 3],
    ]);
    expect(toRows(scale(square, -2))).toEqual([
      [-2, -4],
      [-8, -6],
    ]);
    expect(toRows(add(square, square))).toEqual(toRows(scale(square, 2)));
    expect(toRows(subtract(square, square))).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(frobeniusNorm(square)).toBeCloseTo(Math.sqrt(1 + 4 + 16 + 9), 14);
    // Scaled so that squaring 3e200 does not overflow.
    expect(frobeniusNorm(fromRows([[3e200, 4e200]])) / 5e200).toBeCloseTo(1, 14);
  });

  it('leaves its arguments unchanged', () => {
    const a = fromRows([
      [1, 2],
      [4, 3],
    ]);
    const before = Array.from(a.data);
    addScaledIdentity(a, 1);
    symmetrize(a);
    scale(a, 3);
    transpose(a);
    matmul(a, a);
    expect(Array.from(a.data)).toEqual(before);
  });

  it('matmul and transpose match triple loops on random rectangular matrices', () => {
    const random = new Random(1);
    for (const [n, k, m] of [
      [1, 1, 1],
      [3, 7, 2],
      [70, 130, 45],
    ]) {
      const a = randomMatrix(random, n, k);
      const b = randomMatrix(random, k, m);
      expect(relativeError(matmul(a, b), referenceMatmul(a, b))).toBeLessThan(1e-13);
      expect(relativeError(transpose(a), referenceTranspose(a))).toBe(0);
    }
  });

  it('rejects mismatched shapes with a sentence saying so', () => {
    expect(() => matmul(matrix(2, 3), matrix(2, 3))).toThrow(
      'Cannot multiply a 2 × 3 matrix by a 2 × 3 matrix: the inner dimensions differ.',
    );
    expect(() => addScaledIdentity(matrix(2, 3), 1)).toThrow('addScaledIdentity needs a square matrix, got 2 × 3.');
    expect(() => add(matrix(2, 2), matrix(2, 3))).toThrow(/same shape/);
    expect(() => matVec(matrix(2, 2), [1])).toThrow(/vector of length 1/);
  });
});
