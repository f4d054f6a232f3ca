/**
 * The wasm backend has no DepthwiseConv2dNativeBackpropInput kernel, so the library runs a depthwise
 * convolution there as the ordinary convolution it equals, with a block-diagonal filter (network.ts):
 * its logits against tfjs-layers' own, and its Jacobian against finite differences of model.predict.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { Network } from '../../compute/laplace/index.ts';
import { maxAbsDifference, randomInputs } from './helpers.ts';
import { buildResidual, finiteDifferenceJacobian, jacobianTolerance, libraryJacobian, logitsOf, parameterBlocks } from './modern-helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

describe('on wasm, which has no depthwise input gradient', () => {
  it('runs a depthwise convolution as a block-diagonal one: same logits, Jacobians equal to finite differences', async () => {
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')).toBeUndefined();
    const model = buildResidual(404);
    const network = new Network(model);
    const x = randomInputs([3, 6, 6, 2], 430);
    const weights = network.matricesFromModel(model);
    const ours = tf.tidy(() => network.forward(x, weights).dataSync());
    tf.dispose(weights);
    expect(maxAbsDifference(ours, logitsOf(model, x))).toBeLessThanOrEqual(1e-5);
    const depthwise = network.layers.findIndex((spec) => spec.kind === 'depthwise');
    const { difference, tolerance } = jacobianTolerance(libraryJacobian(network, model, x, depthwise).flat(2), finiteDifferenceJacobian(model, x, parameterBlocks(model)[depthwise], 1e-3).flat(2), logitsOf(model, x), 1e-3);
    console.log(`wasm depthwise Jacobian vs finite differences: max |Δ| ${difference.toExponential(1)}, tolerance ${tolerance.toExponential(1)}`);
    expect(difference).toBeLessThanOrEqual(tolerance);
    x.dispose();
    network.dispose();
    model.dispose();
  });
});
