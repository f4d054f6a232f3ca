import { describe, expect, it } from 'vitest';
import {
  accuracy,
  acrossSeeds,
  auroc,
  bootstrapInterval,
  bootstrapIntervals,
  brierScore,
  calibration,
  fprAtTpr,
  negativeLogLikelihood,
  pairedDifferenceInterval,
  pairedDifferenceIntervals,
  resampledAccuracy,
  resampledAuroc,
  resampledBrierScore,
  resampledCalibrationError,
  resampledClassificationMetrics,
  resampledDetectionMetrics,
  resampledFprAtTpr,
  resampledNegativeLogLikelihood,
  type BootstrapInterval,
  type ResampledMetric,
} from '../../compute/metrics/index.ts';
import { intervalsOf, resampleStatistics, resampleStatisticsWeighted } from '../../compute/metrics/bootstrap.ts';
import { Random } from '../../compute/laplace/random.ts';
import { randomIntegerScores, randomLabels, randomProbabilities } from './helpers.ts';

const CLASSES = 3;

/** Rows `indices` of a row-major matrix, as a new array of the same type. */
function gatherRows<T extends Float32Array | Float64Array>(probs: T, classes: number, indices: Int32Array): T {
  const out = new (probs.constructor as new (n: number) => T)(indices.length * classes);
  for (let j = 0; j < indices.length; j++) {
    for (let c = 0; c < classes; c++) out[j * classes + c] = probs[indices[j] * classes + c];
  }
  return out;
}

function gather(values: ArrayLike<number>, indices: Int32Array): number[] {
  return Array.from(indices, (i) => values[i]);
}

/** Indices drawn uniformly with replacement, by the test's own generator. */
function drawIndices(random: Random, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => random.integer(n));
}

/** Type-7 quantile written independently: h = (n − 1)q, interpolate between floor(h) and ceil(h). */
function quantile7(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Labels drawn from each row's own probabilities, so the classifier is calibrated. */
function labelsFromRows(random: Random, probs: Float64Array, classes: number): Int32Array {
  const count = probs.length / classes;
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let u = random.uniform();
    let c = 0;
    while (c < classes - 1 && u >= probs[i * classes + c]) u -= probs[i * classes + c++];
    labels[i] = c;
  }
  return labels;
}

/** A classification test set whose confidences include bin edges (0.5, 0.4, 0.7, 1) stored in Float32. */
function classificationCase(seed: number, count: number): { probs: Float32Array; labels: Int32Array } {
  const random = new Random(seed);
  const edgeRows = [0.5, 0.5, 0, 0.3, 0.3, 0.4, 0.7, 0.2, 0.1, 1, 0, 0, 0.2, 0.6, 0.2];
  const probs = new Float32Array(count * CLASSES);
  probs.set(edgeRows);
  probs.set(randomProbabilities(random, count - edgeRows.length / CLASSES, CLASSES, 2), edgeRows.length);
  return { probs, labels: randomLabels(random, count, CLASSES) };
}

/** Known and unknown scores with many ties, infinities and both zeros. */
function detectionCase(seed: number, known: number, unknown: number): { known: number[]; unknown: number[] } {
  const random = new Random(seed);
  const scoresKnown = randomIntegerScores(random, known, 12);
  const scoresUnknown = randomIntegerScores(random, unknown, 12).map((s) => s + 3);
  scoresKnown[0] = -0;
  scoresKnown[1] = Infinity;
  scoresUnknown[0] = 0;
  scoresUnknown[1] = -Infinity;
  scoresUnknown[2] = Infinity;
  return { known: scoresKnown, unknown: scoresUnknown };
}

