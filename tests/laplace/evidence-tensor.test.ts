/**
 * The differentiable log marginal likelihood (evidence-tensor.ts) against the float64 evidence
 * (evidence.ts, itself checked against dense log dets in evidence.test.ts, full.test.ts and
 * prior.test.ts): on a tiny classifier and a tiny regression network,
 *  - its value equals logMarginalLikelihood at the same τ (and σ) to float32 precision;
 *  - its gradient in log τ (one, one per layer, one per parameter for diag) and in log σ, taken
 *    by tf.grad, matches central finite differences of the float64 evidence;
 *  - with a prior mean and a temperature, the same;
 *  - what has no exact form is refused in one sentence.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, logMarginalLikelihood, logMarginalLikelihoodTensor, Network, Posterior, PosteriorError, regressionData, tensorData, type CurvatureFit, type Structure } from '../../compute/laplace/index.ts';
import { buildMlp, randomInputs, randomLabels } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

const n = 60;

/** Central difference of f at t in coordinate `index` of a vector t. */
function centralDifference(f: (t: Float64Array) => number, t: Float64Array, index: number, step = 1e-4): number {
  const up = Float64Array.from(t);
  const down = Float64Array.from(t);
  up[index] += step;
  down[index] -= step;
  return (f(up) - f(down)) / (2 * step);
}

/** Value and gradient of the tensor evidence at log τ = t (a scalar when t has one entry and `shape` is []). */
function tensorEvidence(posterior: Posterior, t: Float64Array, shape: number[], logSigma?: number): { value: number; gradient: Float64Array; sigmaGradient?: number } {
  const logTau = tf.tensor(Float32Array.from(t), shape);
  const sigma = logSigma === undefined ? undefined : tf.scalar(logSigma);
  const f = (lt: tf.Tensor, ls?: tf.Tensor) => logMarginalLikelihoodTensor(posterior, { logTau: lt, ...(ls ? { logSigma: ls } : {}) });
  const value = f(logTau, sigma);
  const grads = sigma ? tf.grads((lt: tf.Tensor, ls: tf.Tensor) => f(lt, ls))([logTau, sigma]) : [tf.grad((lt: tf.Tensor) => f(lt))(logTau)];
  const out = { value: value.dataSync()[0], gradient: Float64Array.from(grads[0].dataSync()), ...(sigma ? { sigmaGradient: grads[1].dataSync()[0] } : {}) };
  tf.dispose([logTau, value, ...grads, ...(sigma ? [sigma] : [])]);
  return out;
}

