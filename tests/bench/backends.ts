/**
 * Native against wasm in one run: training throughput, a KFAC fit and the
 * linearised predictive per model, each backend in a child process of its
 * own (a process holds one backend), model by model, alternating, so a noisy
 * machine moves both sides alike. Node runs twice: with one intra-op thread,
 * what each of the study's two workers gets (and wasm is one thread too), and
 * with a thread per core, what a single process gets.
 *
 * The first part of `npm run bench`; alone: npx tsx tests/bench/backends.ts [--models mlp-2,lenet5,cnn-3]
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startBackend } from '../../compute/backend/index.ts';
import { nativeBinding } from '../../compute/backend/native.ts';
import { timeCurvature, timePredictive, timeTraining, type WorkTiming } from './workload.ts';

/** Steps of training per model: a few seconds on wasm each. */
const trainingSteps: Record<string, number> = { 'mlp-2': 200, lenet5: 150, 'cnn-3': 80 };
const fitImages = 2048;
const predictiveImages = 500;

async function child(backend: string, model: string): Promise<WorkTiming[]> {
  await startBackend(backend);
  return [await timeTraining(model, trainingSteps[model] ?? 100), await timeCurvature(model, fitImages), await timePredictive(model, predictiveImages)];
}

interface Side {
  label: string;
  backend: string;
  threads?: number;
}

async function measure(side: Side, model: string): Promise<WorkTiming[]> {
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
  if (side.threads !== undefined) env.TF_NUM_INTRAOP_THREADS = String(side.threads);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', side.backend, '--models', model], { env, maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as WorkTiming[];
}

const rate = (timing: WorkTiming) => timing.amount / timing.seconds;

/** One row per model and task: each side's rate and the node ÷ wasm speed ratios. */
export async function compareBackends(models: string[], log: (line: string) => void = console.log): Promise<Record<string, string | number>[]> {
  const cores = availableParallelism();
  const sides: Side[] = [
    { label: 'wasm', backend: 'wasm' },
    { label: 'node 1 thread', backend: 'node', threads: 1 },
    { label: `node ${cores} threads`, backend: 'node', threads: cores },
  ];
  const rows: Record<string, string | number>[] = [];
  for (const model of models) {
    const results: Record<string, WorkTiming[]> = {};
    for (const side of sides) {
      log(`  ${model} on ${side.label} …`);
      results[side.label] = await measure(side, model);
    }
    results.wasm.forEach((wasm, index) => {
      const one = results[sides[1].label][index];
      const all = results[sides[2].label][index];
      const unit = wasm.task === 'train' ? 'images/s' : wasm.task === 'kfac fit' ? 'images/s' : 'image-samples/s';
      rows.push({
        model,
        task: wasm.task === 'predictive' ? `linearised predictive (T = 30, ${predictiveImages} images)` : wasm.task === 'kfac fit' ? `kfac fit (${fitImages} images)` : `train (batch 128, ${wasm.amount / 128} steps)`,
        unit,
        wasm: Math.round(rate(wasm)),
        'node 1 thread': Math.round(rate(one)),
        [`node ${cores} threads`]: Math.round(rate(all)),
        'node ÷ wasm (1 thread)': +(wasm.seconds / one.seconds).toFixed(2),
        [`node ÷ wasm (${cores} threads)`]: +(wasm.seconds / all.seconds).toFixed(2),
        goal: model === 'cnn-3' ? '≥ 3' : '-',
      });
    });
  }
  return rows;
}

const { values } = parseArgs({ options: { child: { type: 'string' }, models: { type: 'string' }, help: { type: 'boolean' } }, strict: false });
if (values.help) {
  console.log('Usage: npx tsx tests/bench/backends.ts [--models mlp-2,lenet5,cnn-3]');
  process.exit(0);
}
if (values.child !== undefined) {
  const [model] = String(values.models).split(',');
  console.log(JSON.stringify(await child(String(values.child), model)));
  process.exit(0);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const models = String(values.models ?? 'mlp-2,lenet5,cnn-3').split(',');
  const binding = nativeBinding('@tensorflow/tfjs-node');
  if ('missing' in binding) {
    console.log(`# Native ÷ wasm: not measured, ${binding.missing}.`);
  } else {
    console.log('# Native (tfjs-node on TensorFlow 2.21) ÷ wasm, rates in the same run, each backend in its own process');
    console.table(await compareBackends(models, () => {}));
  }
}
