/**
 * Kronecker products and matrix-normal sampling, for Kronecker-factored (KFAC)
 * Laplace posteriors.
 *
 * Vec convention: ROW-MAJOR. A p × q matrix X is flattened as
 *   vec(X)[i · q + j] = X[i][j],
 * which is how a TensorFlow.js weight tensor of shape [p, q] is laid out, so
 * vec(W) is exactly `weight.dataSync()`. The Kronecker product is the usual one,
 *   (A ⊗ B)[i · rows(B) + k][j · cols(B) + l] = A[i][j] · B[k][l],
 * and with row-major vec it satisfies
 *   (A ⊗ B) vec(X) = vec(A X Bᵀ).
 * (With the column-major vec of most textbooks the same product is vec(B X Aᵀ):
 * the factor order flips.)
 *
 * For a dense layer with weight W of shape [in, out] (TensorFlow.js layout), the
 * KFAC Fisher of vec(W) is A ⊗ G with A = E[a aᵀ] (in × in, inputs with the bias 1
 * appended) and G = E[g gᵀ] (out × out, pre-activation gradients); for symmetric
 * A and G, (A ⊗ G) vec(W) = vec(A W G). If the posterior precision is A ⊗ G, the
 * covariance is A⁻¹ ⊗ G⁻¹: rows of W (inputs) are correlated by A⁻¹, columns
 * (outputs) by G⁻¹. A sample is W* + L_A Z L_Gᵀ with L_A L_Aᵀ = A⁻¹ and
 * L_G L_Gᵀ = G⁻¹ (see sampleMatrixNormal). PyTorch stores weights as [out, in],
 * which is why formulas written for it read L_G Z L_Aᵀ instead.
 */

import { matrix, type Matrix, type NumberArray } from './matrix.ts';

/** The explicit Kronecker product A ⊗ B (rows(A)·rows(B) × cols(A)·cols(B)); for tests and small cases. */
export function kronecker(a: Matrix, b: Matrix): Matrix {
  const rows = a.rows * b.rows;
  const cols = a.cols * b.cols;
  const out = matrix(rows, cols);
  const O = out.data;
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      const aij = a.data[i * a.cols + j];
      for (let k = 0; k < b.rows; k++) {
        const outRow = (i * b.rows + k) * cols + j * b.cols;
        const bRow = k * b.cols;
        for (let l = 0; l < b.cols; l++) O[outRow + l] = aij * b.data[bRow + l];
      }
    }
  }
  return out;
}

/**
 * (A ⊗ B) x without forming A ⊗ B: x is vec(X) of a cols(A) × cols(B) matrix X
 * (row-major), and the result is vec(A X Bᵀ), of length rows(A) · rows(B).
 * Costs O(rows · cols · (rows(A) + rows(B))) instead of O((rows(A) rows(B))²).
 */
export function kroneckerMatVec(a: Matrix, b: Matrix, x: NumberArray): Float64Array {
  const p = a.cols;
  const q = b.cols;
  if (x.length !== p * q) {
    throw new Error(
      `kroneckerMatVec: A ⊗ B has ${p * q} columns (${p} × ${q}) but the vector has length ${x.length}.`,
    );
  }
  // T = X Bᵀ (p × rows(B)): each entry is a dot product of a row of X and a row of B.
  const bRows = b.rows;
  const T = new Float64Array(p * bRows);
  const B = b.data;
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < bRows; k++) {
      let sum = 0;
      for (let l = 0; l < q; l++) sum += x[i * q + l] * B[k * q + l];
      T[i * bRows + k] = sum;
    }
  }
  // A T (rows(A) × rows(B)), accumulated along rows of T.
  const out = new Float64Array(a.rows * bRows);
  const A = a.data;
  for (let i = 0; i < a.rows; i++) {
    const outRow = i * bRows;
    for (let j = 0; j < p; j++) {
      const aij = A[i * p + j];
      const tRow = j * bRows;
      for (let k = 0; k < bRows; k++) out[outRow + k] += aij * T[tRow + k];
    }
  }
  return out;
}

/**
 * One draw from the matrix normal MN(mean, U, V): mean + F_row Z F_colᵀ, where
 * Z is the p × q matrix of the given standard normals (row-major) and
 * F_row F_rowᵀ = U (p × p), F_col F_colᵀ = V (q × q). On the row-major flattening
 *   vec(F_row Z F_colᵀ) = (F_row ⊗ F_col) vec(Z),
 * so the draw has covariance (F_row ⊗ F_col)(F_row ⊗ F_col)ᵀ = U ⊗ V: U correlates
 * the rows of the sample, V its columns. For a KFAC posterior with precision
 * A ⊗ G on a [in, out] weight, U = A⁻¹ and V = G⁻¹ (see the file comment).
 *
 * The factors are normally Cholesky factors (lower triangular, which is detected
 * and halves the work), but any square roots, e.g. from an eigendecomposition,
 * give the same distribution.
 */
export function sampleMatrixNormal(
  mean: Matrix,
  rowCovCholesky: Matrix,
  colCovCholesky: Matrix,
  standardNormals: Float64Array | Float32Array,
): Matrix {
  const p = mean.rows;
  const q = mean.cols;
  if (rowCovCholesky.rows !== p || rowCovCholesky.cols !== p) {
    throw new Error(
      `sampleMatrixNormal: the mean is ${p} × ${q}, so the row covariance factor must be ${p} × ${p}, got ${rowCovCholesky.rows} × ${rowCovCholesky.cols}.`,
    );
  }
  if (colCovCholesky.rows !== q || colCovCholesky.cols !== q) {
    throw new Error(
      `sampleMatrixNormal: the mean is ${p} × ${q}, so the column covariance factor must be ${q} × ${q}, got ${colCovCholesky.rows} × ${colCovCholesky.cols}.`,
    );
  }
  if (standardNormals.length !== p * q) {
    throw new Error(`sampleMatrixNormal: a ${p} × ${q} sample needs ${p * q} standard normals, got ${standardNormals.length}.`);
  }
  const rowFactor = rowCovCholesky.data;
  const colFactor = colCovCholesky.data;
  const rowFactorLower = isLowerTriangular(rowCovCholesky);
  const colFactorLower = isLowerTriangular(colCovCholesky);

  // Y = F_row Z, row by row: row i of Y is Σ_k F_row[i][k] · row k of Z.
  const Y = new Float64Array(p * q);
  for (let i = 0; i < p; i++) {
    const yRow = i * q;
    const kEnd = rowFactorLower ? i + 1 : p;
    for (let k = 0; k < kEnd; k++) {
      const fik = rowFactor[i * p + k];
      const zRow = k * q;
      for (let j = 0; j < q; j++) Y[yRow + j] += fik * standardNormals[zRow + j];
    }
  }
  // out = mean + Y F_colᵀ: entry (i, j) is the dot product of row i of Y and row j of F_col.
  const out = matrix(p, q, mean.data.slice());
  const O = out.data;
  for (let i = 0; i < p; i++) {
    const yRow = i * q;
    for (let j = 0; j < q; j++) {
      const fRow = j * q;
      const lEnd = colFactorLower ? j + 1 : q;
      let sum = 0;
      for (let l = 0; l < lEnd; l++) sum += Y[yRow + l] * colFactor[fRow + l];
      O[yRow + j] += sum;
    }
  }
  return out;
}

function isLowerTriangular(a: Matrix): boolean {
  const n = a.cols;
  for (let i = 0; i < a.rows; i++) {
    for (let j = i + 1; j < n; j++) if (a.data[i * n + j] !== 0) return false;
  }
  return true;
}
