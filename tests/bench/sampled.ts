/**
 * The evaluation phases of a Laplace task on LeNet-5, each as ratios measured in one run:
 *  - the sampled predictive (T weight samples on the evaluation images, diag and kfac): one
 *    sample at a time (samplesPerPass 1, the old way) against the samples run together (the default);
 *  - the direct search of the sampled predictive (a g × g grid of (N, τ), T' samples per point,
 *    on the validation images), old against new the same way;
 *  - the Jacobians of every class for a batch: the forward pass once and the backward pass per class
 *    (jacobianBatch, new) against tf.grads through the batch replicated per class (old);
 *  - one pass of GLM statistics (Jacobians of every class) serving diag, kfac, efb and last-layer;
 * and every phase against its arithmetic: its multiply-adds ÷ the rate of a 1024 × 1024 matrix
 * product on the same backend, timed in the same script. Times are CPU time of the process (all
 * threads; on a shared machine it moves far less than wall time), the matrix product's rate too;
 * repeats are interleaved, and each ratio is the range over them.
 * Not a test: `npx tsx tests/bench/sampled.ts --help`.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { fitCurvature, imageData, Network, Posterior, predict, type CurvatureKind, type LaplaceData } from '../../compute/laplace/index.ts';
import { disposeJacobianBatch, jacobianBatch, jacobianBatchByGrads, type JacobianBatch } from '../../compute/laplace/functional.ts';
import { glmStatisticsTogether } from '../../compute/laplace/search.ts';
import { initializeWeights, trainModel } from '../../compute/models/train.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';
import { cpuSeconds, forwardFlops, matmulRate } from './arithmetic.ts';

const usage = `Usage: npx tsx tests/bench/sampled.ts [options]

Options:
  --backend NAME         node | wasm | cpu (default: the first that starts)
  --images N             evaluation images for the sampled predictive and the GLM pass (default 2000)
  --samples T            weight samples of the evaluated sampled predictive (default 30, the full profile's)
  --search-images N      validation images of the sampled search (default 200; the full profile uses 1000)
  --search-samples T     weight samples per search point (default 8, the full profile's)
  --grid G               search points per axis (default 5; the full profile uses 9)
  --repeats R            interleaved repeats of every timing (default 2)
  --help                 this text`;

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    images: { type: 'string', default: '2000' },
    samples: { type: 'string', default: '30' },
    'search-images': { type: 'string', default: '200' },
    'search-samples': { type: 'string', default: '8' },
    grid: { type: 'string', default: '5' },
    repeats: { type: 'string', default: '2' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const positive = (name: string, text: string) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${text}".`);
  return value;
};
const images = positive('images', values.images);
const samples = positive('samples', values.samples);
const searchImages = positive('search-images', values['search-images']);
const searchSamples = positive('search-samples', values['search-samples']);
const grid = positive('grid', values.grid);
const repeats = positive('repeats', values.repeats);

const backend = await startBackend(values.backend);
console.log(describeBackend(backend));

/** CPU seconds of the process (every thread) spent on `work`. */
const seconds = cpuSeconds;
const range = (list: number[], digits = 3) => {
  const fmt = (value: number) => String(Number(value.toPrecision(digits)));
  const low = Math.min(...list);
  const high = Math.max(...list);
  return low === high ? fmt(low) : `${fmt(low)}–${fmt(high)}`;
};

const { train, validation, test } = loadDataset('mnist');
const spec = getModelSpec('lenet5');
const model = buildModel(spec);
initializeWeights(model, 1);
await trainModel(model, subset(train, 1024), spec.recipe, 1, 1, 'lenet5'); // a non-random MAP
const network = new Network(model);
const weights = network.matricesFromModel(model);
const kinds: CurvatureKind[] = ['diag', 'kfac', 'efb', 'last-layer'];
const fit = await fitCurvature(network, weights, imageData(subset(train, 1024)), { kinds });
const posteriors = kinds.map((structure) => new Posterior(network, weights, fit, { structure, n: train.count, tau: train.count * 5e-4, kfacDamping: 'exact' }));
const sampledStructures = posteriors.filter((posterior) => posterior.structure === 'diag' || posterior.structure === 'kfac');
const evaluation = imageData(subset(test, images));
const searchData = imageData(subset(validation, searchImages));

const rate = await matmulRate();
const flops = forwardFlops(network);
console.log(`1024² matmul: ${(rate / 1e9).toFixed(1)} GFLOP per CPU second; LeNet-5 forward: ${(flops / 1e6).toFixed(3)} MFLOP per image`);

// Warm-up of both paths, and the check that they agree to the bit.
const differing = new Map<string, number>();
for (const posterior of sampledStructures) {
  const small = imageData(subset(test, 500));
  const [old, batched] = [
    await predict(posterior, small, { predictive: 'sampled', samples, seed: 13, samplesPerPass: 1 }),
    await predict(posterior, small, { predictive: 'sampled', samples, seed: 13 }),
  ];
  differing.set(posterior.structure, old.reduce((count, value, i) => count + (value !== batched[i] ? 1 : 0), 0));
}

const sampledRows: Record<string, unknown>[] = [];
for (const posterior of sampledStructures) {
  const times: Record<string, number[]> = { old: [], new: [] };
  for (let repeat = 0; repeat < repeats; repeat++) {
    times.old.push(await seconds(() => predict(posterior, evaluation, { predictive: 'sampled', samples, seed: 13, samplesPerPass: 1 })));
    times.new.push(await seconds(() => predict(posterior, evaluation, { predictive: 'sampled', samples, seed: 13 })));
  }
  const arithmetic = (images * samples * flops) / rate;
  sampledRows.push({
    phase: `sampled predictive, ${posterior.structure}`,
    work: `${images} images × ${samples} samples`,
    'old / new': range(times.old.map((old, i) => old / times.new[i])),
    'old / arithmetic': range(times.old.map((old) => old / arithmetic)),
    'new / arithmetic': range(times.new.map((time) => time / arithmetic)),
    'probabilities that differ': `${differing.get(posterior.structure)} of ${500 * network.classes}`,
  });
}

