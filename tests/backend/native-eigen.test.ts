/**
 * The symmetric eigendecomposition in TensorFlow's float64 kernel (compute/laplace/backend/native-eigen.ts),
 * which `symmetricEigen` uses from 64 rows on when the native backend runs: checked by its
 * defining properties in independent float64 arithmetic (A V = V Λ, Vᵀ V = I, ascending values)
 * and its eigenvalues against ml-matrix's decomposition, on a matrix with a Fisher-like spectrum
 * spanning twelve decades and on one with a repeated eigenvalue; and the fallback to JavaScript
 * on other backends. Skipped, saying so, where the binding is not built.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { nativeSymmetricEigen } from '../../compute/laplace/backend/native-eigen.ts';
import { nativeBinding } from '../../compute/backend/native.ts';
import { setSymmetricEigenAccelerator, symmetricEigen, type Matrix } from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { at, makeMatrix, maxAbs, maxAbsDifference, randomOrthogonal, referenceIdentity, referenceMatmul, referenceTranspose } from '../linalg/helpers.ts';

const built = 'path' in nativeBinding('@tensorflow/tfjs-node');

/** Q diag(λ) Qᵀ for a random orthogonal Q. */
function withSpectrum(random: Random, spectrum: number[]): Matrix {
  const n = spectrum.length;
  const q = randomOrthogonal(random, n);
  return makeMatrix(n, n, (i, j) => {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += at(q, i, k) * spectrum[k] * at(q, j, k);
    return sum;
  });
}

function residuals(a: Matrix, values: Float64Array, vectors: Matrix) {
  const n = a.rows;
  const av = referenceMatmul(a, vectors);
  const vLambda = makeMatrix(n, n, (i, j) => at(vectors, i, j) * values[j]);
  const gram = referenceMatmul(referenceTranspose(vectors), vectors);
  return { eigen: maxAbsDifference(av.data, vLambda.data) / maxAbs(a.data), orthogonality: maxAbsDifference(gram.data, referenceIdentity(n).data) };
}

describe.skipIf(!built)('symmetric eigendecomposition in TensorFlow float64', () => {
  beforeAll(async () => {
    await startBackend('node');
  });
  afterAll(() => setSymmetricEigenAccelerator(null));

  const cases: [string, (random: Random) => Matrix][] = [
    ['a Fisher-like spectrum over twelve decades', (random) => withSpectrum(random, Array.from({ length: 150 }, (_, k) => 10 ** (2 - (12 * k) / 149)))],
    ['a repeated eigenvalue and exact zeros', (random) => withSpectrum(random, Array.from({ length: 120 }, (_, k) => (k < 40 ? 3 : k < 80 ? 0 : 1 + k / 100)))],
  ];
  for (const [label, make] of cases) {
    it(`decomposes ${label} to float64 rounding`, () => {
      const a = make(new Random(label.length));
      const n = a.rows;
      const native = nativeSymmetricEigen(a.data, n)!;
      expect(native).not.toBeNull();
      const vectors = { rows: n, cols: n, data: native.vectors };
      for (let k = 1; k < n; k++) expect(native.values[k]).toBeGreaterThanOrEqual(native.values[k - 1]);
      const { eigen, orthogonality } = residuals(a, native.values, vectors);
      expect(eigen).toBeLessThan(1e-12);
      expect(orthogonality).toBeLessThan(1e-12);
      const reference = new EigenvalueDecomposition(new MlMatrix(Array.from({ length: n }, (_, i) => Array.from(a.data.subarray(i * n, (i + 1) * n)))), { assumeSymmetric: true }).realEigenvalues.sort((x, y) => x - y);
      const scale = Math.max(...reference.map(Math.abs));
      expect(Math.max(...reference.map((value, k) => Math.abs(value - native.values[k]))) / scale).toBeLessThan(1e-13);
    });
  }

  it('serves symmetricEigen from 64 rows on, and matches the JavaScript decomposition there', () => {
    const a = withSpectrum(new Random(5), Array.from({ length: 96 }, (_, k) => Math.exp(-k / 8)));
    setSymmetricEigenAccelerator(null);
    const javascript = symmetricEigen({ ...a, data: a.data.slice() });
    const calls: number[] = [];
    setSymmetricEigenAccelerator((data, n) => {
      calls.push(n);
      return nativeSymmetricEigen(data, n);
    });
    const accelerated = symmetricEigen({ ...a, data: a.data.slice() });
    symmetricEigen(withSpectrum(new Random(6), Array.from({ length: 63 }, (_, k) => k + 1)));
    expect(calls).toEqual([96]);
    expect(maxAbsDifference(accelerated.values, javascript.values)).toBeLessThan(1e-13);
    const { eigen, orthogonality } = residuals(a, accelerated.values, accelerated.vectors);
    expect(Math.max(eigen, orthogonality)).toBeLessThan(1e-12);
  });

  it('declines on another backend, and symmetricEigen then answers in JavaScript', async () => {
    await tf.setBackend('cpu');
    try {
      const a = withSpectrum(new Random(7), Array.from({ length: 70 }, (_, k) => k));
      expect(nativeSymmetricEigen(a.data, a.rows)).toBeNull();
      setSymmetricEigenAccelerator(nativeSymmetricEigen);
      const result = symmetricEigen(a);
      const { eigen, orthogonality } = residuals(a, result.values, result.vectors);
      expect(Math.max(eigen, orthogonality)).toBeLessThan(1e-12);
    } finally {
      await tf.setBackend('tensorflow');
    }
  });
});
