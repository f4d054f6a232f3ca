/**
 * Dense float64 linear algebra for Kronecker-factored Laplace posteriors:
 * row-major matrices, Cholesky with a loud not-positive-definite error,
 * triangular solves and inverses, the symmetric eigendecomposition, Kronecker
 * products in the row-major vec convention, and matrix-normal sampling.
 * Plain typed arrays, no TensorFlow: sizes here are factors (up to ~800 × 800).
 */

export {
  add,
  addScaledIdentity,
  checkSquare,
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
  type Matrix,
  type NumberArray,
} from './matrix.ts';
export {
  NotPositiveDefiniteError,
  cholesky,
  choleskyInverse,
  choleskySolve,
  inverseSpd,
  invertLowerTriangular,
  logDetFromCholesky,
  solveLowerTriangular,
  solveLowerTriangularTransposed,
  solveUpperTriangular,
} from './cholesky.ts';
export { setSymmetricEigenAccelerator, symmetricEigen, symmetricEigenComputations, type SymmetricEigen, type SymmetricEigenAccelerator } from './eigen.ts';
export { kronecker, kroneckerMatVec, sampleMatrixNormal } from './kronecker.ts';
