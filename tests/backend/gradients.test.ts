/**
 * Gradients under the Laplace library, on the cpu backend, never against another backend:
 *  - average pooling: the hand-worked case of the issue (x = 1…9 as [1, 3, 3, 1],
 *    avgPool(2, 2, 'same'), gradient of the sum), and for several geometries the forward pass
 *    and the gradient of Σ w ⊙ avgPool(x) against explicit loops (pooling-reference.ts);
 *  - every layer the library supports (Dense, Conv2D 'same'/'valid' with strides, with and
 *    without bias, MaxPooling2D, AveragePooling2D 'same'/'valid', relu/tanh/sigmoid fused and as
 *    Activation layers, Flatten, Reshape), through the library's own forward pass
 *    (Network.forward), with respect to the input and to every W̄, against central finite
 *    differences of that forward pass. ReLU kinks and max-pool ties are kept away by construction:
 *    pooling comes first, on inputs whose values are spaced far wider than the step, and a relu
 *    layer's pre-activations are checked to stay clear of 0 by more than the step can move them.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { Network } from '../../compute/laplace/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { relativeError, seedWeights } from '../laplace/helpers.ts';
import { averagePoolByHand, averagePoolGradientByHand, describeGeometry, outputShape, poolGeometries } from './pooling-reference.ts';

beforeAll(async () => {
  await startBackend('cpu');
});

describe('average pooling gradient', () => {
  it("the issue's hand-worked case: avgPool(2, 2, 'same') on 1…9 as [1, 3, 3, 1]", () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    // Forward: windows {1,2,4,5}, {3,6}, {7,8}, {9}, averaged over their cells inside the input.
    expect(Array.from(tf.avgPool(x, 2, 2, 'same').dataSync())).toEqual([3, 4.5, 7.5, 9]);
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.avgPool(input as tf.Tensor4D, 2, 2, 'same')))(x);
    expect(Array.from(dx.dataSync())).toEqual([0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1]);
    tf.dispose([x, dx]);
  });

  it.each(poolGeometries.map((g) => [describeGeometry(g), g] as const))('%s: forward and gradient of Σ w ⊙ avgPool(x) equal explicit loops', (_, g) => {
    const random = new Random(7);
    const batch = 2;
    const [outH, outW] = outputShape(g);
    const perInput = g.height * g.width * g.channels;
    const perOutput = outH * outW * g.channels;
    const xValues = Float32Array.from(random.normals(batch * perInput));
    const wValues = Float32Array.from(random.normals(batch * perOutput));
    const x = tf.tensor4d(xValues, [batch, g.height, g.width, g.channels]);
    const w = tf.tensor4d(wValues, [batch, outH, outW, g.channels]);
    const y = tf.avgPool(x, g.pool, g.strides, g.padding);
    expect(y.shape).toEqual([batch, outH, outW, g.channels]);
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(input as tf.Tensor4D, g.pool, g.strides, g.padding), w)))(x);
    const forward: number[] = [];
    const gradient: number[] = [];
    for (let b = 0; b < batch; b++) {
      forward.push(...averagePoolByHand(xValues.subarray(b * perInput, (b + 1) * perInput), g));
      gradient.push(...averagePoolGradientByHand(wValues.subarray(b * perOutput, (b + 1) * perOutput), g));
    }
    expect(relativeError(y.dataSync(), forward)).toBeLessThan(1e-6);
    expect(relativeError(dx.dataSync(), gradient)).toBeLessThan(1e-6);
    tf.dispose([x, w, y, dx]);
  });
});

interface LayerCase {
  name: string;
  build: () => tfl.Sequential;
  inputShape: number[];
  /** Inputs with distinct values on a wide grid (for a max-pool that comes first). */
  spacedInputs?: boolean;
  /** Check that relu pre-activations stay clear of 0. */
  relu?: boolean;
}

