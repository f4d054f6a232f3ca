import { describe, expect, it } from 'vitest';
import {
  auroc,
  empiricalQuantile,
  fprAtTpr,
  fractionAboveKnownQuantile,
  thresholdAtTpr,
} from '../../compute/metrics/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { randomIntegerScores } from './helpers.ts';

/** P(unknown > known) + ½ P(unknown = known) by a double loop over all pairs. */
function bruteAuroc(known: number[], unknown: number[]): number {
  let wins = 0;
  for (const u of unknown) {
    for (const k of known) {
      if (u > k) wins += 1;
      else if (u === k) wins += 0.5;
    }
  }
  return wins / (known.length * unknown.length);
}

/** FPR at the largest threshold t (over every score and ±Infinity) with #{unknown ≥ t} / n ≥ tpr. */
function bruteFpr(known: number[], unknown: number[], tpr: number): { fpr: number; threshold: number } {
  const candidates = [...new Set([...known, ...unknown, -Infinity, Infinity])];
  let best = -Infinity;
  for (const t of candidates) {
    const detected = unknown.filter((u) => u >= t).length / unknown.length;
    if (detected >= tpr - 1e-12 && t > best) best = t;
  }
  return { fpr: known.filter((k) => k >= best).length / known.length, threshold: best };
}

describe('AUROC', () => {
  it('is 1, 0 and 0.5 in the edge cases', () => {
    expect(auroc([0, 1, 2], [3, 4])).toBe(1);
    expect(auroc([3, 4], [0, 1, 2])).toBe(0);
    expect(auroc([5, 5, 5], [5, 5])).toBe(0.5);
    expect(auroc([1, 2, 3, 4], [1, 2, 3, 4])).toBe(0.5);
    expect(auroc([7], [7])).toBe(0.5);
  });

  it('works out a hand example with ties', () => {
    // known 1, 2, 3; unknown 2, 4. Pairs (u, k):
    //   u=2: >1 win, =2 half, <3 loss → 1.5
    //   u=4: wins over all three     → 3
    // AUROC = 4.5 / 6 = 0.75
    expect(auroc([1, 2, 3], [2, 4])).toBe(0.75);
    expect(auroc(new Float32Array([1, 2, 3]), new Float64Array([2, 4]))).toBe(0.75);
  });

  it('handles ±Infinity scores', () => {
    expect(auroc([-Infinity, 0], [Infinity, Infinity])).toBe(1);
    expect(auroc([Infinity, 0], [Infinity])).toBe(0.75);
  });

  it('matches a brute-force double loop on random integer scores with many ties', () => {
    const random = new Random(41);
    for (let trial = 0; trial < 30; trial++) {
      const levels = 1 + random.integer(8);
      const known = randomIntegerScores(random, 1 + random.integer(150), levels);
      const unknown = randomIntegerScores(random, 1 + random.integer(150), levels).map((s) => s + random.integer(3));
      expect(auroc(known, unknown)).toBeCloseTo(bruteAuroc(known, unknown), 12);
    }
  });

  it('matches brute force on continuous scores', () => {
    const random = new Random(42);
    const known = Array.from({ length: 300 }, () => random.normal());
    const unknown = Array.from({ length: 200 }, () => random.normal() + 1);
    const value = auroc(known, unknown);
    expect(value).toBeCloseTo(bruteAuroc(known, unknown), 12);
    expect(value).toBeGreaterThan(0.6);
  });
});

