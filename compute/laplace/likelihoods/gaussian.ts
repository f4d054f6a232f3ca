/**
 * Regression with a Gaussian likelihood y ~ N(f, σ²·I) on D linear outputs. The curvature is fitted
 * at σ = 1 (output Hessian I; exact vectors e_c, mc vectors z ~ N(0, I)) and the posterior scales it
 * by 1/σ² (Posterior.dataScale = N/σ²), so σ can be given, changed or tuned by the marginal
 * likelihood without refitting; the fit's mean loss is ½‖y − f‖², from which
 * log p(D | W*) = −N·(D/2·log(2πσ²) + meanLoss/σ²). Predictions are the means f; the GLM predictive's
 * variance (functional variance + σ²) comes from predictRegression (predictive.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PosteriorError } from '../errors.ts';
import type { Likelihood } from './likelihood.ts';

export function gaussianLikelihood(outputs: number): Likelihood {
  return {
    kind: 'regression',
    name: 'gaussian',
    outputs,
    predictionWidth: outputs,
    exactVectors: outputs,
    targets: (values, start, end) => Float32Array.from({ length: (end - start) * outputs }, (_, i) => values[start * outputs + i]),
    mean: (f) => f,
    lossSum: (f, targets) => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(f, tf.tensor2d(Float32Array.from(targets), f.shape))))) as tf.Scalar),
    backpropVectors(f, targets, fisher, mcSamples, random) {
      const batch = f.shape[0];
      if (fisher === 'empirical') throw new PosteriorError('The empirical Fisher is for classification only (a Gaussian\'s would scale as 1/σ⁴, not 1/σ²); use the mc or exact Fisher for regression.');
      // One unit vector per output; tf.oneHot refuses depth 1, so one output's is a column of ones.
      if (fisher === 'exact') return Array.from({ length: outputs }, (_, c) => tf.tidy(() => (outputs === 1 ? tf.ones([batch, 1]) : tf.cast(tf.oneHot(tf.fill([batch], c, 'int32') as tf.Tensor1D, outputs), 'float32')) as tf.Tensor2D));
      return Array.from({ length: mcSamples }, () => tf.tidy(() => tf.div(tf.tensor2d(random.normals(batch * outputs), [batch, outputs]), Math.sqrt(mcSamples)) as tf.Tensor2D));
    },
    outputHessian: (f) => tf.tidy(() => tf.tile(tf.reshape(tf.eye(outputs), [1, outputs * outputs]), [f.shape[0], 1]) as tf.Tensor2D),
    predict: (f) => f,
    probit: (mean) => tf.clone(mean),
    monteCarlo: (mean) => tf.clone(mean),
    probitFromStatistics() {
      throw new PosteriorError('The probit link is for classification; a regression posterior predicts means and variances (predictRegression).');
    },
    logLikelihood: (meanLoss, n, sigma) => -n * ((outputs / 2) * Math.log(2 * Math.PI * sigma * sigma) + meanLoss / (sigma * sigma)),
  };
}
