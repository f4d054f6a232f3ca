/**
 * Experiment "landscape": loss and accuracy of a trained network on a 1-D
 * line and a 2-D plane through W* along filter-normalised random directions
 * (Li et al. 2018), on a fixed subset of the images the network was trained
 * on (W* is the optimum of the training objective, so that is where the
 * surface has its minimum; a test subset would show a peak off W*); and, on a second plane zoomed to
 * ±`likelihoodSigmas` Laplace standard deviations, the likelihood
 * exp(−(S − S(W*))) of the subset (S the summed cross-entropy) beside the
 * Laplace Gaussian from the exact Gauss–Newton curvature of S at W*
 * projected on the plane, its KFAC counterpart (R² only), the whole Hessian
 * of S on the plane by second differences (to show what the Gauss–Newton
 * part leaves out) and the least-squares Gaussian fitted to the likelihood.
 * Writes
 * <data>/<model>/landscape.json.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonArtifact } from '../artifacts/json.ts';
import { landscapeArtifact } from '../artifacts/schemas.ts';
import { subset, type DatasetName } from '../data/index.ts';
import { fitCurvature, imageData, Network } from '../laplace/index.ts';
import {
  covarianceOf,
  fitGaussian2d,
  kfacPlaneCurvature,
  landscape1d,
  landscape2d,
  laplaceGaussian,
  laplaceHalfWidths,
  likelihoodPlane,
  linspace,
  planeCurvature,
  planeHessian,
  randomDirection,
  surfaceResidual,
  type SquareRows,
} from '../landscape/index.ts';
import { getProfile } from '../study.ts';
import type { TaskContext } from '../workers/protocol.ts';
import { trainedZooModel, type RunSettings } from './inputs.ts';

export interface LandscapeTaskParams {
  settings: RunSettings;
  dataset: DatasetName;
  model: string;
  outDir: string;
}

/** Standard deviations and correlation of the Gaussian with this 2 × 2 precision. */
function shape(precision: SquareRows) {
  const covariance = covarianceOf(precision);
  const standardDeviations: [number, number] = [Math.sqrt(covariance[0][0]), Math.sqrt(covariance[1][1])];
  return { covariance, standardDeviations, correlation: covariance[0][1] / (standardDeviations[0] * standardDeviations[1]) };
}

const asMatrix2 = (rows: SquareRows): [[number, number], [number, number]] => [
  [rows[0][0], rows[0][1]],
  [rows[1][0], rows[1][1]],
];

