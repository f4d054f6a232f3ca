/**
 * A queue worker: `npm run worker -- --queue redis://HOST:PORT` on any
 * machine with this checkout, its packages and the data sets. It takes the
 * study's tasks from the queue and runs them in the same worker threads (and
 * so with the same code, seeds and backend setup) as the local pool, one
 * task per thread; the main thread only talks to Redis, so BullMQ's lock on
 * a running task is renewed however long the task computes. If this process
 * dies, the lock lapses and another worker takes the task again.
 *
 * Per task it fetches the cache files the task reads (checking each hash),
 * checks its data files against the enqueuer's hashes, runs the task into a
 * fresh temporary results folder, and returns the artifacts written there
 * and the task's cache files as blobs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { constants as osConstants, hostname, tmpdir } from 'node:os';
import type { Redis } from 'ioredis';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { filesUnder } from '../artifacts/files.ts';
import { describeBackend, startBackend } from '../backend/index.ts';
import { defaultWorkers, planWorkers } from '../backend/native.ts';
import { verifyDataFiles, type DatasetName } from '../data/index.ts';
import { ProgressBoard, type ProgressUpdate } from '../progress/index.ts';
import { TaskPool } from '../workers/pool.ts';
import { cacheFilesOf, cachePrefixes, type QueueJobData, type QueueJobProgress, type QueueJobResult } from './jobs.ts';
import { describeRedisError, downloadFiles, parseQueueUrl, QueueError, queueName, reachQueue, uploadFiles, withTimeout } from './store.ts';

const usage = `Usage: npm run worker -- --queue redis://HOST:PORT [options]

Takes the study's tasks from the queue that \`npm run reproduce -- --queue URL\` fills, until stopped (Ctrl-C finishes the tasks in hand first; a second Ctrl-C, or a server that is gone, stops at once).

Options:
  --queue URL      the Redis server of the queue (redis://[user:password@]HOST[:PORT][/DB], or rediss:// for TLS)
  --cache DIR      this worker's cache of checkpoints and fits (default .cache/worker); tasks' inputs are fetched into it
  --backend NAME   the backend, which must be the enqueuing run's (default: the first that starts)
  --workers N      tasks at a time, each in its own thread (default 2 on cpu, wasm and node, 1 on gpu)
  --name NAME      how progress names this worker (default HOST-PID)
  --lock-seconds S how long a task stays with a worker that stops answering before another takes it (default 10)
`;

/** A lock shorter than the default 30 s: a killed worker's task moves on sooner; the lock is renewed every S/2 from an idle thread. */
const defaultLockSeconds = 10;

/**
 * Resolves with why, once the server has failed to answer two PINGs a second
 * apart (one lost packet is not a lost server); `stop` ends the watch.
 */
