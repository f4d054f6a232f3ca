/**
 * Gradients TensorFlow.js gets wrong, replaced for every backend.
 *
 * AvgPool: the forward pass (cpu, wasm and native alike) averages each window
 * over its cells inside the input, so with 'same' (or explicit) padding a
 * border window of c < kh·kw valid cells divides by c. tfjs's gradient
 * (the AvgPoolGrad kernel on cpu and wasm) divides every window by kh·kw, so
 * the border gradients come out too small (x = 1…9 as [1, 3, 3, 1],
 * avgPool(2, 2, 'same'): 0.25 everywhere instead of
 * [.25, .25, .5, .25, .25, .5, .5, .5, 1] for the gradient of the sum).
 * The right gradient scatters dy / c back over each window. We get it from a
 * case every backend computes alike: divide dy by c/(kh·kw), take AvgPoolGrad
 * with 'valid' padding on the input padded explicitly (every window full, so
 * each divides by kh·kw), and cut the padding off again. Unpadded ('valid')
 * pooling keeps the built-in gradient, which is right there.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Cells of each window that lie inside an axis of `size` cells: one count per output position. */
function windowCounts(outputs: number, stride: number, filter: number, padBefore: number, size: number): number[] {
  return Array.from({ length: outputs }, (_, index) => {
    const start = index * stride - padBefore;
    return Math.max(0, Math.min(size, start + filter) - Math.max(0, start));
  });
}

/** dx of average pooling for output gradient dy, the forward pass dividing each window by its count of valid cells. */
export function averagePoolGradient(dy: tf.Tensor4D, x: tf.Tensor4D, attrs: tf.AvgPoolAttrs): tf.Tensor4D {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = tf.backend_util.computePool2DInfo(x.shape, filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth, padInfo } = info;
  const rowCounts = windowCounts(outHeight, strideHeight, filterHeight, padInfo.top, inHeight);
  const colCounts = windowCounts(outWidth, strideWidth, filterWidth, padInfo.left, inWidth);
  const full = rowCounts.every((count) => count === filterHeight) && colCounts.every((count) => count === filterWidth);
  const builtIn = (gradient: tf.Tensor4D, input: tf.Tensor4D, poolAttrs: tf.AvgPoolGradAttrs) =>
    tf.engine().runKernel(tf.AvgPoolGrad, { dy: gradient, input } as unknown as tf.NamedTensorMap, poolAttrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  if (full && padInfo.top === 0 && padInfo.left === 0) return builtIn(dy, x, { filterSize, strides, pad });
  return tf.tidy(() => {
    // Padded extent: every window inside it (a window may reach past the stated padding under 'ceil' rounding).
    const paddedHeight = Math.max(inHeight + padInfo.top + padInfo.bottom, (outHeight - 1) * strideHeight + filterHeight);
    const paddedWidth = Math.max(inWidth + padInfo.left + padInfo.right, (outWidth - 1) * strideWidth + filterWidth);
    const weights = new Float32Array(outHeight * outWidth);
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        const count = rowCounts[i] * colCounts[j];
        weights[i * outWidth + j] = count > 0 ? (filterHeight * filterWidth) / count : 0;
      }
    }
    const scaled = tf.mul(dy, tf.tensor4d(weights, [1, outHeight, outWidth, 1])) as tf.Tensor4D;
    const check = tf.backend_util.computePool2DInfo([batchSize, paddedHeight, paddedWidth, inChannels], [filterHeight, filterWidth], [strideHeight, strideWidth], 1, 'valid');
    if (check.outHeight !== outHeight || check.outWidth !== outWidth) throw new Error(`averagePoolGradient: padded pooling gives ${check.outHeight}×${check.outWidth} outputs where the forward pass gave ${outHeight}×${outWidth}.`);
    const paddedShape = tf.zeros([batchSize, paddedHeight, paddedWidth, inChannels]) as tf.Tensor4D;
    const padded = builtIn(scaled, paddedShape, { filterSize: [filterHeight, filterWidth], strides: [strideHeight, strideWidth], pad: 'valid' });
    return tf.slice(padded, [0, padInfo.top, padInfo.left, 0], [batchSize, inHeight, inWidth, inChannels]);
  });
}

const avgPoolGradient: tf.GradConfig = {
  kernelName: tf.AvgPool,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor4D];
    return { x: () => averagePoolGradient(dy as tf.Tensor4D, x, attrs as unknown as tf.AvgPoolAttrs) };
  },
};

/**
 * Register the corrected gradients (overriding tfjs's). Gradients are kept per
 * kernel name, not per backend, so this covers every backend; call it after
 * the backend's packages are loaded (they register tfjs's own on import).
 */
export function registerGradientFixes(): void {
  tf.registerGradient(avgPoolGradient);
}
