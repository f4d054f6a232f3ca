/** A task worker: one TensorFlow.js backend of its own, the study's tasks run one at a time. */
import { workerData } from 'node:worker_threads';
import { taskFunctions } from '../experiments/tasks.ts';
import { serveTasks } from './serve.ts';

await serveTasks(taskFunctions, (workerData as { backend: string }).backend);
