/** A pool worker for tests/bench/train-step.ts: measures the training steps on its own backend. */
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../../compute/workers/serve.ts';
import type { TaskFunction } from '../../compute/workers/protocol.ts';
import { measureTrainingSteps, type StepMeasurement } from './train-step-measure.ts';

const tasks: Record<string, TaskFunction> = {
  'train-step': (async (request: StepMeasurement) => measureTrainingSteps(request)) as TaskFunction,
};
await serveTasks(tasks, (workerData as { backend: string }).backend);
