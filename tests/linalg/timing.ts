/**
 * Times the symmetric eigendecomposition and the Cholesky factorisation against
 * ml-matrix on random SPD matrices, and prints the ratios. Not a test (speed is
 * not asserted anywhere); run with `npx tsx tests/linalg/timing.ts [sizes...]`.
 */

import { CholeskyDecomposition, EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import { cholesky, symmetricEigen } from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { randomSpd } from './helpers.ts';

function bestOf(repeats: number, work: () => unknown): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    work();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [256, 800];
for (const n of sizes) {
  const a = randomSpd(new Random(n), n);
  const rows = Array.from({ length: n }, (_, i) => Array.from(a.data.subarray(i * n, (i + 1) * n)));
  const reference = new MlMatrix(rows);
  const repeats = n > 400 ? 2 : 5;
  const eigenMs = bestOf(repeats, () => symmetricEigen(a));
  const referenceEigenMs = bestOf(repeats, () => new EigenvalueDecomposition(reference, { assumeSymmetric: true }));
  const choleskyMs = bestOf(repeats, () => cholesky(a));
  const referenceCholeskyMs = bestOf(repeats, () => new CholeskyDecomposition(reference));
  console.log(
    `${n} × ${n}: symmetricEigen ${eigenMs.toFixed(0)} ms (ml-matrix ${referenceEigenMs.toFixed(0)} ms, ` +
      `${(referenceEigenMs / eigenMs).toFixed(1)}× faster); cholesky ${choleskyMs.toFixed(1)} ms ` +
      `(ml-matrix ${referenceCholeskyMs.toFixed(1)} ms, ${(referenceCholeskyMs / choleskyMs).toFixed(1)}× faster)`,
  );
}
