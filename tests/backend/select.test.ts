/** Backend choice as a user meets it: the automatic order, --backend, the environment variable, and failures. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function backendLine(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run('node', ['--import', 'tsx', 'compute/cli.ts', 'backend', ...args], { env: { ...process.env, LAPLACE_BACKEND: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('backend selection', () => {
  it('falls back past the native packages, which cannot install here, to wasm', async () => {
    const result = await backendLine([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^backend wasm \(TensorFlow\.js wasm 4\.22\.0, core 4\.22\.0\)$/m);
  });

  it('is forced by --backend and by LAPLACE_BACKEND, the option winning', async () => {
    expect((await backendLine(['--backend', 'cpu'])).stdout).toMatch(/^backend cpu \(TensorFlow\.js cpu 4\.22\.0/m);
    expect((await backendLine([], { LAPLACE_BACKEND: 'cpu' })).stdout).toMatch(/^backend cpu /m);
    expect((await backendLine(['--backend', 'wasm'], { LAPLACE_BACKEND: 'cpu' })).stdout).toMatch(/^backend wasm /m);
  });

  it('refuses an unknown name, and a forced backend that cannot start, in one sentence', async () => {
    const unknown = await backendLine(['--backend', 'tpu']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('error: Unknown backend "tpu"; choose one of gpu, node, wasm, cpu (or leave LAPLACE_BACKEND unset to pick automatically).');
    const gpu = await backendLine(['--backend', 'gpu']);
    expect(gpu.code).toBe(2);
    expect(gpu.stderr.trim()).toBe('error: Backend gpu could not start (gpu: not available); install its package or choose another with --backend.');
  });
});
