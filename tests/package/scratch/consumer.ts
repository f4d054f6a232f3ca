// Type-checked (not run) in the scratch project: the package's declarations resolve for a TypeScript user, in Node and browser flavours.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fitLaplace, loadLaplace, saveLaplace, tensorData, type FitLaplaceOptions, type LaplaceModel, type PredictOptions } from 'tfjs-laplace';
import { loadLaplaceFromUrl, type SearchOptions } from 'tfjs-laplace/browser';

export async function roundTrip(model: tfl.LayersModel, x: tf.Tensor, labels: Int32Array, path: string): Promise<Float32Array> {
  const options: FitLaplaceOptions = { curvature: 'last-layer', fisher: 'exact' };
  const laplace: LaplaceModel = await fitLaplace(model, tensorData(x, labels), options);
  await saveLaplace(laplace, path);
  const predict: PredictOptions = { predictive: 'glm', link: 'probit' };
  const search: SearchOptions = { gridSize: 5 };
  const { model: tuned } = await (await loadLaplace(path)).tune(tensorData(x, labels), 'nll', search);
  const remote = await loadLaplaceFromUrl(new URL('https://example.org/a.laplace'));
  remote.dispose();
  return tuned.predict(tensorData(x, labels), predict);
}
