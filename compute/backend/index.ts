/**
 * Chooses and starts a TensorFlow.js backend. Order when nothing is forced:
 * tfjs-node-gpu (only if a CUDA device answers), tfjs-node (native CPU),
 * wasm, then the plain JavaScript cpu backend. The two native packages are
 * optional dependencies whose binding `npm run setup -- --native` (or
 * `--native-gpu`) builds; where it is not built we fall through without
 * loading the package (native.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradient functions in Node; tfjs-layers does.
import '@tensorflow/tfjs-layers';
import { registerGradientFixes } from '../laplace/backend/gradients.ts';
import { registerNativeKernelFixes } from './native-kernels.ts';
import { nativeBinding, nvidiaDriverPresent, prepareNativeEnvironment, type NativePackage } from './native.ts';
import { registerWasmKernels } from './wasm-kernels.ts';

export const backendNames = ['gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

/** Environment variable that forces a backend, like `--backend`. */
export const backendEnvVar = 'LAPLACE_BACKEND';

/**
 * Environment variable that, set to `off`, keeps the automatic choice off the native packages, as
 * where their bindings are not built (a backend forced by name is still tried): the fallback order
 * can then be used, and tested, on a machine that has them.
 */
export const nativeEnvVar = 'LAPLACE_NATIVE';
const isNative = (name: BackendName) => name === 'gpu' || name === 'node';

export interface BackendInfo {
  /** Our name for it: gpu, node, wasm or cpu. */
  name: BackendName;
  /** TensorFlow.js's registered backend name (tensorflow, wasm, cpu). */
  tfName: string;
  /** Version of the package that provides it. */
  version: string;
  /** tfjs-core version, which every backend shares. */
  coreVersion: string;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

export function isBackendName(value: string): value is BackendName {
  return (backendNames as readonly string[]).includes(value);
}

let started: BackendInfo | null = null;

/** The backend that `startBackend` chose, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return started;
}

/**
 * Start a backend: the forced one (argument, else the environment variable),
 * or the first that works in the fallback order. A forced backend that cannot
 * start is an error, never a silent fallback.
 */
export async function startBackend(forced?: string): Promise<BackendInfo> {
  const requested = forced ?? process.env[backendEnvVar] ?? '';
  if (requested !== '' && !isBackendName(requested)) {
    throw new BackendError(
      `Unknown backend "${requested}"; choose one of ${backendNames.join(', ')} (or leave ${backendEnvVar} unset to pick automatically).`,
    );
  }
  if (started) {
    if (requested === '' || requested === started.name) return started;
    throw new BackendError(`Backend ${started.name} is already running in this process; ${requested} cannot start beside it.`);
  }
  const nativeOff = process.env[nativeEnvVar] === 'off';
  const order: BackendName[] = requested ? [requested] : backendNames.filter((name) => !(nativeOff && isNative(name)));
  const failures: string[] = requested || !nativeOff ? [] : [`gpu, node: turned off by ${nativeEnvVar}=off`];
  for (const name of order) {
    try {
      const info = await tryStart(name);
      if (info) {
        registerGradientFixes();
        registerNativeKernelFixes();
        started = info;
        return info;
      }
      failures.push(`${name}: not available`);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (requested) {
    throw new BackendError(
      `Backend ${requested} could not start (${failures.join('; ')}); install its package or choose another with --backend.`,
    );
  }
  throw new BackendError(`No TensorFlow.js backend could start (${failures.join('; ')}).`);
}

async function tryStart(name: BackendName): Promise<BackendInfo | null> {
  const coreVersion = tf.version_core;
  switch (name) {
    case 'gpu': {
      if (!nvidiaDriverPresent()) throw new BackendError('no NVIDIA driver on this machine');
      const gpu = await loadNative('@tensorflow/tfjs-node-gpu');
      await tf.setBackend('tensorflow');
      await tf.ready();
      const backend = tf.backend() as unknown as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
      if (!backend.isGPUPackage || !backend.isUsingGpuDevice) {
        throw new BackendError('tfjs-node-gpu is installed but no CUDA device answered');
      }
      return { name, tfName: 'tensorflow', version: packageVersion(gpu), coreVersion };
    }
    case 'node': {
      const native = await loadNative('@tensorflow/tfjs-node');
      await tf.setBackend('tensorflow');
      await tf.ready();
      return { name, tfName: 'tensorflow', version: packageVersion(native), coreVersion };
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) return null;
      await tf.ready();
      registerWasmKernels();
      return { name, tfName: 'wasm', version: wasm.version_wasm, coreVersion };
    }
    case 'cpu': {
      const cpu = await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) return null;
      await tf.ready();
      return { name, tfName: 'cpu', version: cpu.version_cpu, coreVersion };
    }
  }
}

let nativeLoaded: NativePackage | null = null;

/**
 * Load a native package whose binding is built. A process holds one
 * libtensorflow: once a package has loaded (even if its backend was then
 * refused, as the GPU package without a device), the other is not loaded beside it.
 */
async function loadNative(name: NativePackage): Promise<Record<string, unknown>> {
  if (nativeLoaded && nativeLoaded !== name) throw new BackendError(`${nativeLoaded}'s TensorFlow is already loaded in this process`);
  const binding = nativeBinding(name);
  if ('missing' in binding) throw new BackendError(binding.missing);
  prepareNativeEnvironment();
  nativeLoaded = name;
  return (await import(name)) as Record<string, unknown>;
}

function packageVersion(module: Record<string, unknown>): string {
  const version = module.version as Record<string, string> | string | undefined;
  if (typeof version === 'string') return version;
  return version?.['tfjs-node'] ?? version?.['tfjs-core'] ?? tf.version_core;
}

/** One line for the start of a run. */
export function describeBackend(info: BackendInfo): string {
  return `backend ${info.name} (TensorFlow.js ${info.tfName} ${info.version}, core ${info.coreVersion})`;
}
