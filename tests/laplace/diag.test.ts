/**
 * DIAG curvature against per-example gradients taken one example at a time with
 * tf.variableGrads through tfjs-layers' own forward pass (helpers.ts), for every
 * Fisher type, on a small MLP and two small CNNs (conv 'same' and 'valid',
 * stride 1 and 2, max-pool, dense, fused and separate activations).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, tensorData, type FisherType } from '../../compute/laplace/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { buildCnnA, buildCnnB, buildCnnC, buildMlp, example, exampleGradients, probabilities, randomInputs, randomLabels, relativeError, seedWeights, type Model } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

interface Case {
  name: string;
  model: () => Model;
  shape: number[];
  count: number;
}

const cases: Case[] = [
  { name: 'MLP (dense relu → dense softmax)', model: () => buildMlp(4, 5, 3, 11), shape: [4], count: 6 },
  { name: 'CNN A (conv same/2 relu, conv valid/1 tanh, max-pool, dense)', model: () => buildCnnA(12), shape: [8, 8, 2], count: 4 },
  { name: 'CNN B (conv same/1 + sigmoid layer, conv valid/2 relu, max-pool, dense softmax)', model: () => buildCnnB(13), shape: [5, 5, 1], count: 4 },
  { name: 'CNN C (conv 3×2 stride 2×1 without bias, avg-pool, dropout, reshape, dense without bias)', model: () => buildCnnC(14), shape: [6, 5, 2], count: 4 },
  { name: 'CNN D (conv valid to 5×5, disjoint max-pool 2 that drops the last row and column, dense)', model: () => buildCnnD(15), shape: [7, 7, 1], count: 4 },
];

/** Conv k3 'valid' relu on 7×7 → 5×5, max-pool 2 stride 2 (windows disjoint, row and column 5 unused) → flatten → dense 3. */
function buildCnnD(seed: number): Model {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [7, 7, 1], filters: 2, kernelSize: 3, padding: 'valid', activation: 'relu', name: `cnnD_conv_${seed}` }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, name: `cnnD_dense_${seed}` }),
    ],
  });
  seedWeights(model, seed, 2);
  return model;
}

/** Brute force: for every example, the probabilities and the W̄ gradient of −log p_c for every class c. */
function bruteForce(model: Model, x: tf.Tensor, count: number) {
  const p = probabilities(model, x);
  const classes = p.length / count;
  const gradients: Float64Array[][][] = []; // [example][class][layer]
  for (let i = 0; i < count; i++) {
    const xi = example(x, i);
    gradients.push(Array.from({ length: classes }, (_, c) => exampleGradients(model, xi, c)));
    xi.dispose();
  }
  return { p, classes, gradients };
}

/**
 * The labels the mc Fisher draws. curvature.ts draws them from one Random(seed) for the whole
 * sweep: per batch (in order), per mc sample, per example of the batch in order, u = uniform()
 * and the first class whose cumulative probability exceeds u (the last class takes the rest).
 * We replicate that stream rather than test mc only statistically because the test can then be
 * exact (1e-4) and still checks what matters (squared per-example gradients at the drawn label,
 * each draw weighted 1/M, averaged over examples, across several batches); whether the drawing
 * itself follows p is checked statistically in a separate test below.
 */
function replicateMcLabels(p: Float32Array, count: number, classes: number, batchSize: number, mcSamples: number, seed: number): number[][] {
  const random = new Random(seed);
  const labels: number[][] = Array.from({ length: count }, () => []);
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    for (let m = 0; m < mcSamples; m++) {
      for (let i = start; i < end; i++) {
        const u = random.uniform();
        let cumulative = 0;
        let c = classes - 1;
        for (let k = 0; k < classes - 1; k++) {
          cumulative += p[i * classes + k];
          if (u < cumulative) {
            c = k;
            break;
          }
        }
        labels[i].push(c);
      }
    }
  }
  return labels;
}

/** Mean over examples of Σ_draws weight · gradient², per layer. */
function expectedDiagonal(gradients: Float64Array[][][], draws: [number, number][][]): Float64Array[] {
  const count = gradients.length;
  const out = gradients[0][0].map((layer) => new Float64Array(layer.length));
  for (let i = 0; i < count; i++) {
    for (const [c, weight] of draws[i]) {
      gradients[i][c].forEach((layer, l) => layer.forEach((value, k) => (out[l][k] += (weight * value * value) / count)));
    }
  }
  return out;
}

