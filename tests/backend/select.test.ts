/** Backend choice as a user meets it: the automatic order, --backend, the environment variable, and failures. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nativeBinding, nvidiaDriverPresent } from '../../compute/backend/native.ts';

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
  // `npm run setup -- --native` builds tfjs-node's binding; without it the chooser falls through to wasm.
  const nodeBuilt = 'path' in nativeBinding('@tensorflow/tfjs-node');

  it.runIf(nodeBuilt)('prefers the native backend when its binding is built', async () => {
    const result = await backendLine([]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^backend node \(TensorFlow\.js tensorflow 4\.22\.0, core 4\.22\.0\)$/m);
  });

  // Where the binding is built, LAPLACE_NATIVE=off puts the chooser in the unbuilt state, so the fallback runs on every machine.
  it('falls back past the native packages, whose binding is not built (or which LAPLACE_NATIVE=off skips), to wasm', async () => {
    const result = await backendLine([], nodeBuilt ? { LAPLACE_NATIVE: 'off' } : {});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^backend wasm \(TensorFlow\.js wasm 4\.22\.0, core 4\.22\.0\)$/m);
  });

  it.runIf(nodeBuilt)('LAPLACE_NATIVE=off leaves a native backend forced by name to start', async () => {
    const forced = await backendLine(['--backend', 'node'], { LAPLACE_NATIVE: 'off' });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^backend node /m);
  });

  it.runIf(!nodeBuilt)('says how to build the native backend when it is forced and not built', async () => {
    const node = await backendLine(['--backend', 'node']);
    expect(node.code).toBe(2);
    expect(node.stderr.trim()).toMatch(/^error: Backend node could not start \(node: @tensorflow\/tfjs-node('s binding is not built \(run `npm run setup -- --native`\)| is not installed)\); install its package or choose another with --backend\.$/);
  });

  it('is forced by --backend and by LAPLACE_BACKEND, the option winning', async () => {
    expect((await backendLine(['--backend', 'cpu'])).stdout).toMatch(/^backend cpu \(TensorFlow\.js cpu 4\.22\.0/m);
    expect((await backendLine([], { LAPLACE_BACKEND: 'cpu' })).stdout).toMatch(/^backend cpu /m);
    expect((await backendLine(['--backend', 'wasm'], { LAPLACE_BACKEND: 'cpu' })).stdout).toMatch(/^backend wasm /m);
  });

  it('refuses an unknown name in one sentence', async () => {
    const unknown = await backendLine(['--backend', 'tpu']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('error: Unknown backend "tpu"; choose one of gpu, node, wasm, cpu (or leave LAPLACE_BACKEND unset to pick automatically).');
  });

  it.runIf(!nvidiaDriverPresent())('refuses the GPU backend without loading its package where no NVIDIA driver is', async () => {
    const gpu = await backendLine(['--backend', 'gpu']);
    expect(gpu.code).toBe(2);
    expect(gpu.stderr.trim()).toBe('error: Backend gpu could not start (gpu: no NVIDIA driver on this machine); install its package or choose another with --backend.');
  });
});
