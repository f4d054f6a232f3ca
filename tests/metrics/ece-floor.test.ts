import { describe, expect, it } from 'vitest';
import { calibratedEceFloor, calibration } from '../../compute/metrics/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { randomProbabilities } from './helpers.ts';

/**
 * Rows of `classes` probabilities whose top probability p = 1 − (1 − 1/classes)·u^k, u
 * uniform (so (1 − p)/(1 − 1/classes) is Beta(1/k, 1), piled up near p = 1), on a random
 * class, the rest shared equally. The mean of p, which is the accuracy of the classifier
 * these probabilities are calibrated for, is 1 − (1 − 1/classes)/(k + 1).
 */
function peakedProbabilities(seed: number, count: number, classes: number, meanTop: number): Float32Array {
  const spread = 1 - 1 / classes;
  const k = spread / (1 - meanTop) - 1;
  const random = new Random(seed);
  const probs = new Float32Array(count * classes);
  for (let i = 0; i < count; i++) {
    const top = 1 - spread * random.uniform() ** k;
    const topClass = random.integer(classes);
    for (let c = 0; c < classes; c++) probs[i * classes + c] = c === topClass ? top : (1 - top) / (classes - 1);
  }
  return probs;
}

/** Test bins [count, mean confidence] of two networks of the study on 2,000 test images (results/ at a58920f, SGD rows). */
const LENET5_MNIST_BINS: [number, number][] = [[1, 0.348339], [9, 0.458004], [22, 0.548919], [20, 0.651817], [24, 0.762485], [46, 0.85726], [1878, 0.994124]];
const MLP2_FASHION_BINS: [number, number][] = [
  [1, 0.177684], [6, 0.283597], [24, 0.360921], [45, 0.457046], [117, 0.547598], [115, 0.652394], [145, 0.752389], [186, 0.852431], [1361, 0.984862],
];

/** `repeat` × count rows per bin whose top probability is the bin's mean confidence, the rest shared equally. */
function fromBinTable(table: [number, number][], repeat: number, classes: number): Float32Array {
  const rows: number[] = [];
  for (const [count, confidence] of table) {
    for (let k = 0; k < count * repeat; k++) {
      rows.push(confidence);
      for (let c = 1; c < classes; c++) rows.push((1 - confidence) / (classes - 1));
    }
  }
  return Float32Array.from(rows);
}

/** A label drawn from row i's own distribution, by inverse CDF. */
function categorical(random: Random, probs: Float32Array, classes: number, i: number): number {
  const u = random.uniform();
  let cumulative = 0;
  for (let c = 0; c < classes; c++) {
    cumulative += probs[i * classes + c];
    if (u < cumulative) return c;
  }
  return classes - 1;
}