function watchServer(redis: Redis): { lost: Promise<string>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const lost = new Promise<string>((resolveLost) => {
    let failures = 0;
    const check = async () => {
      try {
        await withTimeout(redis.ping(), 1, 'no answer');
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures >= 2) return resolveLost(describeRedisError(error));
      }
      if (!stopped) timer = setTimeout(() => void check(), 1000);
    };
    void check();
  });
  return {
    lost,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

const nextSignal = () =>
  new Promise<NodeJS.Signals>((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveSignal(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

class JobBoard extends ProgressBoard {
  readonly listeners = new Map<string, (update: ProgressUpdate) => void>();
  override update(update: ProgressUpdate): void {
    super.update(update);
    this.listeners.get(update.task)?.(update);
  }
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        queue: { type: 'string' },
        cache: { type: 'string' },
        backend: { type: 'string' },
        workers: { type: 'string' },
        name: { type: 'string' },
        'lock-seconds': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`error: ${(error as Error).message.replace(/\.$/, '')}; run with --help to see the options.`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  try {
    if (values.queue === undefined) throw new QueueError('The worker needs --queue redis://HOST:PORT, the server the enqueuing run uses.');
    const address = parseQueueUrl(values.queue);
    const threads = values.workers === undefined ? undefined : Number(values.workers);
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64)) throw new QueueError(`--workers must be an integer from 1 to 64, got "${values.workers}".`);
    const lockSeconds = Number(values['lock-seconds'] ?? defaultLockSeconds);
    if (!(lockSeconds >= 2)) throw new QueueError(`--lock-seconds must be a number of at least 2, got "${values['lock-seconds']}".`);
    const redis = await reachQueue(address);
    // TensorFlow's intra-op pool as a local run's (sized for the default thread count, whatever --workers says):
    // its size can move the last bits of a sum, and the bytes must match a local run's on the same kind of machine.
    planWorkers(defaultWorkers('node'));
    const backend = await startBackend(values.backend);
    const count = threads ?? defaultWorkers(backend.name);
    const name = values.name ?? `${hostname()}-${process.pid}`;
    const cacheDir = resolve(values.cache ?? '.cache/worker');
    const board = new JobBoard(false);
    const pool = new TaskPool(count, backend.name, board);
    console.log(`worker ${name}: ${describeBackend(backend)}; ${count} task${count > 1 ? 's' : ''} at a time; cache ${cacheDir}; queue ${address.url}`);
    /** The tasks this worker runs now, with their temporary results folders: what a stop that cannot wait leaves behind. */
    const inHand = new Map<string, string>();

    const processor = async (job: Job): Promise<QueueJobResult> => {
      const data = job.data as QueueJobData;
      if (data.format !== 'queue-task/1') throw new UnrecoverableError(`Job ${job.id} is not a study task of this version (format ${String(data.format)}).`);
      const settings = data.params.settings as { backend: string };
      if (settings.backend !== backend.name) {
        throw new UnrecoverableError(`it needs the ${settings.backend} backend and worker ${name} runs ${backend.name}; start the workers with --backend ${settings.backend}`);
      }
      for (const [dataset, hashes] of Object.entries(data.dataHashes)) {
        const mine = verifyDataFiles(dataset as DatasetName).map((file) => file.sha256);
        if (mine.join() !== hashes.join()) throw new UnrecoverableError(`worker ${name}'s ${dataset} data files differ from the enqueuing machine's`);
      }
      let lastSent = 0;
      const send = (progress: Omit<QueueJobProgress, 'worker'>) => job.updateProgress({ worker: name, ...progress } satisfies QueueJobProgress).catch(() => {});
      await send({ done: 0, total: 0, unit: '' });
      await downloadFiles(redis, cacheDir, data.inputs);
      const outDir = mkdtempSync(join(tmpdir(), 'laplace-task-'));
      inHand.set(data.label, outDir);
      board.listeners.set(data.label, (update) => {
        const now = Date.now();
        if (now - lastSent < 1000 && update.done !== update.total) return;
        lastSent = now;
        void send({ done: update.done, total: update.total, unit: update.unit });
      });
      const params = { ...data.params, settings: { ...data.params.settings as object, cacheDir }, ...(data.withOutDir ? { outDir } : {}) };
      const started = performance.now();
      console.log(`${data.label}: started (attempt ${job.attemptsStarted})`);
      try {
        const result = await pool.run<unknown>(data.kind, params, data.label);
        const artifacts = await uploadFiles(redis, outDir, filesUnder(outDir, (file) => !file.endsWith('.tmp')));
        const cacheFiles = await uploadFiles(redis, cacheDir, cacheFilesOf(cacheDir, cachePrefixes(data.kind, params)));
        console.log(`${data.label}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        return { result, artifacts, cacheFiles, worker: name };
      } catch (error) {
        const message = (error as Error).message;
        console.log(`${data.label}: failed: ${message}`);
        // The same error on a second attempt will not go away on a third.
        if (job.attemptsMade >= 1 && job.failedReason === message) throw new UnrecoverableError(message);
        throw error;
      } finally {
        board.listeners.delete(data.label);
        inHand.delete(data.label);
        rmSync(outDir, { recursive: true, force: true });
      }
    };

    const worker = new Worker(queueName, processor, {
      connection: { ...address.options, maxRetriesPerRequest: null },
      concurrency: count,
      name,
      lockDuration: lockSeconds * 1000,
      stalledInterval: (lockSeconds * 1000) / 2,
      // A task whose worker died is taken up again; twice more at most, so a task that kills every worker ends the run.
      maxStalledCount: 2,
    });
    // While the server is away BullMQ reports each reconnection's failure; once per change is enough.
    let lastError = '';
    worker.on('error', (error) => {
      if (error.message !== lastError) console.error(`worker ${name}: ${error.message}`);
      lastError = error.message;
    });
    await nextSignal();
    console.log(`worker ${name}: stopping after the tasks in hand`);
    // A graceful close waits for the tasks in hand and then tells the server; with the server gone it would wait forever,
    // so a lost server or a second signal stops the worker at once.
    const watch = watchServer(redis);
    const outcome = await Promise.race([
      worker.close().then(() => ({ closed: true as const })),
      watch.lost.then((reason) => ({ lost: reason })),
      nextSignal().then((signal) => ({ signal })),
    ]);
    watch.stop();
    const left = [...inHand.keys()];
    await pool.close();
    for (const outDir of inHand.values()) rmSync(outDir, { recursive: true, force: true });
    redis.disconnect();
    if ('closed' in outcome) return 0;
    const leaving = left.length > 0 ? `, leaving ${left.join(', ')} for another worker to take up once its lock lapses` : ' with no task in hand';
    if ('lost' in outcome) {
      console.error(`error: Lost the queue at ${address.url} while stopping (${outcome.lost}); worker ${name} stopped at once${leaving}.`);
      return 2;
    }
    console.error(`error: Stopped by ${outcome.signal} again; worker ${name} stopped at once${leaving}.`);
    return 128 + (osConstants.signals[outcome.signal] ?? 1);
  } catch (error) {
    const failure = error as Error;
    if (['QueueError', 'BackendError', 'DataError'].includes(failure.name)) {
      console.error(`error: ${failure.message}`);
      return 2;
    }
    console.error(failure.stack ?? String(error));
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
  // Redis connections and worker threads are closed; anything else left must not keep the process.
  process.exit();
}
