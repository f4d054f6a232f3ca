/**
 * Two workers with a native backend each on a machine's cores: is it better
 * to run one worker with TensorFlow's intra-op pool as wide as the machine,
 * or one worker per core with a pool of one? The intra-op pool is
 * process-wide (every worker's TensorFlow context shares it) and sized when
 * the first context starts, so each arrangement runs in a child process of
 * its own, on the same mix of the study's work, taken from one queue.
 *
 *   npx tsx tests/bench/threads.ts [--backend node] [--rounds 2] [--scale 1]
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs, promisify } from 'node:util';
import { ProgressBoard } from '../../compute/progress/index.ts';
import { TaskPool } from '../../compute/workers/pool.ts';
import type { WorkItem, WorkTiming } from './workload.ts';

const { values } = parseArgs({ options: { backend: { type: 'string' }, rounds: { type: 'string' }, scale: { type: 'string' }, child: { type: 'string' } } });
const backend = values.backend ?? 'node';
const scale = Number(values.scale ?? 1);

/** The full profile's work in miniature: training, curvature fits and predictives of an MLP, LeNet-5 and the deepest CNN. */
export function workMix(factor = 1): WorkItem[] {
  const steps = (count: number) => Math.max(4, Math.round(count * factor));
  const images = (count: number) => Math.max(128, Math.round(count * factor));
  return [
    { kind: 'train', model: 'cnn-3', size: steps(200) },
    { kind: 'train', model: 'lenet5', size: steps(300) },
    { kind: 'train', model: 'mlp-2', size: steps(300) },
    { kind: 'kfac fit', model: 'cnn-3', size: images(2048) },
    { kind: 'predictive', model: 'cnn-3', size: images(1000) },
    { kind: 'kfac fit', model: 'lenet5', size: images(2048) },
    { kind: 'predictive', model: 'lenet5', size: images(1000) },
    { kind: 'kfac fit', model: 'mlp-2', size: images(2048) },
    { kind: 'predictive', model: 'mlp-2', size: images(1000) },
  ];
}

interface ChildResult {
  workers: number;
  intraOpThreads: number;
  makespan: number;
  timings: WorkTiming[];
}

if (values.child !== undefined) {
  // One arrangement: the workers take the items from one queue, as the study's pool does.
  const workers = Number(values.child);
  const pool = new TaskPool(workers, backend, new ProgressBoard(false), { entry: new URL('./work-worker.ts', import.meta.url) });
  const started = performance.now();
  const timings = await Promise.all(workMix(scale).map((item, index) => pool.run<WorkTiming>('work', item, `work ${index}`)));
  const makespan = (performance.now() - started) / 1000;
  await pool.close();
  const result: ChildResult = { workers, intraOpThreads: Number(process.env.TF_NUM_INTRAOP_THREADS), makespan, timings };
  console.log(JSON.stringify(result));
  process.exit(0);
}

const cores = availableParallelism();
const arrangements = [
  { workers: 1, threads: cores },
  { workers: cores, threads: 1 },
  { workers: cores, threads: cores },
];
const rounds = Number(values.rounds ?? 2);
const results: ChildResult[] = [];
for (let round = 0; round < rounds; round++) {
  // Interleaved rounds, so a noisy neighbour moves every arrangement alike.
  for (const { workers, threads } of arrangements) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', String(workers), '--backend', backend, '--scale', String(scale)], {
      env: { ...process.env, TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1', TF_CPP_MIN_LOG_LEVEL: '2' },
      maxBuffer: 1 << 24,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
    results.push(result);
    console.log(`round ${round + 1}: ${workers} worker${workers > 1 ? 's' : ''} × ${threads} intra-op thread${threads > 1 ? 's' : ''}: ${result.makespan.toFixed(1)} s`);
  }
}
console.log(`\n# ${backend}: the same work mix (${workMix(scale).length} items) on ${cores} cores, seconds (best of ${rounds})`);
const rows = arrangements.map(({ workers, threads }) => {
  const mine = results.filter((result) => result.workers === workers && result.intraOpThreads === threads);
  const best = mine.reduce((a, b) => (a.makespan <= b.makespan ? a : b));
  const row: Record<string, string | number> = { arrangement: `${workers} worker × ${threads} thread`, 'makespan s': +best.makespan.toFixed(1) };
  for (const timing of best.timings) row[`${timing.task} ${timing.model}`] = +timing.seconds.toFixed(1);
  return row;
});
console.table(rows);
