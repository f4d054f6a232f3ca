/**
 * EFB (eigenvalue-corrected KFAC) against brute force: its bases are eigenbases of the KFAC
 * factors, its diagonal is the mean over examples of the squared per-example gradients
 * projected on them, (Q_Aᵀ ∇W̄ Q_G)², and for one example of a dense layer the Fisher it
 * implies, (Q_A ⊗ Q_G) diag(Λ) (Q_A ⊗ Q_G)ᵀ, is the exact Fisher block.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, tensorData, type FisherType } from '../../compute/laplace/index.ts';
import type { Matrix } from '../../compute/laplace/linalg/index.ts';
import {
  addOuter,
  buildCnnB,
  buildMlp,
  example,
  exampleGradients,
  kron,
  matmulDense,
  parameterLayers,
  probabilities,
  randomInputs,
  randomLabels,
  relativeError,
  transposeDense,
  zeros,
  type Dense,
  type Model,
} from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

async function fitEfb(model: Model, x: tf.Tensor, labels: Int32Array, fisher: FisherType) {
  const network = new Network(model);
  const weights = network.matricesFromModel(model);
  const result = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['efb', 'kfac'], fisher, batchSize: 2, seed: 9 });
  tf.dispose(weights);
  return result;
}

const at = (m: Matrix, i: number, j: number) => m.data[i * m.cols + j];

/** Q_Aᵀ X Q_G for X = ∇W̄ [rows × cols] (row-major), Q with eigenvectors as columns. */
function project(gradient: ArrayLike<number>, qa: Matrix, qg: Matrix): Float64Array {
  const rows = qa.rows;
  const cols = qg.rows;
  const left = new Float64Array(rows * cols); // Q_Aᵀ X
  for (let i = 0; i < rows; i++) for (let k = 0; k < rows; k++) for (let j = 0; j < cols; j++) left[i * cols + j] += at(qa, k, i) * gradient[k * cols + j];
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let l = 0; l < cols; l++) out[i * cols + j] += left[i * cols + l] * at(qg, l, j);
  return out;
}

/** max over columns of |M q − λ q| relative to max |M|: how far (λ, q) is from an eigenpair. */
function eigenResidual(m: Matrix, values: Float64Array, vectors: Matrix): number {
  const n = m.rows;
  let worst = 0;
  let scale = 0;
  for (const v of m.data) scale = Math.max(scale, Math.abs(v));
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += at(m, i, j) * at(vectors, j, k);
      worst = Math.max(worst, Math.abs(sum - values[k] * at(vectors, i, k)));
    }
  }
  return worst / scale;
}

describe('EFB diagonal', () => {
  const cases: [string, () => Model, number[], FisherType][] = [
    ['MLP, exact Fisher', () => buildMlp(4, 5, 3, 81), [4], 'exact'],
    ['MLP, empirical Fisher', () => buildMlp(4, 5, 3, 82), [4], 'empirical'],
    ['CNN B (conv same/valid, max-pool, dense), exact Fisher', () => buildCnnB(83), [5, 5, 1], 'exact'],
  ];
  it.each(cases)('%s: equals the mean of (Q_Aᵀ ∇W̄ Q_G)² over examples (and classes, weighted)', async (_, build, shape, fisher) => {
    const model = build();
    const count = 5;
    const x = randomInputs([count, ...shape], 84);
    const labels = randomLabels(count, 3, 85);
    const result = await fitEfb(model, x, labels, fisher);
    const p = probabilities(model, x);
    const layers = parameterLayers(model);
    // The bases are orthonormal eigenbases of the fitted KFAC factors (themselves checked in kfac.test.ts).
    layers.forEach((_, l) => {
      const { a, g } = result.efb![l];
      expect(eigenResidual(result.kfac![l].a, a.values, a.vectors)).toBeLessThan(1e-5);
      expect(eigenResidual(result.kfac![l].g, g.values, g.vectors)).toBeLessThan(1e-5);
    });
    const expected = layers.map((_, l) => new Float64Array(result.efb![l].diagonal.length));
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      const draws: [number, number][] = fisher === 'exact' ? [0, 1, 2].map((c) => [c, p[i * 3 + c]]) : [[labels[i], 1]];
      for (const [c, w] of draws) {
        const gradients = exampleGradients(model, xi, c);
        layers.forEach((_, l) => {
          const projected = project(gradients[l], result.efb![l].a.vectors, result.efb![l].g.vectors);
          projected.forEach((v, k) => (expected[l][k] += (w * v * v) / count));
        });
      }
      xi.dispose();
    }
    layers.forEach((layer, l) => {
      const error = relativeError(result.efb![l].diagonal, expected[l]);
      console.log(`efb ${fisher} ${layer.name}: diagonal relative error ${error.toExponential(1)}`);
      expect(error).toBeLessThanOrEqual(1e-4);
    });
    x.dispose();
    model.dispose();
  });
});

describe('EFB, one example, dense layers', () => {
  it("implies the exact Fisher block: (Q_A ⊗ Q_G) diag(Λ) (Q_A ⊗ Q_G)ᵀ = Σ_c p_c vec(∇W̄_c) vec(∇W̄_c)ᵀ", async () => {
    const model = buildMlp(3, 4, 3, 91, 'tanh');
    const x = randomInputs([1, 3], 92);
    const result = await fitEfb(model, x, randomLabels(1, 3, 93), 'exact');
    const p = probabilities(model, x);
    const perClass = [0, 1, 2].map((c) => exampleGradients(model, x, c));
    parameterLayers(model).forEach((layer, l) => {
      const d = perClass[0][l].length;
      const block = zeros(d);
      for (let c = 0; c < 3; c++) addOuter(block, perClass[c][l], perClass[c][l], p[c]);
      const { a, g, diagonal } = result.efb![l];
      const toDense = (m: Matrix): Dense => ({ n: m.rows, data: Float64Array.from(m.data) });
      const q = kron(toDense(a.vectors), toDense(g.vectors));
      const scaled = { n: d, data: q.data.map((v, index) => v * diagonal[index % d]) }; // Q diag(Λ)
      const implied = matmulDense(scaled, transposeDense(q));
      const error = relativeError(implied.data, block.data);
      console.log(`efb one example ${layer.name}: |implied − F_block| / |F_block| = ${error.toExponential(1)}`);
      expect(error).toBeLessThanOrEqual(1e-4);
    });
    x.dispose();
    model.dispose();
  });
});