// The sampled search as searchHyperparameters runs it: predict at every grid point (search.ts's evaluatePoint).
const searchPoints = (samplesPerPass?: number) => async (posterior: Posterior, data: LaplaceData) => {
  for (let i = 0; i < grid; i++) {
    for (let j = 0; j < grid; j++) {
      const logN = 2 + (8 * i) / Math.max(grid - 1, 1);
      const logTau = -2 + (8 * j) / Math.max(grid - 1, 1);
      await predict(posterior.withHyperparameters(10 ** logN, 10 ** logTau), data, { predictive: 'sampled', samples: searchSamples, seed: 11, samplesPerPass });
    }
  }
};
for (const posterior of sampledStructures) {
  const times: Record<string, number[]> = { old: [], new: [] };
  for (let repeat = 0; repeat < repeats; repeat++) {
    times.old.push(await seconds(() => searchPoints(1)(posterior, searchData)));
    times.new.push(await seconds(() => searchPoints()(posterior, searchData)));
  }
  const arithmetic = (grid * grid * searchImages * searchSamples * flops) / rate;
  sampledRows.push({
    phase: `sampled search, ${posterior.structure}`,
    work: `${grid}² points × ${searchImages} images × ${searchSamples} samples`,
    'old / new': range(times.old.map((old, i) => old / times.new[i])),
    'old / arithmetic': range(times.old.map((old) => old / arithmetic)),
    'new / arithmetic': range(times.new.map((time) => time / arithmetic)),
  });
}
console.log('\n# Sampled predictive and its search: one sample at a time (old) vs samples run together (new)');
console.table(sampledRows);

// The Jacobian batches alone, old and new, and whether they agree to the bit.
const allLayers = network.layers.map((_, index) => index);
const jacobianPass = (make: typeof jacobianBatch, visit?: (batch: JacobianBatch, start: number) => void) => async () => {
  for (let start = 0; start < images; start += 100) {
    const end = Math.min(images, start + 100);
    const x = evaluation.inputs(start, end);
    const batch = make(network, weights, x, allLayers);
    visit?.(batch, start);
    disposeJacobianBatch(batch);
    x.dispose();
  }
};
let jacobianDiffering = 0;
let jacobianValues = 0;
{
  const x = evaluation.inputs(0, 100);
  const [fresh, reference] = [jacobianBatch(network, weights, x, allLayers), jacobianBatchByGrads(network, weights, x, allLayers)];
  for (const [a, b] of [[fresh.logits, reference.logits], ...fresh.gradients.map((g, i) => [g, reference.gradients[i]]), ...fresh.inputs.map((t, i) => [t, reference.inputs[i]])] as [tf.Tensor | null, tf.Tensor | null][]) {
    if (!a || !b) continue;
    const [u, v] = [a.dataSync(), b.dataSync()];
    jacobianValues += u.length;
    for (let i = 0; i < u.length; i++) if (!Object.is(u[i], v[i])) jacobianDiffering++;
  }
  disposeJacobianBatch(fresh);
  disposeJacobianBatch(reference);
  x.dispose();
}
const jacobianTimes: Record<string, number[]> = { old: [], new: [] };
for (let repeat = 0; repeat < repeats; repeat++) {
  jacobianTimes.old.push(await seconds(jacobianPass(jacobianBatchByGrads)));
  jacobianTimes.new.push(await seconds(jacobianPass(jacobianBatch)));
}

// One pass of Jacobian statistics for the four structures, at three values of s each.
const ratios = kinds.map(() => [2, 4, 6].map((r) => r * Math.LN10));
await glmStatisticsTogether(posteriors, imageData(subset(test, 100)), ratios);
const glmTimes: number[] = [];
for (let repeat = 0; repeat < repeats; repeat++) glmTimes.push(await seconds(() => glmStatisticsTogether(posteriors, evaluation, ratios)));
// Forward and backward (≈ 3 forward passes) of the batch replicated once per class; the new way
// runs the forward pass once and the backward pass (≈ 2 forward passes) per class.
const jacobianArithmetic = (images * network.classes * 3 * flops) / rate;
console.log('\n# GLM statistics: one pass of per-class Jacobians serving diag, kfac, efb and last-layer');
const jacobianArithmeticNew = (images * (network.classes * 2 + 1) * flops) / rate;
console.table([
  {
    phase: 'Jacobians of every class (all layers)',
    work: `${images} images × ${network.classes} classes, batches of 100`,
    'old / new': range(jacobianTimes.old.map((old, i) => old / jacobianTimes.new[i])),
    'old / arithmetic': range(jacobianTimes.old.map((old) => old / jacobianArithmetic)),
    'new / arithmetic (forward once, backward per class)': range(jacobianTimes.new.map((time) => time / jacobianArithmeticNew)),
    'values that differ': `${jacobianDiffering} of ${jacobianValues}`,
  },
  {
    phase: 'GLM statistics, 4 structures',
    work: `${images} images × ${network.classes} classes`,
    'new / arithmetic (forward once, backward per class)': range(glmTimes.map((time) => time / jacobianArithmeticNew)),
    'time / one forward pass': range(glmTimes.map((time) => time / ((images * flops) / rate))),
  },
]);
