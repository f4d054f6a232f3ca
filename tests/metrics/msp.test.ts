/**
 * The AUROC scored by the maximum probability (MSP): an input counts as more likely unknown
 * the lower its largest class probability. Checked against a count over every (known, unknown)
 * pair written here, ties counting ½, and its bootstrap against resampling done here with the
 * project's generator streams (set k draws from the k-th fork of new Random(seed)).
 */
import { describe, expect, it } from 'vitest';
import { auroc, entropy, maxProbabilityScores } from '../../compute/metrics/index.ts';
import { differenceIntervalsOf, intervalsOf, resampleStatistics, resampleStatisticsWeighted, resampledAurocMetrics, resampledDetectionMetrics } from '../../compute/metrics/bootstrap.ts';
import { Random } from '../../compute/laplace/random.ts';
import { randomProbabilities } from './helpers.ts';

/** Largest entry of each row, by a loop of its own. */
function rowMaxima(probs: ArrayLike<number>, classes: number): number[] {
  const maxima: number[] = [];
  for (let i = 0; i < probs.length / classes; i++) {
    let top = probs[i * classes];
    for (let c = 1; c < classes; c++) top = Math.max(top, probs[i * classes + c]);
    maxima.push(top);
  }
  return maxima;
}

/** Over every (known, unknown) pair: 1 when the unknown image's largest probability is the lower, ½ when equal. */
function bruteMspAuroc(knownMaxima: number[], unknownMaxima: number[]): number {
  let wins = 0;
  for (const u of unknownMaxima) {
    for (const k of knownMaxima) {
      if (u < k) wins += 1;
      else if (u === k) wins += 0.5;
    }
  }
  return wins / (knownMaxima.length * unknownMaxima.length);
}

/** Float32 probability rows with some rows repeated, so that maxima tie across and within the sets. */
function probabilityCase(random: Random, count: number, classes: number, sharpness: number, repeatFrom?: Float32Array): Float32Array {
  const probs = Float32Array.from(randomProbabilities(random, count, classes, sharpness));
  const source = repeatFrom ?? probs;
  for (let i = 0; i < count; i += 4) {
    const from = random.integer(source.length / classes);
    probs.set(source.subarray(from * classes, (from + 1) * classes), i * classes);
  }
  return probs;
}

