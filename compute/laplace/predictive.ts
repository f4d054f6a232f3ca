/**
 * Predictive distributions of a Laplace posterior.
 *  - map: softmax of the network at W* (the deterministic network);
 *  - sampled: 1/T Σ softmax(f(x, W_t)), the original's "sample the network";
 *  - linearised: 1/T Σ softmax(f(x, W*) + J(x) δ_t), the GLM predictive;
 *    J δ by central differences (f(W* + hδ) − f(W* − hδ)) / 2h, with h set so
 *    that hδ is 1e-3 of W* in root-mean-square: ReLU networks are piecewise
 *    polynomial in W, so the error is O(h²) and far below float32 noise in p.
 *    `difference: 'forward'` uses (f(W* + hδ) − f(W*)) / h instead, with hδ
 *    3e-4 of W*: one forward pass per sample instead of two, at an O(h) error
 *    that stays far below the Monte Carlo error of T samples;
 *  - glm (the default): the same linearised network in closed form, f ~ N(f(x, W*), J Σ Jᵀ)
 *    from functional.ts, then a link (links.ts): probit (default), mc or the Laplace bridge (bridge.ts); no weight
 *    samples and no finite differences;
 *  - probit: last-layer only, no sampling: softmax(μ / √(1 + π/8 · σ²)) with
 *    the logits' mean μ = f(x, W*) and variances σ² from the last layer's
 *    posterior covariance (MacKay 1992; Kristiadi et al. 2020).
 * The weight samples are drawn once per call from `seed`, so every input sees
 * the same samples and a prediction is a deterministic function of the seed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LaplaceData } from './data.ts';
import { disposeJacobianBatch, forEachJacobianBatch, FunctionalCovariance, glmBatchSize, jacobianBatch, type JacobianBatch } from './functional.ts';
import type { Likelihood } from './likelihoods/index.ts';
import { defaultLinkSamples, glmLinks, linkDraws, type GlmLink } from './links.ts';
import type { LayerMatrix, Network } from './network.ts';
import { Posterior, PosteriorError } from './posterior.ts';
import { StackedSamples, stackedPlan } from './stacked.ts';
import { lastLayerEigen } from './structures/index.ts';
import { denseDampedEigen } from './structures/parameter-prior.ts';
import { yieldToEventLoop } from './yield.ts';

export const predictiveTypes = ['glm', 'map', 'sampled', 'linearised', 'probit'] as const;
export type PredictiveType = (typeof predictiveTypes)[number];

export interface PredictOptions {
  predictive?: PredictiveType;
  /** The GLM predictive's link from Gaussian logits to probabilities (default probit). */
  link?: GlmLink;
  /** Weight samples T for sampled and linearised (default 30); draws of the logit Gaussian for glm with the mc link (default 1,000); ignored otherwise. */
  samples?: number;
  /** How the linearised predictive takes J δ: central differences (two passes per sample) or forward ones (one). */
  difference?: FiniteDifference;
  seed?: number;
  batchSize?: number;
  /**
   * Sampled predictive: weight samples run together in one wider forward pass (stacked.ts), the same
   * numbers as one at a time; default as many as keep each layer's activations under about 64 MB
   * (measured on LeNet-5, batch 500: 9 samples a pass take 0.45x the CPU time of one at a time, 30
   * no less, as the wider tensors fall out of cache; the wasm heap is bounded too). 1 runs them one at a time.
   */
  samplesPerPass?: number;
  onProgress?: (done: number, total: number) => void;
}

export const defaultSamples = 30;
export const finiteDifferences = ['central', 'forward'] as const;
export type FiniteDifference = (typeof finiteDifferences)[number];
// Size of hδ relative to W*: the O(h²) central error allows a larger step, which keeps float32 rounding small;
// the forward difference's O(h) error wants a smaller one, near √ε of float32.
const differenceScale: Record<FiniteDifference, number> = { central: 1e-3, forward: 3e-4 };

