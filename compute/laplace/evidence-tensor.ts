/**
 * The Laplace log marginal likelihood as a differentiable tfjs scalar of log τ (and, for a
 * regression, log σ), so that a tf optimizer can climb it during training: Immer et al. (2021)'s
 * online recipe refits the curvature every few epochs and takes some gradient steps on the
 * hyperparameters in between (examples/online-marglik.ts). It is evidence.ts's formula,
 *
 *   log p(D | W*)/T + Σ_l [ −½ Σ_i τ_i (W*_i − μ₀_i)² + ½ Σ_i log τ_i ] − ½ Σ_l Σ_k log(s·λ_k + τ_l),
 *
 * with s = N/(σ²·T) and λ_k the curvature spectrum of each perturbed layer's block in its own basis
 * (PosteriorStructure.curvatureSpectrum: diag's entries, kfac's λ_A,i·λ_G,j, efb's Λ, the
 * eigenvalues of last-layer's, full's and lowrank's Fisher), computed in float32 from float64
 * constants. log τ is a scalar tensor (one τ), one per parameter layer ([L], block-diagonal
 * structures), or one per perturbed parameter ([P], diag only, whose basis is the parameters' own).
 * The curvature and W* are constants: refit the posterior and call again as training moves them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PosteriorError, perturbedParameters, type Posterior } from './posterior.ts';

export interface EvidenceTensorOptions {
  /** log τ: a scalar tensor, one per parameter layer ([L]), or one per perturbed parameter ([P], diag only). */
  logTau: tf.Tensor;
  /** Regression only: log σ as a scalar tensor; default the posterior's σ, held fixed. */
  logSigma?: tf.Tensor;
  /** log p(D | W*) at the posterior's σ, when not from the fit's mean loss (it fixes σ: no logSigma with it). */
  logLikelihood?: number;
}

interface Constants {
  /** Per perturbed layer: its curvature spectrum as float32, and whether it is in the parameters' own basis. */
  spectra: { values: Float32Array; natural: boolean; zeros?: number }[];
  /** Per perturbed layer: (W* − μ₀)² entry by entry, as float32, and their float64 sum. */
  squares: Float32Array[];
  squaredNorms: number[];
}

/** What does not depend on τ or σ, made once per posterior: a training loop calls this at every step. */
const constants = new WeakMap<Posterior, Constants>();

function constantsOf(posterior: Posterior): Constants {
  let made = constants.get(posterior);
  if (made) return made;
  const spectra = posterior.perturbedLayers.map((layer) => {
    const spectrum = posterior.implementation.curvatureSpectrum!(posterior, layer);
    return { ...spectrum, values: Float32Array.from(spectrum.values) };
  });
  const squares: Float32Array[] = [];
  const squaredNorms: number[] = [];
  for (const layer of posterior.perturbedLayers) {
    const weights = posterior.mapWeights[layer].dataSync();
    const mean = posterior.priorMeanOf(layer);
    const values = Float64Array.from(weights, (value, i) => (value - (typeof mean === 'number' ? mean : mean[i])) ** 2);
    squares.push(Float32Array.from(values));
    squaredNorms.push(values.reduce((sum, value) => sum + value, 0));
  }
  made = { spectra, squares, squaredNorms };
  constants.set(posterior, made);
  return made;
}