describe('FPR at 95% TPR', () => {
  it('works out a hand example', () => {
    // 20 unknown scores 1..20: ⌈0.95 · 20⌉ = 19 must be flagged, so the threshold is the
    // 19th largest, 2 (scores ≥ 2 are 19 of 20). Known 0, 1, 2, 2.5: those ≥ 2 are 2 of 4.
    const unknown = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(thresholdAtTpr(unknown)).toBe(2);
    expect(fprAtTpr([0, 1, 2, 2.5], unknown)).toBe(0.5);
    // TPR 1 needs every unknown flagged: threshold 1, known ≥ 1 are 3 of 4.
    expect(fprAtTpr([0, 1, 2, 2.5], unknown, 1)).toBe(0.75);
    // Perfect separation: 0; complete overlap: 1.
    expect(fprAtTpr([0, 0.5], [1, 2, 3])).toBe(0);
    expect(fprAtTpr([5, 6], [1, 2, 3])).toBe(1);
  });

  it('does not let floating point round ⌈tpr · n⌉ up', () => {
    // 0.07 · 100 = 7.000000000000001 in binary; 7 flagged of 100 is enough.
    expect(0.07 * 100).toBeGreaterThan(7);
    const unknown = Array.from({ length: 100 }, (_, i) => i);
    expect(thresholdAtTpr(unknown, 0.07)).toBe(93); // 93..99 are 7 of 100
    expect(empiricalQuantile(unknown, 0.07)).toBe(6); // the 7th smallest
  });

  it('matches brute force over all thresholds on random integer scores', () => {
    const random = new Random(43);
    for (let trial = 0; trial < 40; trial++) {
      const levels = 2 + random.integer(10);
      const known = randomIntegerScores(random, 1 + random.integer(120), levels);
      const unknown = randomIntegerScores(random, 1 + random.integer(120), levels).map((s) => s + random.integer(4));
      for (const tpr of [0.95, 0.5, 1, 0.01, 0.8]) {
        const brute = bruteFpr(known, unknown, tpr);
        expect(thresholdAtTpr(unknown, tpr)).toBe(brute.threshold);
        expect(fprAtTpr(known, unknown, tpr)).toBe(brute.fpr);
        // The chosen threshold gives the smallest FPR among all thresholds that reach the TPR.
        const unknownCount = unknown.length;
        for (const t of new Set([...known, ...unknown])) {
          const detected = unknown.filter((u) => u >= t).length / unknownCount;
          if (detected >= tpr - 1e-12) {
            expect(known.filter((k) => k >= t).length / known.length).toBeGreaterThanOrEqual(brute.fpr);
          }
        }
      }
    }
  });

  it('rejects a TPR outside (0, 1]', () => {
    expect(() => fprAtTpr([1], [1], 0)).toThrow(/true positive rate/);
    expect(() => fprAtTpr([1], [1], 1.5)).toThrow(/true positive rate/);
  });
});

describe('fraction of unknown above the known quantile', () => {
  it('works out a hand example', () => {
    // Known 1..10: the 0.95-quantile is the ⌈9.5⌉ = 10th smallest, 10; the 0.5-quantile the 5th, 5.
    const known = [3, 1, 2, 4, 5, 6, 7, 8, 9, 10];
    expect(empiricalQuantile(known, 0.95)).toBe(10);
    expect(empiricalQuantile(known, 0.5)).toBe(5);
    expect(empiricalQuantile(known, 0.51)).toBe(6);
    expect(empiricalQuantile(known, 1)).toBe(10);
    expect(empiricalQuantile(known, 0.01)).toBe(1);
    // Unknown 4, 5, 6, 11: strictly above 5 are 6 and 11 → 0.5; strictly above 10 is 11 → 0.25.
    expect(fractionAboveKnownQuantile(known, [4, 5, 6, 11], 0.5)).toBe(0.5);
    expect(fractionAboveKnownQuantile(known, [4, 5, 6, 11])).toBe(0.25);
  });

  it('matches brute force on random integer scores', () => {
    const random = new Random(44);
    for (let trial = 0; trial < 40; trial++) {
      const known = randomIntegerScores(random, 1 + random.integer(100), 2 + random.integer(10));
      const unknown = randomIntegerScores(random, 1 + random.integer(100), 14);
      for (const q of [0.95, 0.5, 0.9, 1, 0.2]) {
        // Smallest known value t with #{known ≤ t} ≥ q · n.
        const candidates = [...known].sort((a, b) => a - b);
        const t = candidates.find((c) => known.filter((k) => k <= c).length >= q * known.length - 1e-9)!;
        expect(empiricalQuantile(known, q)).toBe(t);
        expect(fractionAboveKnownQuantile(known, unknown, q)).toBe(
          unknown.filter((u) => u > t).length / unknown.length,
        );
      }
    }
  });
});
