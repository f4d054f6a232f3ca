/**
 * The whole-network structures on the layers people use: BatchNormalization (inference mode, γ and
 * β as parameters), DepthwiseConv2D, SeparableConv2D, GlobalAveragePooling2D, residual Add, and
 * the activations elu, selu, gelu, swish, tanh, sigmoid, LeakyReLU. Every reference goes through
 * tfjs-layers' own forward pass (model.predict / model.apply in inference mode), never through
 * compute/laplace:
 *  - each parameter layer's per-class Jacobian of the logits against central finite differences
 *    of model.predict with that layer's weights moved by ±h (float32, h = 1e-3: the rounding error
 *    of a difference is about 6e-8/h relative, so the tolerance is 2e-3 of the largest entry);
 *  - the diag Fisher (exact and empirical) against per-example, per-class gradients by
 *    tf.variableGrads of −log softmax through model.apply;
 *  - the GLM probit predictive of that diag posterior against its closed form from per-class
 *    logit gradients taken the same way;
 *  - KFAC's factors of a residual graph without elementwise layers against its layers' inputs
 *    from tf.models cut there (A) and the output Hessians (G of the output layer);
 *  - the posterior file keeps BatchNormalization's moving statistics.
 *
 * W̄ layout (network.ts): Dense/Conv2D kernel rows then the bias row; DepthwiseConv2D its kernel
 * [kh, kw, cin, multiplier] row-major then the bias; BatchNormalization [γ; β]; a SeparableConv2D
 * is two layers, its depthwise kernel, then its pointwise kernel and bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, fitLaplace, loadLaplaceFromBytes, Network, tensorData, UnsupportedModelError } from '../../compute/laplace/index.ts';
import { maxAbsDifference, randomInputs, randomLabels, relativeError, unfoldByHand } from './helpers.ts';
import { blockGradients, buildResidual, buildSequential, finiteDifferenceJacobian, jacobianTolerance, libraryJacobian, logitAt, logitsOf, logSoftmaxAt, parameterBlocks } from './modern-helpers.ts';

// cpu: tfjs-layers' own gradients of a depthwise convolution (the references) need
// DepthwiseConv2dNativeBackpropInput, which wasm lacks; the library's wasm route is checked at the end.
beforeAll(async () => {
  await startBackend('cpu');
});

const classes = 3;

describe.each([
  { name: 'Sequential with BN, LeakyReLU, depthwise, separable, GAP, elu/selu/gelu/swish/tanh/sigmoid', build: () => buildSequential(401), blocks: 10 },
  { name: 'residual graph with BN, depthwise, a projection shortcut, Add, GAP, swish/gelu', build: () => buildResidual(402), blocks: 6 },
])('$name', ({ build, blocks }) => {
  let model: tfl.LayersModel;
  let network: Network;
  let x: tf.Tensor;
  let labels: Int32Array;
  const count = 6;

  beforeAll(() => {
    model = build();
    network = new Network(model);
    x = randomInputs([count, 6, 6, 2], 410);
    labels = randomLabels(count, classes, 411);
    return () => {
      x.dispose();
      network.dispose();
      model.dispose();
    };
  });

  it('reads every parameter layer, and runs the forward pass tfjs-layers runs', () => {
    expect(network.layers.length).toBe(blocks);
    expect(network.classic).toBe(false);
    const weights = network.matricesFromModel(model);
    const ours = tf.tidy(() => network.forward(x, weights).dataSync());
    tf.dispose(weights);
    expect(maxAbsDifference(ours, logitsOf(model, x))).toBeLessThanOrEqual(1e-5);
  });

  it('has per-layer Jacobians equal to finite differences of tfjs-layers', () => {
    const modelBlocks = parameterBlocks(model);
    expect(modelBlocks.length).toBe(network.layers.length);
    const three = example3(x);
    for (let layer = 0; layer < network.layers.length; layer++) {
      const ours = libraryJacobian(network, model, three, layer).flat(2);
      const reference = finiteDifferenceJacobian(model, three, modelBlocks[layer], 1e-3).flat(2);
      const { difference, tolerance } = jacobianTolerance(ours, reference, logitsOf(model, three), 1e-3);
      console.log(`${network.layers[layer].name} (${network.layers[layer].kind}): Jacobian vs finite differences, max |Δ| ${difference.toExponential(1)}, tolerance ${tolerance.toExponential(1)}`);
      expect(difference).toBeLessThanOrEqual(tolerance);
    }
    three.dispose();
  });

  it('fits the diag Fisher (exact and empirical) of per-example, per-class gradients', async () => {
    const p = tf.tidy(() => tf.softmax(model.predict(x) as tf.Tensor2D).arraySync());
    const exact = network.layers.map((_, layer) => new Float64Array(network.parameterCount(layer)));
    const empirical = network.layers.map((_, layer) => new Float64Array(network.parameterCount(layer)));
    for (let i = 0; i < count; i++) {
      const xi = tf.slice(x, i, 1);
      for (let c = 0; c < classes; c++) {
        blockGradients(model, logSoftmaxAt(model, xi, c)).forEach((gradient, layer) =>
          gradient.forEach((value, k) => {
            exact[layer][k] += (p[i][c] * value * value) / count;
            if (c === labels[i]) empirical[layer][k] += (value * value) / count;
          }),
        );
      }
      xi.dispose();
    }
    const weights = network.matricesFromModel(model);
    for (const [fisher, reference] of [['exact', exact], ['empirical', empirical]] as const) {
      const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['diag'], fisher, batchSize: 4 });
      const error = relativeError(fit.diag!.flatMap((d) => Array.from(d)), reference.flatMap((d) => Array.from(d)));
      console.log(`diag ${fisher} Fisher vs per-example gradients: relative error ${error.toExponential(1)}`);
      expect(error).toBeLessThanOrEqual(1e-5);
    }
    tf.dispose(weights);
  });

  it('predicts with the GLM of a diag posterior as in closed form, and saves BatchNormalization state', async () => {
    const tau = 3;
    const laplace = await fitLaplace(model, tensorData(x, labels), { curvature: 'diag', fisher: 'exact', tau, batchSize: 4 });
    const n = laplace.n;
    const variances = laplace.posterior.curvature.diag!.map((d) => Array.from(d, (value) => 1 / (n * Math.max(value, 0) + tau)));
    const xTest = randomInputs([3, 6, 6, 2], 412);
    const mu = logitsOf(model, xTest);
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) {
      const xi = tf.slice(xTest, i, 1);
      const scaled = Array.from({ length: classes }, (_, c) => {
        const gradients = blockGradients(model, logitAt(model, xi, c));
        const variance = gradients.reduce((sum, gradient, layer) => sum + gradient.reduce((s, value, k) => s + value * value * variances[layer][k], 0), 0);
        return mu[i * classes + c] / Math.sqrt(1 + (Math.PI / 8) * variance);
      });
      const top = Math.max(...scaled);
      const e = scaled.map((value) => Math.exp(value - top));
      expected.push(...e.map((value) => value / e.reduce((a, b) => a + b, 0)));
      xi.dispose();
    }
    const glm = await laplace.predict(xTest);
    const error = maxAbsDifference(glm, expected);
    console.log(`GLM probit of the diag posterior vs closed form: max |Δp| ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-5);
    // Sampled runs each sample through the graph; with a prior this tight it is the network itself.
    const tight = laplace.withHyperparameters(n, 1e12);
    const map = await tight.predict(xTest, { predictive: 'map' });
    expect(maxAbsDifference(await tight.predict(xTest, { predictive: 'sampled', samples: 3 }), map)).toBeLessThanOrEqual(1e-5);
    const loaded = await loadLaplaceFromBytes(await laplace.toBytes());
    expect(Array.from(await loaded.predict(xTest))).toEqual(Array.from(glm));
    expect(Array.from(await loaded.predict(xTest, { predictive: 'sampled', samples: 4 }))).toEqual(Array.from(await laplace.predict(xTest, { predictive: 'sampled', samples: 4 })));
    loaded.dispose();
    laplace.dispose();
    xTest.dispose();
  });

  it('refuses kfac and efb over BatchNormalization and depthwise layers, in one sentence', async () => {
    for (const curvature of ['kfac', 'efb'] as const) {
      await expect(fitLaplace(model, tensorData(x, labels), { curvature, tau: 1 })).rejects.toThrow(UnsupportedModelError);
    }
  });
});

/** The first three examples. */
function example3(x: tf.Tensor): tf.Tensor {
  return tf.slice(x, 0, 3);
}

