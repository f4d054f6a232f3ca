import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeStaleTemps, runOnce, scopes, taskKey, type TaskRunner } from '../../compute/experiments/finished.ts';

/** A task that writes two artifacts of a (data, model) folder and counts its runs. */
function fakeRunner(outDir: string) {
  const calls: unknown[] = [];
  const runner: TaskRunner = {
    async run<Result>(_kind: string, params: unknown): Promise<Result> {
      calls.push(params);
      const value = (params as { value: number }).value;
      mkdirSync(join(outDir, 'mnist/lenet5/search'), { recursive: true });
      writeFileSync(join(outDir, 'mnist/lenet5/sgd.json'), `{"value": ${value}}\n`);
      writeFileSync(join(outDir, 'mnist/lenet5/search/diag-sampled.json'), `{"points": ${value * 2}}\n`);
      return { row: value } as Result;
    },
  };
  return { runner, calls };
}

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'finished-'));
  const outDir = join(root, 'out');
  const lines: string[] = [];
  return { outDir, options: { cacheDir: join(root, 'cache'), outDir, log: (line: string) => lines.push(line) }, lines };
}

const scope = scopes.laplace('mnist', 'lenet5');
const settings = { profile: 'quick', backend: 'wasm', cacheDir: '/cache' };

describe('finished tasks', () => {
  it('runs a task once, then restores its artifacts and result without running it', async () => {
    const { outDir, options, lines } = setup();
    const { runner, calls } = fakeRunner(outDir);
    const params = { settings: { profile: 'quick', backend: 'wasm', cacheDir: options.cacheDir }, dataset: 'mnist', value: 3, outDir };
    expect(await runOnce(runner, 'laplace', params, 'laplace mnist/lenet5', scope, options)).toEqual({ row: 3 });
    expect(calls).toHaveLength(1);
    const sgd = readFileSync(join(outDir, 'mnist/lenet5/sgd.json'), 'utf8');

    // Artifacts deleted (or edited) in the results folder come back from the record.
    writeFileSync(join(outDir, 'mnist/lenet5/sgd.json'), 'edited by hand');
    expect(await runOnce(runner, 'laplace', params, 'laplace mnist/lenet5', scope, options)).toEqual({ row: 3 });
    expect(calls).toHaveLength(1);
    expect(readFileSync(join(outDir, 'mnist/lenet5/sgd.json'), 'utf8')).toBe(sgd);
    expect(lines).toContain('reusing finished laplace mnist/lenet5');
  });

  it('runs again when anything that determines the task changes, but not for another output or cache folder', () => {
    const base = { settings: { profile: 'quick', backend: 'wasm', cacheDir: '/a' }, dataset: 'mnist', outDir: '/x' };
    const key = taskKey('laplace', base);
    expect(taskKey('laplace', { ...base, outDir: '/y', settings: { ...base.settings, cacheDir: '/b' } })).toBe(key);
    expect(taskKey('laplace', { ...base, dataset: 'fashion-mnist' })).not.toBe(key);
    expect(taskKey('laplace', { ...base, settings: { ...base.settings, backend: 'cpu' } })).not.toBe(key);
    expect(taskKey('landscape', base)).not.toBe(key);
  });

  it('refuses a task whose parameters do not name the backend, and a kind with no entry module', () => {
    expect(() => taskKey('laplace', { dataset: 'mnist' })).toThrow(/no settings\.backend/);
    expect(() => taskKey('laplace', { settings: { ...settings, backend: '' } })).toThrow(/no settings\.backend/);
    expect(() => taskKey('unheard-of', { settings })).toThrow(/Task kind "unheard-of" has no entry module/);
  });

  it('detects a corrupt record, says so, deletes it and recomputes', async () => {
    const { outDir, options, lines } = setup();
    const { runner, calls } = fakeRunner(outDir);
    const params = { settings, dataset: 'mnist', value: 5, outDir };
    await runOnce(runner, 'laplace', params, 'laplace mnist/lenet5', scope, options);
    const dir = join(options.cacheDir, 'finished/laplace');
    const [file] = readdirSync(dir);
    const record = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    record.artifacts['mnist/lenet5/sgd.json'].text = '{"value": 6}\n';
    writeFileSync(join(dir, file), JSON.stringify(record));
    expect(await runOnce(runner, 'laplace', params, 'laplace mnist/lenet5', scope, options)).toEqual({ row: 5 });
    expect(calls).toHaveLength(2);
    expect(lines.some((line) => /cache entry .* is corrupt \(mnist\/lenet5\/sgd\.json does not match its hash\); deleting it and recomputing/.test(line))).toBe(true);
    // A truncated record is corrupt too.
    writeFileSync(join(dir, readdirSync(dir)[0]), '{"format": "finished-ta');
    await runOnce(runner, 'laplace', params, 'laplace mnist/lenet5', scope, options);
    expect(calls).toHaveLength(3);
  });

  it('removes what the task owned from an earlier run before running it, and leaves other experiments alone', async () => {
    const { outDir, options } = setup();
    const { runner } = fakeRunner(outDir);
    mkdirSync(join(outDir, 'mnist/lenet5/search'), { recursive: true });
    writeFileSync(join(outDir, 'mnist/lenet5/search/old-method.json'), '{}\n');
    writeFileSync(join(outDir, 'mnist/lenet5/landscape.json'), '{}\n');
    await runOnce(runner, 'laplace', { settings, value: 1, outDir }, 'laplace mnist/lenet5', scope, options);
    expect(existsSync(join(outDir, 'mnist/lenet5/search/old-method.json'))).toBe(false);
    expect(existsSync(join(outDir, 'mnist/lenet5/landscape.json'))).toBe(true);
  });

  it('clears temp files an interrupted write left behind', () => {
    const { outDir } = setup();
    mkdirSync(join(outDir, 'mnist'), { recursive: true });
    writeFileSync(join(outDir, 'mnist/sgd.json.123.abc.tmp'), 'half');
    writeFileSync(join(outDir, 'models.json'), '{}');
    expect(removeStaleTemps(outDir)).toBe(1);
    expect(readdirSync(join(outDir, 'mnist'))).toEqual([]);
    expect(existsSync(join(outDir, 'models.json'))).toBe(true);
  });
});
