/**
 * The study's three kinds of work, each timed on the running backend: a
 * training run, a curvature fit and a predictive. The backend comparison
 * (node ÷ wasm) and the thread comparison both run these, so they measure
 * the same things.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadDataset, subset, type ImageSet } from '../../compute/data/index.ts';
import { fitCurvature, imageData, Network, Posterior, predict } from '../../compute/laplace/index.ts';
import { initializeWeights, trainModel } from '../../compute/models/train.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';
import type { TaskFunction } from '../../compute/workers/protocol.ts';

export interface WorkTiming {
  task: string;
  model: string;
  /** Seconds of the timed part (after a warm-up). */
  seconds: number;
  /** What was done: images trained on, fitted or predicted (times samples for a predictive). */
  amount: number;
}

let mnist: { train: ImageSet; test: ImageSet } | null = null;
function data() {
  mnist ??= loadDataset('mnist');
  return mnist;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

/** A trained-for-a-moment network: a MAP that is not random, for the fit and the predictive. */
async function warmModel(name: string) {
  const spec = getModelSpec(name);
  const model = buildModel(spec);
  initializeWeights(model, 1);
  await trainModel(model, subset(data().train, spec.recipe.batchSize * 4), spec.recipe, 1, 1, name);
  return { spec, model };
}

/** `steps` Adam steps of batch 128 (after a two-step warm-up). */
export async function timeTraining(model: string, steps: number): Promise<WorkTiming> {
  const { spec, model: network } = await warmModel(model);
  const images = subset(data().train, spec.recipe.batchSize * steps);
  const seconds = await timed(() => trainModel(network, images, spec.recipe, 1, 2, model));
  network.dispose();
  tf.disposeVariables();
  return { task: 'train', model, seconds, amount: images.count };
}

/** A KFAC fit (Kronecker factors and the diagonal, mc Fisher) over `examples` training images. */
export async function timeCurvature(model: string, examples: number): Promise<WorkTiming> {
  const { model: keras } = await warmModel(model);
  const network = new Network(keras);
  const weights = network.matricesFromModel(keras);
  const fitSet = imageData(subset(data().train, examples));
  await fitCurvature(network, weights, imageData(subset(data().train, 256)), { kinds: ['kfac'] }); // warm-up
  const seconds = await timed(() => fitCurvature(network, weights, fitSet, { kinds: ['kfac'] }));
  tf.dispose(weights);
  keras.dispose();
  tf.disposeVariables();
  return { task: 'kfac fit', model, seconds, amount: examples };
}

/** The study's primary predictive: linearised, T samples from a KFAC posterior, on `images` test images. */
export async function timePredictive(model: string, images: number, samples = 30): Promise<WorkTiming> {
  const { model: keras } = await warmModel(model);
  const network = new Network(keras);
  const weights = network.matricesFromModel(keras);
  const fit = await fitCurvature(network, weights, imageData(subset(data().train, 512)), { kinds: ['kfac'] });
  const posterior = new Posterior(network, weights, fit, { structure: 'kfac', n: 55000, tau: 27.5, kfacDamping: 'exact' });
  const testSet = imageData(subset(data().test, images));
  await predict(posterior, imageData(subset(data().test, 64)), { predictive: 'linearised', samples: 2 }); // warm-up
  const seconds = await timed(() => predict(posterior, testSet, { predictive: 'linearised', samples }));
  tf.dispose(weights);
  keras.dispose();
  tf.disposeVariables();
  return { task: 'predictive', model, seconds, amount: images * samples };
}

export interface WorkItem {
  kind: 'train' | 'kfac fit' | 'predictive';
  model: string;
  /** Steps for training, images for a fit or a predictive. */
  size: number;
}

export function runWork(item: WorkItem): Promise<WorkTiming> {
  switch (item.kind) {
    case 'train':
      return timeTraining(item.model, item.size);
    case 'kfac fit':
      return timeCurvature(item.model, item.size);
    case 'predictive':
      return timePredictive(item.model, item.size);
  }
}

/** The same work as pool tasks, for the worker threads of the thread comparison. */
export const workTasks: Record<string, TaskFunction> = {
  work: (async (item: WorkItem) => runWork(item)) as TaskFunction,
};
