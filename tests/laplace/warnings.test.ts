/**
 * predictionWarning: hand-made probabilities with known accuracy and entropy against a
 * real posterior, so the symptoms and the advice can be checked case by case; in
 * particular a τ that already maximises the marginal likelihood is never answered
 * with "tune by the marginal likelihood".
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, optimizeMarginalLikelihood, predictionWarning, tauIsMarginalLikelihoodOptimum, tensorData, type LaplaceModel } from '../../compute/laplace/index.ts';
import { buildMlp, randomInputs, randomLabels, type Model } from './helpers.ts';

let model: Model;
let x: tf.Tensor;
let atOptimum: LaplaceModel;
let belowOptimum: LaplaceModel;
let optimumTau: number;

beforeAll(async () => {
  await startBackend('wasm');
  model = buildMlp(3, 6, 4, 91);
  x = randomInputs([40, 3], 92);
  atOptimum = await fitLaplace(model, tensorData(x, randomLabels(40, 4, 93)), { curvature: 'kfac' });
  optimumTau = optimizeMarginalLikelihood(atOptimum.posterior).tau as number;
  belowOptimum = atOptimum.withHyperparameters(atOptimum.n, optimumTau / 1000);
});

afterAll(() => {
  atOptimum?.dispose();
  x?.dispose();
  model?.dispose();
});

/** 4 rows of 4 classes: confident and right on every row (label = row), or uniform. */
const confident = Float32Array.from({ length: 16 }, (_, i) => (i % 4 === Math.floor(i / 4) ? 0.97 : 0.01));
const uniform = new Float32Array(16).fill(0.25);
// Right on rows 0 and 1 only, with middling confidence: accuracy 50%, entropy well below ln 4.
const halfWrong = Float32Array.from({ length: 16 }, (_, i) => {
  const row = Math.floor(i / 4);
  const predicted = row < 2 ? row : (row + 1) % 4;
  return i % 4 === predicted ? 0.7 : 0.1;
});
const labels = [0, 1, 2, 3];

describe('predictionWarning', () => {
  it('knows whether τ is the marginal likelihood optimum', () => {
    expect(tauIsMarginalLikelihoodOptimum(atOptimum)).toBe(true);
    expect(tauIsMarginalLikelihoodOptimum(belowOptimum)).toBe(false);
  });

  it('says nothing when the prediction is as accurate and as confident as the network, or for map', () => {
    expect(predictionWarning(atOptimum, { predictive: 'glm', probabilities: confident, mapProbabilities: confident, labels })).toBeNull();
    expect(predictionWarning(atOptimum, { predictive: 'map', probabilities: uniform, mapProbabilities: confident, labels })).toBeNull();
  });

  it('near-uniform glm probabilities at the marginal likelihood τ: names weight decay and validation tuning, not the marginal likelihood', () => {
    const warning = predictionWarning(atOptimum, { predictive: 'glm', probabilities: uniform, mapProbabilities: confident, advice: { tuneByEvidence: 'TUNE-MARGLIK' } });
    // ln 4 = 1.386; the hand-made rows have exactly that entropy.
    expect(warning).toMatch(/^warning: the glm predictive's mean entropy \(1\.39 nats\) is near the maximum ln 4 = 1\.39 where the network's is 0\.17 on these inputs: the posterior \(N = 40, τ = \S+\) is too wide for this network; this τ maximises the marginal likelihood, which comes out tiny for a network trained without weight decay/);
    expect(warning).toMatch(/Choose N and τ on validation data instead/);
    expect(warning).not.toMatch(/TUNE-MARGLIK/);
  });

  it('accuracy far below the network, τ below the optimum: names the larger τ the marginal likelihood would give', () => {
    const warning = predictionWarning(belowOptimum, { predictive: 'sampled', probabilities: halfWrong, mapProbabilities: confident, labels, advice: { tuneByEvidence: 'TUNE-MARGLIK' } });
    expect(warning).toMatch(/^warning: the sampled predictive's accuracy \(50\.0%\) is far below the deterministic network's \(100\.0%\) on these inputs/);
    expect(warning).toContain(`or the marginal likelihood's τ = ${String(Number(optimumTau.toPrecision(3)))} (TUNE-MARGLIK)`);
    expect(warning).toMatch(/the glm predictive tolerates a wider posterior than sampling does\.$/);
    expect(warning).not.toMatch(/weight decay/);
  });
});
