/**
 * Kernels the wasm backend of TensorFlow.js 4.22 needs for CNN training and for
 * gradients with respect to inputs, built from the wasm kernels it already has.
 *
 * Found by training small CNNs on wasm and comparing gradients with the cpu backend:
 * - Conv2DBackpropFilter is missing ("Kernel 'Conv2DBackpropFilter' not registered").
 * - MaxPoolGrad exists but gives no gradient to a window whose maximum is ≤ 0 (as if
 *   its running maximum started at 0). After a ReLU that is harmless (those inputs
 *   have zero ReLU slope), but tanh → max-pool, or gradients with respect to
 *   activations, come out wrong.
 * - Conv2DBackpropInput exists but is a direct loop, 5–10× slower than the forward
 *   convolution.
 * - BatchMatMul takes XNNPACK's fast path only without transposes; with transposeA
 *   or transposeB (every matmul in a dense layer's backward pass, and aᵀa for the
 *   Kronecker factors) it runs a blocked loop about 6–8× slower than transposing
 *   the operand first and multiplying plainly.
 * All four are registered here; the tests compare each with the cpu backend.
 */
import {
  BatchMatMul,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  MaxPoolGrad,
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
} from '@tensorflow/tfjs-core';
import type {
  BatchMatMulAttrs,
  BatchMatMulInputs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropFilterInputs,
  Conv2DBackpropInputAttrs,
  Conv2DBackpropInputInputs,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  MaxPoolGradAttrs,
  MaxPoolGradInputs,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';

const BACKEND = 'wasm';

/** The part of the wasm backend's class these kernels use beyond KernelBackend. */
interface WasmHeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

type Rank4 = [number, number, number, number];

/**
 * Runs another registered wasm kernel directly. Going through kernel functions
 * rather than tf ops keeps the intermediates off the engine's tape and out of its
 * tensor count; the caller frees them with `backend.disposeData`.
 */
function runWasmKernel(
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: object,
  backend: KernelBackend,
): TensorInfo {
  const config = getKernel(kernelName, BACKEND);
  if (config === undefined) {
    throw new Error(`The wasm backend has no '${kernelName}' kernel; import '@tensorflow/tfjs-backend-wasm' first.`);
  }
  const result = config.kernelFunc({ inputs, attrs: attrs as NamedAttrMap, backend });
  if (Array.isArray(result)) throw new Error(`Kernel '${kernelName}' returned several tensors; one was expected.`);
  return result;
}

/** Frees kernel intermediates. */
function disposeAll(backend: KernelBackend, temporaries: TensorInfo[]): void {
  for (const t of temporaries) backend.disposeData(t.dataId);
}

/**
 * Conv2D in stride 1 whose spatial padding may be negative on any side: a negative
 * pad crops the input first (XNNPACK only takes non-negative padding).
 */
function convolveWithSignedPadding(
  x: TensorInfo,
  filter: TensorInfo,
  dilations: [number, number],
  padRows: [number, number],
  padCols: [number, number],
  backend: KernelBackend,
): TensorInfo {
  const temporaries: TensorInfo[] = [];
  let input = x;
  const [batch, height, width, channels] = x.shape;
  const cropTop = Math.max(0, -padRows[0]);
  const cropBottom = Math.max(0, -padRows[1]);
  const cropLeft = Math.max(0, -padCols[0]);
  const cropRight = Math.max(0, -padCols[1]);
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    input = runWasmKernel(
      'Slice',
      { x },
      {
        begin: [0, cropTop, cropLeft, 0],
        size: [batch, height - cropTop - cropBottom, width - cropLeft - cropRight, channels],
      },
      backend,
    );
    temporaries.push(input);
  }
  const out = runWasmKernel(
    'Conv2D',
    { x: input, filter },
    {
      strides: [1, 1],
      dilations,
      pad: [
        [0, 0],
        [Math.max(0, padRows[0]), Math.max(0, padRows[1])],
        [Math.max(0, padCols[0]), Math.max(0, padCols[1])],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
    backend,
  );
  disposeAll(backend, temporaries);
  return out;
}

/**
 * dW[a, b, ci, co] = Σ_{n,i,j} xPadded[n, s·i + a, s·j + b, ci] · dy[n, i, j, co].
 *
 * With the batch read as the channel axis this is itself a stride-1 convolution of
 * x (laid out [Cin, H, W, N]) with dy as the filter (laid out [Ho, Wo, N, Cout]) and
 * the forward stride as its dilation; its output is [Cin, kh, kw, Cout]. So one call
 * to the backend's XNNPACK convolution does the whole sum with no im2col buffer.
 */
function conv2DBackpropFilterWasm(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: KernelBackend;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`The wasm Conv2DBackpropFilter supports dataFormat 'NHWC' only, got '${dataFormat}'.`);
  }
  const info = backend_util.computeConv2DInfo(x.shape as Rank4, filterShape, strides, 1, pad, dimRoundingMode);
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  util.assert(
    util.arraysEqual(dy.shape, info.outShape),
    () => `Conv2DBackpropFilter: dy has shape [${dy.shape}], expected [${info.outShape}].`,
  );

  // The forward pass reads s·(Ho−1) + kh padded rows starting at row −top. The
  // bottom padding that makes exactly that many is negative when 'valid' (or a
  // stride) leaves trailing rows unread; those rows are then cropped.
  const padBottom = strideHeight * (outHeight - 1) + filterHeight - info.padInfo.top - inHeight;
  const padRight = strideWidth * (outWidth - 1) + filterWidth - info.padInfo.left - inWidth;

  const temporaries: TensorInfo[] = [];
  // [N, H, W, Cin] → [Cin, H, W, N]: the batch becomes the summed channel axis.
  const xBatchAsChannels = runWasmKernel('Transpose', { x }, { perm: [3, 1, 2, 0] }, backend);
  temporaries.push(xBatchAsChannels);
  // [N, Ho, Wo, Cout] → [Ho, Wo, N, Cout]: dy becomes the filter.
  const dyAsFilter = runWasmKernel('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }, backend);
  temporaries.push(dyAsFilter);
  const gradientInChannelsFirst = convolveWithSignedPadding(
    xBatchAsChannels,
    dyAsFilter,
    [strideHeight, strideWidth],
    [info.padInfo.top, padBottom],
    [info.padInfo.left, padRight],
    backend,
  );
  temporaries.push(gradientInChannelsFirst);
  // [Cin, kh, kw, Cout] → [kh, kw, Cin, Cout]
  const out = runWasmKernel('Transpose', { x: gradientInChannelsFirst }, { perm: [1, 2, 0, 3] }, backend);
  disposeAll(backend, temporaries);
  return out;
}

/** The rows (or columns) of dx that one stride phase of the input gradient covers. */
interface StridePhase {
  /** Filter taps of this phase: phase, phase + s, phase + 2s, … below the filter size. */
  taps: number;
  /** First index u (dx row r = s·u + phase − padBefore) with r ≥ 0, and how many r < size follow. */
  first: number;
  count: number;
}

function stridePhase(phase: number, stride: number, filterSize: number, padBefore: number, size: number): StridePhase {
  const taps = phase < filterSize ? Math.ceil((filterSize - phase) / stride) : 0;
  const first = Math.ceil((padBefore - phase) / stride);
  const last = Math.floor((size - 1 + padBefore - phase) / stride);
  return { taps, first, count: Math.max(0, last - first + 1) };
}

/**
 * The taps of one stride phase, flipped in space with the channel axes swapped:
 * sub[β, γ, co, ci] = filter[ρh + sh·(Lh−1−β), ρw + sw·(Lw−1−γ), ci, co]. Filters are
 * small, so this is written straight onto the heap.
 */
function flippedPhaseFilter(
  filter: TensorInfo,
  rows: { phase: number; stride: number; taps: number },
  cols: { phase: number; stride: number; taps: number },
  backend: WasmHeapBackend,
): TensorInfo {
  const [, filterWidth, inChannels, outChannels] = filter.shape;
  const sub = backend.makeOutput([rows.taps, cols.taps, outChannels, inChannels], 'float32');
  const source = backend.typedArrayFromHeap(filter);
  const target = backend.typedArrayFromHeap(sub);
  let t = 0;
  for (let beta = 0; beta < rows.taps; beta++) {
    const a = rows.phase + rows.stride * (rows.taps - 1 - beta);
    for (let gamma = 0; gamma < cols.taps; gamma++) {
      const b = cols.phase + cols.stride * (cols.taps - 1 - gamma);
      const tapOffset = (a * filterWidth + b) * inChannels * outChannels;
      for (let co = 0; co < outChannels; co++) {
        for (let ci = 0; ci < inChannels; ci++) target[t++] = source[tapOffset + ci * outChannels + co];
      }
    }
  }
  return sub;
}

/**
 * dx[n, r, q, ci] = Σ dy[n, i, j, co] · W[a, b, ci, co] over s·i + a − top = r and
 * s·j + b − left = q. Rows r of one stride phase ρ = (r + top) mod s only meet the
 * taps a ≡ ρ (mod s), and for them the sum is a stride-1 correlation of dy with those
 * taps flipped. So dx is s_h·s_w small XNNPACK convolutions (together about the
 * forward's work) whose outputs interleave into dx; with stride 1 the single phase
 * is dx itself.
 */
function conv2DBackpropInputWasm(args: {
  inputs: Conv2DBackpropInputInputs;
  backend: KernelBackend;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, attrs } = args;
  const backend = args.backend as WasmHeapBackend;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`The wasm Conv2DBackpropInput supports dataFormat 'NHWC' only, got '${dataFormat}'.`);
  }
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error(`The wasm Conv2DBackpropInput supports float32 only, got ${dy.dtype} and ${filter.dtype}.`);
  }
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as Rank4, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  util.assert(
    util.arraysEqual(dy.shape, info.outShape),
    () => `Conv2DBackpropInput: dy has shape [${dy.shape}], expected [${info.outShape}].`,
  );

  // One phase's dx block: output k of the correlation is u = first + k, which reads
  // dy rows u − taps + 1 … u, hence the (signed) padding.
  const phaseGradient = (rowPhase: number, colPhase: number, rows: StridePhase, cols: StridePhase): TensorInfo => {
    const sub = flippedPhaseFilter(
      filter,
      { phase: rowPhase, stride: strideHeight, taps: rows.taps },
      { phase: colPhase, stride: strideWidth, taps: cols.taps },
      backend,
    );
    const rowPadBefore = rows.taps - 1 - rows.first;
    const colPadBefore = cols.taps - 1 - cols.first;
    const block = convolveWithSignedPadding(
      dy,
      sub,
      [1, 1],
      [rowPadBefore, rows.count + rows.taps - 1 - rowPadBefore - outHeight],
      [colPadBefore, cols.count + cols.taps - 1 - colPadBefore - outWidth],
      backend,
    );
    backend.disposeData(sub.dataId);
    return block;
  };

  if (strideHeight === 1 && strideWidth === 1) {
    const rows = stridePhase(0, 1, filterHeight, padTop, inHeight);
    const cols = stridePhase(0, 1, filterWidth, padLeft, inWidth);
    return phaseGradient(0, 0, rows, cols);
  }

  const rowPhases = Array.from({ length: strideHeight }, (_, phase) =>
    stridePhase(phase, strideHeight, filterHeight, padTop, inHeight),
  );
  const colPhases = Array.from({ length: strideWidth }, (_, phase) =>
    stridePhase(phase, strideWidth, filterWidth, padLeft, inWidth),
  );
  const dx = backend.makeOutput(inputShape, 'float32');
  // A filter smaller than the stride leaves whole phases of dx with no taps: zero.
  if ([...rowPhases, ...colPhases].some((p) => p.count > 0 && p.taps === 0)) {
    backend.typedArrayFromHeap(dx).fill(0);
  }
  const colStep = strideWidth * inChannels;
  rowPhases.forEach((rows, rowPhase) => {
    colPhases.forEach((cols, colPhase) => {
      if (rows.taps === 0 || cols.taps === 0 || rows.count === 0 || cols.count === 0) return;
      const block = phaseGradient(rowPhase, colPhase, rows, cols);
      // Views after the allocations above, which may have grown the heap.
      const blockValues = backend.typedArrayFromHeap(block);
      const dxValues = backend.typedArrayFromHeap(dx);
      let source = 0;
      for (let n = 0; n < batchSize; n++) {
        for (let k = 0; k < rows.count; k++) {
          const r = strideHeight * (rows.first + k) + rowPhase - padTop;
          let target = ((n * inHeight + r) * inWidth + strideWidth * cols.first + colPhase - padLeft) * inChannels;
          for (let m = 0; m < cols.count; m++) {
            for (let c = 0; c < inChannels; c++) dxValues[target + c] = blockValues[source + c];
            source += inChannels;
            target += colStep;
          }
        }
      }
      backend.disposeData(block.dataId);
    });
  });
  return dx;
}