describe('kfac on a residual graph of Conv2D, Add, GlobalAveragePooling2D, swish, gelu', () => {
  it("has the factors of its layers' inputs and output Hessians", async () => {
    const model = buildResidual(403, false);
    const count = 5;
    const x = randomInputs([count, 6, 6, 2], 420);
    const labels = randomLabels(count, classes, 421);
    const network = new Network(model);
    expect(network.layers.map((spec) => spec.kind)).toEqual(['conv2d', 'conv2d', 'conv2d', 'dense']);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['kfac'], fisher: 'exact', batchSize: 2 });
    tf.dispose(weights);
    // A of each layer: E over examples (and positions, averaged) of ā āᵀ, from its input by a tf.model cut there.
    for (const [layer, spec] of network.layers.entries()) {
      const modelLayer = model.getLayer(spec.name);
      const input = tf.tidy(() => (tfl.model({ inputs: model.inputs, outputs: modelLayer.input as tfl.SymbolicTensor }).predict(x) as tf.Tensor).arraySync());
      const rowsOf = (example: unknown): number[][] => {
        if (spec.kind === 'dense') return [[...(example as number[]), 1]];
        const image = example as number[][][];
        const [height, width, channels] = [image.length, image[0].length, image[0][0].length];
        return unfoldByHand(image.flat(2), height, width, channels, { kernel: spec.conv!.kernelSize, stride: spec.conv!.strides, padding: spec.conv!.padding });
      };
      const rows = spec.fanIn + 1;
      const a = new Float64Array(rows * rows);
      for (const example of input as unknown[]) {
        const patches = rowsOf(example);
        for (const patch of patches) for (let i = 0; i < rows; i++) for (let k = 0; k < rows; k++) a[i * rows + k] += (patch[i] * patch[k]) / (count * patches.length);
      }
      const error = relativeError(fit.kfac![layer].a.data, a);
      console.log(`kfac A of ${spec.name}: relative error ${error.toExponential(1)}`);
      expect(error).toBeLessThanOrEqual(1e-5);
    }
    // G of the linear output layer under the exact Fisher: E[diag(p) − ppᵀ].
    const p = tf.tidy(() => tf.softmax(model.predict(x) as tf.Tensor2D).arraySync());
    const g = new Float64Array(classes * classes);
    for (const row of p) for (let j = 0; j < classes; j++) for (let l = 0; l < classes; l++) g[j * classes + l] += ((j === l ? row[j] : 0) - row[j] * row[l]) / count;
    expect(relativeError(fit.kfac![3].g.data, g)).toBeLessThanOrEqual(1e-5);
    x.dispose();
    model.dispose();
  });
});

