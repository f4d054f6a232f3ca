/**
 * The Laplace bridge link against its closed form, α_k = (1 − 2/K + e^{μ_k}/K² Σ_l e^{−μ_l}) / σ²_k
 * and p = α / Σα, on cases worked by hand:
 *  - K = 2, μ = (m, −m), equal variances: α₁/α₂ = e^{2m}, so p₁ = σ(2m) (the softmax of μ);
 *  - K = 3, μ = 0, σ² = (1, 2, 4): α = (2/3)/σ², p = (4/7, 2/7, 1/7);
 *  - K = 3, μ = (ln 2, 0, 0), σ² = 1: Σ e^{−μ} = 5/2, α = (8/9, 11/18, 11/18), p = (8/19, 5.5/19, 5.5/19);
 *  - logit gaps of 200 stay finite (float32 would overflow e^{μ} there) and a zero variance is floored;
 * and the GLM predictive with link 'bridge' equals the closed form (float64, here) on the
 * posterior's own functional variances; the bridge is refused for one sigmoid unit.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { disposeJacobianBatch, fitCurvature, FunctionalCovariance, jacobianBatch, Network, Posterior, PosteriorError, predict, predictGlmTogether, tensorData } from '../../compute/laplace/index.ts';
import { bridgeLink } from '../../compute/laplace/bridge.ts';
import { buildMlp, randomInputs, randomLabels, relativeError } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

/** The bridge in float64, straight from the formula. */
function closedForm(mean: number[], variances: number[]): number[] {
  const k = mean.length;
  const sumExp = mean.reduce((sum, mu) => sum + Math.exp(-mu), 0);
  const alpha = mean.map((mu, c) => (1 - 2 / k + (Math.exp(mu) / (k * k)) * sumExp) / variances[c]);
  const total = alpha.reduce((a, b) => a + b, 0);
  return alpha.map((value) => value / total);
}

function bridged(mean: number[][], variances: number[][]): number[][] {
  return tf.tidy(() => bridgeLink(tf.tensor2d(mean), tf.tensor2d(variances)).arraySync());
}

describe('the Laplace bridge link on hand-worked cases', () => {
  it('K = 2, μ = (m, −m), equal variances: p₁ = σ(2m)', () => {
    const [[p1, p2]] = bridged([[0.5, -0.5]], [[0.3, 0.3]]);
    const expected = 1 / (1 + Math.exp(-1));
    expect(p1).toBeCloseTo(expected, 6);
    expect(p2).toBeCloseTo(1 - expected, 6);
    expect(closedForm([0.5, -0.5], [0.3, 0.3])[0]).toBeCloseTo(expected, 12);
  });

  it('K = 3, μ = 0, σ² = (1, 2, 4): p = (4/7, 2/7, 1/7)', () => {
    const [p] = bridged([[0, 0, 0]], [[1, 2, 4]]);
    expect(relativeError(p, [4 / 7, 2 / 7, 1 / 7])).toBeLessThanOrEqual(1e-6);
  });

  it('K = 3, μ = (ln 2, 0, 0), σ² = 1: p = (8/19, 5.5/19, 5.5/19)', () => {
    const [p] = bridged([[Math.log(2), 0, 0]], [[1, 1, 1]]);
    expect(relativeError(p, [8 / 19, 5.5 / 19, 5.5 / 19])).toBeLessThanOrEqual(1e-6);
  });

  it('several rows at once equal the closed form row by row; huge gaps stay finite; a zero variance is floored', () => {
    const mean = [
      [1.2, -0.3, 0.4, 2.0],
      [-1, 0.5, 0.25, -2],
    ];
    const variances = [
      [0.5, 1.5, 0.1, 2.5],
      [3, 0.2, 0.7, 1.1],
    ];
    const out = bridged(mean, variances);
    out.forEach((row, i) => expect(relativeError(row, closedForm(mean[i], variances[i]))).toBeLessThanOrEqual(1e-5));
    const [gap] = bridged([[100, 0, -100]], [[1, 1, 1]]);
    expect(gap.every(Number.isFinite)).toBe(true);
    expect(gap[0]).toBeCloseTo(1, 6);
    const [zero] = bridged([[0.3, 0.1]], [[0, 1]]);
    expect(zero.every(Number.isFinite)).toBe(true);
    expect(zero[0]).toBeCloseTo(1, 6);
  });
});

describe('the GLM predictive with the bridge link', () => {
  it("equals the closed form on the posterior's functional variances, alone and in predictGlmTogether", async () => {
    const model = buildMlp(4, 6, 3, 941, 'tanh', 'linear');
    const x = randomInputs([10, 4], 942);
    const labels = randomLabels(10, 3, 943);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['kfac'], fisher: 'exact' });
    const posterior = new Posterior(network, weights, fit, { structure: 'kfac', n: 30, tau: 0.5, kfacDamping: 'exact' });
    const functional = new FunctionalCovariance(posterior);
    const batch = jacobianBatch(network, weights, x, posterior.perturbedLayers);
    const mean = batch.logits.arraySync();
    const variances = functional.variancesOf(batch).arraySync();
    disposeJacobianBatch(batch);
    functional.dispose();
    const expected = mean.flatMap((row, i) => closedForm(row, variances[i]));
    const data = tensorData(x, labels);
    const alone = await predict(posterior, data, { link: 'bridge' });
    expect(relativeError(alone, expected)).toBeLessThanOrEqual(1e-5);
    const [together] = await predictGlmTogether([posterior], data, { link: 'bridge' });
    expect(Array.from(together)).toEqual(Array.from(alone));
    // Not the probit link's numbers.
    expect(relativeError(await predict(posterior, data, { link: 'probit' }), expected)).toBeGreaterThan(1e-3);
    posterior.dispose();
    network.dispose();
    x.dispose();
  });

  it('is refused in one sentence for one sigmoid unit', async () => {
    const model = buildMlp(3, 4, 1, 944, 'relu', 'linear');
    // One sigmoid output unit: rebuild the output layer's activation.
    const sigmoid = buildSigmoid(model);
    const x = randomInputs([6, 3], 945);
    const labels = randomLabels(6, 2, 946);
    const network = new Network(sigmoid);
    const weights = network.matricesFromModel(sigmoid);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['diag'] });
    const posterior = new Posterior(network, weights, fit, { structure: 'diag', n: 6, tau: 1, kfacDamping: 'exact' });
    await expect(predict(posterior, tensorData(x, labels), { link: 'bridge' })).rejects.toThrow(PosteriorError);
    await expect(predict(posterior, tensorData(x, labels), { link: 'bridge' })).rejects.toThrow(/needs a softmax over several classes, but this model's output is one sigmoid unit/);
    posterior.dispose();
    network.dispose();
    x.dispose();
    model.dispose();
  });
});

/** The same layers with a sigmoid on the one output unit. */
function buildSigmoid(model: tfl.LayersModel): tfl.LayersModel {
  const [hidden, output] = model.layers.filter((layer) => layer.getClassName() === 'Dense');
  const copy = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [3], units: 4, activation: 'relu', name: 'bridge_hidden' }),
      tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'bridge_out' }),
    ],
  });
  copy.layers[0].setWeights(hidden.getWeights());
  copy.layers[1].setWeights(output.getWeights());
  return copy;
}