/**
 * dx[position of the first maximum of each pooling window] += dy[window], the
 * cpu backend's rule (ties go to the first in row-major window order), computed
 * in place on the wasm heap. It is a single pass over the windows, so plain
 * JavaScript is fast enough and exact.
 */
function maxPoolGradWasm(args: {
  inputs: MaxPoolGradInputs;
  backend: KernelBackend;
  attrs: MaxPoolGradAttrs;
}): TensorInfo {
  const { inputs, attrs } = args;
  const backend = args.backend as WasmHeapBackend;
  const dy = inputs.dy as TensorInfo;
  const input = inputs.input as TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`The wasm MaxPoolGrad supports float32 only, got ${input.dtype} and ${dy.dtype}.`);
  }
  const info = backend_util.computePool2DInfo(input.shape as Rank4, filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { effectiveFilterHeight, effectiveFilterWidth } = info;
  util.assert(
    util.arraysEqual(dy.shape, info.outShape),
    () => `MaxPoolGrad: dy has shape [${dy.shape}], expected [${info.outShape}].`,
  );

  const dx = backend.makeOutput(input.shape, 'float32');
  // Views are taken after the allocation, which may grow (and detach) the heap.
  const x = backend.typedArrayFromHeap(input);
  const dyValues = backend.typedArrayFromHeap(dy);
  const dxValues = backend.typedArrayFromHeap(dx);
  dxValues.fill(0);
  const rowStride = inWidth * channels;
  const imageStride = inHeight * rowStride;
  for (let n = 0; n < batchSize; n++) {
    const imageOffset = n * imageStride;
    for (let i = 0; i < outHeight; i++) {
      const rowStart = i * strideHeight - info.padInfo.top;
      const rowBegin = Math.max(0, rowStart);
      const rowEnd = Math.min(inHeight, rowStart + effectiveFilterHeight);
      for (let j = 0; j < outWidth; j++) {
        const colStart = j * strideWidth - info.padInfo.left;
        const colBegin = Math.max(0, colStart);
        const colEnd = Math.min(inWidth, colStart + effectiveFilterWidth);
        const dyOffset = ((n * outHeight + i) * outWidth + j) * channels;
        // One channel at a time keeps the running maximum in registers; the
        // window is small enough to stay in cache across channels.
        for (let c = 0; c < channels; c++) {
          let best = -Infinity;
          let bestIndex = -1;
          for (let r = rowBegin; r < rowEnd; r++) {
            const rowOffset = imageOffset + r * rowStride + c;
            for (let q = colBegin; q < colEnd; q++) {
              const index = rowOffset + q * channels;
              const value = x[index];
              if (value > best) {
                best = value;
                bestIndex = index;
              }
            }
          }
          if (bestIndex >= 0) dxValues[bestIndex] += dyValues[dyOffset + c];
        }
      }
    }
  }
  return dx;
}

