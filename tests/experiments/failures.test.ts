import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskFailures } from '../../compute/experiments/failures.ts';
import { runLaplaceExperiment } from '../../compute/experiments/run-laplace.ts';
import type { ProgressBoard } from '../../compute/progress/index.ts';
import { profiles } from '../../compute/study.ts';
import type { TaskPool } from '../../compute/workers/pool.ts';

describe('a failing task', () => {
  it('stops only itself: the others finish, and the failure names the task and its cause', async () => {
    const root = mkdtempSync(join(tmpdir(), 'failures-'));
    const lines: string[] = [];
    const board = { log: (line: string) => lines.push(line) } as unknown as ProgressBoard;
    const ran: string[] = [];
    const pool = {
      async run(_kind: string, _params: unknown, label: string) {
        ran.push(label);
        if (label === 'laplace mnist/lenet5') throw new Error('The damped KFAC factor G of layer dense_8 (10 × 10) is not positive definite.');
        return undefined;
      },
    } as unknown as TaskPool;
    const failures = new TaskFailures((line) => lines.push(line));
    const settings = { profile: 'quick', backend: 'wasm', cacheDir: join(root, 'cache') };
    await runLaplaceExperiment(pool, settings, profiles.quick, join(root, 'out'), board, failures);
    expect(ran.sort()).toEqual(['laplace fashion-mnist/lenet5', 'laplace fashion-mnist/lenet5 (seed 1)', 'laplace mnist/lenet5', 'laplace mnist/lenet5 (seed 1)']);
    expect(failures.list).toEqual([{ task: 'laplace mnist/lenet5', message: 'The damped KFAC factor G of layer dense_8 (10 × 10) is not positive definite.' }]);
    expect(lines).toContain('evaluated fashion-mnist/lenet5');
    expect(lines).toContain('evaluated mnist/lenet5 (seed 1)');
    expect(lines).toContain('error: laplace mnist/lenet5 failed: The damped KFAC factor G of layer dense_8 (10 × 10) is not positive definite. The other tasks go on.');
  });
});
