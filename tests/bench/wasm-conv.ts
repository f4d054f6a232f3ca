/**
 * The filter gradient of a convolution against the convolution itself on the wasm
 * backend, at batch 128: the cost of Conv2DBackpropFilter (registered by
 * registerWasmKernels) on the hot path of CNN training.
 *
 * Run directly to print the numbers: npx tsx tests/bench/wasm-conv.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { pathToFileURL } from 'node:url';
import { registerWasmKernels } from '../../compute/backend/wasm-kernels.ts';
import { Random } from '../../compute/laplace/random.ts';

type Rank4 = [number, number, number, number];

interface ConvShape {
  name: string;
  inShape: Rank4;
  filterShape: Rank4;
  strides: number;
  pad: 'same' | 'valid';
}

export interface WasmConvCase {
  shape: string;
  forwardMs: number;
  backpropFilterMs: number;
  backpropInputMs: number;
}

const batch = 128;

const shapes: ConvShape[] = [
  // LeNet-5's second convolution: 6 → 16 channels, 5×5, on 14×14 maps.
  { name: 'lenet 5x5 valid', inShape: [batch, 14, 14, 6], filterShape: [5, 5, 6, 16], strides: 1, pad: 'valid' },
  // A typical second layer of a small MNIST CNN: 16 → 32 channels, 3×3, 'same'.
  { name: '3x3 same', inShape: [batch, 28, 28, 16], filterShape: [3, 3, 16, 32], strides: 1, pad: 'same' },
];

function describeShape(s: ConvShape): string {
  return `${s.name}: x[${s.inShape}] w[${s.filterShape}] stride ${s.strides}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function timeMs(run: () => tf.Tensor): number {
  const started = performance.now();
  // wasm kernels run synchronously, so the call's return is the end of the work.
  const out = run();
  const elapsed = performance.now() - started;
  out.dispose();
  return elapsed;
}

/** Median times per shape; the three kernels are timed in turn within each repeat, so load changes hit them alike. */
export async function benchWasmConvCases(repeats = 9, warmups = 2): Promise<WasmConvCase[]> {
  const previousBackend = tf.getBackend();
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmKernels();
  const random = new Random(7);
  const rows: WasmConvCase[] = [];
  try {
    for (const s of shapes) {
      const x = tf.tensor4d(random.normals(s.inShape.reduce((a, b) => a * b)), s.inShape);
      const filter = tf.tensor4d(random.normals(s.filterShape.reduce((a, b) => a * b)), s.filterShape);
      const outShape = tf.backend_util.computeConv2DInfo(s.inShape, s.filterShape, s.strides, 1, s.pad).outShape as Rank4;
      const dy = tf.tensor4d(random.normals(outShape.reduce((a, b) => a * b)), outShape);
      const attrs = { strides: s.strides, pad: s.pad, dataFormat: 'NHWC' };
      const forward = () => tf.conv2d(x, filter, s.strides, s.pad);
      const backpropFilter = () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: s.filterShape }) as tf.Tensor;
      const backpropInput = () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: s.inShape }) as tf.Tensor;
      const times = { forward: [] as number[], backpropFilter: [] as number[], backpropInput: [] as number[] };
      for (let i = 0; i < warmups + repeats; i++) {
        const forwardMs = timeMs(forward);
        const backpropFilterMs = timeMs(backpropFilter);
        const backpropInputMs = timeMs(backpropInput);
        if (i < warmups) continue;
        times.forward.push(forwardMs);
        times.backpropFilter.push(backpropFilterMs);
        times.backpropInput.push(backpropInputMs);
      }
      rows.push({
        shape: describeShape(s),
        forwardMs: median(times.forward),
        backpropFilterMs: median(times.backpropFilter),
        backpropInputMs: median(times.backpropInput),
      });
      tf.dispose([x, filter, dy]);
    }
  } finally {
    if (previousBackend && previousBackend !== 'wasm') await tf.setBackend(previousBackend);
  }
  return rows;
}

/** Both shapes together: summed medians, and the filter gradient's time over the forward's. */
export async function benchWasmConvBackprop(): Promise<{
  forwardMs: number;
  backpropFilterMs: number;
  ratio: number;
  shape: string;
}> {
  const rows = await benchWasmConvCases();
  const forwardMs = rows.reduce((sum, row) => sum + row.forwardMs, 0);
  const backpropFilterMs = rows.reduce((sum, row) => sum + row.backpropFilterMs, 0);
  return {
    forwardMs,
    backpropFilterMs,
    ratio: backpropFilterMs / forwardMs,
    shape: rows.map((row) => row.shape).join('; '),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchWasmConvCases();
  for (const row of rows) {
    const ratio = (ms: number) => (ms / row.forwardMs).toFixed(2);
    console.log(
      `${row.shape}\n  forward ${row.forwardMs.toFixed(1)} ms, filter gradient ${row.backpropFilterMs.toFixed(1)} ms ` +
        `(×${ratio(row.backpropFilterMs)}), input gradient ${row.backpropInputMs.toFixed(1)} ms (×${ratio(row.backpropInputMs)})`,
    );
  }
  console.log(JSON.stringify(await benchWasmConvBackprop()));
}
