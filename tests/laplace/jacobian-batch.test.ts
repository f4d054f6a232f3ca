/**
 * The GLM pass's Jacobian statistics with the forward pass run once (jacobianBatch) against the
 * straightforward computation, tf.grads through the forward pass of the batch replicated per
 * class (jacobianBatchByGrads): logits, layer inputs and every class's pre-activation gradients,
 * on networks with every supported step (ReLU, tanh and sigmoid, as layer activations and as
 * Activation layers; max-pool overlapping and not, with tied windows; average pool; Reshape; no bias), for all
 * layers and for the last one alone. And one check against finite differences of the logits,
 * so neither side is trusted. And kfac and efb of one fit, sharing their rotated Jacobians on a
 * batch, get the variances each gets from a batch of its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { disposeJacobianBatch, FunctionalCovariance, jacobianBatch, jacobianBatchByGrads } from '../../compute/laplace/functional.ts';
import { fitCurvature, Network, Posterior, tensorData } from '../../compute/laplace/index.ts';
import { buildCnnA, buildCnnB, buildCnnC, buildMlp, maxAbsDifference, randomInputs, randomLabels, seedWeights, type Model } from './helpers.ts';

/** LeNet-shaped on 12×12×1 (conv relu, 2×2 max-pool, twice): its pools take the per-batch mask route. */
function buildMiniLenet(seed: number): Model {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 3, kernelSize: 3, padding: 'valid', activation: 'relu', name: `jlenet_conv1_${seed}` }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'valid', activation: 'relu', name: `jlenet_conv2_${seed}` }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 5, activation: 'relu', name: `jlenet_dense1_${seed}` }),
      tfl.layers.dense({ units: 3, activation: 'linear', name: `jlenet_dense2_${seed}` }),
    ],
  });
  seedWeights(model, seed);
  return model;
}

/** Inputs whose left half is zero, like MNIST's background: every pool window there is a tie. */
const halfBlank = (shape: number[], seed: number) => tf.tidy(() => tf.mul(randomInputs(shape, seed), tf.concat([tf.zeros([1, shape[1], shape[2] / 2, 1]), tf.ones([1, shape[1], shape[2] / 2, 1])], 2)));

const cases: { name: string; build: () => Model; inputShape: number[]; inputs?: (shape: number[], seed: number) => tf.Tensor }[] = [
  { name: 'LeNet-shaped, half-blank inputs (tied max-pool windows)', build: () => buildMiniLenet(408), inputShape: [12, 12, 1], inputs: halfBlank },
  { name: 'mlp (tanh, softmax output)', build: () => buildMlp(5, 4, 3, 401, 'tanh'), inputShape: [5] },
  { name: 'mlp (relu, linear output)', build: () => buildMlp(5, 4, 3, 402, 'relu', 'linear'), inputShape: [5] },
  { name: 'CNN A (strided same conv relu, tanh conv, overlapping max-pool)', build: () => buildCnnA(403), inputShape: [8, 8, 2] },
  { name: 'CNN B (sigmoid Activation layer, relu conv, max-pool)', build: () => buildCnnB(404), inputShape: [5, 5, 1] },
  { name: 'CNN C (no bias, average pool, reshape, sigmoid dense)', build: () => buildCnnC(405), inputShape: [6, 5, 2] },
];

beforeAll(async () => {
  await startBackend('wasm');
});