/** Type-7 quantile written independently: h = (n − 1)q, interpolate between floor(h) and ceil(h). */
function quantile7(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** `resamples` resamples of the known and the unknown set, each from its own stream, as the study seeds them. */
function explicitResamples(seed: number, knownCount: number, unknownCount: number, resamples: number): { known: number[]; unknown: number[] }[] {
  const master = new Random(seed);
  const knownStream = new Random(master.fork());
  const unknownStream = new Random(master.fork());
  return Array.from({ length: resamples }, () => ({
    known: Array.from({ length: knownCount }, () => knownStream.integer(knownCount)),
    unknown: Array.from({ length: unknownCount }, () => unknownStream.integer(unknownCount)),
  }));
}

const pick = (values: number[], indices: number[]) => indices.map((i) => values[i]);

describe('AUROC by maximum probability', () => {
  it('works out a hand-made case with a tie', () => {
    // Known maxima 0.9, 0.6, 0.5; unknown maxima 0.6, 0.4 (lower: more likely unknown). Pairs (u, k):
    //   u = 0.6: beats k = 0.9, ties k = 0.6, loses to k = 0.5 → 1.5
    //   u = 0.4: beats all three                              → 3
    // AUROC = 4.5 / 6 = 0.75.
    const known = new Float32Array([0.9, 0.05, 0.05, 0.2, 0.6, 0.2, 0.5, 0.25, 0.25]);
    const unknown = new Float32Array([0.3, 0.1, 0.6, 0.4, 0.3, 0.3]);
    const knownScores = maxProbabilityScores(known, 3);
    expect(Array.from(knownScores)).toEqual([-Math.fround(0.9), -Math.fround(0.6), -Math.fround(0.5)]);
    expect(auroc(knownScores, maxProbabilityScores(unknown, 3))).toBe(0.75);
    // Entropy ranks these differently: the unknown row 0.3/0.1/0.6 has lower entropy than the known 0.2/0.6/0.2.
    expect(auroc(entropy(known, 3), entropy(unknown, 3))).not.toBe(0.75);
  });

  it('matches the count over all pairs on random probabilities, ties included', () => {
    const random = new Random(61);
    for (let trial = 0; trial < 12; trial++) {
      const classes = 2 + random.integer(9);
      const known = probabilityCase(random, 1 + random.integer(200), classes, 3);
      const unknown = probabilityCase(random, 1 + random.integer(150), classes, 1, known);
      const value = auroc(maxProbabilityScores(known, classes), maxProbabilityScores(unknown, classes));
      // Half-integer counts over the number of pairs: exact on both sides.
      expect(value).toBe(bruteMspAuroc(rowMaxima(known, classes), rowMaxima(unknown, classes)));
    }
  });

  describe('bootstrap', () => {
    const random = new Random(62);
    const classes = 10;
    const known = probabilityCase(random, 60, classes, 3);
    const unknown = probabilityCase(random, 45, classes, 1.2, known);
    const otherKnown = probabilityCase(random, 60, classes, 2);
    const otherUnknown = probabilityCase(random, 45, classes, 1, otherKnown);
    const options = { resamples: 250, seed: 4 };
    const resamples = explicitResamples(options.seed, 60, 45, options.resamples);
    const maxima = [rowMaxima(known, classes), rowMaxima(unknown, classes), rowMaxima(otherKnown, classes), rowMaxima(otherUnknown, classes)];

    it('gives the percentile interval of explicit resampling, known and unknown drawn independently', () => {
      const statistics = resampleStatistics(resampledAurocMetrics(maxProbabilityScores(known, classes), maxProbabilityScores(unknown, classes)), options);
      const interval = intervalsOf(statistics).auroc;
      const values = resamples.map((r) => bruteMspAuroc(pick(maxima[0], r.known), pick(maxima[1], r.unknown)));
      expect(Array.from(statistics.values[0])).toEqual(values);
      expect(interval.estimate).toBe(bruteMspAuroc(maxima[0], maxima[1]));
      expect(interval.low).toBeCloseTo(quantile7(values, 0.025), 14);
      expect(interval.high).toBeCloseTo(quantile7(values, 0.975), 14);
      expect(interval.low).toBeLessThan(interval.high);
      // The weighted path counts the same draws.
      expect(intervalsOf(resampleStatisticsWeighted(resampledAurocMetrics(maxProbabilityScores(known, classes), maxProbabilityScores(unknown, classes)), options)).auroc).toEqual(interval);
    });

    it('resamples the very images the entropy AUROC resamples at the same seed', () => {
      const entropies = [entropy(known, classes), entropy(unknown, classes)] as const;
      expect(intervalsOf(resampleStatistics(resampledAurocMetrics(...entropies), options)).auroc).toEqual(intervalsOf(resampleStatistics(resampledDetectionMetrics(...entropies), options)).auroc);
    });

    it('gives paired differences of explicit resampling, both methods on the same drawn images', () => {
      const scores = (k: Float32Array, u: Float32Array) => resampleStatistics(resampledAurocMetrics(maxProbabilityScores(k, classes), maxProbabilityScores(u, classes)), options);
      const paired = differenceIntervalsOf(scores(known, unknown), scores(otherKnown, otherUnknown)).auroc;
      const differences = resamples.map(
        (r) => bruteMspAuroc(pick(maxima[0], r.known), pick(maxima[1], r.unknown)) - bruteMspAuroc(pick(maxima[2], r.known), pick(maxima[3], r.unknown)),
      );
      expect(paired.estimate).toBe(bruteMspAuroc(maxima[0], maxima[1]) - bruteMspAuroc(maxima[2], maxima[3]));
      expect(paired.low).toBeCloseTo(quantile7(differences, 0.025), 14);
      expect(paired.high).toBeCloseTo(quantile7(differences, 0.975), 14);
    });
  });
});
