/** Every kind of task a worker can run, by name. */
import type { TaskFunction } from '../workers/protocol.ts';
import { ensembleTask } from './ensemble.ts';
import { landscapeTask } from './landscape.ts';
import { laplaceTask } from './laplace.ts';
import { trainTask } from './models.ts';

export const taskFunctions: Record<string, TaskFunction> = {
  train: trainTask as TaskFunction,
  laplace: laplaceTask as TaskFunction,
  landscape: landscapeTask as TaskFunction,
  ensemble: ensembleTask as TaskFunction,
};
