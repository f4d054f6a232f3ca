/**
 * The study through the queue (issue 27), against a redis-server this file
 * starts itself: the quick profile enqueued and run by three worker processes
 * with empty caches of their own, one of them killed with SIGKILL in the
 * middle of a task (a fourth, fresh, takes its place), gives the same bytes
 * as the local quick run of the same backend (the one the global setup
 * made); a second enqueuing run reattaches to the finished jobs; a bad URL,
 * an unreachable server, a task that fails twice the same way and a server
 * stopped mid-run each end the run with one sentence and a non-zero exit,
 * leaving nothing half-written. Where root may make network namespaces, two
 * of the workers run in namespaces of their own and reach Redis only over a
 * veth pair.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { filesUnder } from '../../compute/artifacts/files.ts';
import { listArtifacts, manifestFile, type Manifest } from '../../compute/artifacts/manifest.ts';
import { blobPrefix, queueName } from '../../compute/queue/store.ts';
import { freePort, makeNamespace, redisInstalled, runTs, startRedis, startWorker, stop, type Namespace, type RedisServer, type Running } from './harness.ts';

const quick = inject('quickResults');
const referenceReady = quick.code === 0 && existsSync(join(quick.out, manifestFile));
const backend = referenceReady ? (JSON.parse(readFileSync(join(quick.out, manifestFile), 'utf8')) as Manifest).backend.name : 'wasm';

function enqueue(url: string, out: string, cache: string, extra: string[] = []): Running {
  return runTs('compute/cli.ts', ['run', '--profile', 'quick', '--backend', backend, '--out', out, '--cache', cache, '--queue', url, ...extra]);
}

function expectSameBytes(out: string) {
  const artifacts = listArtifacts(quick.out).filter((path) => path !== manifestFile);
  expect(artifacts).toContain('mnist/lenet5/kfac.json');
  expect(listArtifacts(out).filter((path) => path !== manifestFile)).toEqual(artifacts);
  for (const path of artifacts) expect(readFileSync(join(out, path)).equals(readFileSync(join(quick.out, path))), path).toBe(true);
}

/** Tasks a worker's output says it started and had not finished. */
function tasksInHand(output: string): string[] {
  const started = [...output.matchAll(/^(.+): started \(attempt \d+\)$/gm)].map((match) => match[1]);
  const done = new Set([...output.matchAll(/^(.+): done in /gm)].map((match) => match[1]));
  return started.filter((label) => !done.has(label));
}

/** What a server holds of the study's queue: its jobs by state, its blobs, and the events stream's entries naming a job. */
async function queueContents(port: number): Promise<{ counts: Record<string, number>; blobs: number; eventJobIds: Set<string> }> {
  const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port } });
  const counts = await queue.getJobCounts('completed', 'waiting', 'active', 'failed', 'delayed');
  const client = new Redis({ host: '127.0.0.1', port });
  const blobs = (await client.keys(`${blobPrefix}*`)).length;
  const entries = (await client.xrange(queue.keys.events, '-', '+')) as [string, string[]][];
  const eventJobIds = new Set(entries.flatMap(([, fields]) => fields.filter((_, index) => index > 0 && fields[index - 1] === 'jobId')));
  client.disconnect();
  await queue.close();
  return { counts, blobs, eventJobIds };
}

/** The single error sentence a failed run ends with. */
function lastError(output: string): string {
  return output.split('\n').filter((line) => line.startsWith('error: ')).at(-1) ?? '';
}