function rms(tensors: tf.Tensor[]): number {
  return tf.tidy(() => {
    const total = tensors.reduce((sum, t) => sum + t.size, 0);
    const squares = tf.addN(tensors.map((t) => tf.sum(tf.square(t))));
    return Math.sqrt(squares.dataSync()[0] / total);
  });
}

/** A predictive with its weight samples drawn: every data set it predicts sees the same samples. */
export interface PreparedPredictive {
  /** Class probabilities, [count × classes] row-major. */
  predict(data: LaplaceData, onProgress?: (done: number, total: number) => void): Promise<Float32Array>;
  dispose(): void;
}

/** Class probabilities, [count × classes] row-major. */
export async function predict(posterior: Posterior, data: LaplaceData, options: PredictOptions = {}): Promise<Float32Array> {
  const prepared = preparePredictive(posterior, options);
  try {
    return await prepared.predict(data, options.onProgress);
  } finally {
    prepared.dispose();
  }
}

/**
 * Draw the weight samples once for predicting several data sets: the same
 * probabilities as `predict` on each, without redrawing the samples per set
 * (for KFAC on an MLP, drawing 30 samples costs about half of predicting 1,000 images).
 */
export function preparePredictive(posterior: Posterior, options: Omit<PredictOptions, 'onProgress'> = {}): PreparedPredictive {
  const predictive = options.predictive ?? 'glm';
  const link = options.link ?? 'probit';
  const samples = options.samples ?? (predictive === 'glm' ? defaultLinkSamples : defaultSamples);
  const seed = options.seed ?? 0;
  // The GLM pass differentiates a batch replicated once per class, so its batches are smaller.
  const batchSize = options.batchSize ?? (predictive === 'glm' ? glmBatchSize : 500);
  if (!(glmLinks as readonly string[]).includes(link)) throw new PosteriorError(`Unknown link "${link}"; choose one of ${glmLinks.join(', ')}.`);
  // A batch size of 0 would never finish, and 0 samples would average nothing.
  for (const [name, value, least] of [['samples', samples, 1], ['seed', seed, 0], ['batchSize', batchSize, 1]] as const) {
    if (!(Number.isSafeInteger(value) && value >= least)) throw new PosteriorError(`The predictive's ${name} must be a whole number of at least ${least}, got ${String(value)}.`);
  }
  const difference = options.difference ?? 'central';
  if (!(finiteDifferences as readonly string[]).includes(difference)) {
    throw new PosteriorError(`Unknown finite difference "${difference}"; choose one of ${finiteDifferences.join(', ')}.`);
  }
  if (!(predictiveTypes as readonly string[]).includes(predictive)) {
    throw new PosteriorError(`Unknown predictive "${predictive}"; choose one of ${predictiveTypes.join(', ')}.`);
  }
  if (predictive === 'probit' && posterior.structure !== 'last-layer') {
    throw new PosteriorError(`The probit predictive needs the last-layer posterior, not ${posterior.structure}; use sampled or linearised.`);
  }
  // Fix (tests/laplace/errors.test.ts): probit's J = ā ⊗ I holds for a dense last layer only; a
  // convolutional one failed deep inside tfjs ("Error in concat4D").
  const lastSpec = posterior.network.layers[posterior.network.layers.length - 1];
  if (predictive === 'probit' && lastSpec.kind !== 'dense') {
    throw new PosteriorError(`The probit predictive needs a Dense last layer, but ${lastSpec.name} is a Conv2D; use sampled or linearised.`);
  }
  const network = posterior.network;
  const likelihood = posterior.likelihood;
  const width = likelihood.predictionWidth;
  if (predictive === 'glm') checkLink(link, likelihood);

  // Weight sets to run per batch, and how to combine their logits.
  let weightSets: LayerMatrix[][] = [];
  let owned: tf.Tensor[] = [];
  let step = 1;
  let stacked: StackedSamples | null = null;
  if (predictive === 'sampled') {
    const deviations = posterior.sampleDeviations(samples, seed);
    weightSets = deviations.map((perLayer) => posterior.shiftedWeights(perLayer, 1));
    owned = [...deviations.flat(), ...weightSets.flat().filter((w) => !posterior.mapWeights.includes(w))];
    const plan = stackedPlan(network, Math.min(...posterior.perturbedLayers));
    const perPass = options.samplesPerPass ?? defaultSamplesPerPass(network, batchSize);
    if (!(Number.isInteger(perPass) && perPass >= 1)) throw new PosteriorError(`samplesPerPass must be a positive integer, got ${perPass}.`);
    if (plan && perPass > 1) {
      stacked = new StackedSamples(network, plan, weightSets, perPass);
      // The stacked copies are all a pass needs; free the per-sample ones now.
      tf.dispose(owned);
      owned = [];
      weightSets = [];
    }
  } else if (predictive === 'linearised') {
    const deviations = posterior.sampleDeviations(samples, seed);
    const perturbed = posterior.perturbedLayers.map((layer) => posterior.mapWeights[layer]);
    step = (differenceScale[difference] * rms(perturbed)) / Math.max(rms(deviations.flat()), 1e-30);
    for (const perLayer of deviations) {
      weightSets.push(posterior.shiftedWeights(perLayer, step));
      if (difference === 'central') weightSets.push(posterior.shiftedWeights(perLayer, -step));
    }
    owned = [...deviations.flat(), ...weightSets.flat().filter((w) => !posterior.mapWeights.includes(w))];
  }
  const probit = predictive === 'probit' ? probitHelper(posterior) : null;
  const functional = predictive === 'glm' ? new FunctionalCovariance(posterior) : null;
  const draws = predictive === 'glm' && link === 'mc' ? linkDraws(samples, network.classes, seed) : null;
  const glmLayers = functional ? functional.layers.map((basis) => basis.layer) : [];
  // Layers before the first perturbed one are at W* in every sample: run them once per batch.
  const { head, tail } = network.splitAt(Math.min(...posterior.perturbedLayers));

  // Called inside the batch's tidy, which frees the inputs and every intermediate.
  const predictBatch = (x: tf.Tensor): tf.Tensor => {
    if (predictive === 'map') return likelihood.predict(network.forward(x, posterior.mapWeights));
    if (predictive === 'probit') return probit!.predict(x);
    if (functional) {
      const batch = jacobianBatch(network, posterior.mapWeights, x, glmLayers);
      try {
        return glmProbabilities(likelihood, link, batch, functional, draws);
      } finally {
        disposeJacobianBatch(batch);
      }
    }
    const h = head(x, posterior.mapWeights);
    if (stacked) {
      // Each group's activations freed before the next group's; every sample's probabilities summed
      // in sample order by one addN, as below, so the average is the same to the bit.
      const probabilities = stacked.groupSizes.flatMap((_, group) => tf.tidy(() => stacked!.groupLogits(group, h).map((logits) => likelihood.predict(logits))));
      return tf.div(tf.addN(probabilities), probabilities.length);
    }
    // Each sample's forward pass in its own tidy: one batch's activations for all T samples
    // at once overflowed the wasm heap on the CNNs ("memory access out of bounds").
    if (predictive === 'sampled') {
      return tf.div(tf.addN(weightSets.map((weights) => tf.tidy(() => likelihood.predict(tail(h, weights))))), weightSets.length);
    }
    const mean = tail(h, posterior.mapWeights);
    const terms: tf.Tensor[] = [];
    const perSample = difference === 'central' ? 2 : 1;
    for (let t = 0; t < weightSets.length; t += perSample) {
      terms.push(
        tf.tidy(() => {
          const jvp =
            difference === 'central'
              ? tf.div(tf.sub(tail(h, weightSets[t]), tail(h, weightSets[t + 1])), 2 * step)
              : tf.div(tf.sub(tail(h, weightSets[t]), mean), step);
          return likelihood.predict(tf.add(mean, jvp) as tf.Tensor2D);
        }),
      );
    }
    return tf.div(tf.addN(terms), terms.length);
  };

  let disposed = false;
  return {
    async predict(data, onProgress) {
      if (disposed) throw new PosteriorError('This prepared predictive has been disposed; prepare another.');
      const out = new Float32Array(data.count * width);
      for (let start = 0; start < data.count; start += batchSize) {
        const end = Math.min(data.count, start + batchSize);
        const probabilities = tf.tidy(() => predictBatch(data.inputs(start, end)));
        out.set(await probabilities.data<'float32'>(), start * width);
        probabilities.dispose();
        onProgress?.(end, data.count);
        await yieldToEventLoop();
      }
      return out;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose(owned);
      stacked?.dispose();
      probit?.dispose();
      functional?.dispose();
      draws?.dispose();
    },
  };
}

