/**
 * One Laplace task of the study at full-profile sizes, as one of the study's
 * workers runs it (one TensorFlow intra-op thread), phase by phase against
 * its arithmetic (FLOPs ÷ the same thread's measured matmul rate), the fit
 * against one training epoch of the same network, and the process's peak
 * memory. The task is the study's own (compute/experiments/laplace.ts), on a
 * checkpoint this bench trains once into its own cache and reuses; the fit
 * is thrown away before each run so that it runs cold.
 *
 *   npx tsx tests/bench/phases.ts [--model lenet5] [--dataset mnist] [--backend node]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeBackend, startBackend } from '../../compute/backend/index.ts';
import type { DatasetName } from '../../compute/data/index.ts';
import { trainedZooModel, type RunSettings } from '../../compute/experiments/inputs.ts';
import { laplaceTask } from '../../compute/experiments/laplace.ts';
import { Network } from '../../compute/laplace/index.ts';
import { initializeWeights, trainModel } from '../../compute/models/train.ts';
import { buildModel, getModelSpec, zoo } from '../../compute/models/zoo.ts';
import { getProfile } from '../../compute/study.ts';
import { cpuSeconds, fitFlops, forwardFlops, matmulRate, statisticsFlops } from './arithmetic.ts';

const usage = `Usage: npx tsx tests/bench/phases.ts [options]

One Laplace task of the study (full profile) phase by phase: CPU seconds (one
computing thread, so the load of a shared machine moves them little), share of
the task, FLOPs, time ÷ arithmetic (FLOPs ÷ the measured matmul rate on the same
thread), the fit ÷ one training epoch, and peak memory (resident set).

Options:
  --model NAME     zoo model (default lenet5)
  --dataset NAME   mnist | fashion-mnist (default mnist)
  --backend NAME   node | wasm | cpu (default node)
  --cache DIR      where the bench keeps its trained checkpoint (default .cache/bench-phases;
                   its fits are deleted before each run)
  --help           this text`;

let values: { model?: string; dataset?: string; backend?: string; cache?: string; help?: boolean };
try {
  ({ values } = parseArgs({ options: { model: { type: 'string' }, dataset: { type: 'string' }, backend: { type: 'string' }, cache: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
} catch (error) {
  console.error(`error: ${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}; run with --help to see the options.`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const modelName = values.model ?? 'lenet5';
const dataset = (values.dataset ?? 'mnist') as DatasetName;
if (!zoo.some((spec) => spec.name === modelName)) {
  console.error(`error: Unknown model "${modelName}"; choose one of ${zoo.map((spec) => spec.name).join(', ')}.`);
  process.exit(2);
}
if (dataset !== 'mnist' && dataset !== 'fashion-mnist') {
  console.error(`error: Unknown data set "${dataset}"; choose mnist or fashion-mnist.`);
  process.exit(2);
}

// One intra-op thread, as each of the study's two workers on two cores (compute/backend/native.ts).
process.env.TF_NUM_INTRAOP_THREADS ??= '1';
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
const backend = await startBackend(values.backend ?? 'node');
console.log(`${describeBackend(backend)}; TF_NUM_INTRAOP_THREADS=${process.env.TF_NUM_INTRAOP_THREADS}`);
const rate = await matmulRate();
console.log(`1024² matmul on this thread: ${(rate / 1e9).toFixed(1)} GFLOP per CPU second`);

const profile = getProfile('full');
const settings: RunSettings = { profile: profile.name, backend: backend.name, cacheDir: resolve(values.cache ?? '.cache/bench-phases') };
const context = { progress: () => {}, log: (line: string) => console.log(`  ${line}`) };

// The checkpoint (trained here once, reused after), then one epoch of the same recipe timed on a fresh copy.
const { trained, train } = await trainedZooModel(settings, dataset, modelName, context);
const network = new Network(trained.model);
trained.model.dispose();
const spec = getModelSpec(modelName);
const fresh = buildModel(spec);
initializeWeights(fresh, 1);
const epochSeconds = await cpuSeconds(() => trainModel(fresh, train, spec.recipe, 1, 1, `${modelName} (one epoch)`));
fresh.dispose();

rmSync(join(settings.cacheDir, 'laplace'), { recursive: true, force: true });
const outDir = mkdtempSync(join(tmpdir(), 'bench-phases-'));
const rssBefore = process.resourceUsage().maxRSS;
let result;
try {
  result = await laplaceTask({ settings, dataset, model: modelName, member: 0, outDir }, context);
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
const peakMiB = process.resourceUsage().maxRSS / 1024;

const forward = forwardFlops(network);
const fit = fitFlops(network);
const statistics = statisticsFlops(network);
const sampled = profile.laplace.search.sampled;
const samples = profile.laplace.evaluation.samples;
const { images } = result;
const flops: Record<string, number> = {
  fit: images.fit * fit.perImage + fit.perFit,
  // The FGSM signs (a forward and a backward pass per image) and the one validation Jacobian pass.
  search: images.fgsm * 3 * forward + images.search * statistics,
  statistics: images.statistics * statistics,
  // Per sampled variant: its search (grid² points × samples × validation images) and its predictive (samples × every set).
  sampled: images.sampledVariants * (sampled.gridSize ** 2 * sampled.samples * sampled.validationSubset + samples * images.evaluation) * forward,
};
const total = Object.values(result.cpuPhases).reduce((sum, seconds) => sum + seconds, 0);
const wall = Object.values(result.phases).reduce((sum, seconds) => sum + seconds, 0);
console.log(`\n# ${dataset}/${modelName}, full profile: the task took ${total.toFixed(0)} CPU seconds in ${wall.toFixed(0)} s of wall time (the machine's load); images: ${JSON.stringify(images)}`);
console.table(
  Object.entries(result.cpuPhases).map(([phase, seconds]) => ({
    phase,
    'CPU seconds': Number(seconds.toFixed(1)),
    share: `${((100 * seconds) / total).toFixed(0)}%`,
    GFLOP: flops[phase] === undefined ? '–' : Number((flops[phase] / 1e9).toFixed(1)),
    'time ÷ arithmetic': flops[phase] ? Number((seconds / (flops[phase] / rate)).toFixed(1)) : '– (no FLOP bound: see the bootstrap part)',
  })),
);
console.log(`fit ÷ one training epoch (${train.count} images, CPU time): ${(result.cpuPhases.fit / epochSeconds).toFixed(2)}`);
console.log(`peak resident memory: ${peakMiB.toFixed(0)} MiB (${(rssBefore / 1024).toFixed(0)} MiB before the task, after training and the timed epoch)`);
console.log(`\nArithmetic: the fit counts two forward + backward sweeps, the Kronecker factors, the per-example gradients and their rotation
per image and the tridiagonal reduction of every factor; the statistics pass one forward and one backward pass per class
and the per-class Jacobian products of every structure (tests/bench/arithmetic.ts). Each is a floor: only a phase that did
nothing but large matrix products at the matmul rate would reach a ratio of 1.`);