const dense = (units: number, activation: string, extra: Record<string, unknown> = {}) => tfl.layers.dense({ units, activation: activation as 'linear', ...extra });
const conv = (filters: number, kernelSize: number | [number, number], strides: number | [number, number], padding: 'same' | 'valid', activation = 'linear', extra: Record<string, unknown> = {}) =>
  tfl.layers.conv2d({ filters, kernelSize, strides, padding, activation: activation as 'linear', ...extra });

const layerCases: LayerCase[] = [
  { name: 'Dense, linear', build: () => tfl.sequential({ layers: [dense(3, 'linear', { inputShape: [4] })] }), inputShape: [4] },
  { name: 'Dense relu → Dense', build: () => tfl.sequential({ layers: [dense(5, 'relu', { inputShape: [4] }), dense(3, 'linear')] }), inputShape: [4], relu: true },
  { name: 'Dense tanh → Dense', build: () => tfl.sequential({ layers: [dense(5, 'tanh', { inputShape: [4] }), dense(3, 'linear')] }), inputShape: [4] },
  { name: 'Dense sigmoid → Dense without bias', build: () => tfl.sequential({ layers: [dense(5, 'sigmoid', { inputShape: [4] }), dense(3, 'linear', { useBias: false })] }), inputShape: [4] },
  {
    name: 'Dense → Activation sigmoid → Dense → Activation tanh → Dense',
    build: () => tfl.sequential({ layers: [dense(4, 'linear', { inputShape: [3] }), tfl.layers.activation({ activation: 'sigmoid' }), dense(4, 'linear'), tfl.layers.activation({ activation: 'tanh' }), dense(3, 'linear')] }),
    inputShape: [3],
  },
  { name: "Conv2D k3 'same' stride 1 → Flatten → Dense", build: () => tfl.sequential({ layers: [conv(2, 3, 1, 'same', 'linear', { inputShape: [5, 5, 2] }), tfl.layers.flatten(), dense(3, 'linear')] }), inputShape: [5, 5, 2] },
  { name: "Conv2D k3 'same' stride 2 (pads 0/1 rows, 1/1 columns) tanh → Flatten → Dense", build: () => tfl.sequential({ layers: [conv(2, 3, 2, 'same', 'tanh', { inputShape: [6, 7, 1] }), tfl.layers.flatten(), dense(3, 'linear')] }), inputShape: [6, 7, 1] },
  { name: "Conv2D k2 'same' stride 1 (pad 0/1) sigmoid → Flatten → Dense", build: () => tfl.sequential({ layers: [conv(3, 2, 1, 'same', 'sigmoid', { inputShape: [4, 4, 1] }), tfl.layers.flatten(), dense(3, 'linear')] }), inputShape: [4, 4, 1] },
  { name: "Conv2D k3 'valid' stride 1 relu → Flatten → Dense", build: () => tfl.sequential({ layers: [conv(2, 3, 1, 'valid', 'relu', { inputShape: [5, 5, 2] }), tfl.layers.flatten(), dense(3, 'linear')] }), inputShape: [5, 5, 2], relu: true },
  {
    name: "Conv2D k3×2 'valid' strides 2×1 without bias → Reshape → Dense",
    build: () => tfl.sequential({ layers: [conv(2, [3, 2], [2, 1], 'valid', 'linear', { inputShape: [7, 4, 2], useBias: false }), tfl.layers.reshape({ targetShape: [18] }), dense(3, 'linear')] }),
    inputShape: [7, 4, 2],
  },
  {
    name: "Conv2D 'same' → AveragePooling2D 2 'same' (5×5: partial windows) → Flatten → Dense",
    build: () => tfl.sequential({ layers: [conv(2, 2, 1, 'same', 'tanh', { inputShape: [5, 5, 1] }), tfl.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }), tfl.layers.flatten(), dense(3, 'linear')] }),
    inputShape: [5, 5, 1],
  },
  {
    name: "AveragePooling2D 3 stride 1 'same' → Flatten → Dense",
    build: () => tfl.sequential({ layers: [tfl.layers.averagePooling2d({ inputShape: [4, 4, 2], poolSize: 3, strides: 1, padding: 'same' }), tfl.layers.flatten(), dense(3, 'linear')] }),
    inputShape: [4, 4, 2],
  },
  {
    name: "AveragePooling2D 2×3 strides 1×2 'same' → Flatten → Dense",
    build: () => tfl.sequential({ layers: [tfl.layers.averagePooling2d({ inputShape: [5, 6, 1], poolSize: [2, 3], strides: [1, 2], padding: 'same' }), tfl.layers.flatten(), dense(3, 'linear')] }),
    inputShape: [5, 6, 1],
  },
  {
    name: "Conv2D → AveragePooling2D 3 stride 2 'valid' (last row uncovered) → Flatten → Dense",
    build: () => tfl.sequential({ layers: [conv(2, 1, 1, 'valid', 'linear', { inputShape: [6, 6, 1] }), tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'valid' }), tfl.layers.flatten(), dense(3, 'linear')] }),
    inputShape: [6, 6, 1],
  },
  {
    name: "MaxPooling2D 2 'valid' → Flatten → Dense",
    build: () => tfl.sequential({ layers: [tfl.layers.maxPooling2d({ inputShape: [4, 4, 2], poolSize: 2, strides: 2, padding: 'valid' }), tfl.layers.flatten(), dense(3, 'linear')] }),
    inputShape: [4, 4, 2],
    spacedInputs: true,
  },
  {
    name: "MaxPooling2D 2 'same' (5×5: partial windows) → Flatten → Dense",
    build: () => tfl.sequential({ layers: [tfl.layers.maxPooling2d({ inputShape: [5, 5, 1], poolSize: 2, strides: 2, padding: 'same' }), tfl.layers.flatten(), dense(3, 'linear')] }),
    inputShape: [5, 5, 1],
    spacedInputs: true,
  },
  {
    name: "MaxPooling2D 3 stride 1 'same' (overlapping) → Conv2D k2 'valid' → Flatten → Dense",
    build: () => tfl.sequential({ layers: [tfl.layers.maxPooling2d({ inputShape: [4, 4, 1], poolSize: 3, strides: 1, padding: 'same' }), conv(2, 2, 1, 'valid', 'tanh'), tfl.layers.flatten(), dense(3, 'linear')] }),
    inputShape: [4, 4, 1],
    spacedInputs: true,
  },
];

