/**
 * The enqueuing side: a TaskRunner (what runOnce calls, like the local pool)
 * that puts each task on a BullMQ queue and waits for a worker on any
 * machine to return it.
 *
 * The study's own orchestration decides when a task can start: the stages
 * run in order (models, then laplace, ensemble, landscape), so every task's
 * inputs are finished before it is enqueued. That is why this is a plain
 * queue and not a BullMQ flow: a flow is a tree (each child has one parent),
 * while here one trained network feeds several tasks (its evaluations, the
 * ensemble, the landscape), and the stage order already is the dependency
 * order. Each job's id is its task's content key, so a restarted run finds
 * its jobs (finished or not) instead of adding them twice.
 *
 * State is polled (every half second) rather than followed through events:
 * a poll that fails says at once that the server is gone, and progress,
 * retries and results all come from the same read of each job.
 */
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { TaskFailures } from '../experiments/failures.ts';
import { taskKey, type TaskRunner } from '../experiments/finished.ts';
import { verifyDataFiles } from '../data/index.ts';
import { formatDuration, type ProgressBoard } from '../progress/index.ts';
import { TaskError } from '../workers/pool.ts';
import { estimateSecondsLeft } from './estimate.ts';
import { cacheFilesOf, cachePrefixes, type QueueJobData, type QueueJobProgress, type QueueJobResult } from './jobs.ts';
import { blobsOfJob, deleteBlobs, describeRedisError, downloadFiles, QueueError, queueName, reachQueue, uploadFiles, withTimeout, type QueueAddress } from './store.ts';

/** How long the server may be unreachable before the run stops. */
const lostAfterSeconds = 10;
/** Seconds between status lines when nothing changes (QUEUE_STATUS_SECONDS; tests ask for more). */
const statusSeconds = Number(process.env.QUEUE_STATUS_SECONDS) > 0 ? Number(process.env.QUEUE_STATUS_SECONDS) : 15;
/** Attempts of a task: a second failure with the same error ends it sooner (the worker decides, see worker.ts). */
export const taskAttempts = 3;

/** The enqueuer stopped by SIGINT or SIGTERM: its jobs stay on the queue for a later run to reattach to. */
export class RunStoppedError extends QueueError {
  override name = 'RunStoppedError';
  constructor(
    readonly signal: NodeJS.Signals,
    address: QueueAddress,
  ) {
    super(`Stopped by ${signal} before the run finished; its jobs stay on the queue at ${address.url}, and running it again reattaches to them.`);
  }
}

interface PendingTask {
  jobId: string;
  kind: string;
  label: string;
  settling: boolean;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export interface QueueRunStats {
  done: number;
  /** Tasks a worker took up again after another worker holding them died or failed. */
  retried: Set<string>;
  /** Workers that returned a task. */
  workers: Set<string>;
}

export class QueueRunner implements TaskRunner {
  private readonly pending = new Map<string, PendingTask>();
  /** Every job this run enqueued or reattached to, and every blob its tasks read or returned: what removeRun() removes. */
  private readonly jobIds = new Set<string>();
  private readonly blobs = new Set<string>();
  /** Seconds each finished task took on its worker, by kind: what the time left is estimated from. */
  private readonly durations = new Map<string, number[]>();
  private readonly running = new Map<string, QueueJobProgress & { label: string; kind: string }>();
  private waitingKinds: string[] = [];
  /** The most tasks each worker was seen running at once: its share of the work left. */
  private readonly slotsByWorker = new Map<string, number>();
  private failingSince: number | null = null;
  private lastStatus = '';
  private lastStatusAt = 0;
  private polling = false;
  private readonly timer: NodeJS.Timeout;
  /** Set when the run must stop: a task failed for good, or the server was lost. */
  fatal: QueueError | null = null;
  readonly stats: QueueRunStats = { done: 0, retried: new Set(), workers: new Set() };

  private constructor(
    private readonly address: QueueAddress,
    private readonly redis: Redis,
    private readonly queue: Queue,
    private readonly board: ProgressBoard,
    private readonly dataHashes: Record<string, string[]>,
  ) {
    // Unreferenced: a run that ends by an error must not be held open by its poll.
    this.timer = setInterval(() => void this.poll(), 500).unref();
  }

  /** Reach the server (one sentence and no work done when it cannot be reached) and hash the data the workers must also have. */
  static async open(address: QueueAddress, datasets: readonly string[], board: ProgressBoard): Promise<QueueRunner> {
    const redis = await reachQueue(address);
    const queue = new Queue(queueName, { connection: { ...address.options, maxRetriesPerRequest: 1, enableOfflineQueue: false } });
    queue.on('error', () => {});
    const dataHashes = Object.fromEntries(datasets.map((dataset) => [dataset, verifyDataFiles(dataset as never).map((file) => file.sha256)]));
    board.log(`queue ${address.url}: tasks go to whichever workers take them (npm run worker -- --queue ${address.url})`);
    return new QueueRunner(address, redis, queue, board, dataHashes);
  }

