/**
 * Timing of FGSM signs on a LeNet-5 (not a test; run with `npx tsx tests/attacks/timing.ts [checkpoint-dir]`).
 * Uses the given trained checkpoint, or freshly initialised weights when none is given (the cost
 * does not depend on the weights). Reports seconds for 2,000 MNIST test images.
 */
import * as tf from '@tensorflow/tfjs-core';
import { defaultEpsilons, fgsmSigns, perturbSet } from '../../compute/attacks/index.ts';
import { startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { Network } from '../../compute/laplace/index.ts';
import { loadCheckpoint } from '../../compute/models/checkpoint.ts';
import { initializeWeights } from '../../compute/models/train.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';
import { Random } from '../../compute/laplace/random.ts';

await startBackend('wasm');
const directory = process.argv[2];
const model = directory ? (await loadCheckpoint(directory)).model : buildModel(getModelSpec('lenet5'));
if (!directory) initializeWeights(model, 1);
const network = new Network(model);
const weights = network.matricesFromModel(model);
const set = subset(loadDataset('mnist').test, 2000);

const seconds = async <T>(label: string, run: () => Promise<T> | T): Promise<T> => {
  const start = performance.now();
  const result = await run();
  console.log(`${label}: ${((performance.now() - start) / 1000).toFixed(2)} s`);
  return result;
};

// Warm-up on a few images (kernel compilation, allocation).
await fgsmSigns({ kind: 'map', network, weights }, subset(set, 50));
for (const batchSize of [250, 500]) await seconds(`map signs, 2000 images, batch ${batchSize}`, () => fgsmSigns({ kind: 'map', network, weights }, set, { batchSize }));
const signs = await fgsmSigns({ kind: 'map', network, weights }, set);
let zeros = 0;
for (const s of signs) if (s === 0) zeros++;
console.log(`zero signs: ${((100 * zeros) / signs.length).toFixed(2)}% of pixels`);

// Stand-in weight samples (W* plus noise) for the predictive's cost; a posterior's samples cost the same.
const random = new Random(2);
for (const count of [10]) {
  const weightSets = Array.from({ length: count }, () => weights.map((w) => tf.tidy(() => tf.add(w, tf.mul(tf.tensor(random.normals(w.size), w.shape), 0.01)) as tf.Tensor2D)));
  await seconds(`predictive signs, ${count} weight sets, 2000 images, batch 100`, () => fgsmSigns({ kind: 'predictive', network, weightSets }, set, { batchSize: 100 }));
  tf.dispose(weightSets.flat());
}
await seconds(`perturbSet over the ${defaultEpsilons.length} default ε`, () => defaultEpsilons.forEach((epsilon) => perturbSet(set, signs, epsilon)));
console.log(`tensors alive at the end: ${tf.memory().numTensors} (weights: ${weights.length} + model's own)`);
