/**
 * The enqueuer's estimate of the time left: what the tasks still on the
 * queue will cost, from what tasks of the same kind have cost so far.
 *
 * Kinds differ by orders of magnitude (a training against one ensemble
 * member's evaluation), so one mean over all finished tasks would be wrong
 * whenever a stage mixes kinds or a new stage starts; each task left is
 * priced at the mean duration of its own kind, or, before any task of its
 * kind has finished, at the mean over every finished task (the best guess
 * there is). A running task is priced at the part it has not yet done.
 *
 * The work is shared by the task slots seen: each worker counts for as many
 * tasks as it was seen running at once (a worker started with --workers 2
 * runs two). Work cannot be split below one task, so the estimate is never
 * less than the longest single task left.
 */

export interface TaskLeft {
  kind: string;
  /** The part already done (done / total of a running task's progress); 0 for a waiting task. */
  fractionDone: number;
}

export interface EstimateInput {
  /** Seconds each finished task took on its worker, by kind. */
  secondsByKind: ReadonlyMap<string, readonly number[]>;
  /** The tasks enqueued and not yet finished. */
  left: readonly TaskLeft[];
  /** Tasks that can run at once: over the workers seen, the most tasks each was seen running together. */
  slots: number;
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** Seconds left, or NaN when nothing has finished yet to price the tasks left by (0 when none is left). */
export function estimateSecondsLeft({ secondsByKind, left, slots }: EstimateInput): number {
  if (left.length === 0) return 0;
  const all = [...secondsByKind.values()].flat();
  const fallback = all.length > 0 ? mean(all) : NaN;
  const remaining = left.map((task) => {
    const seen = secondsByKind.get(task.kind);
    const perTask = seen && seen.length > 0 ? mean(seen) : fallback;
    return perTask * (1 - Math.min(1, Math.max(0, task.fractionDone)));
  });
  const work = remaining.reduce((sum, value) => sum + value, 0);
  return Math.max(work / Math.max(1, slots), Math.max(...remaining));
}
