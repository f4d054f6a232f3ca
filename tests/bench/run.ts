/**
 * npm run bench: speed goals as ratios measured in the same run, so a noisy
 * shared machine moves numerator and denominator together. Not a test.
 *
 *   training throughput per model (examples/s) on the chosen backend
 *   wasm Conv2DBackpropFilter time / forward convolution time
 *   wasm transposed matrix products: the backend's own / ours, and ours / the plain product
 *   Laplace fit per curvature / one training epoch of the same model (goal: diag, kfac ≤ 3×, efb ≤ 5×)
 *   Monte Carlo predictive with T samples / T plain forward passes (goal ≤ 1.2×)
 *   the GLM predictive, the cached search and the marginal likelihood against what they replace (glm.ts)
 *
 * Options: --backend NAME, --models a,b (default lenet5,mlp-2), --examples N (default 4096),
 * --glm-models a,b (default lenet5,cnn-3), --only glm (just the GLM part).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { fitCurvature, imageData, Network, Posterior, predict, type CurvatureKind } from '../../compute/laplace/index.ts';
import { initializeWeights, trainModel } from '../../compute/models/train.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';
import { benchGlm } from './glm.ts';
import { benchTrainingThroughput } from './training.ts';
import { benchWasmConvBackprop } from './wasm-conv.ts';
import { benchWasmMatMul } from './wasm-matmul.ts';

const { values } = parseArgs({
  options: { backend: { type: 'string' }, models: { type: 'string' }, examples: { type: 'string' }, 'glm-models': { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log('Usage: npx tsx tests/bench/run.ts [--backend NAME] [--models a,b] [--examples N] [--glm-models a,b] [--only glm]');
  process.exit(0);
}
const backend = await startBackend(values.backend);
console.log(describeBackend(backend));

if (values.only !== undefined && values.only !== 'glm') throw new Error(`Unknown --only "${values.only}"; the only part that runs alone is glm.`);
const glm = await benchGlm((values['glm-models'] ?? 'lenet5,cnn-3').split(','));
console.log('\n# GLM predictive (closed form) vs the 30-sample linearised predictive, 1000 test images');
console.table(glm.predictive);
console.log('\n# Search on cached statistics and marginal-likelihood tuning');
console.table(glm.search);
console.log('\n# Peak tensor memory of the GLM predictive');
console.table(glm.memory);
if (values.only === 'glm') process.exit(0);
const modelNames = (values.models ?? 'lenet5,mlp-2').split(',');
const examples = Number(values.examples ?? 4096);

console.log('\n# Training throughput');
console.table(await benchTrainingThroughput(15));

if (backend.name === 'wasm') {
  console.log('\n# wasm Conv2DBackpropFilter vs forward convolution');
  console.table([await benchWasmConvBackprop()]);
  console.log("\n# wasm BatchMatMul with a transpose: the backend's own kernel vs ours (transpose, then the plain product)");
  console.table(await benchWasmMatMul());
}

const seconds = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};

const { train, test } = loadDataset('mnist');
const fitSet = subset(train, examples);
const rows: Record<string, string | number>[] = [];
const predictiveRows: Record<string, string | number>[] = [];
for (const name of modelNames) {
  const spec = getModelSpec(name);
  const model = buildModel(spec);
  initializeWeights(model, 1);
  await trainModel(model, subset(train, 512), spec.recipe, 1, 1, name); // warm-up and a non-random MAP
  const epoch = await seconds(() => trainModel(model, fitSet, spec.recipe, 1, 2, name));
  const network = new Network(model);
  const weights = network.matricesFromModel(model);
  for (const kind of ['diag', 'kfac', 'efb', 'last-layer'] as CurvatureKind[]) {
    const fit = await seconds(() => fitCurvature(network, weights, imageData(fitSet), { kinds: [kind] }));
    rows.push({ model: name, curvature: kind, 'fit s': +fit.toFixed(2), 'epoch s': +epoch.toFixed(2), 'fit / epoch': +(fit / epoch).toFixed(2), goal: kind === 'efb' ? '≤ 5' : kind === 'last-layer' ? '-' : '≤ 3' });
  }
  // Monte Carlo predictive vs the same number of plain forward passes.
  const samples = 30;
  const testData = imageData(subset(test, 1000));
  const fit = await fitCurvature(network, weights, imageData(subset(fitSet, 512)), { kinds: ['diag'] });
  const posterior = new Posterior(network, weights, fit, { structure: 'diag', n: 1e6, tau: 1e3, kfacDamping: 'exact' });
  const plain = await seconds(async () => {
    for (let start = 0; start < testData.count; start += 500) {
      const end = Math.min(testData.count, start + 500);
      for (let t = 0; t < samples; t++) {
        const out = tf.tidy(() => tf.softmax(network.forward(testData.inputs(start, end), weights)));
        await out.data();
        out.dispose();
      }
    }
  });
  for (const [predictive, difference] of [['sampled', 'central'], ['linearised', 'central'], ['linearised', 'forward']] as const) {
    const mc = await seconds(() => predict(posterior, testData, { predictive, samples, difference }));
    const label = predictive === 'linearised' ? `linearised (${difference})` : predictive;
    predictiveRows.push({ model: name, predictive: label, T: samples, 'MC s': +mc.toFixed(2), 'T forward s': +plain.toFixed(2), ratio: +(mc / plain).toFixed(2), goal: predictive === 'sampled' ? '≤ 1.2' : '-' });
  }
  tf.dispose(weights);
  model.dispose();
}
console.log(`\n# Laplace fit over ${examples} MNIST training images vs one training epoch over them`);
console.table(rows);
console.log('\n# Monte Carlo predictive vs T plain forward passes (1000 test images)');
console.table(predictiveRows);