/** The links a likelihood offers: the Laplace bridge needs a softmax over K ≥ 2 logits. */
function checkLink(link: GlmLink, likelihood: Likelihood): void {
  if (link === 'bridge' && !likelihood.bridge) throw new PosteriorError(`The Laplace bridge link needs a softmax over several classes, but this model's output is ${likelihood.name === 'sigmoid' ? 'one sigmoid unit' : 'a regression'}; use the probit or mc link.`);
}

/** The GLM predictive of one batch through the link: probit and bridge need the logit variances, mc the covariances. */
function glmProbabilities(likelihood: Likelihood, link: GlmLink, batch: JacobianBatch, functional: FunctionalCovariance, draws: tf.Tensor2D | null): tf.Tensor2D {
  if (link === 'mc') return likelihood.monteCarlo(batch.logits, functional.covariance(batch), draws!);
  if (link === 'bridge') return likelihood.bridge!(batch.logits, functional.variancesOf(batch));
  return likelihood.probit(batch.logits, functional.variancesOf(batch));
}

/** A regression's predictive: per input and output, the mean and the variance. */
export interface RegressionPrediction {
  /** f(x, W*), [count × outputs] row-major. */
  mean: Float32Array;
  /** The GLM predictive's variance, diag(J Σ Jᵀ) + σ², [count × outputs] row-major. */
  variance: Float32Array;
}

