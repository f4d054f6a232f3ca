import { describe, expect, it } from 'vitest';
import {
  PROBABILITY_FLOOR,
  accuracy,
  brierScore,
  confidences,
  meanConfidence,
  negativeLogLikelihood,
  predictedClasses,
} from '../../compute/metrics/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { argmax, randomLabels, randomProbabilities, row } from './helpers.ts';

// Two examples, three classes.
//   row 0: [0.7, 0.2, 0.1], label 0 → predicted 0 (correct), confidence 0.7
//   row 1: [0.2, 0.5, 0.3], label 2 → predicted 1 (wrong),   confidence 0.5
const probs = new Float64Array([0.7, 0.2, 0.1, 0.2, 0.5, 0.3]);
const labels = new Int32Array([0, 2]);

describe('accuracy, confidences and predicted classes', () => {
  it('work out a hand example', () => {
    expect(Array.from(predictedClasses(probs, 3))).toEqual([0, 1]);
    expect(Array.from(confidences(probs, 3))).toEqual([0.7, 0.5]);
    expect(meanConfidence(probs, 3)).toBeCloseTo(0.6, 15);
    expect(accuracy(probs, labels, 3)).toBe(0.5);
    expect(accuracy(probs, [0, 1], 3)).toBe(1);
    expect(accuracy(probs, new Uint8Array([1, 2]), 3)).toBe(0);
  });

  it('break a tie towards the lowest class', () => {
    const tied = new Float64Array([0.4, 0.4, 0.2]);
    expect(Array.from(predictedClasses(tied, 3))).toEqual([0]);
    expect(accuracy(new Float64Array([0.5, 0.5]), [0], 2)).toBe(1);
    expect(accuracy(new Float64Array([0.5, 0.5]), [1], 2)).toBe(0);
  });

  it('match brute force on random data, Float32 and Float64', () => {
    const random = new Random(11);
    const classes = 7;
    const probs64 = randomProbabilities(random, 500, classes);
    const labels64 = randomLabels(random, 500, classes);
    for (const p of [probs64, new Float32Array(probs64)]) {
      let correct = 0;
      let confidenceSum = 0;
      const predicted = predictedClasses(p, classes);
      const conf = confidences(p, classes);
      for (let i = 0; i < 500; i++) {
        const r = row(p, classes, i);
        expect(predicted[i]).toBe(argmax(r));
        expect(conf[i]).toBe(Math.max(...r));
        confidenceSum += Math.max(...r);
        if (argmax(r) === labels64[i]) correct++;
      }
      expect(accuracy(p, labels64, classes)).toBe(correct / 500);
      expect(meanConfidence(p, classes)).toBeCloseTo(confidenceSum / 500, 12);
    }
  });
});

describe('negative log-likelihood', () => {
  it('works out a hand example', () => {
    // −(ln 0.7 + ln 0.3) / 2 = (0.356675 + 1.203973) / 2 = 0.780324
    expect(negativeLogLikelihood(probs, labels, 3)).toBeCloseTo(-(Math.log(0.7) + Math.log(0.3)) / 2, 14);
    expect(negativeLogLikelihood(probs, labels, 3)).toBeCloseTo(0.780324, 6);
  });

  it('is 0 for a certain correct prediction', () => {
    expect(negativeLogLikelihood(new Float32Array([1, 0, 0, 1]), [0, 1], 2)).toBe(0);
  });

  it('clamps a zero probability at the floor instead of giving Infinity', () => {
    // −ln(1e-12) = 27.631021
    const value = negativeLogLikelihood(new Float64Array([1, 0]), [1], 2);
    expect(value).toBeCloseTo(-Math.log(PROBABILITY_FLOOR), 12);
    expect(value).toBeCloseTo(27.631021, 5);
    // Mixed: (0 + 27.631021) / 2
    expect(negativeLogLikelihood(new Float64Array([1, 0, 1, 0]), [0, 1], 2)).toBeCloseTo(27.631021 / 2, 5);
  });

  it('matches brute force on random data', () => {
    const random = new Random(12);
    const p = randomProbabilities(random, 300, 5);
    const y = randomLabels(random, 300, 5);
    let sum = 0;
    for (let i = 0; i < 300; i++) sum += -Math.log(p[i * 5 + y[i]]);
    expect(negativeLogLikelihood(p, y, 5)).toBeCloseTo(sum / 300, 12);
  });
});

describe('Brier score', () => {
  it('works out a hand example (sum over classes, mean over examples)', () => {
    // row 0, label 0: 0.3² + 0.2² + 0.1² = 0.09 + 0.04 + 0.01 = 0.14
    // row 1, label 2: 0.2² + 0.5² + 0.7² = 0.04 + 0.25 + 0.49 = 0.78
    // mean = 0.46
    expect(brierScore(probs, labels, 3)).toBeCloseTo(0.46, 14);
  });

  it('is 0 for certain correct predictions and 2 for certain wrong ones', () => {
    const certain = new Float64Array([1, 0, 0, 0, 1, 0]);
    expect(brierScore(certain, [0, 1], 3)).toBe(0);
    expect(brierScore(certain, [2, 0], 3)).toBe(2);
  });

  it('is 1 − 1/C for a uniform prediction', () => {
    const uniform = new Float64Array(4).fill(0.25);
    // (3/4)² + 3 · (1/4)² = 9/16 + 3/16 = 0.75
    expect(brierScore(uniform, [2], 4)).toBeCloseTo(0.75, 15);
  });

  it('matches brute force on random data', () => {
    const random = new Random(13);
    const p = randomProbabilities(random, 200, 4);
    const y = randomLabels(random, 200, 4);
    let sum = 0;
    for (let i = 0; i < 200; i++) {
      for (let c = 0; c < 4; c++) sum += (p[i * 4 + c] - (c === y[i] ? 1 : 0)) ** 2;
    }
    expect(brierScore(p, y, 4)).toBeCloseTo(sum / 200, 12);
  });
});
