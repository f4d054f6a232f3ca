/**
 * Wall time of the quick profile through the queue with 1, 2 and 3 worker
 * processes (each one task at a time, its own empty cache), as ratios to the
 * local run (its default worker threads) measured in the same invocation,
 * interleaved over --repeats rounds. On one machine the workers share its
 * cores, so this measures the queue's overhead and how far extra processes
 * help here; on several machines each worker brings its own cores.
 *
 *   npx tsx tests/bench/queue.ts [--backend NAME] [--workers 1,2,3] [--repeats N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { redisInstalled, runTs, startRedis, startWorker, stop } from '../queue/harness.ts';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'node' }, workers: { type: 'string', default: '1,2,3' }, repeats: { type: 'string', default: '2' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('Usage: npx tsx tests/bench/queue.ts [--backend NAME] [--workers 1,2,3] [--repeats N]\n\nQuick-profile wall time through the queue with each number of worker processes, ÷ the local run, interleaved.');
  process.exit(0);
}
if (!redisInstalled) {
  console.error('error: redis-server is not installed (apt-get install redis-server).');
  process.exit(2);
}
const counts = values.workers.split(',').map(Number);
const repeats = Number(values.repeats);

async function timed(args: string[], workers: number): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'bench-queue-'));
  const redis = workers > 0 ? await startRedis() : null;
  const started = workers > 0 ? Array.from({ length: workers }, (_, index) => startWorker(redis!.url, `b${index + 1}`, values.backend)) : [];
  await Promise.all(started.map((worker) => worker.waitFor(/^worker b\d+: /m, 300)));
  const begin = performance.now();
  const run = runTs('compute/cli.ts', ['run', '--profile', 'quick', '--backend', values.backend, '--out', join(root, 'out'), '--cache', join(root, 'cache'), ...(redis ? ['--queue', redis.url] : []), ...args]);
  const code = await run.exit;
  const seconds = (performance.now() - begin) / 1000;
  await Promise.all(started.map((worker) => stop(worker)));
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
  if (code !== 0) throw new Error(`run with ${workers} queue workers failed:\n${run.output().slice(-2000)}`);
  return seconds;
}

const times = new Map<number, number[]>([[0, []], ...counts.map((count) => [count, []] as [number, number[]])]);
for (let round = 0; round < repeats; round++) {
  for (const count of [0, ...counts]) {
    const seconds = await timed([], count);
    times.get(count)!.push(seconds);
    console.log(`round ${round + 1}: ${count === 0 ? 'local' : `${count} queue worker${count > 1 ? 's' : ''}`} ${seconds.toFixed(1)} s`);
  }
}
const local = times.get(0)!;
console.log(`\nquick profile (${values.backend}), wall time ÷ the local run of the same round (range over ${repeats} rounds):`);
for (const count of counts) {
  const ratios = times.get(count)!.map((seconds, round) => seconds / local[round]);
  console.log(`  ${count} worker${count > 1 ? 's' : ' '}: ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`);
}
const one = times.get(counts[0])!;
for (const count of counts.slice(1)) {
  const speedups = times.get(count)!.map((seconds, round) => one[round] / seconds);
  console.log(`  speed-up of ${count} workers over ${counts[0]}: ${Math.min(...speedups).toFixed(2)}–${Math.max(...speedups).toFixed(2)}`);
}
