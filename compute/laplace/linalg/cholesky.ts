/**
 * Cholesky factorisation of symmetric positive definite matrices, the triangular
 * solves and inverses built on it, and its log-determinant. A matrix that is not
 * positive definite is an error, never silently repaired with jitter: a Laplace
 * posterior whose precision is not positive definite has to be damped more by
 * whoever builds it, and they need to know.
 */

import { checkSquare, dot, firstNonFiniteEntry, matrix, type Matrix } from './matrix.ts';

const DEFAULT_NAME = 'The matrix';

/** Thrown by `cholesky` (and everything built on it) when its argument is not positive definite. */
export class NotPositiveDefiniteError extends Error {
  override readonly name = 'NotPositiveDefiniteError';
  /** What the matrix is, as given by the caller (e.g. "KFAC factor A of layer dense_1"). */
  readonly matrixName: string;
  /** 0-based row at which the factorisation failed. */
  readonly pivotIndex: number;
  /** The pivot there: ≤ 0, or NaN when the matrix has a non-finite entry. */
  readonly pivotValue: number;

  constructor(matrixName: string, pivotIndex: number, pivotValue: number, size: number, nonFinite?: { row: number; col: number; value: number }) {
    const subject = capitalize(matrixName);
    let message: string;
    if (nonFinite !== undefined) {
      message =
        `${subject} (${size} × ${size}) is not positive definite: its entry (${nonFinite.row}, ${nonFinite.col}) is ${nonFinite.value}, ` +
        `so its Cholesky pivot at row ${pivotIndex} (0-based) is ${pivotValue}, which no damping can fix: ` +
        `find where the non-finite value comes from (a diverged model, or an overflowing or empty curvature sum).`;
    } else {
      message =
        `${subject} (${size} × ${size}) is not positive definite: its Cholesky pivot at row ${pivotIndex} (0-based) ` +
        `is ${pivotValue}, so increase the prior precision τ (the damping added to its diagonal) until it is positive definite.`;
    }
    super(message);
    this.matrixName = matrixName;
    this.pivotIndex = pivotIndex;
    this.pivotValue = pivotValue;
  }
}

function capitalize(text: string): string {
  return text.length === 0 ? DEFAULT_NAME : text[0].toUpperCase() + text.slice(1);
}

/**
 * The lower-triangular L with L Lᵀ = a, for a symmetric positive definite a.
 * Only the lower triangle of a is read (a is taken to be symmetric), but every
 * entry must be finite. Throws NotPositiveDefiniteError otherwise; `name` says
 * what the matrix is in that message, e.g. "KFAC factor A of layer dense_1".
 */
export function cholesky(a: Matrix, name: string = DEFAULT_NAME): Matrix {
  checkSquare(a, 'cholesky');
  const n = a.rows;
  const nonFinite = firstNonFiniteEntry(a);
  if (nonFinite !== null) {
    const [row, col] = nonFinite;
    // A non-finite entry (i, j) first reaches the pivot of row max(i, j), and makes it NaN.
    throw new NotPositiveDefiniteError(name, Math.max(row, col), NaN, n, { row, col, value: a.data[row * n + col] });
  }
  const A = a.data;
  const result = matrix(n, n);
  const L = result.data;
  // Row by row (Cholesky–Banachiewicz): every inner product runs along two rows
  // of L, which are contiguous in row-major storage.
  for (let i = 0; i < n; i++) {
    const rowI = i * n;
    for (let j = 0; j < i; j++) {
      const rowJ = j * n;
      L[rowI + j] = (A[rowI + j] - dot(L, rowI, L, rowJ, j)) / L[rowJ + j];
    }
    const pivot = A[rowI + i] - dot(L, rowI, L, rowI, i);
    if (!(pivot > 0)) throw new NotPositiveDefiniteError(name, i, pivot, n);
    L[rowI + i] = Math.sqrt(pivot);
  }
  return result;
}