describe.each(cases)('diag on $name', ({ model: build, shape, count }) => {
  let model: Model;
  let x: tf.Tensor;
  let labels: Int32Array;
  let brute: ReturnType<typeof bruteForce>;
  const batchSize = 3; // several batches, the last one short
  const seed = 21;
  const mcSamples = 2;

  beforeAll(() => {
    model = build();
    x = randomInputs([count, ...shape], 100 + count);
    labels = randomLabels(count, 3, 7);
    brute = bruteForce(model, x, count);
  });
  afterAll(() => {
    x.dispose();
    model.dispose();
  });

  const fisherTypes: FisherType[] = ['empirical', 'exact', 'mc'];
  it.each(fisherTypes)('equals the mean of squared per-example gradients (%s Fisher)', async (fisher) => {
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['diag'], fisher, batchSize, seed, mcSamples });
    tf.dispose(weights);
    const { p, classes, gradients } = brute;
    let draws: [number, number][][];
    if (fisher === 'empirical') draws = Array.from(labels, (y) => [[y, 1]]);
    else if (fisher === 'exact') draws = Array.from({ length: count }, (_, i) => Array.from({ length: classes }, (_, c) => [c, p[i * classes + c]] as [number, number]));
    else draws = replicateMcLabels(p, count, classes, batchSize, mcSamples, seed).map((drawn) => drawn.map((c) => [c, 1 / mcSamples] as [number, number]));
    const expected = expectedDiagonal(gradients, draws);
    expect(fit.diag!.length).toBe(expected.length);
    const errors = expected.map((reference, layer) => relativeError(fit.diag![layer], reference));
    console.log(`diag ${fisher}: relative errors per layer ${errors.map((e) => e.toExponential(1)).join(', ')}`);
    if (fisher === 'mc') {
      // The replicated draws matter: the exact Fisher's diagonal is far from this mc one (M = 2).
      const exact = expectedDiagonal(gradients, Array.from({ length: count }, (_, i) => Array.from({ length: classes }, (_, c) => [c, p[i * classes + c]] as [number, number])));
      expect(Math.max(...exact.map((reference, layer) => relativeError(fit.diag![layer], reference)))).toBeGreaterThan(1e-2);
    }
    for (const [layer, reference] of expected.entries()) {
      expect(fit.diag![layer].length).toBe(reference.length);
      expect(Math.max(...reference)).toBeGreaterThan(0);
      expect(errors[layer]).toBeLessThanOrEqual(1e-4);
    }
  });
});

describe('mc Fisher, statistically', () => {
  it('with many label draws agrees with the exact Fisher diagonal within 5 standard errors', async () => {
    // Independent of how labels are drawn: each example's mc term is the mean of M i.i.d. draws of
    // s_c = (∂ℓ_c/∂θ)² with c ~ p, so mc − exact has standard error √(Σ_i Var_p(s)/M) / n per entry.
    const model = buildMlp(3, 4, 3, 31);
    const count = 5;
    const x = randomInputs([count, 3], 32);
    const labels = randomLabels(count, 3, 33);
    const { p, classes, gradients } = bruteForce(model, x, count);
    const mcSamples = 400;
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const data = tensorData(x, labels);
    const fit = await fitCurvature(network, weights, data, { kinds: ['diag'], fisher: 'mc', mcSamples, seed: 5 });
    tf.dispose(weights);
    let worst = 0;
    let checked = 0;
    gradients[0][0].forEach((layerValues, layer) => {
      layerValues.forEach((_, k) => {
        let mean = 0;
        let variance = 0;
        for (let i = 0; i < count; i++) {
          const values = Array.from({ length: classes }, (_, c) => gradients[i][c][layer][k] ** 2);
          const m = values.reduce((s, v, c) => s + p[i * classes + c] * v, 0);
          const second = values.reduce((s, v, c) => s + p[i * classes + c] * v * v, 0);
          mean += m / count;
          variance += (second - m * m) / mcSamples / count ** 2;
        }
        if (variance <= 1e-20) return; // a parameter whose gradient is the same for every class
        checked++;
        worst = Math.max(worst, Math.abs(fit.diag![layer][k] - mean) / Math.sqrt(variance));
      });
    });
    console.log(`mc (M = ${mcSamples}) vs exact diag: max |z| = ${worst.toFixed(2)} over ${checked} entries`);
    expect(checked).toBeGreaterThan(20);
    expect(worst).toBeLessThan(5);
    x.dispose();
    model.dispose();
  });
});