/** Each wrapper beside the plain metric applied to explicitly resampled arrays. */
function wrappersAndPlainMetrics(): { name: string; metric: ResampledMetric; plain: (...indices: Int32Array[]) => number; exact: boolean }[] {
  const { probs, labels } = classificationCase(11, 300);
  const scores = detectionCase(12, 120, 90);
  const rows = (indices: Int32Array) => [gatherRows(probs, CLASSES, indices), gather(labels, indices)] as const;
  return [
    { name: 'accuracy', metric: resampledAccuracy(probs, labels, CLASSES), plain: (i) => accuracy(...rows(i), CLASSES), exact: true },
    {
      name: 'NLL',
      metric: resampledNegativeLogLikelihood(probs, labels, CLASSES),
      plain: (i) => negativeLogLikelihood(...rows(i), CLASSES),
      exact: true,
    },
    // The plain Brier score sums every class term into one total, the wrapper per example first: equal up to rounding.
    { name: 'Brier', metric: resampledBrierScore(probs, labels, CLASSES), plain: (i) => brierScore(...rows(i), CLASSES), exact: false },
    {
      name: 'ECE (10 bins)',
      metric: resampledCalibrationError(probs, labels, CLASSES),
      plain: (i) => calibration(...rows(i), CLASSES).ece,
      exact: true,
    },
    {
      name: 'ECE (15 bins)',
      metric: resampledCalibrationError(probs, labels, CLASSES, { bins: 15 }),
      plain: (i) => calibration(...rows(i), CLASSES, { bins: 15 }).ece,
      exact: true,
    },
    {
      name: 'AUROC',
      metric: resampledAuroc(scores.known, scores.unknown),
      plain: (k, u) => auroc(gather(scores.known, k), gather(scores.unknown, u)),
      exact: true,
    },
    {
      name: 'FPR at 95% TPR',
      metric: resampledFprAtTpr(scores.known, scores.unknown),
      plain: (k, u) => fprAtTpr(gather(scores.known, k), gather(scores.unknown, u)),
      exact: true,
    },
    {
      name: 'FPR at 80% TPR',
      metric: resampledFprAtTpr(scores.known, scores.unknown, 0.8),
      plain: (k, u) => fprAtTpr(gather(scores.known, k), gather(scores.unknown, u), 0.8),
      exact: true,
    },
  ];
}

function expectNumbersEqual(actual: number, expected: number, exact: boolean): void {
  if (exact) expect(actual).toBe(expected);
  else expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(expected)));
}

