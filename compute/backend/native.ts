/**
 * What the chooser checks before it loads a native TensorFlow package, and
 * the settings that must be in the environment before TensorFlow starts.
 *
 * Loading a native package is not free of side effects: it registers its
 * kernels and loads libtensorflow into the process for good. So the chooser
 * loads one only when its binding has been built (`npm run setup --
 * --native`, or `--native-gpu`) and, for the GPU package, when an NVIDIA
 * driver is there to answer; a process never holds both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export type NativePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

/** Where the package's loader (node-pre-gyp) looks for the binding, or why it is not there. */
export function nativeBinding(name: NativePackage): { path: string } | { missing: string } {
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${name}/package.json`);
  } catch {
    return { missing: `${name} is not installed` };
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { binary: { module_name: string; module_path: string; napi_versions: number[] } };
  const napi = Math.max(...manifest.binary.napi_versions.filter((version) => version <= Number(process.versions.napi)));
  const path = join(dirname(manifestPath), manifest.binary.module_path.replace('{napi_build_version}', String(napi)), `${manifest.binary.module_name}.node`);
  if (!existsSync(path)) return { missing: `${name}'s binding is not built (run \`npm run setup -- ${name.endsWith('-gpu') ? '--native-gpu' : '--native'}\`)` };
  return { path };
}

/** The NVIDIA kernel driver's files: without them CUDA cannot answer, so the GPU package is not worth loading. */
export function nvidiaDriverPresent(): boolean {
  return existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidiactl');
}

/** TensorFlow's thread-pool sizes, read from the environment when its first context starts. */
export const intraOpThreadsVar = 'TF_NUM_INTRAOP_THREADS';
export const interOpThreadsVar = 'TF_NUM_INTEROP_THREADS';

let plannedWorkers: number | undefined;

/**
 * Tell the backend how many worker threads will compute (0: tasks run in this
 * thread), before it starts: the intra-op pool is sized from it.
 */
export function planWorkers(count: number | undefined): void {
  plannedWorkers = count !== undefined && Number.isInteger(count) && count >= 0 ? count : undefined;
}

/** The default worker count: two (this project's machines have two cores) on CPU backends, one for a GPU. */
export function defaultWorkers(backend: string): number {
  return backend === 'gpu' ? 1 : 2;
}

/**
 * Intra-op threads for a process with `workers` computing threads. TensorFlow
 * runs an op inline on the calling thread when its pool has one thread, so
 * one worker per core with a pool of one uses every core without the workers
 * queueing on a shared pool. Measured on 2 cores (tests/bench/threads.ts, the
 * same mix of training, KFAC fits and predictives of mlp-2, LeNet-5 and
 * cnn-3): 2 workers × 1 thread 28.4 s, 1 worker × 2 threads 45.5 s, 2 workers
 * sharing a pool of 2 32.7 s.
 */
export function intraOpThreads(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, workers)));
}

/**
 * Set TensorFlow's environment before it loads, leaving alone whatever the
 * user set. The intra-op pool is one per process, shared by the contexts of
 * every worker thread and sized when the first one starts; only the main
 * thread's process.env reaches the C library's getenv (a worker's is its own
 * copy), so this runs in the main thread, before the workers start.
 */
export function prepareNativeEnvironment(): void {
  const defaults: Record<string, string> = {
    // Nothing planned: this thread is the only one computing.
    [intraOpThreadsVar]: String(intraOpThreads(plannedWorkers ?? 1)),
    // Eager ops run one at a time from each JavaScript thread: one inter-op thread is all they use.
    [interOpThreadsVar]: '1',
    // Info lines (CPU features, oneDNN) on every start say nothing a run needs.
    TF_CPP_MIN_LOG_LEVEL: '2',
  };
  for (const [name, value] of Object.entries(defaults)) process.env[name] ??= value;
}
