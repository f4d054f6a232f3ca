/**
 * Training throughput, the reference step against the lean one, in the
 * study's thread layout and others. Each layout (worker threads × TensorFlow
 * intra-op threads) runs in a child process of its own, because the intra-op
 * pool is sized once per process from its environment. Within a layout every
 * ratio comes from the same worker's interleaved rounds; across layouts the
 * figures are only as comparable as the machine's load was steady. The
 * ratio of CPU times says the same as the ratio of wall times on an idle
 * machine and much less noisily on a busy one.
 *
 *   npx tsx tests/bench/train-step.ts [--models lenet5,cnn-3] [--layouts 1x1,2x1,1x2]
 *     [--batch 128] [--steps 30] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs, promisify } from 'node:util';
import { ProgressBoard } from '../../compute/progress/index.ts';
import { TaskPool } from '../../compute/workers/pool.ts';
import type { StepMeasurement, StepRates } from './train-step-measure.ts';

const usage = `Usage: npx tsx tests/bench/train-step.ts [options]

Images/s of the reference training step (optimizer.minimize over model.apply)
and the lean one (the default), the lean step against a forward + backward
pass of the same batch, and against PyTorch on one thread, on the native backend.

Options:
  --models a,b     zoo models (default lenet5,cnn-3)
  --layouts WxT,…  worker threads × TensorFlow intra-op threads per layout
                   (default 1x1,2x1,1x2; 2x1 is the study's)
  --batch n,…      batch sizes (default 128, the recipe's; others change the recipe)
  --steps n        steps per timed run (default 30)
  --rounds n       interleaved rounds per measurement (default 3)
  --help           print this and exit`;

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'lenet5,cnn-3' },
    layouts: { type: 'string', default: '1x1,2x1,1x2' },
    batch: { type: 'string', default: '128' },
    steps: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    child: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const positiveIntegers = (option: string, text: string): number[] => {
  const numbers = text.split(',').map(Number);
  if (numbers.some((value) => !Number.isInteger(value) || value < 1)) throw new Error(`--${option} takes positive integers separated by commas, not "${text}".`);
  return numbers;
};
const models = values.models.split(',');
const batchSizes = positiveIntegers('batch', values.batch);
const [steps] = positiveIntegers('steps', values.steps);
const [rounds] = positiveIntegers('rounds', values.rounds);

interface Layout {
  workers: number;
  threads: number;
}
interface ChildResult {
  layout: Layout;
  /** One StepRates per worker, per (model, batch). */
  measurements: StepRates[][];
}

if (values.child !== undefined) {
  const layout = JSON.parse(values.child) as Layout;
  const pool = new TaskPool(layout.workers, 'node', new ProgressBoard(false), { entry: new URL('./train-step-worker.ts', import.meta.url) });
  const measurements: StepRates[][] = [];
  for (const model of models) {
    for (const batchSize of batchSizes) {
      const request: StepMeasurement = { model, batchSize, steps, rounds };
      // Every worker measures the same thing at once, as the study's workers train side by side.
      measurements.push(await Promise.all(Array.from({ length: layout.workers }, (_, index) => pool.run<StepRates>('train-step', request, `${model} ${index}`))));
    }
  }
  await pool.close();
  console.log(JSON.stringify({ layout, measurements } satisfies ChildResult));
  process.exit(0);
}

const layouts: Layout[] = values.layouts.split(',').map((text) => {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match) throw new Error(`--layouts takes WORKERSxTHREADS entries such as 2x1, not "${text}".`);
  return { workers: Number(match[1]), threads: Number(match[2]) };
});

/** PyTorch 1.13 (Debian's python3-torch), one thread, batch 128, same architectures, measured on this machine kind in an earlier session (DESIGN.md). */
const pytorchPerCore: Record<string, number> = { lenet5: 9200, 'cnn-3': 3200 };

const range = (numbers: number[], digits = 2) => {
  const low = Math.min(...numbers);
  const high = Math.max(...numbers);
  return low.toFixed(digits) === high.toFixed(digits) ? low.toFixed(digits) : `${low.toFixed(digits)}–${high.toFixed(digits)}`;
};
/** Images/s of all workers together in each round (they ran side by side). */
const summed = (perWorker: StepRates[], key: 'reference' | 'lean' | 'forwardBackward' | 'forward' | 'referenceCpu' | 'leanCpu') =>
  perWorker[0][key].map((_, round) => perWorker.reduce((total, worker) => total + worker[key][round], 0));

console.log(`# Training step on the native backend, ${availableParallelism()} cores; ${steps} steps per run, ${rounds} interleaved rounds; ranges over rounds`);
for (const layout of layouts) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, ...process.argv.slice(2), '--child', JSON.stringify(layout)], {
    env: { ...process.env, TF_NUM_INTRAOP_THREADS: String(layout.threads), TF_NUM_INTEROP_THREADS: '1', TF_CPP_MIN_LOG_LEVEL: '2' },
    maxBuffer: 1 << 24,
  });
  const { measurements } = JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
  const cores = Math.min(availableParallelism(), layout.workers * layout.threads);
  console.log(`\n## ${layout.workers} worker${layout.workers > 1 ? 's' : ''} × ${layout.threads} intra-op thread${layout.threads > 1 ? 's' : ''}${layout.workers === 2 && layout.threads === 1 ? " (the study's layout)" : ''}: images/s summed over workers`);
  console.table(
    measurements.map((perWorker) => {
      const [reference, lean, forwardBackward, forward] = (['reference', 'lean', 'forwardBackward', 'forward'] as const).map((key) => summed(perWorker, key));
      const { model, batchSize } = perWorker[0];
      // Each worker's CPU rate counts the whole process; the ratio holds all the same, both steps being timed alike.
      const [referenceCpu, leanCpu] = [perWorker[0].referenceCpu, perWorker[0].leanCpu];
      const mark = pytorchPerCore[model];
      return {
        model,
        batch: batchSize,
        'reference img/s': range(reference, 0),
        'lean img/s': range(lean, 0),
        'lean ÷ reference': range(lean.map((rate, round) => rate / reference[round])),
        'lean ÷ reference (CPU time)': range(leanCpu.map((rate, round) => rate / referenceCpu[round])),
        'lean step ÷ fwd+bwd (time)': range(lean.map((rate, round) => forwardBackward[round] / rate)),
        'fwd+bwd ÷ forward (time)': range(forwardBackward.map((rate, round) => forward[round] / rate)),
        'lean per core ÷ PyTorch 1 thread': mark ? range(lean.map((rate) => rate / cores / mark)) : '–',
      };
    }),
  );
}
console.log(`\nPyTorch 1.13 on one thread, batch 128 (measured on this machine kind in an earlier session): ${Object.entries(pytorchPerCore).map(([model, rate]) => `${model} ${rate} images/s`).join(', ')}.`);
