/**
 * The GLM warning on a real posterior, not hand-made probabilities (warnings.test.ts has those):
 * the case rebuilt small. A network whose weights are large, as training without
 * weight decay leaves them, and which is right and confident on its data: the marginal
 * likelihood gives it a tiny τ (its weights are improbable under any tighter prior), its
 * Fisher is small where it is confident, so the posterior is wide and the GLM predictive
 * flattens towards uniform; predictionWarning must say so, name weight decay and validation
 * tuning, and not advise the marginal likelihood that chose τ. The same network with its
 * weights ten times smaller (as weight decay keeps them), fitted the same way, gets no warning.
 * Accuracies and entropies are recomputed here from the probabilities.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, predictionWarning, tensorData } from '../../compute/laplace/index.ts';
import { randomInputs } from './helpers.ts';

const classes = 4;
const count = 200;
let x: tf.Tensor;

beforeAll(async () => {
  await startBackend('wasm');
  x = randomInputs([count, 3], 261);
});

afterAll(() => x?.dispose());

/** A seeded 3 → 16 → 4 relu MLP whose weights are scaled by `scale` (the same directions at every scale). */
function network(scale: number): tfl.Sequential {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [3], units: 16, activation: 'relu', name: `warn_hidden_${scale}` }), tfl.layers.dense({ units: classes, name: `warn_out_${scale}` })],
  });
  const weights = model.getWeights().map((weight, index) => tf.tidy(() => tf.mul(tf.add(tf.mul(randomInputs(weight.shape, 262 + index), 0.7), 0.05), scale)));
  model.setWeights(weights);
  tf.dispose(weights);
  return model;
}

function argmaxRows(probabilities: Float32Array): number[] {
  return Array.from({ length: probabilities.length / classes }, (_, row) => {
    const slice = Array.from(probabilities.subarray(row * classes, (row + 1) * classes));
    return slice.indexOf(Math.max(...slice));
  });
}

const meanEntropy = (probabilities: Float32Array) => -Array.from(probabilities).reduce((sum, p) => sum + (p > 0 ? p * Math.log(p) : 0), 0) / (probabilities.length / classes);
const accuracy = (probabilities: Float32Array, labels: number[]) => argmaxRows(probabilities).filter((predicted, row) => predicted === labels[row]).length / labels.length;

/** Fit with the library's defaults (kfac, τ by the marginal likelihood, N = count) on the network's own argmax labels, and predict with glm. */
async function fittedCase(scale: number) {
  const model = network(scale);
  const mapProbabilities = tf.tidy(() => tf.softmax(model.predict(x) as tf.Tensor2D).dataSync() as Float32Array);
  const labels = argmaxRows(mapProbabilities);
  const laplace = await fitLaplace(model, tensorData(x, labels), { curvature: 'kfac' });
  const probabilities = await laplace.predict(x);
  const warning = predictionWarning(laplace, { predictive: 'glm', probabilities, mapProbabilities, labels });
  const facts = { tau: laplace.tau, networkEntropy: meanEntropy(mapProbabilities), entropy: meanEntropy(probabilities), networkAccuracy: accuracy(mapProbabilities, labels), glmAccuracy: accuracy(probabilities, labels) };
  laplace.dispose();
  model.dispose();
  return { warning, facts };
}

describe('the GLM warning on a fitted posterior', () => {
  it('a network with large weights (no weight decay): tiny τ, near-uniform GLM predictive, a warning naming the cause and the remedy', async () => {
    const { warning, facts } = await fittedCase(12);
    console.log(`large weights: ${JSON.stringify(facts)}\n${warning}`);
    // The situation the warning is for, measured here: a sure network, a flat posterior predictive.
    expect(facts.networkAccuracy).toBe(1);
    expect(facts.networkEntropy).toBeLessThan(0.6 * Math.log(classes));
    expect(facts.entropy).toBeGreaterThan(0.9 * Math.log(classes));
    expect(warning).toMatch(/^warning: the glm predictive's .*mean entropy \(\d\.\d\d nats\) is near the maximum ln 4 = 1\.39/);
    expect(warning).toMatch(/this τ maximises the marginal likelihood, which comes out tiny for a network trained without weight decay/);
    expect(warning).toMatch(/Choose N and τ on validation data instead \(tune\(validation, "nll"\)\), use a larger τ, or train with weight decay\.$/);
    expect(warning).not.toMatch(/tuneMarginalLikelihood/);
  });

  it('the same network with weights ten times smaller (as weight decay keeps them): no warning', async () => {
    const { warning, facts } = await fittedCase(1.2);
    console.log(`small weights: ${JSON.stringify(facts)}`);
    expect(facts.glmAccuracy).toBeGreaterThan(facts.networkAccuracy - 0.05);
    expect(facts.entropy).toBeLessThan(0.9 * Math.log(classes));
    expect(warning).toBeNull();
  });
});
