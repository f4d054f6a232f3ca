/**
 * Test helpers for linalg: random matrices from the project's seeded generator and
 * reference computations written as plainly as possible (triple loops), so that
 * the library is checked against code that shares nothing with it.
 */

import { Random } from '../../compute/laplace/random.ts';
import type { Matrix } from '../../compute/laplace/linalg/index.ts';

export function makeMatrix(rows: number, cols: number, entries?: (i: number, j: number) => number): Matrix {
  const data = new Float64Array(rows * cols);
  if (entries) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = entries(i, j);
  return { rows, cols, data };
}

export function at(a: Matrix, i: number, j: number): number {
  return a.data[i * a.cols + j];
}

export function randomMatrix(random: Random, rows: number, cols: number): Matrix {
  return makeMatrix(rows, cols, () => random.normal());
}

/** X Xᵀ / n + ridge · I for a square Gaussian X: symmetric positive definite, condition number moderate. */
export function randomSpd(random: Random, n: number, ridge = 0.1): Matrix {
  const x = randomMatrix(random, n, n);
  return makeMatrix(n, n, (i, j) => {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += at(x, i, k) * at(x, j, k);
    return sum / n + (i === j ? ridge : 0);
  });
}

/** A random orthogonal matrix as a product of Householder reflections I − 2 u uᵀ / uᵀu. */
export function randomOrthogonal(random: Random, n: number): Matrix {
  let q = makeMatrix(n, n, (i, j) => (i === j ? 1 : 0));
  for (let r = 0; r < n; r++) {
    const u = Array.from({ length: n }, () => random.normal());
    const uu = u.reduce((s, x) => s + x * x, 0);
    const reflection = makeMatrix(n, n, (i, j) => (i === j ? 1 : 0) - (2 * u[i] * u[j]) / uu);
    q = referenceMatmul(q, reflection);
  }
  return q;
}

export function referenceMatmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error('shape mismatch in referenceMatmul');
  return makeMatrix(a.rows, b.cols, (i, j) => {
    let sum = 0;
    for (let k = 0; k < a.cols; k++) sum += at(a, i, k) * at(b, k, j);
    return sum;
  });
}

export function referenceTranspose(a: Matrix): Matrix {
  return makeMatrix(a.cols, a.rows, (i, j) => at(a, j, i));
}

export function referenceIdentity(n: number): Matrix {
  return makeMatrix(n, n, (i, j) => (i === j ? 1 : 0));
}

export function maxAbs(values: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i]));
  return largest;
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let largest = 0;
  for (let i = 0; i < a.length; i++) {
    const difference = Math.abs(a[i] - b[i]);
    if (Number.isNaN(difference)) return NaN;
    largest = Math.max(largest, difference);
  }
  return largest;
}

/** max |a − b| / max |b|: the error relative to the size of the reference. */
export function relativeError(a: Matrix | ArrayLike<number>, reference: Matrix | ArrayLike<number>): number {
  const x = 'data' in a ? a.data : a;
  const y = 'data' in reference ? reference.data : reference;
  return maxAbsDifference(x, y) / maxAbs(y);
}