  async run<Result>(kind: string, params: unknown, label: string): Promise<Result> {
    if (this.fatal) throw this.fatal;
    const full = params as Record<string, unknown>;
    const { outDir, ...rest } = full;
    const { cacheDir, ...settings } = rest.settings as Record<string, unknown> & { cacheDir: string };
    const jobId = `${kind}-${taskKey(kind, full)}`;
    this.jobIds.add(jobId);
    const returned = await this.talking(async () => {
      const inputs = await uploadFiles(this.redis, cacheDir, cacheFilesOf(cacheDir, cachePrefixes(kind, full)));
      for (const ref of inputs) this.blobs.add(ref.sha256);
      const data: QueueJobData = { format: 'queue-task/1', kind, label, params: { ...rest, settings }, withOutDir: 'outDir' in full, inputs, dataHashes: this.dataHashes };
      const existing = await Job.fromId(this.queue, jobId);
      const state = existing ? await existing.getState() : null;
      if (existing && state === 'failed') {
        // A run before this one gave up on it; this run tries again.
        await existing.retry('failed');
      } else if (!existing) {
        await this.queue.add(kind, data, { jobId, attempts: taskAttempts, removeOnComplete: false, removeOnFail: false });
      } else this.board.log(`${label}: reattached to its ${state} job`);
    }).then(
      () =>
        new Promise<QueueJobResult>((resolve, reject) => {
          // Stopped while this task was being enqueued: no poll would ever settle it.
          if (this.fatal) return reject(new TaskError(label, 'stopped, the run ends.', 'QueueError'));
          this.pending.set(jobId, { jobId, kind, label, settling: false, resolve: resolve as (value: unknown) => void, reject });
        }),
    );
    for (const hash of blobsOfJob(null, returned)) this.blobs.add(hash);
    await this.talking(async () => {
      await downloadFiles(this.redis, outDir as string, returned.artifacts);
      await downloadFiles(this.redis, cacheDir, returned.cacheFiles);
    });
    return returned.result as Result;
  }

