/**
 * Online marginal-likelihood tuning of the prior precision during training (Immer et al. 2021,
 * "Scalable marginal likelihood estimation for model selection in deep learning", Algorithm 1),
 * on a tiny synthetic problem: three Gaussian blobs in the plane, a 2-16-3 tanh MLP.
 *
 *  - the network trains on the negative log joint over N, mean cross-entropy + Σ_l τ_l ‖θ_l‖²/(2N),
 *    so its weight decay is the prior whose τ_l the evidence tunes;
 *  - every `every` epochs it refits the Laplace curvature at the current weights (fitLaplace with
 *    the current τ) and takes `steps` Adam steps of gradient ascent on log τ_l, one per layer,
 *    through logMarginalLikelihoodTensor: the evidence as a tf.Scalar of a tf.Variable.
 *
 * Run it: npx tsx compute/laplace/examples/online-marglik.ts (prints τ and the evidence as they
 * move). tests/laplace/online-marglik.test.ts runs a short version and checks each ascent against
 * the evidence's own optimum.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fitLaplace, logMarginalLikelihood, logMarginalLikelihoodTensor, tensorData, type CurvatureKind, type LaplaceModel } from '../browser.ts';

export interface OnlineOptions {
  /** Training examples (default 150). */
  examples?: number;
  epochs?: number;
  /** Epochs between evidence updates (default 10), the first after `every` epochs. */
  every?: number;
  /** Adam steps on log τ per update (default 30). */
  steps?: number;
  /** Learning rate of the steps on log τ (default 0.1). */
  hyperLearningRate?: number;
  curvature?: CurvatureKind;
  seed?: number;
  /** Called after each update. */
  onUpdate?: (update: OnlineUpdate) => void;
}

export interface OnlineUpdate {
  epoch: number;
  /** τ per layer before and after the steps. */
  tauBefore: number[];
  tauAfter: number[];
  /** The float64 evidence of the refitted posterior before and after the steps. */
  evidenceBefore: number;
  evidenceAfter: number;
  /** The posterior refitted at this update, with τ as after the steps (dispose when done). */
  laplace: LaplaceModel;
}

/** Three Gaussian blobs in the plane, seeded: inputs [n, 2] and class indices [n]. */
export function blobs(examples: number, seed: number): { x: tf.Tensor2D; labels: tf.Tensor1D } {
  return tf.tidy(() => {
    const labels = tf.tensor1d(Int32Array.from({ length: examples }, (_, i) => i % 3), 'int32');
    const centres = tf.tensor2d([
      [0, 1.5],
      [1.3, -0.75],
      [-1.3, -0.75],
    ]);
    const x = tf.add(tf.gather(centres, labels), tf.randomNormal([examples, 2], 0, 0.8, 'float32', seed)) as tf.Tensor2D;
    return { x, labels };
  });
}

/** Trains the MLP with evidence updates of its per-layer τ; returns the model and every update. */
export async function onlineMarginalLikelihood(options: OnlineOptions = {}): Promise<{ model: tfl.LayersModel; updates: OnlineUpdate[] }> {
  const examples = options.examples ?? 150;
  const epochs = options.epochs ?? 60;
  const every = options.every ?? 10;
  const steps = options.steps ?? 30;
  const seed = options.seed ?? 1;
  const { x, labels } = blobs(examples, seed);
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [2], units: 16, activation: 'tanh', kernelInitializer: tfl.initializers.glorotNormal({ seed }) }),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }) }),
    ],
  });
  const oneHot = tf.oneHot(labels, 3);
  // One log τ per parameter layer, as the library orders them (the model's Dense layers).
  const logTau = tf.variable(tf.zeros([model.layers.length]), true, `logTau${seed}`);
  const optimizer = tf.train.adam(0.02);
  const hyperOptimizer = tf.train.adam(options.hyperLearningRate ?? 0.1);
  const layerWeights = model.layers.map((layer) => layer.trainableWeights.map((weight) => weight.read() as tf.Variable));
  const updates: OnlineUpdate[] = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      // One full-batch step of the negative log joint over N: its decay is the current prior.
      const tau = tf.exp(logTau);
      optimizer.minimize(() => {
        const probabilities = model.apply(x) as tf.Tensor2D;
        const crossEntropy = tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(tf.add(probabilities, 1e-7))), 1)));
        const decay = tf.addN(layerWeights.map((weights, layer) => tf.mul(tf.gather(tau, layer), tf.addN(weights.map((w) => tf.sum(tf.square(w)))))));
        return tf.add(crossEntropy, tf.div(decay, 2 * examples)) as tf.Scalar;
      }, false, layerWeights.flat());
      tau.dispose();
      if (epoch % every !== 0) continue;
      // Refit the curvature at the current weights and τ, then climb the evidence in log τ.
      const tauBefore = Array.from(await logTau.data(), Math.exp);
      const fitted = await fitLaplace(model, tensorData(x, labels), { curvature: options.curvature ?? 'kfac', tau: tauBefore, fisher: 'exact' });
      const evidenceBefore = logMarginalLikelihood(fitted.posterior);
      for (let step = 0; step < steps; step++) hyperOptimizer.minimize(() => tf.neg(logMarginalLikelihoodTensor(fitted.posterior, { logTau })) as tf.Scalar, false, [logTau]);
      const tauAfter = Array.from(await logTau.data(), Math.exp);
      const laplace = fitted.withHyperparameters(fitted.n, tauAfter);
      const update = { epoch, tauBefore, tauAfter, evidenceBefore, evidenceAfter: logMarginalLikelihood(laplace.posterior), laplace };
      updates.push(update);
      options.onUpdate?.(update);
    }
  } finally {
    tf.dispose([x, labels, oneHot, logTau]);
    optimizer.dispose();
    hyperOptimizer.dispose();
  }
  return { model, updates };
}

// Run directly: print the run.
if (import.meta.url === `file://${process.argv[1]}`) {
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const format = (values: number[]) => values.map((value) => value.toPrecision(3)).join(', ');
  const { model } = await onlineMarginalLikelihood({
    onUpdate: ({ epoch, tauBefore, tauAfter, evidenceBefore, evidenceAfter, laplace }) => {
      console.log(`epoch ${epoch}: τ per layer ${format(tauBefore)} → ${format(tauAfter)}, log evidence ${evidenceBefore.toFixed(2)} → ${evidenceAfter.toFixed(2)}`);
      laplace.dispose();
    },
  });
  model.dispose();
}
