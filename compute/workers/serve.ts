/**
 * The task loop of a worker thread: start the backend, say ready, then run
 * requests one at a time. A task that breaks the backend itself (a WebAssembly
 * trap or abort: the module is dead after one) is reported as fatal, so the
 * pool replaces this worker instead of sending it more tasks.
 */
import { parentPort } from 'node:worker_threads';
import { startBackend } from '../backend/index.ts';
import type { TaskFunction, TaskRequest, WorkerMessage } from './protocol.ts';

/** Whether an error means the worker's WebAssembly module can no longer be trusted. */
export function breaksBackend(error: unknown): boolean {
  return error instanceof WebAssembly.RuntimeError || (error instanceof Error && error.message.startsWith('Aborted('));
}

export async function serveTasks(tasks: Record<string, TaskFunction>, backend: string): Promise<void> {
  const port = parentPort!;
  const send = (message: WorkerMessage) => port.postMessage(message);
  const info = await startBackend(backend);
  send({ type: 'ready', backend: info.name });

  let queue = Promise.resolve();
  port.on('message', (request: TaskRequest) => {
    queue = queue.then(async () => {
      const run = tasks[request.kind];
      try {
        if (!run) throw new Error(`Unknown task kind ${request.kind}.`);
        const result = await run(request.params as never, {
          progress: (done, total, unit) => send({ type: 'progress', id: request.id, task: '', done, total, unit }),
          log: (line) => send({ type: 'log', id: request.id, line }),
        });
        send({ type: 'done', id: request.id, result });
      } catch (error) {
        const failure = error as Error;
        send({ type: 'failed', id: request.id, message: failure.message ?? String(error), errorName: failure.name ?? 'Error', fatal: breaksBackend(error) });
      }
    });
  });
}