/** log det(L Lᵀ) = 2 Σ log L_ii, from a Cholesky factor L. */
export function logDetFromCholesky(lower: Matrix): number {
  checkSquare(lower, 'logDetFromCholesky');
  const n = lower.rows;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.log(lower.data[i * n + i]);
  return 2 * sum;
}

// ---- triangular solves ----
// Each accepts a matrix right-hand side (one system per column) or a vector,
// and returns the same kind. Only the triangle named is read.

/** X with L X = B, for a lower-triangular L (forward substitution). */
export function solveLowerTriangular(lower: Matrix, rhs: Matrix): Matrix;
export function solveLowerTriangular(lower: Matrix, rhs: Float64Array): Float64Array;
export function solveLowerTriangular(lower: Matrix, rhs: Matrix | Float64Array): Matrix | Float64Array {
  const { x, columns } = startSolve(lower, rhs, 'solveLowerTriangular');
  const n = lower.rows;
  const L = lower.data;
  for (let i = 0; i < n; i++) {
    const rowI = i * columns;
    for (let k = 0; k < i; k++) {
      const lik = L[i * n + k];
      if (lik === 0) continue;
      const rowK = k * columns;
      for (let c = 0; c < columns; c++) x[rowI + c] -= lik * x[rowK + c];
    }
    const inverseDiagonal = 1 / L[i * n + i];
    for (let c = 0; c < columns; c++) x[rowI + c] *= inverseDiagonal;
  }
  return finishSolve(rhs, x, columns);
}

/** X with U X = B, for an upper-triangular U (back substitution). */
export function solveUpperTriangular(upper: Matrix, rhs: Matrix): Matrix;
export function solveUpperTriangular(upper: Matrix, rhs: Float64Array): Float64Array;
export function solveUpperTriangular(upper: Matrix, rhs: Matrix | Float64Array): Matrix | Float64Array {
  const { x, columns } = startSolve(upper, rhs, 'solveUpperTriangular');
  const n = upper.rows;
  const U = upper.data;
  for (let i = n - 1; i >= 0; i--) {
    const rowI = i * columns;
    for (let k = i + 1; k < n; k++) {
      const uik = U[i * n + k];
      if (uik === 0) continue;
      const rowK = k * columns;
      for (let c = 0; c < columns; c++) x[rowI + c] -= uik * x[rowK + c];
    }
    const inverseDiagonal = 1 / U[i * n + i];
    for (let c = 0; c < columns; c++) x[rowI + c] *= inverseDiagonal;
  }
  return finishSolve(rhs, x, columns);
}

/**
 * X with Lᵀ X = B, for a lower-triangular L, without forming Lᵀ. With L the
 * Cholesky factor of a precision P = L Lᵀ, Lᵀ⁻¹ z for standard normal z has
 * covariance P⁻¹.
 */
export function solveLowerTriangularTransposed(lower: Matrix, rhs: Matrix): Matrix;
export function solveLowerTriangularTransposed(lower: Matrix, rhs: Float64Array): Float64Array;
export function solveLowerTriangularTransposed(lower: Matrix, rhs: Matrix | Float64Array): Matrix | Float64Array {
  const { x, columns } = startSolve(lower, rhs, 'solveLowerTriangularTransposed');
  const n = lower.rows;
  const L = lower.data;
  // Back substitution on Lᵀ, organised by rows of L: once x_j is final, row j
  // of L (column j of Lᵀ) is subtracted from the unknowns above it.
  for (let j = n - 1; j >= 0; j--) {
    const rowJ = j * columns;
    const inverseDiagonal = 1 / L[j * n + j];
    for (let c = 0; c < columns; c++) x[rowJ + c] *= inverseDiagonal;
    for (let i = 0; i < j; i++) {
      const lji = L[j * n + i];
      if (lji === 0) continue;
      const rowI = i * columns;
      for (let c = 0; c < columns; c++) x[rowI + c] -= lji * x[rowJ + c];
    }
  }
  return finishSolve(rhs, x, columns);
}