describe.runIf(redisInstalled && referenceReady)('the quick profile through the queue', () => {
  let redis: RedisServer;
  const namespaces: Namespace[] = [];
  let namespaceReason = '';
  const children: Running[] = [];

  beforeAll(async () => {
    for (const index of [0, 1]) {
      const made = makeNamespace(index);
      if ('reason' in made) {
        namespaceReason = made.reason;
        break;
      }
      namespaces.push(made);
    }
    if (namespaceReason) for (const made of namespaces.splice(0)) made.remove();
    redis = await startRedis(namespaces.map((made) => made.hostAddress));
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => stop(child, 'SIGKILL')));
    await redis?.stop();
    for (const made of namespaces) made.remove();
  });

  it('gives the local run\'s bytes with three workers, one killed mid-task, and counts the task as retried', async () => {
    if (namespaceReason) console.warn(`queue test: workers share the host's network (no namespaces: ${namespaceReason})`);
    // Two workers in namespaces of their own where the machine allows, reaching Redis at their veth address; the third on loopback.
    const workers = [0, 1, 2].map((index) => {
      const made = namespaces[index];
      const worker = made ? startWorker(`redis://${made.hostAddress}:${redis.port}`, `w${index + 1}`, backend, made.wrapper) : startWorker(redis.url, `w${index + 1}`, backend);
      children.push(worker);
      return worker;
    });
    const root = mkdtempSync(join(tmpdir(), 'queue-run-'));
    // --keep-queue: the next test reattaches to this run's jobs.
    const run = enqueue(redis.url, join(root, 'out'), join(root, 'cache'), ['--keep-queue']);
    children.push(run);
    // The first worker, once it is part-way through a task: SIGKILL, then a fresh worker with an empty cache in its place.
    await run.waitFor(/\[[^\]]*w1: [^\];]* [1-9]\d*\/\d+ /, 600);
    await stop(workers[0], 'SIGKILL');
    const killed = tasksInHand(workers[0].output());
    expect(killed.length, workers[0].output().slice(-2000)).toBeGreaterThan(0);
    children.push(startWorker(redis.url, 'w4', backend));
    const code = await run.exit;
    expect(code, run.output().slice(-4000)).toBe(0);
    expectSameBytes(join(root, 'out'));
    // The killed worker's task went back on the queue and was counted.
    expect(run.output()).toMatch(/^queue: 20 tasks on \d workers \(.*\), [1-9]\d* retried \(/m);
    if (namespaces.length === 2) expect(run.output()).toMatch(/done on w2/);
    // And the manifest says so: the killed task among the retried ones, each stage's count adding up to them.
    const manifest = JSON.parse(readFileSync(join(root, 'out', manifestFile), 'utf8')) as Manifest;
    const queued = manifest.run.queue!;
    expect(queued.tasks).toBe(20);
    for (const label of killed) expect(queued.retried).toContain(label);
    const stageRetried = Object.values(manifest.run.stages).map((stage) => (typeof stage === 'number' ? 0 : (stage.retried ?? 0)));
    expect(stageRetried.reduce((sum, count) => sum + count, 0)).toBe(queued.retried.length);
    expect(queued.workers.length).toBeGreaterThanOrEqual(2);
    // --keep-queue: its jobs and blobs are still on the server.
    const kept = await queueContents(redis.port);
    expect(kept.counts.completed).toBe(20);
    expect(kept.blobs).toBeGreaterThan(0);
  }, 1_200_000);

  it('reattaches a restarted run to its finished jobs instead of adding them again', async () => {
    // No worker is left: everything must come from the jobs and blobs already in Redis.
    await Promise.all(children.splice(0).map((child) => stop(child, 'SIGKILL')));
    const root = mkdtempSync(join(tmpdir(), 'queue-again-'));
    const run = enqueue(redis.url, join(root, 'out'), join(root, 'cache'));
    children.push(run);
    expect(await run.exit, run.output().slice(-4000)).toBe(0);
    expect(run.output().match(/reattached to its completed job/g)?.length).toBe(20);
    expectSameBytes(join(root, 'out'));
    // Without --keep-queue a run that succeeded removes what it put on the server: no job, no blob, no event naming one of its jobs.
    expect(run.output()).toMatch(/^queue: removed the run's 20 jobs and [1-9]\d* blobs from the server/m);
    const left = await queueContents(redis.port);
    expect(left.counts).toEqual({ completed: 0, waiting: 0, active: 0, failed: 0, delayed: 0 });
    expect(left.blobs).toBe(0);
    expect(left.eventJobIds.size).toBe(0);
  }, 600_000);
});

