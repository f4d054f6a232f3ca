/**
 * Kernels of the native backend (tfjs-node, backend name 'tensorflow') replaced by cheaper
 * ones with the same numbers.
 *
 * Step (the derivative of ReLU, dy · step(x) in every ReLU gradient): tfjs-node builds it
 * from isNaN, greater, a ones tensor made in JavaScript and copied into TensorFlow, a fill and
 * two selects, about six passes over the tensor and a JavaScript allocation of its size;
 * in the GLM pass's replicated backward that was the largest single cost (measured with
 * tf.profile: 31% of kernel time on LeNet-5). For alpha = 0 the same values come from
 * cast(x > 0), with NaN passed through as before: x > 0 gives 1, x ≤ 0 (−0 included) gives +0,
 * NaN stays NaN.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setSymmetricEigenAccelerator } from '../laplace/linalg/eigen.ts';
import { nativeSymmetricEigen } from '../laplace/backend/native-eigen.ts';

const backendName = 'tensorflow';
let registered = false;

/** Install the replacements on the native backend; a no-op elsewhere, and when already installed. */
export function registerNativeKernelFixes(): void {
  if (registered || tf.getBackend() !== backendName) return;
  // Not a kernel, but the same kind of replacement: eigendecompositions in TensorFlow's float64 kernel (native-eigen.ts).
  setSymmetricEigenAccelerator(nativeSymmetricEigen);
  const original = tf.getKernel(tf.Step, backendName);
  if (!original) return;
  tf.unregisterKernel(tf.Step, backendName);
  tf.registerKernel({
    kernelName: tf.Step,
    backendName,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.Tensor;
      const { alpha } = args.attrs as unknown as tf.StepAttrs;
      if (alpha !== 0 || x.dtype !== 'float32') return original.kernelFunc(args);
      return tf.tidy(() => tf.where(tf.isNaN(x), x, tf.cast(tf.greater(x, 0), 'float32')));
    },
  });
  registered = true;
}
