/**
 * Errors that name their cause: an unsupported layer or activation gives an UnsupportedModelError
 * naming the layer, and a damped KFAC factor that is not positive definite gives the linalg
 * NotPositiveDefiniteError naming the factor and its layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, fitLaplace, Network, Posterior, predict, tensorData, UnsupportedModelError } from '../../compute/laplace/index.ts';
import { NotPositiveDefiniteError, symmetricEigen } from '../../compute/laplace/linalg/index.ts';
import { buildMlp, randomInputs, randomLabels } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

function expectUnsupported(model: tfl.LayersModel, layerName: string, what: RegExp): void {
  let error: unknown;
  try {
    new Network(model);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(UnsupportedModelError);
  expect((error as Error).message).toContain(layerName);
  expect((error as Error).message).toMatch(what);
}

describe('unsupported models', () => {
  it('a LayerNormalization layer is named in an UnsupportedModelError (also from fitLaplace); a BatchNormalization one under kfac', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }),
        tfl.layers.layerNormalization({ name: 'the_layer_norm' }),
        tfl.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    expectUnsupported(model, 'the_layer_norm', /LayerNormalization/);
    const x = randomInputs([2, 4], 1);
    await expect(fitLaplace(model, tensorData(x, [0, 1]), { curvature: 'diag' })).rejects.toThrow(/the_layer_norm/);
    // BatchNormalization has diag (modern-layers.test.ts) but no Kronecker form.
    const normalised = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }), tfl.layers.batchNormalization({ name: 'the_batch_norm' }), tfl.layers.dense({ units: 2, activation: 'softmax' })],
    });
    await expect(fitLaplace(normalised, tensorData(x, [0, 1]), { curvature: 'kfac', tau: 1 })).rejects.toThrow(/the_batch_norm.*no Kronecker-factored form/);
    x.dispose();
    model.dispose();
    normalised.dispose();
  });

  it('a Conv1D layer is named in an UnsupportedModelError', () => {
    const model = tfl.sequential({
      layers: [tfl.layers.conv1d({ inputShape: [6, 2], filters: 2, kernelSize: 2, name: 'the_conv1d' }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })],
    });
    expectUnsupported(model, 'the_conv1d', /Conv1D/);
    model.dispose();
  });

  it('a Dense layer on a rank-3 input (tfjs applies it per position) is named in an UnsupportedModelError', async () => {
    // Before the fix the library accepted it and returned a diag of 32 entries for a layer of 8 parameters.
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2, 3], units: 2, name: 'the_dense_on_sequences' }), tfl.layers.flatten(), tfl.layers.dense({ units: 3 })] });
    expectUnsupported(model, 'the_dense_on_sequences', /rank-3/);
    model.dispose();
  });

  it('the probit predictive refuses a convolutional last layer (its J = ā ⊗ I is for dense layers)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [3, 3, 1], filters: 3, kernelSize: 3, name: 'the_last_conv' }), tfl.layers.flatten()] });
    const x = randomInputs([4, 3, 3, 1], 2);
    const data = tensorData(x, randomLabels(4, 3, 3));
    const laplace = await fitLaplace(model, data, { curvature: 'last-layer', fisher: 'exact' });
    await expect(laplace.predict(data, { predictive: 'probit' })).rejects.toThrow(/the_last_conv/);
    laplace.dispose();
    x.dispose();
    model.dispose();
  });

  it('an unsupported activation, or softmax before the output, names its layer', () => {
    const elu = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 3, activation: 'hardSigmoid', name: 'the_elu_dense' }), tfl.layers.dense({ units: 2 })] });
    expectUnsupported(elu, 'the_elu_dense', /hardSigmoid/);
    const early = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 3, activation: 'softmax', name: 'the_early_softmax' }), tfl.layers.dense({ units: 2 })] });
    expectUnsupported(early, 'the_early_softmax', /softmax/);
    elu.dispose();
    early.dispose();
  });
});

describe('not positive definite damped factors', () => {
  /*
   * A constructed real case: 2 examples and 6 inputs make the first layer's A = mean ā āᵀ (7 × 7)
   * of rank 2. Mathematically it is still positive semi-definite, but it is accumulated in float32,
   * so its five zero eigenvalues come out as ±1e-8 (checked below: some are negative). With
   * per-factor damping, √N·A + √τ·I and τ = 1e-20 (√τ = 1e-10) the negative ones survive and the
   * Cholesky factorisation meets a negative pivot. (Exact damping does not factor A: it clamps the
   * eigenvalues at 0 instead.)
   */
  let model: tfl.Sequential;
  let x: tf.Tensor;
  let data: ReturnType<typeof tensorData>;
  beforeAll(() => {
    model = buildMlp(6, 3, 3, 131, 'tanh');
    x = randomInputs([2, 6], 141);
    data = tensorData(x, randomLabels(2, 3, 1));
  });
  afterAll(() => {
    x.dispose();
    model.dispose();
  });

  it('per-factor damping with a tiny τ on a rank-deficient A gives NotPositiveDefiniteError naming the layer', async () => {
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, data, { kinds: ['kfac'], fisher: 'exact' });
    const eigenvalues = Array.from(symmetricEigen(fit.kfac![0].a).values);
    expect(Math.min(...eigenvalues)).toBeLessThan(-1e-10); // float32 rounding made A indefinite
    expect(eigenvalues.filter((v) => v > 1e-3).length).toBe(2);
    const posterior = new Posterior(network, weights, fit, { structure: 'kfac', n: 1, tau: 1e-20, kfacDamping: 'per-factor' });
    for (const attempt of [() => posterior.marginalVariances(), () => posterior.sampleDeviations(1, 0)]) {
      let error: unknown;
      try {
        attempt();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(NotPositiveDefiniteError);
      const name = network.layers[0].name;
      expect((error as NotPositiveDefiniteError).matrixName).toContain(name);
      expect((error as Error).message).toContain(`KFAC factor A of layer ${name}`);
      expect((error as NotPositiveDefiniteError).pivotValue).toBeLessThanOrEqual(0);
    }
    await expect(predict(posterior, data, { predictive: 'sampled', samples: 2 })).rejects.toBeInstanceOf(NotPositiveDefiniteError);
    // A reasonable τ damps the same factor into a positive definite one.
    expect(() => posterior.withHyperparameters(1, 1e-2).marginalVariances()).not.toThrow();
    // Exact damping clamps the negative eigenvalues instead of factoring A.
    expect(() => posterior.withHyperparameters(1, 1e-20, 'exact').marginalVariances()).not.toThrow();
    tf.dispose(weights);
  });
});
