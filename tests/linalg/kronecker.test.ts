import { describe, expect, it } from 'vitest';
import { cholesky, fromRows, inverseSpd, kronecker, kroneckerMatVec, logDetFromCholesky, toRows } from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import {
  at,
  maxAbsDifference,
  randomMatrix,
  randomSpd,
  referenceIdentity,
  referenceMatmul,
  relativeError,
} from './helpers.ts';

describe('kronecker', () => {
  it('builds a hand-worked 2 × 2 ⊗ 2 × 2 product block by block', () => {
    const a = fromRows([
      [1, 2],
      [3, 4],
    ]);
    const b = fromRows([
      [0, 5],
      [6, 7],
    ]);
    // Block (i, j) is a_ij · B.
    expect(toRows(kronecker(a, b))).toEqual([
      [0, 5, 0, 10],
      [6, 7, 12, 14],
      [0, 15, 0, 20],
      [18, 21, 24, 28],
    ]);
  });

  it('puts A[i][j] · B[k][l] at row i·rows(B) + k, column j·cols(B) + l for rectangular factors', () => {
    const random = new Random(41);
    const a = randomMatrix(random, 2, 3);
    const b = randomMatrix(random, 4, 5);
    const product = kronecker(a, b);
    expect(product.rows).toBe(8);
    expect(product.cols).toBe(15);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 4; k++)
          for (let l = 0; l < 5; l++) expect(at(product, i * 4 + k, j * 5 + l)).toBe(at(a, i, j) * at(b, k, l));
  });

  it('satisfies the mixed-product rule (A ⊗ B)(C ⊗ D) = AC ⊗ BD', () => {
    const random = new Random(42);
    const a = randomMatrix(random, 2, 3);
    const c = randomMatrix(random, 3, 4);
    const b = randomMatrix(random, 3, 2);
    const d = randomMatrix(random, 2, 5);
    const left = referenceMatmul(kronecker(a, b), kronecker(c, d));
    const right = kronecker(referenceMatmul(a, c), referenceMatmul(b, d));
    expect(relativeError(left, right)).toBeLessThan(1e-14);
  });

  it('has inverse (A ⊗ B)⁻¹ = A⁻¹ ⊗ B⁻¹ and log det(A ⊗ B) = q log det A + p log det B', () => {
    const random = new Random(43);
    const a = randomSpd(random, 4);
    const b = randomSpd(random, 3);
    const product = kronecker(a, b);
    const inverseOfFactors = kronecker(inverseSpd(a), inverseSpd(b));
    expect(maxAbsDifference(referenceMatmul(product, inverseOfFactors).data, referenceIdentity(12).data)).toBeLessThan(1e-12);
    expect(relativeError(inverseSpd(product), inverseOfFactors)).toBeLessThan(1e-12);
    const logDetProduct = logDetFromCholesky(cholesky(product));
    const logDetFactors = 3 * logDetFromCholesky(cholesky(a)) + 4 * logDetFromCholesky(cholesky(b));
    expect(logDetProduct).toBeCloseTo(logDetFactors, 11);
  });
});

describe('kroneckerMatVec', () => {
  it('equals the explicit Kronecker product times the vector, for rectangular factors and any array type', () => {
    const random = new Random(44);
    const a = randomMatrix(random, 3, 4);
    const b = randomMatrix(random, 6, 5);
    const x = new Float64Array(20).map(() => random.normal());
    const explicit = referenceMatmul(kronecker(a, b), { rows: 20, cols: 1, data: x }).data;
    const implicit = kroneckerMatVec(a, b, x);
    expect(implicit.length).toBe(18);
    expect(relativeError(implicit, explicit)).toBeLessThan(1e-14);
    const x32 = Float32Array.from(x);
    expect(relativeError(kroneckerMatVec(a, b, x32), kroneckerMatVec(a, b, Float64Array.from(x32)))).toBe(0);
    expect(relativeError(kroneckerMatVec(a, b, Array.from(x)), implicit)).toBe(0);
  });

  it('on the row-major flattening of a dense weight W [in, out] computes A W G (KFAC convention)', () => {
    const random = new Random(45);
    const inputs = 5;
    const outputs = 3;
    const a = randomSpd(random, inputs);
    const g = randomSpd(random, outputs);
    const weight = randomMatrix(random, inputs, outputs);
    const awg = referenceMatmul(referenceMatmul(a, weight), g);
    expect(relativeError(kroneckerMatVec(a, g, weight.data), awg.data)).toBeLessThan(1e-14);
    const explicit = referenceMatmul(kronecker(a, g), { rows: inputs * outputs, cols: 1, data: weight.data });
    expect(relativeError(explicit.data, awg.data)).toBeLessThan(1e-14);
  });

  it('rejects a vector of the wrong length', () => {
    const random = new Random(46);
    expect(() => kroneckerMatVec(randomMatrix(random, 2, 2), randomMatrix(random, 3, 3), new Float64Array(5))).toThrow(
      'kroneckerMatVec: A ⊗ B has 6 columns (2 × 3) but the vector has length 5.',
    );
  });
});