describe.each(cases)('jacobianBatch: $name', ({ build, inputShape, inputs = randomInputs }) => {
  let model: Model;
  let network: Network;
  beforeAll(() => {
    model = build();
    network = new Network(model);
  });

  it.each([{ which: 'every layer' }, { which: 'the last layer' }, { which: 'the first layer' }])('equals tf.grads through the replicated batch: $which', ({ which }) => {
    const weights = network.matricesFromModel(model);
    const x = inputs([6, ...inputShape], 406);
    const all = network.layers.map((_, index) => index);
    const layers = which === 'every layer' ? all : which === 'the last layer' ? [all.length - 1] : [0];
    const fast = jacobianBatch(network, weights, x, layers);
    const reference = jacobianBatchByGrads(network, weights, x, layers);
    expect(maxAbsDifference(fast.logits.dataSync(), reference.logits.dataSync())).toBeLessThan(1e-6);
    for (const layer of all) {
      expect(fast.inputs[layer] === undefined).toBe(reference.inputs[layer] === undefined);
      expect(fast.gradients[layer] === undefined).toBe(reference.gradients[layer] === undefined);
      if (fast.inputs[layer]) {
        expect(fast.inputs[layer]!.shape).toEqual(reference.inputs[layer]!.shape);
        expect(maxAbsDifference(fast.inputs[layer]!.dataSync(), reference.inputs[layer]!.dataSync())).toBeLessThan(1e-6);
      }
      const [g, r] = [fast.gradients[layer], reference.gradients[layer]];
      if (g && r) {
        expect(g.shape).toEqual(r.shape);
        expect(maxAbsDifference(g.dataSync(), r.dataSync())).toBeLessThan(1e-6);
      } else {
        expect(g).toBe(r);
      }
    }
    disposeJacobianBatch(fast);
    disposeJacobianBatch(reference);
    tf.dispose([x, ...weights]);
  });

  it("gives the first layer's bias gradient of every logit as finite differences do", () => {
    // The first layer's bias gradient is Σ over positions of g_c: compare with (f(b + h e_j) − f(b − h e_j)) / 2h.
    const weights = network.matricesFromModel(model);
    const x = randomInputs([2, ...inputShape], 407);
    const spec = network.layers[0];
    if (!spec.hasBias) {
      tf.dispose([x, ...weights]);
      return;
    }
    const batch = jacobianBatch(network, weights, x, [0]);
    const g = batch.gradients[0]!; // [B, C, (T,) cols]
    const summed = (g.rank === 4 ? tf.sum(g, 2) : g).arraySync() as number[][][];
    const h = 1e-2;
    for (let j = 0; j < spec.fanOut; j++) {
      const shift = tf.tidy(() => tf.scatterND([[spec.fanIn, j]], [h], weights[0].shape) as tf.Tensor2D);
      const plus = tf.tidy(() => network.forward(x, [tf.add(weights[0], shift) as tf.Tensor2D, ...weights.slice(1)]).arraySync() as number[][]);
      const minus = tf.tidy(() => network.forward(x, [tf.sub(weights[0], shift) as tf.Tensor2D, ...weights.slice(1)]).arraySync() as number[][]);
      for (let b = 0; b < 2; b++) for (let c = 0; c < network.classes; c++) expect(summed[b][c][j]).toBeCloseTo((plus[b][c] - minus[b][c]) / (2 * h), 2);
      shift.dispose();
    }
    disposeJacobianBatch(batch);
    tf.dispose([x, ...weights]);
  });
});

describe('kfac and efb of one fit share their rotated Jacobians', () => {
  it('gives each the variances it gets from a batch of its own', async () => {
    const model = buildCnnA(409);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const x = randomInputs([5, 8, 8, 2], 410);
    const fit = await fitCurvature(network, weights, tensorData(x, randomLabels(5, 3, 411)), { kinds: ['kfac', 'efb'], fisher: 'exact' });
    const [kfac, efb] = (['kfac', 'efb'] as const).map((structure) => new FunctionalCovariance(new Posterior(network, weights, fit, { structure, n: 30, tau: 2, kfacDamping: 'exact' })));
    // The efb fit's bases are the K-FAC factors' eigenvectors, so the projections are shared.
    expect(efb.layers.map((basis) => basis.sharedKey)).toEqual(kfac.layers.map((basis) => basis.sharedKey));
    const ratios = [0.5, 3];
    const together = jacobianBatch(network, weights, x, [0, 1, 2]);
    const [sharedKfac, sharedEfb] = [kfac.scaledVariancesAt(together, ratios), efb.scaledVariancesAt(together, ratios)];
    expect(together.projections.size).toBe(3);
    const alone = (covariance: FunctionalCovariance) => {
      const batch = jacobianBatch(network, weights, x, [0, 1, 2]);
      const values = covariance.scaledVariancesAt(batch, ratios);
      const out = values.dataSync();
      values.dispose();
      disposeJacobianBatch(batch);
      return out;
    };
    expect(Array.from(sharedKfac.dataSync())).toEqual(Array.from(alone(kfac)));
    expect(Array.from(sharedEfb.dataSync())).toEqual(Array.from(alone(efb)));
    // and the two structures' variances do differ (different diagonals in the shared basis)
    expect(maxAbsDifference(sharedKfac.dataSync(), sharedEfb.dataSync())).toBeGreaterThan(1e-6);
    tf.dispose([sharedKfac, sharedEfb, x, ...weights]);
    disposeJacobianBatch(together);
    kfac.dispose();
    efb.dispose();
    model.dispose();
  });
});
