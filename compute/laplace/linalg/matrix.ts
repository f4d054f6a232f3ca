/**
 * The dense matrix type of this folder and the small operations on it.
 * A matrix is row-major float64: entry (i, j) lives at data[i * cols + j].
 * Operations return new matrices and never modify their arguments.
 */

export type Matrix = { rows: number; cols: number; data: Float64Array };

/** Real numbers accepted wherever a matrix's entries are given. */
export type NumberArray = Float64Array | Float32Array | readonly number[];

/**
 * A rows × cols matrix. Without data it is all zeros; a Float64Array of the right
 * length is used as is (no copy, so the matrix is a view of it), any other array
 * is copied into a new Float64Array.
 */
export function matrix(rows: number, cols: number, data?: NumberArray): Matrix {
  checkDimension(rows, 'rows');
  checkDimension(cols, 'cols');
  if (data === undefined) return { rows, cols, data: new Float64Array(rows * cols) };
  if (data.length !== rows * cols) {
    throw new Error(`A ${rows} × ${cols} matrix needs ${rows * cols} entries, got ${data.length}.`);
  }
  return { rows, cols, data: data instanceof Float64Array ? data : Float64Array.from(data) };
}

/** A matrix from an array of equally long rows, e.g. fromRows([[1, 2], [3, 4]]). */
export function fromRows(rowsOfEntries: readonly (readonly number[])[]): Matrix {
  const rows = rowsOfEntries.length;
  const cols = rows === 0 ? 0 : rowsOfEntries[0].length;
  const out = matrix(rows, cols);
  for (let i = 0; i < rows; i++) {
    const row = rowsOfEntries[i];
    if (row.length !== cols) {
      throw new Error(`Row ${i} has ${row.length} entries but row 0 has ${cols}; all rows must be equally long.`);
    }
    out.data.set(row, i * cols);
  }
  return out;
}

/** The matrix as an array of rows (for printing and small comparisons). */
export function toRows(a: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < a.rows; i++) out.push(Array.from(a.data.subarray(i * a.cols, (i + 1) * a.cols)));
  return out;
}

export function identity(n: number): Matrix {
  const out = matrix(n, n);
  for (let i = 0; i < n; i++) out.data[i * n + i] = 1;
  return out;
}

/** A square matrix with the given diagonal and zeros elsewhere. */
export function diagonalMatrix(diagonal: NumberArray): Matrix {
  const n = diagonal.length;
  const out = matrix(n, n);
  for (let i = 0; i < n; i++) out.data[i * n + i] = diagonal[i];
  return out;
}

/** The diagonal of a square matrix. */
export function diagonal(a: Matrix): Float64Array {
  checkSquare(a, 'diagonal');
  const n = a.rows;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a.data[i * n + i];
  return out;
}

export function transpose(a: Matrix): Matrix {
  const { rows, cols } = a;
  const src = a.data;
  const out = matrix(cols, rows);
  const dst = out.data;
  // Tiles keep both the rows read and the rows written in cache for large matrices.
  const TILE = 32;
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j];
      }
    }
  }
  return out;
}

/** The product a · b. */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) {
    throw new Error(`Cannot multiply a ${a.rows} × ${a.cols} matrix by a ${b.rows} × ${b.cols} matrix: the inner dimensions differ.`);
  }
  const n = a.rows;
  const inner = a.cols;
  const m = b.cols;
  const A = a.data;
  const B = b.data;
  const out = matrix(n, m);
  const C = out.data;
  // i-k-j order makes the innermost loop run along rows of b and of the result;
  // blocking k keeps the rows of b in use resident in cache across all i.
  const K_BLOCK = 64;
  for (let k0 = 0; k0 < inner; k0 += K_BLOCK) {
    const k1 = Math.min(inner, k0 + K_BLOCK);
    for (let i = 0; i < n; i++) {
      const aRow = i * inner;
      const cRow = i * m;
      for (let k = k0; k < k1; k++) {
        const aik = A[aRow + k];
        const bRow = k * m;
        for (let j = 0; j < m; j++) C[cRow + j] += aik * B[bRow + j];
      }
    }
  }
  return out;
}