describe.runIf(redisInstalled)('queue faults', () => {
  it('refuses a bad queue URL in one sentence before any work', async () => {
    const root = mkdtempSync(join(tmpdir(), 'queue-bad-'));
    for (const url of ['http://localhost:6379', 'redis//nohost', 'redis://127.0.0.1:6379/x']) {
      const run = enqueue(url, join(root, 'out'), join(root, 'cache'));
      expect(await run.exit).toBe(2);
      expect(lastError(run.output())).toMatch(/^error: --queue ".*" (is not|has) [^.]*\.( |$)/);
      expect(run.output().split('\n').filter((line) => line.startsWith('error')).length).toBe(1);
    }
    expect(existsSync(join(root, 'out'))).toBe(false);
    expect(existsSync(join(root, 'cache'))).toBe(false);
    // --keep-queue means nothing without a queue.
    const keep = runTs('compute/cli.ts', ['run', '--profile', 'quick', '--out', join(root, 'out'), '--keep-queue', '--check-options']);
    expect(await keep.exit).toBe(2);
    expect(lastError(keep.output())).toBe('error: --keep-queue keeps a queued run\'s jobs and blobs on its server, so it needs --queue URL.');
  });

  it('says in one sentence that an unreachable server cannot be reached, before any work', async () => {
    const root = mkdtempSync(join(tmpdir(), 'queue-unreachable-'));
    const port = await freePort();
    const run = enqueue(`redis://127.0.0.1:${port}`, join(root, 'out'), join(root, 'cache'));
    expect(await run.exit).toBe(2);
    expect(lastError(run.output())).toMatch(new RegExp(`^error: Cannot reach the queue at redis://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    expect(run.output()).not.toMatch(/^backend /m);
    expect(existsSync(join(root, 'out'))).toBe(false);
    // The worker too.
    const worker = runTs('compute/queue/worker.ts', ['--queue', `redis://127.0.0.1:${port}`]);
    expect(await worker.exit).toBe(2);
    expect(lastError(worker.output())).toMatch(/^error: Cannot reach the queue/);
  });

  describe('with a server of their own', () => {
    let redis: RedisServer;
    let worker: Running;
    beforeAll(async () => {
      redis = await startRedis();
      worker = startWorker(redis.url, 'faulty', 'wasm');
      await worker.waitFor(/^worker faulty: /m, 120);
    });
    afterAll(async () => {
      await stop(worker, 'SIGKILL');
      await redis.stop();
    });

    it('gives up on a task after a second failure with the same error, keeping that error', async () => {
      const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
      const job = await queue.add('no-such-task', { format: 'queue-task/1', kind: 'no-such-task', label: 'a task of no known kind', params: { settings: { backend: 'wasm' } }, withOutDir: false, inputs: [], dataHashes: {} }, { jobId: 'no-such-task-1', attempts: 3 });
      let state = '';
      for (let tries = 0; tries < 600 && state !== 'failed'; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await queue.getJobState(job.id!);
      }
      const failed = await queue.getJob(job.id!);
      await queue.close();
      expect(state).toBe('failed');
      // Two attempts, not the three allowed: the second failed with the first one's error.
      expect(failed!.attemptsMade).toBe(2);
      expect(failed!.failedReason).toBe('Unknown task kind no-such-task.');
    }, 120_000);

    it('stops the run in one sentence when the server goes away mid-run, leaving nothing half-written', async () => {
      const root = mkdtempSync(join(tmpdir(), 'queue-lost-'));
      const out = join(root, 'out');
      const run = runTs('compute/cli.ts', ['run', '--profile', 'quick', '--only', 'models', '--backend', 'wasm', '--out', out, '--cache', join(root, 'cache'), '--queue', redis.url]);
      await run.waitFor(/\[faulty: /, 300);
      await redis.stop();
      const code = await run.exit;
      expect(code, run.output().slice(-3000)).not.toBe(0);
      expect(lastError(run.output())).toMatch(new RegExp(`^error: Lost the queue at ${redis.url.replace(/\./g, '\\.')} .*; finished tasks are kept, run again to go on\\.$`));
      // No manifest and no models.json (the run stopped before its stage ended), no temp file; what is there is whole (written by rename).
      expect(existsSync(join(out, manifestFile))).toBe(false);
      expect(existsSync(join(out, 'models.json'))).toBe(false);
      expect(filesUnder(out, (name) => name.endsWith('.tmp'))).toEqual([]);
    }, 400_000);
  });
});

describe.runIf(redisInstalled)('a queued run or a worker stopped by a signal', () => {
  let redis: RedisServer;
  let worker: Running;
  beforeAll(async () => {
    redis = await startRedis();
    worker = startWorker(redis.url, 'stoppable', 'wasm');
    await worker.waitFor(/^worker stoppable: /m, 120);
  });
  afterAll(async () => {
    await stop(worker, 'SIGKILL');
    await redis.stop();
  });

  /** The exit code, or a failure saying the process did not end (the bug this guards against is a hang, not a slow exit). */
  async function exitAfterSignal(running: Running): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running 60 s after the signal; output:\n${running.output().slice(-3000)}`)), 60_000)));
    try {
      return await Promise.race([running.exit, hung]);
    } finally {
      clearTimeout(timer);
    }
  }

  function expectNothingHalfWritten(out: string) {
    expect(existsSync(join(out, manifestFile))).toBe(false);
    expect(existsSync(join(out, 'models.json'))).toBe(false);
    expect(filesUnder(out, (name) => name.endsWith('.tmp'))).toEqual([]);
  }

  it('ends at once in one sentence, with the server up and with it gone, leaving nothing half-written', async () => {
    const root = mkdtempSync(join(tmpdir(), 'queue-signal-'));
    const out = join(root, 'out');
    const args = ['run', '--profile', 'quick', '--only', 'models', '--backend', 'wasm', '--out', out, '--cache', join(root, 'cache'), '--queue', redis.url];
    const url = redis.url.replace(/\./g, '\\.');
    // The server up: Ctrl-C on the enqueuer while the worker runs one of its tasks.
    const first = runTs('compute/cli.ts', args);
    await first.waitFor(/\[stoppable: /, 300);
    first.child.kill('SIGINT');
    expect(await exitAfterSignal(first)).toBe(130);
    expect(lastError(first.output())).toMatch(new RegExp(`^error: Stopped by SIGINT before the run finished; its jobs stay on the queue at ${url}, and running it again reattaches to them\\.$`));
    expect(first.output().split('\n').filter((line) => line.startsWith('error')).length).toBe(1);
    expectNothingHalfWritten(out);

    // Run again: it reattaches to those jobs; then the server goes away and both the enqueuer and the worker are told to stop.
    const second = runTs('compute/cli.ts', args);
    await second.waitFor(/: reattached to its \w+ job/, 300);
    await second.waitFor(/\[stoppable: /, 300);
    await redis.stop();
    second.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await exitAfterSignal(second)).toBe(143);
    expect(lastError(second.output())).toMatch(new RegExp(`^error: Stopped by SIGTERM before the run finished; its jobs stay on the queue at ${url}, and running it again reattaches to them\\.$`));
    expect(second.output().split('\n').filter((line) => line.startsWith('error')).length).toBe(1);
    expectNothingHalfWritten(out);
    expect(await exitAfterSignal(worker)).toBe(2);
    expect(lastError(worker.output())).toMatch(new RegExp(`^error: Lost the queue at ${url} while stopping \\([^)]+\\); worker stoppable stopped at once(, leaving .+ for another worker to take up once its lock lapses| with no task in hand)\\.$`));
    expect(worker.output().split('\n').filter((line) => line.startsWith('error')).length).toBe(1);
  }, 700_000);
});

if (!redisInstalled) describe('the quick profile through the queue', () => {
  it.skip('skipped: redis-server is not installed (apt-get install redis-server; .ci/run does)', () => {});
});
