/**
 * Transposed matrix products on the wasm backend, at the shapes of a dense
 * layer's backward pass and of a Kronecker factor: the backend's own
 * BatchMatMul with a transpose flag, ours (registered by registerWasmKernels:
 * transpose first, then the plain product), and the plain product of the same
 * size as the yardstick. Ratios, so machine load moves them together.
 *
 * Run directly to print the numbers: npx tsx tests/bench/wasm-matmul.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { pathToFileURL } from 'node:url';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { registerWasmKernels } from '../../compute/backend/wasm-kernels.ts';
import { Random } from '../../compute/laplace/random.ts';

/**
 * The backend's own kernel, taken when this module loads: before startBackend
 * or registerWasmKernels puts ours in its place. (Its C binding is set up when
 * the backend starts, since ours keeps the same setup function.)
 */
const ownKernel = tf.getKernel('BatchMatMul', 'wasm');

interface MatMulShape {
  name: string;
  /** Shapes as stored; the product is op(a)·op(b). */
  a: [number, number];
  b: [number, number];
  transposeA: boolean;
  transposeB: boolean;
}

const shapes: MatMulShape[] = [
  { name: 'mlp-1 weight gradient xᵀ·dy', a: [128, 784], b: [128, 256], transposeA: true, transposeB: false },
  { name: 'mlp-2 input gradient dy·Wᵀ', a: [128, 256], b: [256, 256], transposeA: false, transposeB: true },
  { name: 'cnn-1 dense weight gradient xᵀ·dy', a: [128, 3136], b: [128, 128], transposeA: true, transposeB: false },
  { name: 'KFAC factor aᵀ·a', a: [128, 785], b: [128, 785], transposeA: true, transposeB: false },
];

export interface WasmMatMulRow {
  shape: string;
  plainMs: number;
  backendTransposedMs: number;
  oursTransposedMs: number;
  /** The backend's own transposed product over ours. */
  speedup: number;
  /** Ours over the plain product of the same size (1 would be free transposes). */
  overPlain: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function timeMs(run: () => TensorInfo | tf.Tensor, free: (out: TensorInfo | tf.Tensor) => void): number {
  const started = performance.now();
  // wasm kernels run synchronously, so the call's return is the end of the work.
  const out = run();
  const elapsed = performance.now() - started;
  free(out);
  return elapsed;
}

export async function benchWasmMatMul(repeats = 9, warmups = 2): Promise<WasmMatMulRow[]> {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmKernels();
  const ours = tf.getKernel('BatchMatMul', 'wasm') as KernelConfig;
  const own = ownKernel as KernelConfig;
  const ownIsOriginal = ownKernel !== undefined && own.kernelFunc !== ours.kernelFunc;
  const backend = tf.backend();
  const random = new Random(5);
  const rows: WasmMatMulRow[] = [];
  for (const s of shapes) {
    const a = tf.tensor2d(random.normals(s.a[0] * s.a[1]), s.a);
    const b = tf.tensor2d(random.normals(s.b[0] * s.b[1]), s.b);
    // The plain product of the same size: op(a) and op(b) stored already transposed.
    const aPlain = s.transposeA ? tf.transpose(a) : a.clone();
    const bPlain = s.transposeB ? tf.transpose(b) : b.clone();
    const attrs = { transposeA: s.transposeA, transposeB: s.transposeB } as unknown as NamedAttrMap;
    const freeInfo = (out: TensorInfo | tf.Tensor) => backend.disposeData((out as TensorInfo).dataId);
    const times = { plain: [] as number[], own: [] as number[], ours: [] as number[] };
    for (let i = 0; i < warmups + repeats; i++) {
      const plainMs = timeMs(() => tf.matMul(aPlain, bPlain), (out) => (out as tf.Tensor).dispose());
      const ownMs = ownIsOriginal ? timeMs(() => own.kernelFunc({ inputs: { a, b }, attrs, backend }) as TensorInfo, freeInfo) : Number.NaN;
      const oursMs = timeMs(() => tf.matMul(a, b, s.transposeA, s.transposeB), (out) => (out as tf.Tensor).dispose());
      if (i < warmups) continue;
      times.plain.push(plainMs);
      times.own.push(ownMs);
      times.ours.push(oursMs);
    }
    const [plainMs, backendTransposedMs, oursTransposedMs] = [median(times.plain), median(times.own), median(times.ours)];
    rows.push({
      shape: `${s.name}: a[${s.a}]${s.transposeA ? 'ᵀ' : ''} b[${s.b}]${s.transposeB ? 'ᵀ' : ''}`,
      plainMs,
      backendTransposedMs,
      oursTransposedMs,
      speedup: backendTransposedMs / oursTransposedMs,
      overPlain: oursTransposedMs / plainMs,
    });
    tf.dispose([a, b, aPlain, bPlain]);
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await benchWasmMatMul());
}