/** The wasm backend's own BatchMatMul, kept when ours replaces it: ours calls it without transposes. */
let plainBatchMatMul: KernelConfig | null = null;

/** x with its last two axes swapped, by the backend's Transpose kernel. */
function swapLastAxes(x: TensorInfo, backend: KernelBackend): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array.from({ length: rank - 2 }, (_, axis) => axis), rank - 1, rank - 2];
  return runWasmKernel('Transpose', { x }, { perm }, backend);
}

/** a·b with transposes done by an explicit Transpose, so the product always takes the fast path. */
function batchMatMulWasm(args: { inputs: BatchMatMulInputs; backend: KernelBackend; attrs: BatchMatMulAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  if (plainBatchMatMul === null) throw new Error("registerWasmKernels has not kept the wasm backend's BatchMatMul; call it after importing '@tensorflow/tfjs-backend-wasm'.");
  const plain = (a: TensorInfo, b: TensorInfo) =>
    plainBatchMatMul!.kernelFunc({ inputs: { a, b }, attrs: { transposeA: false, transposeB: false } as unknown as NamedAttrMap, backend }) as TensorInfo;
  const { a: givenA, b: givenB } = inputs as { a: TensorInfo; b: TensorInfo };
  if (!attrs.transposeA && !attrs.transposeB) return plain(givenA, givenB);
  const temporaries: TensorInfo[] = [];
  const a = attrs.transposeA ? swapLastAxes(givenA, backend) : givenA;
  if (attrs.transposeA) temporaries.push(a);
  const b = attrs.transposeB ? swapLastAxes(givenB, backend) : givenB;
  if (attrs.transposeB) temporaries.push(b);
  const out = plain(a, b);
  disposeAll(backend, temporaries);
  return out;
}

const wasmKernels: Array<{ kernelName: string; kernelFunc: KernelFunc }> = [
  { kernelName: BatchMatMul, kernelFunc: batchMatMulWasm as unknown as KernelFunc },
  { kernelName: Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilterWasm as unknown as KernelFunc },
  { kernelName: Conv2DBackpropInput, kernelFunc: conv2DBackpropInputWasm as unknown as KernelFunc },
  { kernelName: MaxPoolGrad, kernelFunc: maxPoolGradWasm as unknown as KernelFunc },
];

/** Names of the wasm kernels `registerWasmKernels` adds or replaces. */
export const wasmKernelNames: readonly string[] = wasmKernels.map((k) => k.kernelName);

/**
 * Registers the kernels above for the 'wasm' backend, replacing the backend's own
 * where it has one. Call it after importing '@tensorflow/tfjs-backend-wasm' (whose
 * import would otherwise put its own kernels back); before or after the backend
 * starts does not matter, as none of them needs a setup step. Safe to call again.
 */
export function registerWasmKernels(): void {
  if (getKernel('Conv2D', BACKEND) === undefined) {
    throw new Error("registerWasmKernels needs the wasm backend's kernels: import '@tensorflow/tfjs-backend-wasm' before calling it.");
  }
  for (const { kernelName, kernelFunc } of wasmKernels) {
    const current = getKernel(kernelName, BACKEND);
    if (current?.kernelFunc === kernelFunc) continue;
    if (kernelName === BatchMatMul) {
      if (current === undefined) throw new Error("The wasm backend has no 'BatchMatMul' kernel to wrap; import '@tensorflow/tfjs-backend-wasm' first.");
      plainBatchMatMul = current;
    }
    // Unregistering first avoids tfjs's "already registered" warning on replacement.
    if (current !== undefined) unregisterKernel(kernelName, BACKEND);
    // The backend's setup (binding the C function) must still run for a kernel we wrap.
    registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: current?.setupFunc });
  }
}