/** X with (L Lᵀ) X = B, from the Cholesky factor L of a. */
export function choleskySolve(lower: Matrix, rhs: Matrix): Matrix;
export function choleskySolve(lower: Matrix, rhs: Float64Array): Float64Array;
export function choleskySolve(lower: Matrix, rhs: Matrix | Float64Array): Matrix | Float64Array {
  if (rhs instanceof Float64Array) return solveLowerTriangularTransposed(lower, solveLowerTriangular(lower, rhs));
  return solveLowerTriangularTransposed(lower, solveLowerTriangular(lower, rhs));
}

function startSolve(triangle: Matrix, rhs: Matrix | Float64Array, operation: string): { x: Float64Array; columns: number } {
  checkSquare(triangle, operation);
  const n = triangle.rows;
  const rows = rhs instanceof Float64Array ? rhs.length : rhs.rows;
  if (rows !== n) {
    throw new Error(`${operation}: the triangular matrix is ${n} × ${n} but the right-hand side has ${rows} rows.`);
  }
  for (let i = 0; i < n; i++) {
    if (triangle.data[i * n + i] === 0) {
      throw new Error(`${operation}: the triangular matrix is singular (its diagonal entry at row ${i} is 0).`);
    }
  }
  if (rhs instanceof Float64Array) return { x: rhs.slice(), columns: 1 };
  return { x: rhs.data.slice(), columns: rhs.cols };
}

function finishSolve(rhs: Matrix | Float64Array, x: Float64Array, columns: number): Matrix | Float64Array {
  return rhs instanceof Float64Array ? x : matrix(rhs.rows, columns, x);
}

// ---- inverses ----

/** The inverse of a lower-triangular matrix (itself lower triangular). */
export function invertLowerTriangular(lower: Matrix): Matrix {
  checkSquare(lower, 'invertLowerTriangular');
  const n = lower.rows;
  const L = lower.data;
  const result = matrix(n, n);
  const inv = result.data;
  // Row i of L⁻¹ is (e_i − Σ_{k<i} L_ik · row k of L⁻¹) / L_ii, and row k of L⁻¹
  // is zero beyond column k.
  for (let i = 0; i < n; i++) {
    const diagonalEntry = L[i * n + i];
    if (diagonalEntry === 0) {
      throw new Error(`invertLowerTriangular: the matrix is singular (its diagonal entry at row ${i} is 0).`);
    }
    const rowI = i * n;
    for (let k = 0; k < i; k++) {
      const lik = L[rowI + k];
      if (lik === 0) continue;
      const rowK = k * n;
      for (let j = 0; j <= k; j++) inv[rowI + j] -= lik * inv[rowK + j];
    }
    inv[rowI + i] = 1;
    const inverseDiagonal = 1 / diagonalEntry;
    for (let j = 0; j <= i; j++) inv[rowI + j] *= inverseDiagonal;
  }
  return result;
}

/** (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹ from a Cholesky factor L; the result is exactly symmetric. */
export function choleskyInverse(lower: Matrix): Matrix {
  const n = lower.rows;
  const inverseFactor = invertLowerTriangular(lower).data;
  const result = matrix(n, n);
  const out = result.data;
  // (L⁻ᵀ L⁻¹)_ij = Σ_k M_ki M_kj with M = L⁻¹: a sum of outer products of the rows
  // of M, each zero beyond its diagonal. Build the lower triangle, then mirror it.
  for (let k = 0; k < n; k++) {
    const rowK = k * n;
    for (let i = 0; i <= k; i++) {
      const mki = inverseFactor[rowK + i];
      if (mki === 0) continue;
      const rowI = i * n;
      for (let j = 0; j <= i; j++) out[rowI + j] += mki * inverseFactor[rowK + j];
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) out[j * n + i] = out[i * n + j];
  }
  return result;
}

/** The inverse of a symmetric positive definite matrix, through its Cholesky factor. */
export function inverseSpd(a: Matrix, name: string = DEFAULT_NAME): Matrix {
  return choleskyInverse(cholesky(a, name));
}