/** Finite-difference step; inputs spaced 0.1 apart and relu margins of 0.05 keep every ±step away from a kink. */
const STEP = 1e-2;

describe('gradients of the supported layers against central finite differences of the forward pass', () => {
  it.each(layerCases.map((c) => [c.name, c] as const))('%s', (_, layerCase) => {
    const model = layerCase.build();
    seedWeights(model, 17, 1.5);
    const network = new Network(model);
    let weights = network.matricesFromModel(model);
    const batch = 2;
    const size = layerCase.inputShape.reduce((a, b) => a * b, 1) * batch;
    const random = new Random(23);
    let xValues: Float32Array;
    if (layerCase.spacedInputs) {
      // Distinct values 0.1 apart, shuffled: no two cells of a window within 2·STEP of each other.
      const order = Array.from({ length: size }, (_, i) => i);
      for (let i = size - 1; i > 0; i--) {
        const j = random.integer(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      xValues = Float32Array.from(order, (k) => (k - size / 2) * 0.1);
    } else xValues = Float32Array.from(random.normals(size));
    const x = tf.tensor(xValues, [batch, ...layerCase.inputShape]);
    const probe = Float64Array.from(random.normals(batch * network.classes));

    /** L = Σ probe ⊙ logits, summed in float64 from the forward pass's float32 logits. */
    const loss = (input: tf.Tensor, matrices: tf.Tensor2D[]) =>
      tf.tidy(() => {
        const logits = network.forward(input, matrices).dataSync();
        let sum = 0;
        for (let i = 0; i < logits.length; i++) sum += probe[i] * logits[i];
        return sum;
      });

    if (layerCase.relu) {
      // Shift each relu unit's bias (its W̄ row) by the δ in [−0.5, 0.5] that keeps its pre-activations farthest from 0.
      weights = tf.tidy(() => {
        const preActivations: tf.Tensor[] = [];
        network.forward(x, weights, { preActivations });
        return weights.map((matrix, l) => {
          const spec = network.layers[l];
          if (spec.activation !== 'relu') return tf.keep(tf.clone(matrix));
          const z = preActivations[l].dataSync();
          const shifts = Float32Array.from({ length: spec.fanOut }, (_, unit) => {
            let best = 0;
            let bestMargin = -1;
            for (let k = -50; k <= 50; k++) {
              let margin = Infinity;
              for (let i = unit; i < z.length; i += spec.fanOut) margin = Math.min(margin, Math.abs(z[i] + k / 100));
              if (margin > bestMargin) [best, bestMargin] = [k / 100, margin];
            }
            return best;
          });
          const offset = tf.concat([tf.zeros([spec.fanIn, spec.fanOut]), tf.tensor2d(shifts, [1, spec.fanOut])], 0);
          return tf.keep(tf.add(matrix, offset) as tf.Tensor2D);
        });
      });
      const margin = tf.tidy(() => {
        const preActivations: tf.Tensor[] = [];
        network.forward(x, weights, { preActivations });
        return Math.min(...network.layers.flatMap((spec, l) => (spec.activation === 'relu' ? Array.from(preActivations[l].dataSync(), Math.abs) : [])));
      });
      // A step of STEP in one input or weight moves a pre-activation by at most STEP × (largest |weight| or |input|, < 3 here).
      expect(margin).toBeGreaterThan(0.05);
    }

    const probeTensor = tf.tensor2d(Float32Array.from(probe), [batch, network.classes]);
    const analytic = tf.grads((input: tf.Tensor, ...matrices: tf.Tensor[]) => tf.sum(tf.mul(network.forward(input, matrices as tf.Tensor2D[]), probeTensor)))([x, ...weights]);
    const analyticValues = analytic.map((gradient) => Float64Array.from(gradient.dataSync()));

    const numeric = (which: number): Float64Array => {
      const base = which === 0 ? xValues : weights[which - 1].dataSync();
      const shape = which === 0 ? x.shape : weights[which - 1].shape;
      const out = new Float64Array(base.length);
      for (let k = 0; k < base.length; k++) {
        const values = (sign: number) => {
          const copy = Float32Array.from(base);
          copy[k] += sign * STEP;
          return tf.tensor(copy, shape);
        };
        const evaluate = (sign: number) => {
          const shifted = values(sign);
          const result = which === 0 ? loss(shifted, weights) : loss(x, weights.map((w, l) => (l === which - 1 ? (shifted as tf.Tensor2D) : w)));
          shifted.dispose();
          return result;
        };
        // The step actually taken in float32, so the quotient divides by what was added.
        const h = Math.fround(base[k] + STEP) - Math.fround(base[k] - STEP);
        out[k] = (evaluate(1) - evaluate(-1)) / h;
      }
      return out;
    };

    const names = ['input', ...network.layers.map((spec) => `W̄ of ${spec.name}`)];
    const errors = names.map((name, which) => {
      const error = relativeError(analyticValues[which], numeric(which));
      return [name, error] as const;
    });
    console.log(`${layerCase.name}: ${errors.map(([name, error]) => `${name} ${error.toExponential(1)}`).join(', ')}`);
    for (const [, error] of errors) expect(error).toBeLessThan(1e-3);
    tf.dispose([x, probeTensor, ...analytic, ...weights]);
    model.dispose();
  });
});
