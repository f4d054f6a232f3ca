/** Every kind of task a worker can run, by name. */
import type { TaskFunction } from '../workers/protocol.ts';
import { trainTask } from './models.ts';

export const taskFunctions: Record<string, TaskFunction> = {
  train: trainTask as TaskFunction,
};
