/**
 * Inputs checked at the API boundary, each mistake one sentence of a named error class:
 * labels that are not classes of the model, one-hot rows (accepted, and equal to their
 * indices), inputs of the wrong shape (before tfjs's matMul meets them), predict on a
 * tensor or a tf.data.Dataset (the same probabilities as on LaplaceData), predict's and fit's
 * options, and a model argument that is not a model.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, LaplaceDataError, PosteriorError, tensorData, UnsupportedModelError, type FitLaplaceOptions, type LaplaceModel } from '../../compute/laplace/index.ts';
import { buildCnnA, buildMlp, probabilities, randomInputs, randomLabels, type Model } from './helpers.ts';

let model: Model;
let x: tf.Tensor;
let labels: Int32Array;
let laplace: LaplaceModel;
const fitOptions: FitLaplaceOptions = { curvature: 'diag', fisher: 'empirical', tau: 1, n: 20 };

beforeAll(async () => {
  await startBackend('wasm');
  model = buildMlp(3, 5, 2, 81);
  x = randomInputs([6, 3], 82);
  labels = randomLabels(6, 2, 83);
  laplace = await fitLaplace(model, tensorData(x, labels), fitOptions);
});

afterAll(() => {
  laplace?.dispose();
  x?.dispose();
  model?.dispose();
});

const bitsOf = (values: ArrayLike<number>) => Buffer.from(Float64Array.from(values).buffer).toString('hex');

describe('labels', () => {
  it.each([
    ['5 for a 2-class model', 5, /^Label 5 at index 2 is not a class of this model: labels must be whole numbers from 0 to 1/],
    ['−1', -1, /^Label -1 at index 2 is not a class/],
    ['0.84', 0.84, /^Label 0\.84 at index 2 is not a class/],
  ])('%s is refused with a LaplaceDataError', async (_, bad, message) => {
    const wrong = Array.from(labels);
    wrong[2] = bad;
    const error = await fitLaplace(model, tensorData(x, wrong), fitOptions).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LaplaceDataError);
    expect((error as Error).message).toMatch(message);
  });

  it('one-hot rows (arrays or a tensor) and a tensor of indices give the fit of the indices, bit for bit', async () => {
    const oneHot = Array.from(labels, (label) => [label === 0 ? 1 : 0, label === 1 ? 1 : 0]);
    const reference = laplace.posterior.curvature.diag!.map(bitsOf);
    const oneHotTensor = tf.tensor2d(oneHot);
    const indexTensor = tf.tensor1d(labels, 'int32');
    for (const given of [oneHot, oneHotTensor, indexTensor]) {
      const fitted = await fitLaplace(model, tensorData(x, given), fitOptions);
      expect(fitted.posterior.curvature.diag!.map(bitsOf)).toEqual(reference);
      fitted.dispose();
    }
    tf.dispose([oneHotTensor, indexTensor]);
  });

  it('a column of indices ([n, 1] tensor, rows of one: a binary model\'s labels, a dataset\'s ys of shape [1]) gives the fit of the indices, bit for bit', async () => {
    const reference = laplace.posterior.curvature.diag!.map(bitsOf);
    const column = tf.tensor2d(Array.from(labels), [labels.length, 1]);
    for (const given of [column, Array.from(labels, (label) => [label])]) {
      const fitted = await fitLaplace(model, tensorData(x, given), fitOptions);
      expect(fitted.posterior.curvature.diag!.map(bitsOf)).toEqual(reference);
      fitted.dispose();
    }
    // A column is checked like any indices: a 2 is not a class of a 2-class model.
    const wrong = tf.tensor2d([0, 1, 2, 0, 1, 0], [6, 1]);
    await expect(fitLaplace(model, tensorData(x, wrong), fitOptions)).rejects.toThrow(
      new LaplaceDataError('Label 2 at index 2 is not a class of this model: labels must be whole numbers from 0 to 1 (or one-hot rows of 2).'),
    );
    tf.dispose([column, wrong]);
  });

  it('a row that is not one-hot, labels of the wrong count and missing labels are one sentence each', async () => {
    expect(() => tensorData(x, [[1, 0], [0.5, 0.5], [0, 1], [1, 0], [1, 0], [0, 1]])).toThrow(new LaplaceDataError('One-hot label row 1 is not one 1 among 0s; pass one-hot rows or class indices.'));
    expect(() => tensorData(x, [0, 1])).toThrow(/^There are 6 inputs but 2 labels; pass one label per input\.$/);
    expect(() => tensorData(x, undefined as never)).toThrow(LaplaceDataError);
    await expect(fitLaplace(model, x as never, fitOptions)).rejects.toThrow(new LaplaceDataError('fitLaplace needs labels as well as inputs; pass tensorData(inputs, labels).'));
  });
});

describe('inputs', () => {
  it('inputs of the wrong width are refused in one sentence before tfjs sees them, in fit and predict', async () => {
    const wide = randomInputs([6, 4], 84);
    const message = 'The inputs have shape [n, 4], but the model takes [n, 3]; reshape them.';
    await expect(fitLaplace(model, tensorData(wide, labels), fitOptions)).rejects.toThrow(new LaplaceDataError(message));
    await expect(laplace.predict(wide)).rejects.toThrow(new LaplaceDataError(message));
    await expect(laplace.tune(tensorData(wide, labels), 'nll')).rejects.toThrow(new LaplaceDataError(message));
    wide.dispose();
  });

  it('predict takes a tensor or a tf.data.Dataset (batched or not, with or without labels) and gives the probabilities of LaplaceData', async () => {
    const expected = await laplace.predict(tensorData(x, labels));
    expect(expected.length).toBe(12);
    // The map predictive is the network itself: check it against tfjs-layers' own forward pass.
    expect(Array.from(await laplace.predict(x, { predictive: 'map' })).map((p) => p.toFixed(5))).toEqual(Array.from(probabilities(model, x)).map((p) => p.toFixed(5)));
    expect(bitsOf(await laplace.predict(x))).toBe(bitsOf(expected));
    const rows = tf.unstack(x);
    const datasets = [tfd.array(rows), tfd.array(rows).batch(4), tfd.zip({ xs: tfd.array(rows), ys: tfd.array(Array.from(labels)) }).batch(5)];
    for (const dataset of datasets) expect(bitsOf(await laplace.predict(dataset as never))).toBe(bitsOf(expected));
    tf.dispose(rows);
  });

  it('a CNN refuses images of the wrong size, channels or rank, naming both shapes', async () => {
    const cnn = buildCnnA(85);
    const images = randomInputs([4, 8, 8, 2], 86);
    const cnnLaplace = await fitLaplace(cnn, tensorData(images, [0, 1, 2, 0]), { curvature: 'diag', tau: 1 });
    for (const [shape, message] of [
      [[4, 8, 8, 3], 'The inputs have shape [n, 8, 8, 3], but the model takes [n, 8, 8, 2]; reshape them.'],
      [[4, 7, 8, 2], 'The inputs have shape [n, 7, 8, 2], but the model takes [n, 8, 8, 2]; reshape them.'],
      [[4, 128], 'The inputs have shape [n, 128], but the model takes [n, 8, 8, 2]; reshape them.'],
    ] as const) {
      const wrong = tf.zeros([...shape]);
      await expect(cnnLaplace.predict(wrong)).rejects.toThrow(new LaplaceDataError(message));
      await expect(fitLaplace(cnn, tensorData(wrong, [0, 1, 2, 0]), { curvature: 'diag', tau: 1 })).rejects.toThrow(new LaplaceDataError(message));
      wrong.dispose();
    }
    cnnLaplace.dispose();
    images.dispose();
    cnn.dispose();
  });

  it('anything else given to predict is refused in one sentence', async () => {
    await expect(laplace.predict([[1, 2, 3]] as never)).rejects.toThrow(
      new LaplaceDataError('predict takes LaplaceData (tensorData(inputs, labels) or imageData(set)), a tf.Tensor of inputs or a tf.data.Dataset, not an array.'),
    );
  });

  it('fitLaplace takes a tf.data.Dataset of { xs, ys } and gives the fit of the same LaplaceData', async () => {
    const rows = tf.unstack(x);
    const dataset = tfd.zip({ xs: tfd.array(rows), ys: tfd.array(Array.from(labels)) }).batch(4);
    const fitted = await fitLaplace(model, dataset as never, fitOptions);
    expect(fitted.posterior.curvature.diag!.map(bitsOf)).toEqual(laplace.posterior.curvature.diag!.map(bitsOf));
    fitted.dispose();
    tf.dispose(rows);
  });
});

describe('predict options', () => {
  it.each([
    [{ predictive: 'sampled', samples: 0 }, "The predictive's samples must be a whole number of at least 1, got 0."],
    [{ predictive: 'sampled', samples: 2.5 }, "The predictive's samples must be a whole number of at least 1, got 2.5."],
    [{ seed: -1 }, "The predictive's seed must be a whole number of at least 0, got -1."],
    // A batch of 0 examples would never reach the end of the data.
    [{ batchSize: 0 }, "The predictive's batchSize must be a whole number of at least 1, got 0."],
    [{ predictive: 'bayes' }, 'Unknown predictive "bayes"; choose one of glm, map, sampled, linearised, probit.'],
  ])('%j is a PosteriorError', async (options, message) => {
    const error = await laplace.predict(x, options as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PosteriorError);
    expect((error as Error).message).toBe(message);
  });
});

describe('fit options', () => {
  it.each([
    ['undefined', undefined, 'undefined'],
    ['a tensor', 'tensor', 'a tf.Tensor of shape [6, 3]'],
    ['a model artifacts object', { modelTopology: {}, weightSpecs: [] }, 'an object with keys modelTopology, weightSpecs'],
  ])('a model argument that is %s is an UnsupportedModelError', async (_, given, described) => {
    const value = given === 'tensor' ? x : given;
    const error = await fitLaplace(value as never, tensorData(x, labels), fitOptions).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnsupportedModelError);
    expect((error as Error).message).toMatch(/^fitLaplace takes a trained tfjs-layers model \(tf\.sequential, tf\.model or tf\.loadLayersModel\) first, not /);
    expect((error as Error).message).toContain(described);
  });

  it.each([
    [{ curvature: 'full-ish' }, 'Unknown curvature "full-ish"; choose one of diag, kfac, efb, last-layer, full, lowrank, inf, subnetwork.'],
    [{ curvature: 'diag', fisher: 'observed' }, 'Unknown Fisher type "observed"; choose one of mc, exact, empirical.'],
    [{ curvature: 'diag', mcSamples: 0 }, 'mcSamples must be a whole number of at least 1, got 0.'],
    [{ curvature: 'diag', fisher: 'exact', mcSamples: 2 }, 'mcSamples applies only to the mc Fisher, not exact; drop it.'],
    [{ curvature: 'diag', batchSize: 2.5 }, 'batchSize must be a whole number of at least 1, got 2.5.'],
    [{ curvature: 'diag', tau: -1 }, "τ must be a positive finite number, an array of them (one per layer or per parameter) or 'marglik', got -1."],
    [{ curvature: 'diag', n: 0 }, 'N must be a positive finite number, got 0.'],
    [{ curvature: 'kfac', kfacDamping: 'none' }, 'Unknown KFAC damping "none"; choose one of exact, per-factor.'],
  ])('%j is a PosteriorError', async (options, message) => {
    const error = await fitLaplace(model, tensorData(x, labels), options as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PosteriorError);
    expect((error as Error).message).toBe(message);
  });
});