/** The product a · x for a vector x of length a.cols. */
export function matVec(a: Matrix, x: NumberArray): Float64Array {
  if (x.length !== a.cols) {
    throw new Error(`Cannot multiply a ${a.rows} × ${a.cols} matrix by a vector of length ${x.length}.`);
  }
  const out = new Float64Array(a.rows);
  const A = a.data;
  for (let i = 0; i < a.rows; i++) {
    const row = i * a.cols;
    let sum = 0;
    for (let j = 0; j < a.cols; j++) sum += A[row + j] * x[j];
    out[i] = sum;
  }
  return out;
}

/** a + s · I for a square matrix a (damping: the prior precision added to a curvature factor). */
export function addScaledIdentity(a: Matrix, s: number): Matrix {
  checkSquare(a, 'addScaledIdentity');
  const n = a.rows;
  const out = matrix(n, n, a.data.slice());
  for (let i = 0; i < n; i++) out.data[i * n + i] += s;
  return out;
}

/** s · a. */
export function scale(a: Matrix, s: number): Matrix {
  const out = matrix(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = s * a.data[i];
  return out;
}

/** a + b. */
export function add(a: Matrix, b: Matrix): Matrix {
  checkSameShape(a, b, 'add');
  const out = matrix(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = a.data[i] + b.data[i];
  return out;
}

/** a − b. */
export function subtract(a: Matrix, b: Matrix): Matrix {
  checkSameShape(a, b, 'subtract');
  const out = matrix(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = a.data[i] - b.data[i];
  return out;
}

/** (a + aᵀ) / 2: removes the asymmetry that float rounding leaves in accumulated curvature. */
export function symmetrize(a: Matrix): Matrix {
  checkSquare(a, 'symmetrize');
  const n = a.rows;
  const src = a.data;
  const out = matrix(n, n);
  const dst = out.data;
  for (let i = 0; i < n; i++) {
    dst[i * n + i] = src[i * n + i];
    for (let j = 0; j < i; j++) {
      const mean = 0.5 * (src[i * n + j] + src[j * n + i]);
      dst[i * n + j] = mean;
      dst[j * n + i] = mean;
    }
  }
  return out;
}

/** The Frobenius norm sqrt(Σ a_ij²), scaled so that it neither overflows nor underflows. */
export function frobeniusNorm(a: Matrix): number {
  let largest = 0;
  for (let i = 0; i < a.data.length; i++) largest = Math.max(largest, Math.abs(a.data[i]));
  if (largest === 0 || !Number.isFinite(largest)) return largest;
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const scaled = a.data[i] / largest;
    sum += scaled * scaled;
  }
  return largest * Math.sqrt(sum);
}

// ---- argument checks shared by this folder ----

function checkDimension(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`A matrix's ${what} must be a non-negative integer, got ${value}.`);
  }
}

/** Throws unless a is square; `operation` names the caller in the message. */
export function checkSquare(a: Matrix, operation: string): void {
  if (a.rows !== a.cols) {
    throw new Error(`${operation} needs a square matrix, got ${a.rows} × ${a.cols}.`);
  }
}

function checkSameShape(a: Matrix, b: Matrix, operation: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new Error(`${operation} needs matrices of the same shape, got ${a.rows} × ${a.cols} and ${b.rows} × ${b.cols}.`);
  }
}

/** The first entry of a that is NaN or infinite, as [row, col], or null when all are finite. */
export function firstNonFiniteEntry(a: Matrix): [number, number] | null {
  const data = a.data;
  for (let index = 0; index < data.length; index++) {
    if (!Number.isFinite(data[index])) return [Math.floor(index / a.cols), index % a.cols];
  }
  return null;
}

/** Σ_{k < length} x[xOffset + k] · y[yOffset + k], with four partial sums for speed. */
export function dot(x: Float64Array, xOffset: number, y: Float64Array, yOffset: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < length; k += 4) {
    s0 += x[xOffset + k] * y[yOffset + k];
    s1 += x[xOffset + k + 1] * y[yOffset + k + 1];
    s2 += x[xOffset + k + 2] * y[yOffset + k + 2];
    s3 += x[xOffset + k + 3] * y[yOffset + k + 3];
  }
  for (; k < length; k++) s0 += x[xOffset + k] * y[yOffset + k];
  return s0 + s1 + (s2 + s3);
}
