/**
 * Progress of long stages: one status line on a terminal (stage, step of
 * total, time left), nothing at all when stderr is not a terminal (CI, logs).
 */

export interface ProgressUpdate {
  /** Stable id of the task, e.g. "train mnist/lenet5". */
  task: string;
  done: number;
  total: number;
  unit: string;
}

interface TaskState extends ProgressUpdate {
  startedAt: number;
}

export class ProgressBoard {
  private readonly tasks = new Map<string, TaskState>();
  private lastRender = 0;
  private readonly enabled: boolean;

  constructor(enabled = Boolean(process.stderr.isTTY) && !process.env.CI) {
    this.enabled = enabled;
  }

  update(update: ProgressUpdate): void {
    if (!this.enabled) return;
    const existing = this.tasks.get(update.task);
    this.tasks.set(update.task, { ...update, startedAt: existing?.startedAt ?? Date.now() });
    const now = Date.now();
    if (now - this.lastRender > 200 || update.done === update.total) {
      this.lastRender = now;
      this.render();
    }
  }

  finish(task: string): void {
    if (!this.enabled) return;
    this.tasks.delete(task);
    this.render();
  }

  /** Print a line above the status line. */
  log(line: string): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
    process.stdout.write(`${line}\n`);
    if (this.enabled) this.render();
  }

  private render(): void {
    const parts = [...this.tasks.values()].map((state) => {
      const elapsed = (Date.now() - state.startedAt) / 1000;
      const left = state.done > 0 ? (elapsed * (state.total - state.done)) / state.done : NaN;
      return `${state.task} ${state.done}/${state.total} ${state.unit}, ${formatDuration(left)} left`;
    });
    const line = parts.join(' | ');
    const width = process.stderr.columns || 120;
    process.stderr.write(`\r\x1b[K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
