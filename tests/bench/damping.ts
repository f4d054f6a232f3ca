/**
 * How far the original code's per-factor KFAC damping, (√N·A + √τ·I) ⊗ (√N·G + √τ·I),
 * is from the posterior precision N·(A ⊗ G) + τ·I, on a trained checkpoint:
 * marginal posterior variances per layer (median and range of the ratio) and
 * the linearised predictive on test images. Prints a Markdown table.
 *
 *   npx tsx tests/bench/damping.ts --checkpoint .cache/models/mnist/lenet5-… [--n 55000] [--tau 27.5] [--fit 5000] [--test 2000]
 */
import { parseArgs } from 'node:util';
import { startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { fitLaplace, imageData, predict } from '../../compute/laplace/index.ts';
import { accuracy, calibration, negativeLogLikelihood } from '../../compute/metrics/index.ts';
import { loadCheckpoint } from '../../compute/models/checkpoint.ts';
import type { TrainingRecord } from '../../compute/models/trained.ts';

const { values } = parseArgs({ options: { checkpoint: { type: 'string' }, n: { type: 'string' }, tau: { type: 'string' }, fit: { type: 'string' }, test: { type: 'string' } } });
if (!values.checkpoint) throw new Error('Pass --checkpoint DIR (a folder under .cache/models/).');
await startBackend();
const { model, sidecar } = await loadCheckpoint<TrainingRecord>(values.checkpoint);
const data = loadDataset(sidecar.extra.dataset);
const n = Number(values.n ?? 55000);
const tau = Number(values.tau ?? n * sidecar.extra.recipe.weightDecay);
const exact = await fitLaplace(model, imageData(subset(data.train, Number(values.fit ?? 5000))), { curvature: 'kfac', n, tau, kfacDamping: 'exact' });
const perFactor = exact.withHyperparameters(n, tau, 'per-factor');
const test = imageData(subset(data.test, Number(values.test ?? 2000)));

console.log(`KFAC damping on ${sidecar.extra.dataset}/${sidecar.extra.model}, N = ${n}, τ = ${tau}\n`);
console.log('| layer | median variance ratio per-factor / exact | min | max |');
console.log('| --- | --- | --- | --- |');
const [exactVariances, perFactorVariances] = [exact.posterior.marginalVariances(), perFactor.posterior.marginalVariances()];
exactVariances.forEach((variances, layer) => {
  const ratios = Array.from(variances, (value, i) => perFactorVariances[layer][i] / value).sort((a, b) => a - b);
  const name = exact.posterior.network.layers[layer].name;
  console.log(`| ${name} | ${ratios[Math.floor(ratios.length / 2)].toPrecision(3)} | ${ratios[0].toPrecision(3)} | ${ratios[ratios.length - 1].toPrecision(3)} |`);
});
console.log('\n| damping | accuracy | NLL | ECE |\n| --- | --- | --- | --- |');
for (const [label, laplace] of [['N·A⊗G + τ·I', exact], ['(√N·A + √τ·I) ⊗ (√N·G + √τ·I)', perFactor]] as const) {
  const probabilities = await predict(laplace.posterior, test, { predictive: 'linearised', samples: 30 });
  console.log(`| ${label} | ${(100 * accuracy(probabilities, test.labels, 10)).toFixed(2)}% | ${negativeLogLikelihood(probabilities, test.labels, 10).toFixed(4)} | ${(100 * calibration(probabilities, test.labels, 10).ece).toFixed(2)}% |`);
}
