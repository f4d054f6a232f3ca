/** Messages between the main thread and task workers. */

export interface TaskRequest {
  id: number;
  kind: string;
  params: unknown;
}

export type WorkerMessage =
  | { type: 'ready'; backend: string }
  | { type: 'progress'; id: number; task: string; done: number; total: number; unit: string }
  | { type: 'log'; id: number; line: string }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'failed'; id: number; message: string; errorName: string; fatal: boolean };

/** What a task function gets besides its parameters. */
export interface TaskContext {
  progress(done: number, total: number, unit: string): void;
  log(line: string): void;
}

export type TaskFunction = (params: never, context: TaskContext) => Promise<unknown>;
