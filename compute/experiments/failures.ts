/**
 * A task that fails (a non-finite loss, a curvature that is not positive
 * definite after damping, ...) stops only itself: the failure is reported
 * with the task's name and the run goes on with the others, then exits
 * non-zero listing every failure.
 */
export interface TaskFailure {
  task: string;
  message: string;
}

export class TaskFailures {
  readonly list: TaskFailure[] = [];

  constructor(private readonly log: (line: string) => void) {}

  /** The task's result, or undefined after recording its failure. */
  async guard<Result>(task: string, work: Promise<Result>): Promise<Result | undefined> {
    try {
      return await work;
    } catch (error) {
      const message = (error as Error).message;
      this.list.push({ task, message });
      this.log(`error: ${task} failed: ${message} The other tasks go on.`);
      return undefined;
    }
  }
}