  /** Commands outside the poll: a server that stops answering ends the run the same way. */
  private async talking<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof QueueError) throw error;
      const lost = new QueueError(`Lost the queue at ${this.address.url} (${describeRedisError(error)}); finished tasks are kept, run again to go on.`);
      this.stop(lost);
      throw lost;
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.pending.size === 0) return;
    this.polling = true;
    try {
      this.running.clear();
      this.waitingKinds = [];
      for (const task of [...this.pending.values()]) {
        if (task.settling) continue;
        // The state first, then the job: a job read before it finished could be seen as completed with no result yet.
        const state = await withTimeout(this.queue.getJobState(task.jobId), 5, 'no answer');
        const job = await withTimeout(Job.fromId(this.queue, task.jobId), 5, 'no answer');
        if (!job || state === 'unknown') throw new Error(`job ${task.jobId} is gone from the queue`);
        // attemptsMade counts the finished attempt too; a start beyond the first, or a stall, is a retry.
        if (job.stalledCounter > 0 || job.attemptsStarted > 1) this.stats.retried.add(task.label);
        if (state === 'completed' && job.returnvalue) this.settle(task, job);
        else if (state === 'failed') {
          const worker = (job.progress as Partial<QueueJobProgress> | null)?.worker ?? 'a worker';
          this.stop(new QueueError(`${task.label} failed on ${worker} (attempt ${job.attemptsMade} of ${taskAttempts}): ${job.failedReason.replace(/\.$/, '')}.`), task.label);
          return;
        } else if (state === 'active') {
          const progress = (typeof job.progress === 'object' ? job.progress : {}) as Partial<QueueJobProgress>;
          this.running.set(task.jobId, { worker: progress.worker ?? '?', done: progress.done ?? 0, total: progress.total ?? 0, unit: progress.unit ?? '', label: task.label, kind: task.kind });
        } else this.waitingKinds.push(task.kind);
      }
      const runningOn = new Map<string, number>();
      for (const task of this.running.values()) if (task.worker !== '?') runningOn.set(task.worker, (runningOn.get(task.worker) ?? 0) + 1);
      for (const [worker, count] of runningOn) this.slotsByWorker.set(worker, Math.max(count, this.slotsByWorker.get(worker) ?? 0));
      this.failingSince = null;
      this.report();
    } catch (error) {
      this.failingSince ??= Date.now();
      if (Date.now() - this.failingSince > lostAfterSeconds * 1000) {
        this.stop(new QueueError(`Lost the queue at ${this.address.url} for over ${lostAfterSeconds} s (${describeRedisError(error)}); finished tasks are kept, run again to go on.`));
      }
    } finally {
      this.polling = false;
    }
  }

  private settle(task: PendingTask, job: Job): void {
    task.settling = true;
    const returned = job.returnvalue as QueueJobResult;
    this.stats.done += 1;
    this.stats.workers.add(returned.worker);
    if (!this.slotsByWorker.has(returned.worker)) this.slotsByWorker.set(returned.worker, 1);
    if (job.processedOn && job.finishedOn) this.durations.set(task.kind, [...(this.durations.get(task.kind) ?? []), (job.finishedOn - job.processedOn) / 1000]);
    this.pending.delete(task.jobId);
    this.board.log(`${task.label}: done on ${returned.worker}${this.stats.retried.has(task.label) ? ' (retried)' : ''}`);
    task.resolve(returned);
  }

  /** Stop waiting for the queue (SIGINT, SIGTERM): every task still waited for fails, and the run ends with one sentence. */
  interrupt(signal: NodeJS.Signals): void {
    this.stop(new RunStoppedError(signal, this.address));
  }

  /** Fail every waiting task with `error` and keep it for the run to end with. */
  private stop(error: QueueError, failedTask?: string): void {
    if (this.fatal) return;
    this.fatal = error;
    for (const task of this.pending.values()) task.reject(new TaskError(task.label, task.label === failedTask ? error.message : 'stopped, the run ends.', 'QueueError'));
    this.pending.clear();
  }

  /** done / running (per worker) / waiting and the time left, when it changes or every statusSeconds. */
  private report(): void {
    const running = [...this.running.values()];
    const perWorker = running.map((task) => `${task.worker}: ${task.label}${task.total > 0 ? ` ${task.done}/${task.total} ${task.unit}` : ''}`);
    const left = estimateSecondsLeft({
      secondsByKind: this.durations,
      left: [
        ...running.map((task) => ({ kind: task.kind, fractionDone: task.total > 0 ? task.done / task.total : 0 })),
        ...this.waitingKinds.map((kind) => ({ kind, fractionDone: 0 })),
      ],
      slots: [...this.slotsByWorker.values()].reduce((sum, count) => sum + count, 0),
    });
    const counts = `${this.stats.done} done, ${running.length} running, ${this.waitingKinds.length} waiting, ${this.stats.retried.size} retried`;
    const changed = `${counts} ${running.map((task) => `${task.worker}:${task.label}`).join()}`;
    const now = Date.now();
    if (changed === this.lastStatus && now - this.lastStatusAt < statusSeconds * 1000) return;
    this.lastStatus = changed;
    this.lastStatusAt = now;
    this.board.log(`queue: ${counts}; about ${formatDuration(left)} left in this stage${perWorker.length > 0 ? ` [${perWorker.join('; ')}]` : ''}`);
  }

  /**
   * Remove this run's jobs and blobs from the server, once the run has all it
   * needs from them: a later run of the same tasks finds them in its own
   * results and cache, not on the queue. A blob that a job still on the
   * queue names (another run's, sharing the server) stays, and so does the
   * events stream's record of other runs' jobs.
   */
  async removeRun(): Promise<{ jobs: number; blobs: number }> {
    try {
      let jobs = 0;
      for (const jobId of this.jobIds) {
        const job = await Job.fromId(this.queue, jobId);
        if (job && (await job.getState()) === 'completed') {
          // The inputs an earlier run enqueued it with, when this run reattached to it.
          for (const hash of blobsOfJob(job.data, job.returnvalue)) this.blobs.add(hash);
          await job.remove();
          jobs += 1;
        }
      }
      const named = new Set<string>();
      for (const job of await this.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'])) {
        for (const hash of blobsOfJob(job?.data, job?.returnvalue)) named.add(hash);
      }
      const blobs = await deleteBlobs(this.redis, [...this.blobs].filter((hash) => !named.has(hash)));
      // BullMQ's events stream repeats each job's return value; drop this run's entries (the stream is capped, but not small).
      const events = this.queue.keys.events;
      const entries = (await this.redis.xrange(events, '-', '+')) as [string, string[]][];
      const ours = entries.filter(([, fields]) => fields.some((value, index) => index % 2 === 1 && fields[index - 1] === 'jobId' && this.jobIds.has(value))).map(([id]) => id);
      for (let start = 0; start < ours.length; start += 500) await this.redis.xdel(events, ...ours.slice(start, start + 500));
      return { jobs, blobs };
    } catch (error) {
      throw new QueueError(describeRedisError(error));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    // With the server gone, close() waits for it forever: disconnect instead, so no reconnecting socket holds the process.
    await withTimeout(this.queue.close(), 2, 'closing').catch(() => this.queue.disconnect().catch(() => {}));
    this.redis.disconnect();
  }
}

/**
 * Task failures of a queued run: a task that failed for good or a lost server
 * ends the whole run at once (the stage's artifact, such as models.json, is
 * not written from a part of its rows); other failures are recorded as in a
 * local run.
 */
export class QueuedTaskFailures extends TaskFailures {
  constructor(
    log: (line: string) => void,
    private readonly runner: QueueRunner,
  ) {
    super(log);
  }

  override async guard<Result>(task: string, work: Promise<Result>): Promise<Result | undefined> {
    try {
      return await work;
    } catch (error) {
      if (this.runner.fatal) throw this.runner.fatal;
      return super.guard(task, Promise.reject(error));
    }
  }
}
