/**
 * The default curvature of fitLaplace, the CLI and the study: the mc Fisher with ONE label
 * draw per input, which takes its own code path (the label is drawn inside the differentiated
 * forward pass). Checked for diag, kfac, efb and last-layer against per-example gradients
 * through tfjs-layers' own forward pass (helpers.ts) at the labels the fit drew, replayed
 * here from the same seed: one Random(seed) for the whole sweep, per batch in order, per
 * example u = uniform() and the first class whose cumulative probability exceeds u.
 * The replayed labels differ from the data's and give a Fisher far from the exact one, so
 * neither of those would pass for them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, fitLaplace, logMarginalLikelihood, Network, optimizeMarginalLikelihood, tensorData, type CurvatureFit } from '../../compute/laplace/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { addOuter, buildCnnA, buildMlp, example, exampleGradients, preActivationGradients, probabilities, randomInputs, randomLabels, relativeError, zeros, type Model } from './helpers.ts';

const seed = 17;
const batchSize = 3; // several batches, the last one short

function replayedLabels(p: Float32Array, count: number, classes: number): number[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => {
    const u = random.uniform();
    let cumulative = 0;
    for (let c = 0; c < classes - 1; c++) {
      cumulative += p[i * classes + c];
      if (u < cumulative) return c;
    }
    return classes - 1;
  });
}

interface Case {
  name: string;
  model: Model;
  x: tf.Tensor;
  labels: Int32Array;
  fit: CurvatureFit;
  drawn: number[];
  /** [example][layer] W̄ gradients of −log p(drawn label). */
  gradients: Float64Array[][];
  count: number;
}

const cases: Case[] = [];

beforeAll(async () => {
  await startBackend('wasm');
  for (const [name, model, shape] of [
    ['MLP', buildMlp(4, 5, 3, 171), [4]],
    ['CNN A', buildCnnA(172), [8, 8, 2]],
  ] as [string, Model, number[]][]) {
    const count = 8;
    const x = randomInputs([count, ...shape], 173);
    const labels = randomLabels(count, 3, 174);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    // mcSamples left at its default: the one-draw path.
    const kinds = name === 'MLP' ? (['diag', 'kfac', 'efb', 'last-layer'] as const) : (['diag', 'last-layer'] as const);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: [...kinds], fisher: 'mc', batchSize, seed });
    tf.dispose(weights);
    const p = probabilities(model, x);
    const drawn = replayedLabels(p, count, 3);
    const gradients = drawn.map((c, i) => {
      const xi = example(x, i);
      const g = exampleGradients(model, xi, c);
      xi.dispose();
      return g;
    });
    cases.push({ name, model, x, labels, fit, drawn, gradients, count });
  }
});

afterAll(() => {
  for (const { model, x } of cases) {
    model.dispose();
    x.dispose();
  }
});

describe('the mc Fisher with one draw per input (the default)', () => {
  it('draws labels that are not the data\'s (else this test could not tell the two apart)', () => {
    for (const { drawn, labels } of cases) expect(drawn.some((c, i) => c !== labels[i])).toBe(true);
  });

  it('diag: the mean of squared per-example gradients at the drawn labels', () => {
    for (const { name, fit, gradients, count } of cases) {
      gradients[0].forEach((_, layer) => {
        const expected = new Float64Array(gradients[0][layer].length);
        for (const perExample of gradients) perExample[layer].forEach((value, k) => (expected[k] += (value * value) / count));
        expect(Math.max(...expected)).toBeGreaterThan(0);
        expect(relativeError(fit.diag![layer], expected), `${name} layer ${layer}`).toBeLessThanOrEqual(1e-4);
      });
    }
  });

  it('last-layer: the mean outer product of the last layer\'s per-example gradients at the drawn labels', () => {
    for (const { name, fit, gradients, count } of cases) {
      const last = gradients[0].length - 1;
      const expected = zeros(gradients[0][last].length);
      for (const perExample of gradients) addOuter(expected, perExample[last], perExample[last], 1 / count);
      expect(relativeError(fit.lastLayer!.data, expected.data), name).toBeLessThanOrEqual(1e-4);
    }
  });

  it('kfac: G is the mean outer product of pre-activation gradients at the drawn labels (dense layers)', () => {
    const { fit, model, x, drawn, count } = cases[0];
    fit.kfac!.forEach(({ g }, layer) => {
      const expected = zeros(g.rows);
      drawn.forEach((c, i) => {
        const xi = example(x, i);
        const gradient = preActivationGradients(model, xi, c)[layer];
        xi.dispose();
        addOuter(expected, gradient, gradient, 1 / count);
      });
      expect(relativeError(g.data, expected.data), `layer ${layer}`).toBeLessThanOrEqual(1e-4);
    });
  });

  it('efb: the diagonal is the mean squared gradient at the drawn labels projected on the eigenbases, Q_Aᵀ ∇W̄ Q_G', () => {
    const { fit, gradients, count } = cases[0];
    fit.efb!.forEach(({ a, g, diagonal }, layer) => {
      const [rows, cols] = [a.vectors.rows, g.vectors.rows];
      const expected = new Float64Array(rows * cols);
      for (const perExample of gradients) {
        const w = perExample[layer];
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) {
            let projected = 0;
            for (let r = 0; r < rows; r++) for (let s = 0; s < cols; s++) projected += a.vectors.data[r * rows + i] * w[r * cols + s] * g.vectors.data[s * cols + j];
            expected[i * cols + j] += (projected * projected) / count;
          }
        }
      }
      expect(relativeError(diagonal, expected), `layer ${layer}`).toBeLessThanOrEqual(1e-4);
    });
  });
});

describe("fitLaplace's default τ", () => {
  it('is the τ optimizeMarginalLikelihood finds for the same fit and N', async () => {
    const { model, x, labels } = cases[0];
    const fitted = await fitLaplace(model, tensorData(x, labels), { curvature: 'kfac', seed, batchSize });
    const untuned = fitted.withHyperparameters(fitted.n, 1);
    const optimum = optimizeMarginalLikelihood(untuned.posterior, { n: 8 });
    expect(fitted.n).toBe(8);
    expect(fitted.tau).toBe(optimum.tau);
    // And it is a maximum of the evidence itself: a tenth of a decade either way lowers it.
    const evidence = (tau: number) => logMarginalLikelihood(untuned.withHyperparameters(8, tau).posterior);
    expect(evidence(fitted.tau)).toBeGreaterThan(evidence(fitted.tau * 10 ** 0.1));
    expect(evidence(fitted.tau)).toBeGreaterThan(evidence(fitted.tau / 10 ** 0.1));
    fitted.dispose();
  });
});