function expectOneSentence(action: () => unknown, pattern: RegExp): void {
  let message = '';
  try {
    action();
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(pattern);
  // One sentence: a capital letter first, a full stop last, and no sentence break in between.
  expect(message).toMatch(/^[A-Z].*\.$/s);
  expect(message).not.toMatch(/[.!?]\s+[A-Z]/);
  expect(message).not.toContain('\n');
}

describe('the percentile bootstrap', () => {
  it('matches the exact bootstrap distribution of a hand-made three-example case', () => {
    // Mean of three draws from {0, 0, 1}: k ones ~ Binomial(3, 1/3), so P(mean ≤ 1/3) = 20/27 ≈ 0.741 and
    // P(mean ≤ 2/3) = 26/27 ≈ 0.963. The 5% quantile is 0 and the 95% quantile 2/3 (both far from a CDF step
    // at 20,000 resamples: the 95% point sits 10 standard errors inside), so the 90% interval is [0, 2/3].
    const values = [0, 0, 1];
    const mean = (indices: Int32Array) => gather(values, indices).reduce((a, b) => a + b, 0) / indices.length;
    const interval = bootstrapInterval(3, mean, { resamples: 20_000, level: 0.9, seed: 5 });
    expect(interval).toEqual({ estimate: 1 / 3, low: 0, high: 2 / 3, resamples: 20_000, level: 0.9, seed: 5 });
  });

  it('takes its ends as type-7 percentiles of the statistics of resamples drawn uniformly with replacement', () => {
    const n = 40;
    const seen: number[] = [];
    const frequency = new Float64Array(n);
    let duplicates = 0;
    const values = Array.from({ length: n }, (_, i) => Math.sin(i) * 10);
    let calls = 0;
    const interval = bootstrapInterval(
      n,
      (indices) => {
        // The first call is the full sample in order; the rest are resamples.
        if (calls++ === 0) {
          expect(Array.from(indices)).toEqual(Array.from({ length: n }, (_, i) => i));
        } else {
          expect(indices).toHaveLength(n);
          for (const i of indices) frequency[i]++;
          if (new Set(indices).size < n) duplicates++;
        }
        const value = gather(values, indices).reduce((a, b) => a + b * b, 0);
        if (calls > 1) seen.push(value);
        return value;
      },
      { resamples: 2000, level: 0.8, seed: 3 },
    );
    expect(calls).toBe(2001);
    expect(interval.low).toBeCloseTo(quantile7(seen, 0.1), 12);
    expect(interval.high).toBeCloseTo(quantile7(seen, 0.9), 12);
    // Draws of 40 from 40 with replacement nearly always repeat someone (P(no repeat) = 40!/40^40 ≈ 1e-16).
    expect(duplicates).toBe(2000);
    // Each index is drawn 2000 times in expectation; with sd ≈ √2000 ≈ 45, all 40 lie within 5 sd.
    for (const f of frequency) expect(Math.abs(f - 2000)).toBeLessThan(5 * Math.sqrt(2000 * (1 - 1 / n)));
  });

  it('approaches p ± 1.96·√(p(1−p)/n) for the mean of n Bernoulli outcomes', () => {
    // n = 10,000 outcomes with exactly 3,000 ones (p = 0.3): the bootstrap distribution of the mean is
    // Binomial(n, p)/n, nearly normal with sd σ = √(p(1−p)/n) ≈ 0.00458. With 10,000 resamples the
    // 2.5% and 97.5% points carry a Monte Carlo error of about 0.03σ, so each end must lie within
    // 0.1 of the half-width 1.96σ (≈ 0.0009) of the closed form.
    const n = 10_000;
    const p = 0.3;
    const outcomes = new Uint8Array(n);
    const random = new Random(8);
    const order = random.permutation(n);
    for (let k = 0; k < p * n; k++) outcomes[order[k]] = 1;
    const mean = (indices: Int32Array) => {
      let sum = 0;
      for (const i of indices) sum += outcomes[i];
      return sum / indices.length;
    };
    const halfWidth = 1.96 * Math.sqrt((p * (1 - p)) / n);
    for (const seed of [1, 2]) {
      const interval = bootstrapInterval(n, mean, { resamples: 10_000, seed });
      expect(interval.estimate).toBe(p);
      expect(Math.abs(interval.low - (p - halfWidth))).toBeLessThan(0.1 * halfWidth);
      expect(Math.abs(interval.high - (p + halfWidth))).toBeLessThan(0.1 * halfWidth);
    }
  });

  it('covers the true accuracy and NLL of a known classifier in at least 90% of 200 simulated test sets', () => {
    // The population: four probability rows, equally likely, each example's label drawn from its row
    // (a calibrated classifier). True accuracy = mean of the rows' largest entries; true NLL = mean entropy.
    const prototypes = [
      [0.9, 0.05, 0.05],
      [0.3, 0.6, 0.1],
      [0.25, 0.35, 0.4],
      [0.01, 0.01, 0.98],
    ];
    const trueAccuracy = prototypes.reduce((s, row) => s + Math.max(...row), 0) / prototypes.length;
    const trueNll = prototypes.reduce((s, row) => s - row.reduce((e, p) => e + p * Math.log(p), 0), 0) / prototypes.length;
    const random = new Random(21);
    const n = 1000;
    let coveredAccuracy = 0;
    let coveredNll = 0;
    const sets = 200;
    for (let s = 0; s < sets; s++) {
      const probs = new Float64Array(n * CLASSES);
      for (let i = 0; i < n; i++) probs.set(prototypes[random.integer(prototypes.length)], i * CLASSES);
      const labels = labelsFromRows(random, probs, CLASSES);
      const acc = bootstrapInterval(resampledAccuracy(probs, labels, CLASSES), { seed: s });
      const nll = bootstrapInterval(resampledNegativeLogLikelihood(probs, labels, CLASSES), { seed: s });
      if (acc.low <= trueAccuracy && trueAccuracy <= acc.high) coveredAccuracy++;
      if (nll.low <= trueNll && trueNll <= nll.high) coveredNll++;
    }
    expect(coveredAccuracy / sets).toBeGreaterThanOrEqual(0.9);
    expect(coveredNll / sets).toBeGreaterThanOrEqual(0.9);
  });

  it('gives byte-identical output for the same seed and a different interval for another', () => {
    const { probs, labels } = classificationCase(4, 500);
    const scores = detectionCase(5, 200, 150);
    const makers: (() => ResampledMetric)[] = [
      () => resampledAccuracy(probs, labels, CLASSES),
      () => resampledNegativeLogLikelihood(probs, labels, CLASSES),
      () => resampledBrierScore(probs, labels, CLASSES),
      () => resampledCalibrationError(probs, labels, CLASSES),
      () => resampledAuroc(scores.known, scores.unknown),
      () => resampledFprAtTpr(scores.known, scores.unknown),
    ];
    const bytes = (interval: BootstrapInterval) =>
      Array.from(new Uint8Array(new Float64Array([interval.estimate, interval.low, interval.high]).buffer));
    for (const make of makers) {
      const first = bootstrapInterval(make(), { resamples: 300, seed: 17 });
      const again = bootstrapInterval(make(), { resamples: 300, seed: 17 });
      const other = bootstrapInterval(make(), { resamples: 300, seed: 18 });
      expect(again).toEqual(first);
      expect(bytes(again)).toEqual(bytes(first));
      expect(other.estimate).toBe(first.estimate);
      expect(other.low !== first.low || other.high !== first.high).toBe(true);
    }
  });

  it('resamples each set from its own stream, so the known indices do not depend on the unknown set', () => {
    const record = (counts: number[]) => {
      const known: number[][] = [];
      bootstrapInterval(
        counts,
        (k, u) => {
          known.push(Array.from(k));
          return u.length;
        },
        { resamples: 5, seed: 9 },
      );
      return known;
    };
    const withFew = record([30, 10]);
    // The known stream is the project's generator: set k draws new Random(k-th fork of new Random(seed)).integer(n).
    const master = new Random(9);
    const knownStream = new Random(master.fork());
    // (The first call is the full sample.)
    expect(withFew.slice(1)).toEqual(Array.from({ length: 5 }, () => Array.from({ length: 30 }, () => knownStream.integer(30))));
    expect(record([30, 500])).toEqual(withFew);
    // …and a one-set bootstrap with the same seed draws the same indices as the known set.
    const single: number[][] = [];
    bootstrapInterval(30, (i) => single.push(Array.from(i)), { resamples: 5, seed: 9 });
    expect(single).toEqual(withFew);
  });
});

describe('the resampled metric wrappers', () => {
  it('equal the plain metric functions on explicitly resampled arrays', () => {
    for (const { name, metric, plain, exact } of wrappersAndPlainMetrics()) {
      // The full sample, then resamples drawn here with the test's own generator.
      const identity = metric.counts.map((n) => Int32Array.from({ length: n }, (_, i) => i));
      expectNumbersEqual(metric.statistic(...identity), plain(...identity), exact);
      for (const seed of [1, 2, 3, 4]) {
        const random = new Random(1000 + seed);
        const indices = metric.counts.map((n) => drawIndices(random, n));
        const value = metric.statistic(...indices);
        expect(Number.isFinite(value), name).toBe(true);
        expectNumbersEqual(value, plain(...indices), exact);
      }
    }
  });

  it('give the interval that brute-force resampling with the plain metric gives', () => {
    for (const { metric, plain, exact } of wrappersAndPlainMetrics()) {
      for (const seed of [7, 8]) {
        const fast = bootstrapInterval(metric, { resamples: 200, seed });
        const brute = bootstrapInterval(metric.counts, plain, { resamples: 200, seed });
        expectNumbersEqual(fast.estimate, brute.estimate, exact);
        expectNumbersEqual(fast.low, brute.low, exact);
        expectNumbersEqual(fast.high, brute.high, exact);
      }
    }
  });

  it('run 1,000 resamples of 20,000 examples per set', () => {
    // Timings belong in the benchmark; this checks only that the sizes the study uses go through.
    const random = new Random(30);
    const n = 20_000;
    const probs = randomProbabilities(random, n, 10, 3);
    const labels = randomLabels(random, n, 10);
    const known = Float64Array.from({ length: n }, () => random.normal());
    const unknown = Float64Array.from({ length: n }, () => random.normal() + 1);
    for (const metric of [resampledCalibrationError(probs, labels, 10), resampledAuroc(known, unknown)]) {
      const interval = bootstrapInterval(metric, { seed: 1 });
      expect(interval.low).toBeLessThanOrEqual(interval.high);
    }
  });
});

describe('paired differences', () => {
  it('is exactly [0, 0] for a method against itself', () => {
    for (const { metric } of wrappersAndPlainMetrics()) {
      const interval = pairedDifferenceInterval(metric, metric, { resamples: 200, seed: 4 });
      expect(interval).toEqual({ estimate: 0, low: 0, high: 0, resamples: 200, level: 0.95, seed: 4 });
    }
  });

  it('equals brute-force resampling of the difference of the plain metrics, known and unknown sets shared', () => {
    const { probs, labels } = classificationCase(40, 250);
    const other = Float64Array.from(probs, (p, k) => 0.8 * p + 0.2 * (k % CLASSES === 1 ? 1 : 0));
    const scores = detectionCase(41, 80, 60);
    const shifted = { known: scores.known.map((s, i) => s + (i % 3)), unknown: scores.unknown.map((s, i) => s - (i % 2)) };
    const rows = (p: Float32Array | Float64Array, i: Int32Array) => [gatherRows(p, CLASSES, i), gather(labels, i)] as const;
    const cases = [
      {
        fast: pairedDifferenceInterval(resampledCalibrationError(probs, labels, CLASSES), resampledCalibrationError(other, labels, CLASSES), { resamples: 150, seed: 2 }),
        brute: pairedDifferenceInterval(
          250,
          (i) => calibration(...rows(probs, i), CLASSES).ece,
          (i) => calibration(...rows(other, i), CLASSES).ece,
          { resamples: 150, seed: 2 },
        ),
      },
      {
        fast: pairedDifferenceInterval(resampledAuroc(scores.known, scores.unknown), resampledAuroc(shifted.known, shifted.unknown), { resamples: 150, seed: 2 }),
        brute: pairedDifferenceInterval(
          [80, 60],
          (k, u) => auroc(gather(scores.known, k), gather(scores.unknown, u)),
          (k, u) => auroc(gather(shifted.known, k), gather(shifted.unknown, u)),
          { resamples: 150, seed: 2 },
        ),
      },
      {
        fast: pairedDifferenceInterval(resampledFprAtTpr(scores.known, scores.unknown), resampledFprAtTpr(shifted.known, shifted.unknown), { resamples: 150, seed: 2 }),
        brute: pairedDifferenceInterval(
          [80, 60],
          (k, u) => fprAtTpr(gather(scores.known, k), gather(scores.unknown, u)),
          (k, u) => fprAtTpr(gather(shifted.known, k), gather(shifted.unknown, u)),
          { resamples: 150, seed: 2 },
        ),
      },
    ];
    for (const { fast, brute } of cases) {
      expect(fast).toEqual(brute);
      expect(fast.low).toBeLessThan(fast.high);
    }
  });

  it('is much narrower than the unpaired difference for strongly correlated methods', () => {
    // Method B is method A with a little noise mixed into its probabilities (and its detection scores),
    // so per-example differences are small while the examples themselves vary a lot. Labels come from a
    // softened A, so both are overconfident and share the calibration gap that ECE measures (ECE's
    // |gap| would decorrelate two methods whose gaps sit near 0).
    const random = new Random(50);
    const n = 2000;
    const probsA = randomProbabilities(random, n, CLASSES, 2);
    const labels = labelsFromRows(random, Float64Array.from(probsA, (p) => 0.7 * p + 0.1), CLASSES);
    const noise = randomProbabilities(random, n, CLASSES, 2);
    const probsB = Float64Array.from(probsA, (p, k) => 0.9 * p + 0.1 * noise[k]);
    const knownA = Float64Array.from({ length: n }, () => random.normal());
    const unknownA = Float64Array.from({ length: n }, () => random.normal() + 1.5);
    const knownB = knownA.map((s) => s + 0.1 * random.normal());
    const unknownB = unknownA.map((s) => s + 0.1 * random.normal());
    const pairs: [ResampledMetric, ResampledMetric][] = [
      [resampledAccuracy(probsA, labels, CLASSES), resampledAccuracy(probsB, labels, CLASSES)],
      [resampledNegativeLogLikelihood(probsA, labels, CLASSES), resampledNegativeLogLikelihood(probsB, labels, CLASSES)],
      [resampledBrierScore(probsA, labels, CLASSES), resampledBrierScore(probsB, labels, CLASSES)],
      [resampledCalibrationError(probsA, labels, CLASSES), resampledCalibrationError(probsB, labels, CLASSES)],
      [resampledAuroc(knownA, unknownA), resampledAuroc(knownB, unknownB)],
      [resampledFprAtTpr(knownA, unknownA), resampledFprAtTpr(knownB, unknownB)],
    ];
    for (const [a, b] of pairs) {
      const paired = pairedDifferenceInterval(a, b, { resamples: 500, seed: 6 });
      // Unpaired: each method's sets resampled by streams of their own.
      const unpaired = bootstrapInterval(
        [...a.counts, ...b.counts],
        (...indices) => a.statistic(...indices.slice(0, a.counts.length)) - b.statistic(...indices.slice(a.counts.length)),
        { resamples: 500, seed: 6 },
      );
      expect(paired.estimate).toBe(unpaired.estimate);
      expect(paired.high - paired.low).toBeLessThan(0.6 * (unpaired.high - unpaired.low));
    }
  });
});

describe('spread across training seeds', () => {
  it('gives the mean, sample standard deviation, min and max', () => {
    // [1, 2, 3, 6]: mean 3, squared deviations 4 + 1 + 0 + 9 = 14, sd = √(14/3).
    expect(acrossSeeds([2, 6, 1, 3])).toEqual({ seeds: 4, mean: 3, standardDeviation: Math.sqrt(14 / 3), min: 1, max: 6 });
    expect(acrossSeeds(new Float64Array([0.5]))).toEqual({ seeds: 1, mean: 0.5, standardDeviation: null, min: 0.5, max: 0.5 });
    // 0.1 + 0.1 + 0.1 is not 0.3 in floating point; equal values still have no spread.
    expect(acrossSeeds([0.1, 0.1, 0.1]).standardDeviation).toBe(0);
  });
});

describe('argument checks', () => {
  const mean = (indices: Int32Array) => indices.length;
  const metric = resampledAccuracy(new Float64Array([0.6, 0.4, 0.3, 0.7]), [0, 0], 2);

  it('throws one clear sentence for each invalid argument', () => {
    expectOneSentence(() => bootstrapInterval(5, mean, { resamples: 0, seed: 1 }), /resamples must be an integer of at least 1, got 0/);
    expectOneSentence(() => bootstrapInterval(5, mean, { resamples: 2.5, seed: 1 }), /resamples .* got 2\.5/);
    for (const level of [0, 1, 1.5, -0.1, Number.NaN]) {
      expectOneSentence(() => bootstrapInterval(metric, { level, seed: 1 }), /level must lie strictly between 0 and 1/);
    }
    expectOneSentence(() => bootstrapInterval(metric, { seed: 0.5 }), /seed must be an integer, got 0\.5/);
    expectOneSentence(() => bootstrapInterval(metric, {} as { seed: number }), /seed must be an integer, got undefined/);
    expectOneSentence(() => bootstrapInterval(0, mean, { seed: 1 }), /sample must have a positive integer number of examples, got 0/);
    expectOneSentence(() => bootstrapInterval([4, 0], mean, { seed: 1 }), /Set 1 of the bootstrap .* got 0/);
    expectOneSentence(() => bootstrapInterval([], mean, { seed: 1 }), /at least one set/);
    expectOneSentence(() => bootstrapInterval(3, () => Number.NaN, { seed: 1 }), /statistic returned NaN/);
    expectOneSentence(() => resampledAccuracy(new Float64Array(0), [], 3), /probabilities are empty/);
    expectOneSentence(() => resampledCalibrationError(new Float64Array([1, 0]), [0], 2, { bins: 0 }), /number of bins/);
    expectOneSentence(() => resampledAuroc([], [1, 2]), /known scores are empty/);
    expectOneSentence(() => resampledFprAtTpr([1], []), /unknown scores are empty/);
    expectOneSentence(() => resampledFprAtTpr([1], [2], 0), /true positive rate/);
    const other = resampledAccuracy(new Float64Array([0.6, 0.4]), [0], 2);
    expectOneSentence(() => pairedDifferenceInterval(metric, other, { seed: 1 }), /different sizes .* same examples/);
    expectOneSentence(
      () => pairedDifferenceInterval(resampledAuroc([1, 2], [3]), resampledAuroc([1, 2], [3, 4]), { seed: 1 }),
      /different sizes \(\[2, 1\] and \[2, 2\]\)/,
    );
  });
});

describe('several metrics in one pass', () => {
  const random = new Random(91);
  const count = 700;
  const probs = randomProbabilities(random, count, CLASSES);
  const labels = randomLabels(random, count, CLASSES);
  const extra = Float64Array.from({ length: count }, () => random.uniform());
  const known = randomIntegerScores(random, 400, 30);
  const unknown = randomIntegerScores(random, 250, 30).map((s) => s + 5);
  const options = { resamples: 300, seed: 17 };
  const meanOf = (values: Float64Array): ResampledMetric => ({
    counts: [values.length],
    statistic: (indices) => gather(values, indices).reduce((sum, v) => sum + v, 0) / indices.length,
  });

  it('gives every metric the very interval its own bootstrap gives, on the same seed', () => {
    const together = bootstrapIntervals(resampledClassificationMetrics(probs, labels, CLASSES, { bins: 10, perExample: extra }), options);
    expect(together.accuracy).toEqual(bootstrapInterval(resampledAccuracy(probs, labels, CLASSES), options));
    expect(together.nll).toEqual(bootstrapInterval(resampledNegativeLogLikelihood(probs, labels, CLASSES), options));
    expect(together.brier).toEqual(bootstrapInterval(resampledBrierScore(probs, labels, CLASSES), options));
    expect(together.ece).toEqual(bootstrapInterval(resampledCalibrationError(probs, labels, CLASSES, { bins: 10 }), options));
    const tops = Float64Array.from({ length: count }, (_, i) => Math.max(...probs.subarray(i * CLASSES, (i + 1) * CLASSES)));
    for (const key of ['estimate', 'low', 'high'] as const) {
      expect(together.meanConfidence[key]).toBeCloseTo(bootstrapInterval(meanOf(tops), options)[key], 12);
      expect(together.mean[key]).toBeCloseTo(bootstrapInterval(meanOf(extra), options)[key], 12);
    }
    const detection = bootstrapIntervals(resampledDetectionMetrics(known, unknown, 0.95), options);
    expect(detection.auroc).toEqual(bootstrapInterval(resampledAuroc(known, unknown), options));
    expect(detection.fpr).toEqual(bootstrapInterval(resampledFprAtTpr(known, unknown, 0.95), options));
    // The unknown set's mean score is resampled with the unknown set's stream (the second of the two).
    const unknownMean: ResampledMetric = { counts: [known.length, unknown.length], statistic: (_k, u) => gather(unknown, u).reduce((sum, v) => sum + v, 0) / u.length };
    for (const key of ['estimate', 'low', 'high'] as const) expect(detection.meanUnknown[key]).toBeCloseTo(bootstrapInterval(unknownMean, options)[key], 12);
  });

  it('gives paired differences equal to one paired bootstrap per metric, and [0, 0] against itself', () => {
    const other = randomProbabilities(random, count, CLASSES);
    const first = resampledClassificationMetrics(probs, labels, CLASSES);
    const second = resampledClassificationMetrics(other, labels, CLASSES);
    const paired = pairedDifferenceIntervals(first, second, options);
    expect(paired.accuracy).toEqual(pairedDifferenceInterval(resampledAccuracy(probs, labels, CLASSES), resampledAccuracy(other, labels, CLASSES), options));
    expect(paired.nll).toEqual(pairedDifferenceInterval(resampledNegativeLogLikelihood(probs, labels, CLASSES), resampledNegativeLogLikelihood(other, labels, CLASSES), options));
    expect(paired.ece).toEqual(pairedDifferenceInterval(resampledCalibrationError(probs, labels, CLASSES), resampledCalibrationError(other, labels, CLASSES), options));
    const detectionPaired = pairedDifferenceIntervals(resampledDetectionMetrics(known, unknown), resampledDetectionMetrics(unknown.slice(0, 400).concat(known).slice(0, 400), unknown), options);
    expect(detectionPaired.auroc).toEqual(
      pairedDifferenceInterval(resampledAuroc(known, unknown), resampledAuroc(unknown.slice(0, 400).concat(known).slice(0, 400), unknown), options),
    );
    const self = pairedDifferenceIntervals(first, resampledClassificationMetrics(probs, labels, CLASSES), options);
    for (const name of ['accuracy', 'nll', 'brier', 'ece', 'meanConfidence']) expect([self[name].low, self[name].high]).toEqual([0, 0]);
    expect(() => pairedDifferenceIntervals(first, resampledDetectionMetrics(known, unknown), options)).toThrow(/same metrics of the same examples/);
  });
});

describe('the weighted path', () => {
  // Each resample materialised: the drawn rows gathered into new arrays and handed to the plain metric functions.
  const { probs, labels } = classificationCase(41, 240);
  const scores = detectionCase(42, 150, 70);
  const random = new Random(43);
  const extra = Float64Array.from({ length: 240 }, () => random.integer(5) / 4);
  const options = { resamples: 60, seed: 5 };
  const rows = (indices: Int32Array) => [gatherRows(probs, CLASSES, indices), gather(labels, indices)] as const;
  const meanAt = (values: ArrayLike<number>, indices: Int32Array) => gather(values, indices).reduce((sum, v) => sum + v, 0) / indices.length;

  it('gives each resample the plain metrics of the explicitly resampled rows, ties and bin edges included', () => {
    const metrics = resampledClassificationMetrics(probs, labels, CLASSES, { bins: 10, perExample: extra });
    const byIndices = resampleStatistics(metrics, options);
    const weighted = resampleStatisticsWeighted(metrics, options);
    // The indices the bootstrap draws for this seed, recorded through the generic index API.
    const drawn: Int32Array[] = [];
    bootstrapInterval(240, (indices) => drawn.push(Int32Array.from(indices)), options);
    drawn.shift(); // the full sample comes first
    expect(weighted.estimates).toEqual(byIndices.estimates);
    drawn.forEach((indices, r) => {
      const value = (name: string) => weighted.values[weighted.names.indexOf(name)][r];
      // Counts of correct rows and of rows per bin are integers: exact.
      expect(value('accuracy')).toBe(accuracy(...rows(indices), CLASSES));
      expectNumbersEqual(value('nll'), negativeLogLikelihood(...rows(indices), CLASSES), false);
      expectNumbersEqual(value('brier'), brierScore(...rows(indices), CLASSES), false);
      expectNumbersEqual(value('ece'), calibration(...rows(indices), CLASSES).ece, false);
      const tops = Array.from({ length: 240 }, (_, i) => Math.max(...probs.subarray(i * CLASSES, (i + 1) * CLASSES)));
      expectNumbersEqual(value('meanConfidence'), meanAt(tops, indices), false);
      expectNumbersEqual(value('mean'), meanAt(extra, indices), false);
    });
    // And the intervals of the two paths agree to rounding (accuracy to the bit).
    const fast = intervalsOf(weighted);
    const slow = intervalsOf(byIndices);
    expect(fast.accuracy).toEqual(slow.accuracy);
    for (const name of ['nll', 'brier', 'ece', 'meanConfidence', 'mean']) {
      for (const key of ['estimate', 'low', 'high'] as const) expectNumbersEqual(fast[name][key], slow[name][key], false);
    }
  });

  it('gives AUROC and FPR of the explicitly resampled scores to the bit, with ties, ±0 and infinities, and the unknown mean where a score is infinite', () => {
    for (const tpr of [0.95, 0.8, 0.5, 1]) {
      const metrics = resampledDetectionMetrics(scores.known, scores.unknown, tpr);
      const weighted = resampleStatisticsWeighted(metrics, options);
      const byIndices = resampleStatistics(metrics, options);
      const drawn: [Int32Array, Int32Array][] = [];
      bootstrapInterval([150, 70], (known, unknown) => drawn.push([Int32Array.from(known), Int32Array.from(unknown)]), options);
      drawn.shift();
      drawn.forEach(([known, unknown], r) => {
        const knownScores = gather(scores.known, known);
        const unknownScores = gather(scores.unknown, unknown);
        expect(weighted.values[0][r]).toBe(auroc(knownScores, unknownScores));
        expect(weighted.values[1][r]).toBe(fprAtTpr(knownScores, unknownScores, tpr));
        expect(weighted.values[2][r]).toBe(byIndices.values[2][r]);
      });
      expect(weighted.estimates).toEqual(byIndices.estimates);
    }
  });

  it('counts the draws of every resample: each resample names the rows the index stream draws, as often as it draws them', () => {
    const finite = detectionCase(44, 30, 20);
    finite.unknown = finite.unknown.map((s) => (Number.isFinite(s) ? s : 7));
    const metrics = resampledDetectionMetrics(finite.known, finite.unknown);
    const weighted = resampleStatisticsWeighted(metrics, options);
    const drawn: Int32Array[] = [];
    bootstrapInterval([30, 20], (_known, unknown) => drawn.push(Int32Array.from(unknown)), options);
    drawn.shift();
    // The unknown mean from multiplicities: Σ count·score over rows equals the sum over the draws (small integers and quarters: exact).
    drawn.forEach((unknown, r) => expect(weighted.values[2][r]).toBe(meanAt(finite.unknown, unknown)));
  });
});