/** The log marginal likelihood at (log τ, log σ) as a tf.Scalar whose gradients tf can take (see the top of this file). */
export function logMarginalLikelihoodTensor(posterior: Posterior, options: EvidenceTensorOptions): tf.Scalar {
  const { logTau, logSigma } = options;
  const structure = posterior.implementation;
  if (!structure.curvatureSpectrum) throw new PosteriorError(`The ${posterior.structure} posterior has no differentiable evidence; use diag, kfac, efb, last-layer, full or lowrank.`);
  const layers = posterior.perturbedLayers;
  const layerCount = posterior.network.layers.length;
  const { offsets, total } = perturbedParameters(posterior.network, layers);
  const rank = logTau.rank;
  const shape = rank === 0 ? 'scalar' : rank === 1 && logTau.shape[0] === layerCount ? 'layer' : rank === 1 && logTau.shape[0] === total ? 'parameter' : null;
  if (!shape) throw new PosteriorError(`log τ must be a scalar tensor, one value per parameter layer (${layerCount}) or one per perturbed parameter (${total}), got shape [${logTau.shape.join(', ')}].`);
  if (shape === 'layer' && structure.couplesLayers) throw new PosteriorError(`The ${posterior.structure} posterior couples the layers, so its differentiable evidence takes one τ; give log τ as a scalar.`);
  const regression = posterior.likelihood.kind === 'regression';
  if (logSigma && !regression) throw new PosteriorError(`σ is the noise of a regression's Gaussian likelihood; this posterior's likelihood is ${posterior.likelihood.kind}, so drop logSigma.`);
  if (logSigma && logSigma.rank !== 0) throw new PosteriorError(`log σ must be a scalar tensor, got shape [${logSigma.shape.join(', ')}].`);
  if (logSigma && options.logLikelihood !== undefined) throw new PosteriorError('A given logLikelihood holds σ fixed; give it or logSigma, not both.');
  const n = posterior.n;
  const temperature = posterior.temperature;
  const { spectra, squares, squaredNorms } = constantsOf(posterior);
  if (shape === 'parameter' && !spectra.every((spectrum) => spectrum.natural)) throw new PosteriorError(`A per-parameter τ leaves the ${posterior.structure} precision's log det without a closed form in τ, so its differentiable evidence takes one τ (or one per layer); use diag for a per-parameter τ.`);
  const meanLoss = posterior.curvature.meanLoss;
  if (options.logLikelihood === undefined && meanLoss === undefined) throw new PosteriorError('This fit did not record its mean loss at W*, so log p(D | W*) is unknown; refit the curvature or pass logLikelihood.');
  if (options.logLikelihood !== undefined && !Number.isFinite(options.logLikelihood)) throw new PosteriorError(`logLikelihood must be a finite number, got ${options.logLikelihood}.`);

  return tf.tidy(() => {
    // The data term and the curvature's scale s = N/(σ²T), as tensors of log σ where σ is free.
    let data: tf.Scalar;
    let scale: tf.Scalar;
    if (logSigma) {
      const outputs = posterior.likelihood.outputs;
      const inverseVariance = tf.exp(tf.mul(logSigma, -2));
      // −N·(D/2·log 2π + D·log σ) − N·meanLoss/(σ²T): the Gaussian's normaliser and its tempered loss.
      data = tf.sub(tf.scalar(-n * (outputs / 2) * Math.log(2 * Math.PI)), tf.add(tf.mul(logSigma, n * outputs), tf.mul(inverseVariance, (n * meanLoss!) / temperature))) as tf.Scalar;
      scale = tf.mul(inverseVariance, n / temperature) as tf.Scalar;
    } else {
      const sigma = posterior.sigma ?? 1;
      let value: number;
      if (options.logLikelihood !== undefined) value = options.logLikelihood;
      else {
        value = posterior.likelihood.logLikelihood(meanLoss!, n, sigma);
        const normaliser = posterior.likelihood.logLikelihood(0, n, sigma);
        if (temperature !== 1) value = normaliser + (value - normaliser) / temperature;
      }
      data = tf.scalar(value);
      scale = tf.scalar(posterior.dataScale);
    }
    const terms: tf.Scalar[] = [data];
    layers.forEach((layer, index) => {
      const spectrum = spectra[index];
      const count = squares[index].length;
      // This layer's log τ: the scalar, its entry, or its parameters' slice.
      const layerLogTau = shape === 'scalar' ? logTau : shape === 'layer' ? tf.reshape(tf.slice(logTau, [layer], [1]), []) : tf.slice(logTau, [offsets.get(layer)!], [count]);
      const tau = tf.exp(layerLogTau);
      if (shape === 'parameter') {
        terms.push(tf.sub(tf.mul(0.5, tf.sum(layerLogTau)), tf.mul(0.5, tf.sum(tf.mul(tau, tf.tensor1d(squares[index]))))) as tf.Scalar);
      } else {
        terms.push(tf.sub(tf.mul(0.5 * count, layerLogTau), tf.mul(0.5 * squaredNorms[index], tau)) as tf.Scalar);
      }
      if (spectrum.values.length > 0) {
        const shifted = tf.add(tf.mul(tf.tensor1d(spectrum.values), scale), tau);
        terms.push(tf.mul(-0.5, tf.sum(tf.log(shifted))) as tf.Scalar);
      }
      if (spectrum.zeros) terms.push(tf.mul(-0.5 * spectrum.zeros, layerLogTau) as tf.Scalar);
    });
    return tf.addN(terms) as tf.Scalar;
  });
}