export async function landscapeTask(params: LandscapeTaskParams, context: TaskContext): Promise<void> {
  const { settings, dataset, model: modelName, outDir } = params;
  const profile = getProfile(settings.profile);
  const options = profile.landscape;
  const { trained, train } = await trainedZooModel(settings, dataset, modelName, context);
  const network = new Network(trained.model);
  const weights = network.matricesFromModel(trained.model);
  trained.model.dispose();
  try {
    // The first k of the images it was trained on (validation images excluded), as the test subset before was the first k:
    // the files are not ordered by class, and the profile's own training cut is a first-k too, so these stay inside it.
    const set = subset(train, Math.min(options.subset, train.count));
    const images = imageData(set);
    const directionX = randomDirection(network, weights, options.seed);
    const directionY = randomDirection(network, weights, options.seed + 1);
    const axis1d = linspace(-options.range, options.range, options.points1d);
    const axis2d = linspace(-options.range, options.range, options.points2d);
    const total = axis1d.length + axis2d.length ** 2;
    const line = await landscape1d(network, weights, images, directionX, axis1d, { onProgress: (done) => context.progress(done, total, 'grid points') });
    const plane = await landscape2d(network, weights, images, directionX, directionY, axis2d, axis2d, {
      onProgress: (done) => context.progress(axis1d.length + done, total, 'grid points'),
    });

    // Figure 2: the curvature first, since it sets the zoomed plane's extent.
    const curvature = await planeCurvature(network, weights, images, [directionX, directionY], { onProgress: (done, all) => context.progress(done, all, 'images (Gauss–Newton)') });
    const precision = asMatrix2(curvature.gaussNewton);
    const kfacFit = await fitCurvature(network, weights, images, { kinds: ['kfac'], fisher: 'exact', onProgress: (done, all) => context.progress(done, all, 'images (KFAC)') });
    const kfacPrecision = asMatrix2(kfacPlaneCurvature(network, kfacFit.kfac!, kfacFit.count, [directionX, directionY]));
    const range = laplaceHalfWidths(precision, options.likelihoodSigmas);
    const alphas = linspace(-range[0], range[0], options.likelihoodPoints);
    const betas = linspace(-range[1], range[1], options.likelihoodPoints);
    const likelihood = await likelihoodPlane(network, weights, images, directionX, directionY, alphas, betas, {
      onProgress: (done, all) => context.progress(done, all, 'grid points (likelihood)'),
    });
    // The whole curvature of S on the plane, to set beside the Gauss–Newton part: steps of a quarter Laplace σ.
    const hessian = await planeHessian(network, weights, images, directionX, directionY, [range[0] / (4 * options.likelihoodSigmas), range[1] / (4 * options.likelihoodSigmas)]);
    const laplaceValues = laplaceGaussian(precision, alphas, betas);
    const kfacValues = laplaceGaussian(kfacPrecision, alphas, betas);
    const fit = fitGaussian2d(alphas, betas, likelihood.values);
    const top = likelihood.values.reduce((best, value, k) => (value > likelihood.values[best] ? k : best), 0);
    const kfacShape = shape(kfacPrecision);

    writeJsonArtifact(
      join(outDir, dataset, modelName, 'landscape.json'),
      landscapeArtifact.parse({
        dataset,
        model: modelName,
        set: set.name,
        split: 'train',
        count: set.count,
        seed: options.seed,
        directions: 'filter-normalised Gaussian directions, bias entries zero (Li et al. 2018); loss = mean cross-entropy without weight decay over a fixed subset of the training images, where W* is the optimum',
        line: { alphas: line.alphas, loss: line.loss, accuracy: line.accuracy },
        plane: { alphas: plane.alphas, betas: plane.betas, layout: 'row-major, one row per beta', loss: plane.loss, accuracy: plane.accuracy },
        likelihood: {
          definition: 'exp(-(S - S(W*))), S = sum of the cross-entropies over the training subset (no weight decay), on the plane of the same two directions',
          sigmas: options.likelihoodSigmas,
          range,
          alphas,
          betas,
          layout: 'row-major, one row per beta',
          lossSum: likelihood.lossSum,
          gradient: curvature.gradient,
          deltaLoss: likelihood.deltaLoss,
          values: likelihood.values,
          peak: { value: likelihood.values[top], alpha: alphas[top % alphas.length], beta: betas[Math.floor(top / alphas.length)] },
          hessian: { step: hessian.step, matrix: hessian.matrix },
          laplace: {
            curvature: 'exact Gauss-Newton (= exact Fisher for softmax) of S at W* over the training subset, projected: D^T H D; its slice through the plane, no prior',
            precision,
            ...shape(precision),
            values: laplaceValues,
            residual: surfaceResidual(laplaceValues, likelihood.values),
          },
          kfac: {
            curvature: 'KFAC n * blockdiag(A (x) G) of the exact Fisher over the training subset, projected: D^T H D',
            precision: kfacPrecision,
            standardDeviations: kfacShape.standardDeviations,
            correlation: kfacShape.correlation,
            residual: surfaceResidual(kfacValues, likelihood.values),
          },
          fit: {
            amplitude: fit.amplitude,
            mean: fit.mean,
            covariance: fit.covariance,
            standardDeviations: fit.standardDeviations,
            correlation: fit.correlation,
            values: fit.surface,
            residual: fit.residual,
            converged: fit.converged,
          },
        },
      }),
    );
  } finally {
    tf.dispose(weights);
  }
}