function meanAndStandardDeviation(values: Float64Array): { mean: number; sd: number } {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const squares = values.reduce((sum, v) => sum + (v - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(squares / (values.length - 1)) };
}

function type7(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const h = (sorted.length - 1) * q;
  const j = Math.floor(h);
  return sorted[j] + (h - j) * (sorted[Math.min(j + 1, sorted.length - 1)] - sorted[j]);
}

describe('the ECE a calibrated classifier would score', () => {
  it('matches a brute-force simulation with full categorical labels and calibration()', () => {
    const classes = 4;
    const count = 30;
    const probs = Float32Array.from(randomProbabilities(new Random(11), count, classes, 1.5));
    const draws = 4000;
    const random = new Random(12);
    const brute = new Float64Array(draws);
    const labels = new Int32Array(count);
    for (let d = 0; d < draws; d++) {
      for (let i = 0; i < count; i++) labels[i] = categorical(random, probs, classes, i);
      brute[d] = calibration(probs, labels, classes).ece;
    }
    const { mean, sd } = meanAndStandardDeviation(brute);
    const floor = calibratedEceFloor(probs, classes, { draws, seed: 13 });
    expect(floor.draws).toBe(draws);
    // Both means estimate the same expectation from independent draws of the same spread.
    const standardError = sd * Math.sqrt(2 / draws);
    expect(Math.abs(floor.mean - mean)).toBeLessThan(4 * standardError);
    // Sanity of the scale: 30 examples leave a large floor, far above the tolerance.
    expect(mean).toBeGreaterThan(20 * standardError);
    expect(Math.abs(floor.high - type7(brute, 0.95))).toBeLessThan(0.2 * sd);
  });

  it('works out one example of confidence 0.8: ECE is 0.2 with probability 0.8 and 0.8 with probability 0.2', () => {
    const probs = new Float32Array([0.25, 0.75]);
    const floor = calibratedEceFloor(probs, 2, { draws: 20_000, seed: 1, level: 0.9 });
    // Mean 0.75·0.25 + 0.25·0.75 = 0.375; standard deviation 0.5·√(0.75·0.25) ≈ 0.22, so 4 SE ≈ 0.006.
    expect(floor.mean).toBeCloseTo(0.375, 2);
    expect(Math.abs(floor.mean - 0.375)).toBeLessThan(0.007);
    // The top quarter of the draws are 0.75, so the 0.9 quantile is 0.75 and the median 0.25.
    expect(floor.high).toBeCloseTo(0.75, 6);
    expect(calibratedEceFloor(probs, 2, { draws: 20_000, seed: 1, level: 0.5 }).high).toBeCloseTo(0.25, 6);
  });

  it('is 0 when every top probability is exactly 1', () => {
    const probs = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0]);
    expect(calibratedEceFloor(probs, 3, { seed: 0 })).toEqual({ mean: 0, high: 0, draws: 200, seed: 0 });
  });

  it('shrinks like 1/√n as the test set grows', () => {
    const small = calibratedEceFloor(peakedProbabilities(3, 1_000, 10, 0.9), 10, { seed: 4 });
    const large = calibratedEceFloor(peakedProbabilities(5, 10_000, 10, 0.9), 10, { seed: 6 });
    const ratio = small.mean / large.mean;
    expect(ratio).toBeGreaterThan(2);
    expect(ratio).toBeLessThan(4.5);
  });

  it('is positive at the study sizes (10 bins; 10,000 and 2,000 examples), below 1% but for 90% accuracy on 2,000', () => {
    // Two kinds of confidences per accuracy: the Beta-like ones above, and each example at its
    // bin's mean confidence from a network of the study (test bin tables of results/ at a58920f,
    // 2,000 examples; repeated 5 times for 10,000). Putting a bin's examples at its mean slightly
    // overstates the floor (c(1 − c) is concave), so those are upper estimates.
    const cases = [
      { name: 'Beta-like, 98% accurate', accuracy: 0.98, probs: (count: number) => peakedProbabilities(seedOf(0.98, count), count, 10, 0.98) },
      { name: 'Beta-like, 90% accurate', accuracy: 0.9, probs: (count: number) => peakedProbabilities(seedOf(0.9, count), count, 10, 0.9) },
      { name: 'MNIST LeNet-5 SGD bins, 98.3% accurate', accuracy: 0.983, probs: (count: number) => fromBinTable(LENET5_MNIST_BINS, count / 2_000, 10) },
      { name: 'Fashion-MNIST MLP-2 SGD bins, 89.65% accurate', accuracy: 0.8965, probs: (count: number) => fromBinTable(MLP2_FASHION_BINS, count / 2_000, 10) },
    ];
    for (const { name, accuracy, probs } of cases) {
      for (const count of [10_000, 2_000]) {
        const floor = calibratedEceFloor(probs(count), 10, { bins: 10, seed: 7 });
        console.log(
          `ECE floor, ${name}, n = ${count}, 10 bins, ${floor.draws} draws: ` +
            `mean ${(floor.mean * 100).toFixed(2)}%, 95% quantile ${(floor.high * 100).toFixed(2)}%`,
        );
        expect(floor.mean).toBeGreaterThan(0);
        expect(floor.high).toBeGreaterThan(floor.mean);
        // At 90% accuracy on 2,000 examples the floor is above 1% (about the size of the
        // Fashion-MNIST ECEs measured there); everywhere else it is below.
        if (accuracy < 0.95 && count === 2_000) {
          expect(floor.mean).toBeGreaterThan(0.01);
          expect(floor.mean).toBeLessThan(0.02);
        } else {
          expect(floor.mean).toBeLessThan(0.01);
        }
      }
    }
  });

  it('gives the same result for the same seed and a different one for another seed', () => {
    const probs = peakedProbabilities(8, 2_000, 10, 0.95);
    const first = calibratedEceFloor(probs, 10, { seed: 9 });
    expect(calibratedEceFloor(probs, 10, { seed: 9 })).toEqual(first);
    const other = calibratedEceFloor(probs, 10, { seed: 10 });
    expect(other.seed).toBe(10);
    expect(other.mean).not.toBe(first.mean);
  });

  it('rejects bad arguments with one sentence', () => {
    const probs = new Float32Array([0.7, 0.3, 0.4, 0.6]);
    const cases: [() => unknown, RegExp][] = [
      [() => calibratedEceFloor(probs, 2, { seed: 0.5 }), /seed must be an integer, got 0\.5/],
      [() => calibratedEceFloor(probs, 2, { seed: 0, draws: 0 }), /draws must be an integer of at least 1, got 0/],
      [() => calibratedEceFloor(probs, 2, { seed: 0, bins: 0 }), /number of bins must be a positive integer, got 0/],
      [() => calibratedEceFloor(probs, 2, { seed: 0, level: 1.5 }), /quantile level .* must be in \(0, 1\], got 1\.5/],
      [() => calibratedEceFloor(new Float32Array([0.7, 0.7]), 2, { seed: 0 }), /sum to .*not 1/],
      [() => calibratedEceFloor(probs, 3, { seed: 0 }), /not a multiple of classes = 3/],
      [() => calibratedEceFloor(probs, 2, undefined as never), /options object with an integer seed/],
    ];
    for (const [call, pattern] of cases) {
      expect(call).toThrow(pattern);
      try {
        call();
      } catch (error) {
        expect((error as Error).message).toMatch(/^[A-Z].*[.?)]$/);
      }
    }
  });
});

/** A separate, fixed seed for each case's probabilities. */
function seedOf(accuracy: number, count: number): number {
  return Math.round(accuracy * 100) * 100_000 + count;
}
