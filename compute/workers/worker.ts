/** A task worker: one TensorFlow.js backend of its own, tasks run one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { startBackend } from '../backend/index.ts';
import { taskFunctions } from '../experiments/tasks.ts';
import type { TaskRequest, WorkerMessage } from './protocol.ts';

const port = parentPort!;
const send = (message: WorkerMessage) => port.postMessage(message);

const info = await startBackend((workerData as { backend: string }).backend);
send({ type: 'ready', backend: info.name });

let queue = Promise.resolve();
port.on('message', (request: TaskRequest) => {
  queue = queue.then(async () => {
    const run = taskFunctions[request.kind];
    try {
      if (!run) throw new Error(`Unknown task kind ${request.kind}.`);
      const result = await run(request.params as never, {
        progress: (done, total, unit) => send({ type: 'progress', id: request.id, task: '', done, total, unit }),
        log: (line) => send({ type: 'log', id: request.id, line }),
      });
      send({ type: 'done', id: request.id, result });
    } catch (error) {
      const failure = error as Error;
      send({ type: 'failed', id: request.id, message: failure.message ?? String(error), errorName: failure.name ?? 'Error' });
    }
  });
});
