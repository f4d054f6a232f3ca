/**
 * A pool of worker threads, each with its own backend: on wasm the second
 * core is only reached this way. With zero workers tasks run in this thread,
 * which is simpler to debug and what tests use.
 */
import { Worker } from 'node:worker_threads';
import { taskFunctions } from '../experiments/tasks.ts';
import { formatDuration, type ProgressBoard } from '../progress/index.ts';
import type { TaskRequest, WorkerMessage } from './protocol.ts';

export class TaskError extends Error {
  constructor(
    readonly task: string,
    message: string,
    readonly causeName: string,
  ) {
    super(message);
    this.name = 'TaskError';
  }
}

interface Pending {
  label: string;
  /** When a worker took it (performance.now()). */
  started?: number;
  request: TaskRequest;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  /** False until the worker's backend has started. */
  ready: boolean;
  /** Its replacement could not start: the slot takes no more tasks. */
  dead?: boolean;
  busy: Pending | null;
}

export interface PoolOptions {
  /** Module the workers run (default: the study's worker); tests pass their own. */
  entry?: URL;
}

export class TaskPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private readonly ready: Promise<void>;
  private closed = false;
  private deathCause: Error | null = null;

  constructor(
    workerCount: number,
    private readonly backend: string,
    private readonly board: ProgressBoard,
    private readonly options: PoolOptions = {},
  ) {
    const starts: Promise<void>[] = [];
    for (let index = 0; index < workerCount; index++) {
      const slot = { busy: null } as Slot;
      this.slots.push(slot);
      starts.push(this.start(slot));
    }
    this.ready = Promise.all(starts).then(() => undefined);
  }

  /** Start a worker in `slot`; resolves when its backend is up. */
  private start(slot: Slot): Promise<void> {
    const worker = new Worker(new URL('./boot.mjs', import.meta.url), { workerData: { backend: this.backend, entry: this.options.entry?.href } });
    slot.worker = worker;
    slot.ready = false;
    return new Promise((resolve, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          slot.ready = true;
          resolve();
          this.dispatch();
        } else this.onMessage(slot, message);
      });
      worker.on('error', (error) => {
        // Before ready it is the backend that failed to start: a replacement would fail the same way.
        if (!slot.ready) reject(error);
        else this.failSlot(slot, error);
      });
    });
  }

  /** Run a task; `label` names it in progress lines and errors. */
  async run<Result>(kind: string, params: unknown, label: string): Promise<Result> {
    if (this.slots.length === 0) return (await this.runHere(kind, params, label)) as Result;
    await this.ready;
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ label, request: { id: this.nextId++, kind, params }, resolve: resolve as (value: unknown) => void, reject });
      if (this.slots.every((slot) => slot.dead)) this.rejectQueue();
      else this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private async runHere(kind: string, params: unknown, label: string): Promise<unknown> {
    const run = taskFunctions[kind];
    if (!run) throw new Error(`Unknown task kind ${kind}.`);
    try {
      return await run(params as never, {
        progress: (done, total, unit) => this.board.update({ task: label, done, total, unit }),
        log: (line) => this.board.log(line),
      });
    } catch (error) {
      const failure = error as Error;
      throw new TaskError(label, failure.message, failure.name);
    } finally {
      this.board.finish(label);
    }
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.busy || this.queue.length === 0) continue;
      const pending = this.queue.shift()!;
      slot.busy = pending;
      pending.started = performance.now();
      slot.worker.postMessage(pending.request);
    }
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    const pending = slot.busy;
    if (!pending || !('id' in message) || message.id !== pending.request.id) return;
    switch (message.type) {
      case 'progress':
        this.board.update({ task: pending.label, done: message.done, total: message.total, unit: message.unit });
        return;
      case 'log':
        this.board.log(message.line);
        return;
      case 'done':
        slot.busy = null;
        this.board.finish(pending.label);
        // Worker time, without the wait in the queue: what the budget of a full run is made of.
        this.board.log(`${pending.label}: ${formatDuration((performance.now() - pending.started!) / 1000)} on a worker`);
        pending.resolve(message.result);
        break;
      case 'failed':
        slot.busy = null;
        this.board.finish(pending.label);
        pending.reject(new TaskError(pending.label, message.message, message.errorName));
        // A trapped or aborted WebAssembly module fails every later call ("Aborted()"): the
        // tasks queued behind this one get a fresh worker instead.
        if (message.fatal) this.replace(slot);
        break;
    }
    this.dispatch();
  }

  /** The worker died (an uncaught error): fail its task and start another in its place. */
  private failSlot(slot: Slot, error: Error): void {
    const pending = slot.busy;
    slot.busy = null;
    if (pending) pending.reject(new TaskError(pending.label, error.message, error.name));
    this.replace(slot);
  }

  private replace(slot: Slot): void {
    if (this.closed) return;
    const old = slot.worker;
    slot.ready = false;
    void old.terminate();
    this.start(slot).catch((error: Error) => {
      // A replacement that cannot start leaves its slot empty; when no slot is left, fail what waits rather than hang.
      slot.dead = true;
      this.deathCause = error;
      if (this.slots.every((other) => other.dead)) this.rejectQueue();
    });
  }

  private rejectQueue(): void {
    const cause = this.deathCause!;
    for (const pending of this.queue.splice(0)) pending.reject(new TaskError(pending.label, `no worker could be restarted: ${cause.message}`, cause.name));
  }
}
