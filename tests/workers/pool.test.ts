import { describe, expect, it } from 'vitest';
import { ProgressBoard } from '../../compute/progress/index.ts';
import { breaksBackend } from '../../compute/workers/serve.ts';
import { TaskError, TaskPool } from '../../compute/workers/pool.ts';

const entry = new URL('./fixture-worker.ts', import.meta.url);

/** A board that keeps its log lines instead of printing them. */
class RecordingBoard extends ProgressBoard {
  readonly lines: string[] = [];
  constructor() {
    super(false);
  }
  override log(line: string): void {
    this.lines.push(line);
  }
}

describe('TaskPool', () => {
  it('keeps a worker after an ordinary failure and replaces one whose backend trapped', async () => {
    const board = new RecordingBoard();
    const pool = new TaskPool(1, 'cpu', board, { entry });
    try {
      expect(await pool.run('count', {}, 'a')).toBe(1);
      // The line names the task and where it ran; its duration is wall-clock (0s idle, more on a loaded machine), so only its form is checked.
      expect(board.lines).toEqual([expect.stringMatching(/^a: (\d+s|\d+m\d\ds|\d+h\d\dm) on a worker$/)]);
      await expect(pool.run('fail', {}, 'b')).rejects.toThrow(TaskError);
      expect(await pool.run('count', {}, 'c')).toBe(3); // same worker: its count went on
      // The trap and the tasks queued behind it: the trap fails, the rest run on a fresh worker.
      const trapped = pool.run('trap', {}, 'd');
      const after = [pool.run('count', {}, 'e'), pool.run('count', {}, 'f')];
      await expect(trapped).rejects.toThrow(/memory access out of bounds/);
      expect(await Promise.all(after)).toEqual([1, 2]);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('fails the queued tasks, rather than hang, when no replacement worker can start', async () => {
    const pool = new TaskPool(1, 'cpu', new ProgressBoard(false), { entry });
    try {
      expect(await pool.run('count', {}, 'a')).toBe(1);
      process.env.POOL_TEST_FAIL_START = '1';
      const trapped = pool.run('trap', {}, 'b');
      const queued = pool.run('count', {}, 'c');
      await expect(trapped).rejects.toThrow(/memory access out of bounds/);
      await expect(queued).rejects.toThrow(/no worker could be restarted: the backend cannot start/);
      await expect(pool.run('count', {}, 'd')).rejects.toThrow(/no worker could be restarted/);
    } finally {
      delete process.env.POOL_TEST_FAIL_START;
      await pool.close();
    }
  }, 60_000);

  it('tells a broken backend from an ordinary error', () => {
    expect(breaksBackend(new WebAssembly.RuntimeError('unreachable'))).toBe(true);
    expect(breaksBackend(new Error('Aborted(). Build with -sASSERTIONS for more info.'))).toBe(true);
    expect(breaksBackend(new RangeError('bad parameter'))).toBe(false);
    expect(breaksBackend('a string')).toBe(false);
  });
});
