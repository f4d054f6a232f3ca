import { describe, expect, it } from 'vitest';
import {
  NotPositiveDefiniteError,
  cholesky,
  choleskyInverse,
  choleskySolve,
  fromRows,
  inverseSpd,
  invertLowerTriangular,
  matrix,
  solveLowerTriangular,
  solveLowerTriangularTransposed,
  solveUpperTriangular,
  toRows,
  type Matrix,
} from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import {
  at,
  makeMatrix,
  maxAbsDifference,
  randomMatrix,
  randomSpd,
  referenceIdentity,
  referenceMatmul,
  referenceTranspose,
  relativeError,
} from './helpers.ts';

/** A random well-conditioned lower-triangular matrix (diagonal in [1, 2) in absolute value, random signs). */
function randomLower(random: Random, n: number): Matrix {
  return makeMatrix(n, n, (i, j) => {
    if (j > i) return 0;
    if (j < i) return random.normal() / Math.sqrt(n);
    return (1 + random.uniform()) * (random.uniform() < 0.5 ? -1 : 1);
  });
}

describe('triangular solves', () => {
  it('work out hand examples', () => {
    // 2 x0 = 2 → x0 = 1; x0 + 4 x1 = 9 → x1 = 2.
    const lower = fromRows([
      [2, 0],
      [1, 4],
    ]);
    expect(Array.from(solveLowerTriangular(lower, new Float64Array([2, 9])))).toEqual([1, 2]);
    // 4 x1 = 8 → x1 = 2; 2 x0 + x1 = 4 → x0 = 1.
    const upper = fromRows([
      [2, 1],
      [0, 4],
    ]);
    expect(Array.from(solveUpperTriangular(upper, new Float64Array([4, 8])))).toEqual([1, 2]);
    // Lᵀ = [[2, 1], [0, 4]] is that same upper matrix.
    expect(Array.from(solveLowerTriangularTransposed(lower, new Float64Array([4, 8])))).toEqual([1, 2]);
  });

  it('solve L X = B, U X = B and Lᵀ X = B for random matrices and vectors', () => {
    const random = new Random(21);
    for (const n of [1, 2, 5, 50, 200]) {
      const lower = randomLower(random, n);
      const upper = referenceTranspose(randomLower(random, n));
      const rhs = randomMatrix(random, n, 3);
      expect(relativeError(referenceMatmul(lower, solveLowerTriangular(lower, rhs)), rhs)).toBeLessThan(1e-12);
      expect(relativeError(referenceMatmul(upper, solveUpperTriangular(upper, rhs)), rhs)).toBeLessThan(1e-12);
      const lowerTransposed = referenceTranspose(lower);
      expect(relativeError(referenceMatmul(lowerTransposed, solveLowerTriangularTransposed(lower, rhs)), rhs)).toBeLessThan(1e-12);

      const vector = rhs.data.filter((_, index) => index % 3 === 0);
      const solved = solveLowerTriangular(lower, vector);
      expect(solved).toBeInstanceOf(Float64Array);
      expect(maxAbsDifference(solved, solveLowerTriangular(lower, matrix(n, 1, vector)).data)).toBe(0);
    }
  });

  it('read only the triangle they are named after and leave the right-hand side alone', () => {
    const random = new Random(22);
    const lower = randomLower(random, 4);
    const full = makeMatrix(4, 4, (i, j) => (j > i ? 100 + i + j : at(lower, i, j)));
    const rhs = randomMatrix(random, 4, 2);
    const before = Array.from(rhs.data);
    expect(solveLowerTriangular(full, rhs).data).toEqual(solveLowerTriangular(lower, rhs).data);
    expect(solveLowerTriangularTransposed(full, rhs).data).toEqual(solveLowerTriangularTransposed(lower, rhs).data);
    expect(solveUpperTriangular(referenceTranspose(full), rhs).data).toEqual(
      solveUpperTriangular(referenceTranspose(lower), rhs).data,
    );
    expect(Array.from(rhs.data)).toEqual(before);
  });

  it('reject a singular triangle and mismatched shapes', () => {
    const singular = fromRows([
      [1, 0],
      [5, 0],
    ]);
    expect(() => solveLowerTriangular(singular, new Float64Array(2))).toThrow(
      'solveLowerTriangular: the triangular matrix is singular (its diagonal entry at row 1 is 0).',
    );
    expect(() => solveUpperTriangular(fromRows([[1]]), new Float64Array(2))).toThrow(
      'solveUpperTriangular: the triangular matrix is 1 × 1 but the right-hand side has 2 rows.',
    );
  });
});

describe('inverses', () => {
  it('invert a hand-worked 2 × 2 SPD matrix', () => {
    // [[4, 2], [2, 3]]⁻¹ = [[3, −2], [−2, 4]] / (4·3 − 2·2).
    const inverse = inverseSpd(
      fromRows([
        [4, 2],
        [2, 3],
      ]),
    );
    const expected = [
      [3 / 8, -2 / 8],
      [-2 / 8, 4 / 8],
    ];
    expect(maxAbsDifference(inverse.data, expected.flat())).toBeLessThan(1e-15);
  });

  it('give A A⁻¹ = I and an exactly symmetric inverse for random SPD matrices', () => {
    const random = new Random(23);
    for (const n of [1, 2, 5, 50, 200]) {
      const a = randomSpd(random, n);
      const inverse = inverseSpd(a);
      const identity = referenceIdentity(n);
      expect(maxAbsDifference(referenceMatmul(a, inverse).data, identity.data), `n = ${n}`).toBeLessThan(1e-10);
      expect(maxAbsDifference(referenceMatmul(inverse, a).data, identity.data), `n = ${n}`).toBeLessThan(1e-10);
      expect(inverse.data).toEqual(referenceTranspose(inverse).data);
      expect(choleskyInverse(cholesky(a)).data).toEqual(inverse.data);
    }
  });

  it('invert a lower-triangular matrix into a lower-triangular one', () => {
    const random = new Random(24);
    const lower = randomLower(random, 30);
    const inverse = invertLowerTriangular(lower);
    for (let i = 0; i < 30; i++) for (let j = i + 1; j < 30; j++) expect(at(inverse, i, j)).toBe(0);
    expect(maxAbsDifference(referenceMatmul(lower, inverse).data, referenceIdentity(30).data)).toBeLessThan(1e-12);
  });

  it('solve A X = B through the Cholesky factor', () => {
    const random = new Random(25);
    const a = randomSpd(random, 40);
    const rhs = randomMatrix(random, 40, 4);
    const solution = choleskySolve(cholesky(a), rhs);
    expect(relativeError(referenceMatmul(a, solution), rhs)).toBeLessThan(1e-11);
    const vector = new Float64Array(40).map(() => random.normal());
    const vectorSolution = choleskySolve(cholesky(a), vector);
    expect(relativeError(referenceMatmul(a, matrix(40, 1, vectorSolution)).data, vector)).toBeLessThan(1e-11);
  });

  it('pass the name through to the not-positive-definite error', () => {
    const indefinite = fromRows([
      [1, 0],
      [0, -1],
    ]);
    expect(() => inverseSpd(indefinite, 'posterior precision of layer dense_3')).toThrow(NotPositiveDefiniteError);
    expect(() => inverseSpd(indefinite, 'posterior precision of layer dense_3')).toThrow(
      /^Posterior precision of layer dense_3 \(2 × 2\) is not positive definite: its Cholesky pivot at row 1 \(0-based\) is -1/,
    );
    expect(toRows(inverseSpd(fromRows([[4]])))).toEqual([[0.25]]);
  });
});