describe('differentiable evidence on a tiny classifier', () => {
  let network: Network;
  let weights: tf.Tensor2D[];
  let fit: CurvatureFit;
  let parameters: number;

  beforeAll(async () => {
    const model = buildMlp(3, 4, 3, 5101, 'tanh', 'linear');
    const x = randomInputs([15, 3], 5102);
    const labels = randomLabels(15, 3, 5103);
    network = new Network(model);
    weights = network.matricesFromModel(model);
    fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['diag', 'kfac', 'efb', 'last-layer', 'full', 'lowrank'], fisher: 'exact', batchSize: 6, seed: 2, rank: 5 });
    parameters = network.layers.reduce((sum, _, layer) => sum + network.parameterCount(layer), 0);
    x.dispose();
    return () => {
      tf.dispose(weights);
      model.dispose();
    };
  });

  const posteriorOf = (structure: Structure, extra: { priorMean?: number; temperature?: number } = {}) => new Posterior(network, weights, fit, { structure, n, tau: 1, kfacDamping: 'exact', ...extra });

  /** The float64 evidence at log τ = t: one τ, one per layer, or one per parameter by t's length. */
  const float64Evidence = (posterior: Posterior) => (t: Float64Array) => {
    const tau = t.length === 1 ? Math.exp(t[0]) : t.length === network.layers.length ? Array.from(t, Math.exp) : t.map(Math.exp);
    return logMarginalLikelihood(posterior.withHyperparameters(n, tau));
  };

  function check(posterior: Posterior, t: Float64Array, shape: number[], label: string): void {
    const { value, gradient } = tensorEvidence(posterior, t, shape);
    const evidence = float64Evidence(posterior);
    const expected = evidence(t);
    const differences = Float64Array.from(t, (_, index) => centralDifference(evidence, t, index));
    const valueError = Math.abs(value - expected) / Math.abs(expected);
    const gradientError = Math.max(...differences.map((d, index) => Math.abs(gradient[index] - d) / Math.max(1, Math.abs(d))));
    console.log(`${label}: value ${value.toFixed(4)} against ${expected.toFixed(4)} (relative ${valueError.toExponential(1)}), gradient error ${gradientError.toExponential(1)}`);
    expect(valueError).toBeLessThanOrEqual(2e-6);
    expect(gradientError).toBeLessThanOrEqual(2e-3);
  }

  it.each(['diag', 'kfac', 'efb', 'last-layer', 'full', 'lowrank'] as Structure[])('%s, one τ: value and d/d log τ match the float64 evidence', (structure) => {
    for (const tau of [0.05, 1.3, 40]) check(posteriorOf(structure), Float64Array.of(Math.log(tau)), [], `${structure}, τ = ${tau}`);
  });

  it.each(['diag', 'kfac', 'efb'] as Structure[])('%s, one τ per layer', (structure) => {
    check(posteriorOf(structure), Float64Array.of(Math.log(0.3), Math.log(7)), [network.layers.length], `${structure}, per-layer τ`);
  });

  it('diag, one τ per parameter', () => {
    const t = Float64Array.from({ length: parameters }, (_, i) => Math.log(0.1 + (i % 7)));
    check(posteriorOf('diag'), t, [parameters], 'diag, per-parameter τ');
  });

  it.each(['diag', 'kfac', 'full'] as Structure[])('%s with a prior mean and temperature T = 2.5', (structure) => {
    check(posteriorOf(structure, { priorMean: -0.2, temperature: 2.5 }), Float64Array.of(Math.log(0.9)), [], `${structure}, μ₀ = −0.2, T = 2.5`);
  });

  it('refuses what has no exact differentiable form, in one sentence', () => {
    const refuse = (posterior: Posterior, logTau: tf.Tensor, pattern: RegExp, logSigma?: tf.Tensor) => {
      expect(() => logMarginalLikelihoodTensor(posterior, { logTau, ...(logSigma ? { logSigma } : {}) })).toThrow(PosteriorError);
      expect(() => logMarginalLikelihoodTensor(posterior, { logTau, ...(logSigma ? { logSigma } : {}) })).toThrow(pattern);
    };
    const perParameter = tf.zeros([parameters]);
    const perLayer = tf.zeros([network.layers.length]);
    const scalar = tf.scalar(0);
    refuse(posteriorOf('kfac'), perParameter, /use diag for a per-parameter τ/);
    refuse(posteriorOf('full'), perLayer, /couples the layers/);
    refuse(posteriorOf('diag'), tf.zeros([5]), /one value per parameter layer \(2\) or one per perturbed parameter \(31\), got shape \[5\]/);
    refuse(posteriorOf('diag'), scalar, /drop logSigma/, tf.scalar(0));
    refuse(new Posterior(network, weights, fit, { structure: 'kfac', n, tau: 1, kfacDamping: 'per-factor' }), scalar, /use exact damping/);
    tf.dispose([perParameter, perLayer, scalar]);
  });
});

describe('differentiable evidence on a tiny regression network', () => {
  it.each(['diag', 'kfac', 'last-layer'] as Structure[])('%s: value and gradients in log τ and log σ match the float64 evidence', async (structure) => {
    const model = buildMlp(2, 5, 1, 5201, 'tanh', 'linear');
    const x = randomInputs([20, 2], 5202);
    const y = Array.from(x.arraySync() as number[][], ([a, b]) => Math.sin(2 * a) + 0.3 * b);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, regressionData(x, y), { kinds: [structure], fisher: 'exact', likelihood: 'regression', batchSize: 7, seed: 1 });
    const posterior = new Posterior(network, weights, fit, { structure, n, tau: 1, kfacDamping: 'exact', sigma: 1, temperature: 1.5 });
    const evidence = (logTau: number, logSigma: number) => logMarginalLikelihood(posterior.withSigma(Math.exp(logSigma)).withHyperparameters(n, Math.exp(logTau)));
    for (const [logTau, logSigma] of [
      [Math.log(0.4), Math.log(0.3)],
      [Math.log(5), Math.log(2)],
    ]) {
      const { value, gradient, sigmaGradient } = tensorEvidence(posterior, Float64Array.of(logTau), [], logSigma);
      const expected = evidence(logTau, logSigma);
      const step = 1e-4;
      const dTau = (evidence(logTau + step, logSigma) - evidence(logTau - step, logSigma)) / (2 * step);
      const dSigma = (evidence(logTau, logSigma + step) - evidence(logTau, logSigma - step)) / (2 * step);
      console.log(`regression ${structure}: value ${value.toFixed(4)} against ${expected.toFixed(4)}; d/d log τ ${gradient[0].toFixed(5)} against ${dTau.toFixed(5)}; d/d log σ ${sigmaGradient!.toFixed(4)} against ${dSigma.toFixed(4)}`);
      expect(Math.abs(value - expected)).toBeLessThanOrEqual(2e-6 * Math.abs(expected));
      expect(Math.abs(gradient[0] - dTau)).toBeLessThanOrEqual(2e-3 * Math.max(1, Math.abs(dTau)));
      expect(Math.abs(sigmaGradient! - dSigma)).toBeLessThanOrEqual(2e-3 * Math.max(1, Math.abs(dSigma)));
    }
    tf.dispose([x, ...weights]);
    model.dispose();
  });
});
