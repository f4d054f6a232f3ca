/**
 * A pool of worker threads, each with its own backend: on wasm the second
 * core is only reached this way. With zero workers tasks run in this thread,
 * which is simpler to debug and what tests use.
 */
import { Worker } from 'node:worker_threads';
import { taskFunctions } from '../experiments/tasks.ts';
import type { ProgressBoard } from '../progress/index.ts';
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
  request: TaskRequest;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
}

export class TaskPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private readonly ready: Promise<void>;

  constructor(
    workerCount: number,
    backend: string,
    private readonly board: ProgressBoard,
  ) {
    const starts: Promise<void>[] = [];
    for (let index = 0; index < workerCount; index++) {
      const worker = new Worker(new URL('./boot.mjs', import.meta.url), { workerData: { backend } });
      const slot: Slot = { worker, busy: null };
      this.slots.push(slot);
      starts.push(
        new Promise((resolve, reject) => {
          worker.on('message', (message: WorkerMessage) => {
            if (message.type === 'ready') resolve();
            else this.onMessage(slot, message);
          });
          worker.on('error', (error) => {
            reject(error);
            this.failSlot(slot, error);
          });
        }),
      );
    }
    this.ready = Promise.all(starts).then(() => undefined);
  }

  /** Run a task; `label` names it in progress lines and errors. */
  async run<Result>(kind: string, params: unknown, label: string): Promise<Result> {
    if (this.slots.length === 0) return (await this.runHere(kind, params, label)) as Result;
    await this.ready;
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ label, request: { id: this.nextId++, kind, params }, resolve: resolve as (value: unknown) => void, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
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
      if (slot.busy || this.queue.length === 0) continue;
      const pending = this.queue.shift()!;
      slot.busy = pending;
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
        pending.resolve(message.result);
        break;
      case 'failed':
        slot.busy = null;
        this.board.finish(pending.label);
        pending.reject(new TaskError(pending.label, message.message, message.errorName));
        break;
    }
    this.dispatch();
  }

  private failSlot(slot: Slot, error: Error): void {
    const pending = slot.busy;
    slot.busy = null;
    if (pending) pending.reject(new TaskError(pending.label, error.message, error.name));
  }
}
