/**
 * Experiment "landscape": loss and accuracy of a trained network on a 1-D
 * line and a 2-D plane through W* along filter-normalised random directions
 * (Li et al. 2018), on a fixed test subset, with the likelihood exp(−loss)
 * and its least-squares 2-D Gaussian. Writes <data>/<model>/landscape.json.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonArtifact } from '../artifacts/json.ts';
import { landscapeArtifact } from '../artifacts/schemas.ts';
import { subset, type DatasetName } from '../data/index.ts';
import { imageData, Network } from '../laplace/index.ts';
import { fitGaussian2d, landscape1d, landscape2d, likelihoodFromLoss, linspace, randomDirection } from '../landscape/index.ts';
import { getProfile } from '../study.ts';
import type { TaskContext } from '../workers/protocol.ts';
import { trainedZooModel, type RunSettings } from './inputs.ts';

export interface LandscapeTaskParams {
  settings: RunSettings;
  dataset: DatasetName;
  model: string;
  outDir: string;
}

export async function landscapeTask(params: LandscapeTaskParams, context: TaskContext): Promise<void> {
  const { settings, dataset, model: modelName, outDir } = params;
  const profile = getProfile(settings.profile);
  const options = profile.landscape;
  const { trained, data } = await trainedZooModel(settings, dataset, modelName, context);
  const network = new Network(trained.model);
  const weights = network.matricesFromModel(trained.model);
  trained.model.dispose();
  try {
    const set = subset(data.test, Math.min(options.subset, data.test.count));
    const directionX = randomDirection(network, weights, options.seed);
    const directionY = randomDirection(network, weights, options.seed + 1);
    const axis1d = linspace(-options.range, options.range, options.points1d);
    const axis2d = linspace(-options.range, options.range, options.points2d);
    const total = axis1d.length + axis2d.length ** 2;
    const line = await landscape1d(network, weights, imageData(set), directionX, axis1d, { onProgress: (done) => context.progress(done, total, 'grid points') });
    const plane = await landscape2d(network, weights, imageData(set), directionX, directionY, axis2d, axis2d, {
      onProgress: (done) => context.progress(axis1d.length + done, total, 'grid points'),
    });
    const likelihood = likelihoodFromLoss(plane.loss);
    const fit = fitGaussian2d(plane.alphas, plane.betas, likelihood);
    writeJsonArtifact(
      join(outDir, dataset, modelName, 'landscape.json'),
      landscapeArtifact.parse({
        dataset,
        model: modelName,
        set: set.name,
        count: set.count,
        seed: options.seed,
        directions: 'filter-normalised Gaussian directions, bias entries zero (Li et al. 2018); loss = mean cross-entropy without weight decay',
        line: { alphas: line.alphas, loss: line.loss, accuracy: line.accuracy },
        plane: { alphas: plane.alphas, betas: plane.betas, layout: 'row-major, one row per beta', loss: plane.loss, accuracy: plane.accuracy, likelihood },
        gaussian: {
          amplitude: fit.amplitude,
          mean: fit.mean,
          covariance: fit.covariance,
          correlation: fit.correlation,
          surface: fit.surface,
          residual: fit.residual,
          converged: fit.converged,
        },
      }),
    );
  } finally {
    tf.dispose(weights);
  }
}