/**
 * The GLM predictive of a regression posterior (Gaussian likelihood): the linearised network's
 * outputs are N(f(x, W*), J Σ Jᵀ), and an observation adds the noise σ², so the predictive is
 * Gaussian with mean f(x, W*) and variance diag(J Σ Jᵀ) + σ² per output (functional.ts's variances).
 */
export async function predictRegression(
  posterior: Posterior,
  data: LaplaceData,
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<RegressionPrediction> {
  const sigma = posterior.sigma;
  if (sigma === undefined) throw new PosteriorError(`predictRegression is for a regression posterior; this one's likelihood is ${posterior.likelihood.kind}, so use predict.`);
  const outputs = posterior.likelihood.outputs;
  const mean = new Float32Array(data.count * outputs);
  const variance = new Float32Array(data.count * outputs);
  const functional = new FunctionalCovariance(posterior);
  try {
    await forEachJacobianBatch(
      posterior.network,
      posterior.mapWeights,
      data,
      [functional],
      options.batchSize ?? glmBatchSize,
      async (batch, start) => {
        mean.set(await batch.logits.data<'float32'>(), start * outputs);
        const variances = tf.tidy(() => tf.add(functional.variancesOf(batch), sigma * sigma));
        variance.set(await variances.data<'float32'>(), start * outputs);
        variances.dispose();
      },
      options.onProgress,
    );
  } finally {
    functional.dispose();
  }
  return { mean, variance };
}

/** Floats of one layer's activations for a whole pass of stacked samples: about 64 MB. */
const stackedActivationBudget = 2 ** 24;

/** Samples per stacked pass that keep the widest layer's activations of a batch within the budget. */
function defaultSamplesPerPass(network: Network, batchSize: number): number {
  const widest = Math.max(...network.preActivationShapes(1).map((shape) => shape.reduce((a, b) => a * b, 1)));
  return Math.max(1, Math.floor(stackedActivationBudget / (widest * batchSize)));
}

/**
 * The GLM predictive of several posteriors fitted on the same network and MAP
 * weights (say diag, kfac, efb and last-layer), on one pass of Jacobian
 * statistics: about the cost of one. Each result equals `predict` with
 * predictive 'glm' and the same link, samples and seed.
 */
export async function predictGlmTogether(
  posteriors: Posterior[],
  data: LaplaceData,
  options: { link?: GlmLink; samples?: number; seed?: number; batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Float32Array[]> {
  if (posteriors.length === 0) return [];
  const [first] = posteriors;
  if (posteriors.some((posterior) => posterior.network !== first.network || posterior.mapWeights !== first.mapWeights)) {
    throw new PosteriorError('predictGlmTogether needs posteriors on the same network and MAP weights (made with withHyperparameters or from one fit); predict the others separately.');
  }
  const link = options.link ?? 'probit';
  if (!(glmLinks as readonly string[]).includes(link)) throw new PosteriorError(`Unknown link "${link}"; choose one of ${glmLinks.join(', ')}.`);
  const likelihood = first.likelihood;
  checkLink(link, likelihood);
  const width = likelihood.predictionWidth;
  const covariances = posteriors.map((posterior) => new FunctionalCovariance(posterior));
  const draws = link === 'mc' ? linkDraws(options.samples ?? defaultLinkSamples, first.network.classes, options.seed ?? 0) : null;
  const outputs = posteriors.map(() => new Float32Array(data.count * width));
  try {
    await forEachJacobianBatch(
      first.network,
      first.mapWeights,
      data,
      covariances,
      options.batchSize ?? glmBatchSize,
      async (batch, start) => {
        for (const [index, covariance] of covariances.entries()) {
          const probabilities = tf.tidy(() => glmProbabilities(likelihood, link, batch, covariance, draws));
          outputs[index].set(await probabilities.data<'float32'>(), start * width);
          probabilities.dispose();
        }
      },
      options.onProgress,
    );
  } finally {
    covariances.forEach((covariance) => covariance.dispose());
    draws?.dispose();
  }
  return outputs;
}

/**
 * Logit variances under the last-layer posterior. With the last layer's
 * W̄ [d_in, C] flattened row-major, f_c = ā · W̄[:, c], so J = ā ⊗ I_C and
 * Var f_c = Σ_k (Σ_j ā_j Q[(j, c), k])² / (N λ_k + τ) for F = Q diag(λ) Qᵀ.
 */
function probitHelper(posterior: Posterior): { predict(x: tf.Tensor): tf.Tensor2D; dispose(): void } {
  const network = posterior.network;
  const last = network.layers.length - 1;
  const spec = network.layers[last];
  // A per-parameter τ: the eigenbasis of the precision N·F + diag(τ) itself, its eigenvalues h in place of N·λ + τ.
  const damped = posterior.hasParameterTau ? denseDampedEigen(posterior, posterior.curvature.lastLayer!, posterior.dataScale, 'Last-layer precision') : null;
  const eigen = damped ?? lastLayerEigen(posterior);
  const d = eigen.values.length;
  const rows = spec.fanIn + (spec.hasBias ? 1 : 0);
  const classes = spec.fanOut;
  const q = tf.tensor2d(Float32Array.from(eigen.vectors.data), [rows, classes * d]);
  const inverseScale = tf.tensor1d(Float32Array.from(eigen.values, (value) => (damped ? 1 / value : 1 / (posterior.dataScale * Math.max(value, 0) + posterior.tauOf(last)))));
  return {
    predict: (x) =>
      tf.tidy(() => {
        const inputs: tf.Tensor[] = [];
        const mean = network.forward(x, posterior.mapWeights, { inputs });
        let a = inputs[last] as tf.Tensor2D;
        if (spec.hasBias) a = tf.concat([a, tf.ones([a.shape[0], 1])], 1);
        const projected = tf.reshape(tf.matMul(a, q), [a.shape[0], classes, d]);
        const variances = tf.sum(tf.mul(tf.square(projected), inverseScale), 2) as tf.Tensor2D;
        return posterior.likelihood.probit(mean, variances);
      }),
    dispose: () => tf.dispose([q, inverseScale]),
  };
}
