/** A pool worker that runs the bench's work items (tests/bench/workload.ts) on its own backend. */
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../../compute/workers/serve.ts';
import { workTasks } from './workload.ts';

await serveTasks(workTasks, (workerData as { backend: string }).backend);
