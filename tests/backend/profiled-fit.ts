/**
 * The child process of native-profiler.test.ts: an exact-Fisher diag and
 * last-layer fit of LeNet-5 (the study's architecture, seeded weights) on
 * seeded random images, on the backend LAPLACE_BACKEND names. Prints one JSON
 * line: the backend, the image count, and a SHA-256 of each fit's values, so
 * runs under and without the profiler can be compared byte for byte.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, imageData, Network } from '../../compute/laplace/index.ts';
import { initializeWeights } from '../../compute/models/train.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';
import { Random } from '../../compute/laplace/random.ts';

const count = Number(process.env.PROFILED_FIT_IMAGES ?? 500);
const backend = await startBackend();
const model = buildModel(getModelSpec('lenet5'));
initializeWeights(model, 7);
const network = new Network(model);
const weights = network.matricesFromModel(model);
const random = new Random(11);
const images = Float32Array.from({ length: count * 28 * 28 }, () => random.uniform());
const labels = Int32Array.from({ length: count }, () => random.integer(10));
const fit = await fitCurvature(network, weights, imageData({ count, height: 28, width: 28, images, labels }), { kinds: ['diag', 'last-layer'], fisher: 'exact' });
tf.dispose(weights);

const digest = (arrays: Float64Array[]) => {
  const hash = createHash('sha256');
  for (const values of arrays) hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return hash.digest('hex');
};
const diag = fit.diag ?? [];
const lastLayer = fit.lastLayer;
const finite = diag.every((values) => values.every(Number.isFinite)) && !!lastLayer && lastLayer.data.every(Number.isFinite);
console.log(JSON.stringify({ backend: backend.name, count: fit.count, finite, diag: digest(diag), lastLayer: lastLayer ? digest([lastLayer.data]) : null }));
