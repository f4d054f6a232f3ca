/**
 * When the summary table may call a cell best, on hand-worked intervals.
 */
import { describe, expect, it } from 'vitest';
import { betterOf, clearBest, clearBestByMetric, type MetricRow } from '../../site/lib/best.ts';
import { modelLabel, posteriorLabel } from '../../site/lib/names.ts';

const at = (value: number, low: number, high: number) => ({ value, low, high });

describe('clearBest', () => {
  it('marks nothing when the best interval overlaps another', () => {
    // 0.90 is highest, but [0.85, 0.95] reaches into [0.80, 0.86].
    expect(clearBest([at(0.83, 0.8, 0.86), at(0.9, 0.85, 0.95)], 'higher')).toBeNull();
  });

  it('marks the best when its interval clears every other', () => {
    // 0.90 on [0.88, 0.92] lies above 0.86 and above 0.70's interval.
    expect(clearBest([at(0.83, 0.8, 0.86), at(0.9, 0.88, 0.92), at(0.7, 0.6, 0.75)], 'higher')).toBe(1);
  });

  it('needs the best to clear every other row, not just the nearest', () => {
    // Clears row 0 but overlaps row 2, whose value is lower but whose interval is wide.
    expect(clearBest([at(0.5, 0.45, 0.55), at(0.9, 0.88, 0.92), at(0.7, 0.4, 0.89)], 'higher')).toBeNull();
  });

  it('never marks a row of one Monte Carlo draw, and a row marked must still clear it', () => {
    // Row 1 (one draw) is clearly highest: not marked, and row 0, though clear of row 2, does not clear row 1.
    expect(clearBest([at(0.83, 0.8, 0.86), at(0.95, 0.94, 0.96), at(0.7, 0.6, 0.75)], 'higher', [true, false, true])).toBeNull();
    // A one-draw row below the best does not stop it.
    expect(clearBest([at(0.9, 0.88, 0.92), at(0.7, 0.6, 0.75), at(0.8, 0.78, 0.82)], 'higher', [true, false, true])).toBe(0);
    expect(clearBest([at(0.9, 0.88, 0.92), at(0.7, 0.6, 0.75)], 'higher', [false, false])).toBeNull();
  });

  it('counts intervals that only touch as overlapping', () => {
    expect(clearBest([at(0.83, 0.8, 0.88), at(0.9, 0.88, 0.92)], 'higher')).toBeNull();
  });

  it('marks nothing on a tie, even with intervals that do not overlap', () => {
    // Two rows share the best value: neither is best. (Odd intervals on purpose: the tie decides.)
    expect(clearBest([at(0.9, 0.89, 0.91), at(0.9, 0.8, 0.85), at(0.5, 0.4, 0.6)], 'higher')).toBeNull();
    expect(clearBest([at(0.1, 0.05, 0.15), at(0.1, 0.05, 0.15)], 'lower')).toBeNull();
  });

  it('takes the lowest value when lower is better', () => {
    // ECE 1% on [0.5%, 1.5%] against 3% on [2%, 4%] and 5% on [4%, 6%].
    expect(clearBest([at(0.03, 0.02, 0.04), at(0.05, 0.04, 0.06), at(0.01, 0.005, 0.015)], 'lower')).toBe(2);
    // The same rows read as higher-is-better: 5% is highest but [4%, 6%] touches [2%, 4%].
    expect(clearBest([at(0.03, 0.02, 0.04), at(0.05, 0.04, 0.06), at(0.01, 0.005, 0.015)], 'higher')).toBeNull();
    // Lower is better, overlapping: 1% on [0.5%, 2.5%] reaches 3%'s [2%, 4%].
    expect(clearBest([at(0.03, 0.02, 0.04), at(0.01, 0.005, 0.025)], 'lower')).toBeNull();
  });

  it('refuses a best whose interval sits on the wrong side (only a clearly better interval counts)', () => {
    // Highest value, yet its interval lies below the other's: disjoint, but not better.
    expect(clearBest([at(0.8, 0.85, 0.9), at(0.81, 0.7, 0.75)], 'higher')).toBeNull();
  });

  it('marks nothing with fewer than two rows', () => {
    expect(clearBest([], 'higher')).toBeNull();
    expect(clearBest([at(0.9, 0.88, 0.92)], 'higher')).toBeNull();
  });
});

describe('clearBestByMetric', () => {
  const row = (accuracy: number, ece: number, width: number): MetricRow => {
    const around = (value: number) => ({ low: value - width, high: value + width });
    return { accuracy, ece, nll: 0.3, auroc: 0.9, aurocMsp: 0.8, fpr95: 0.4, intervals: { accuracy: around(accuracy), ece: around(ece), nll: around(0.3), auroc: around(0.9), aurocMsp: around(0.8), fpr95: around(0.4) } };
  };

  it('reads each metric in its own direction', () => {
    expect(betterOf).toEqual({ accuracy: 'higher', ece: 'lower', nll: 'lower', auroc: 'higher', aurocMsp: 'higher', fpr95: 'lower' });
    // Row 0 is most accurate, row 1 best calibrated, both by a clear margin; the rest are all tied.
    const rows = [row(0.99, 0.05, 0.005), row(0.95, 0.01, 0.005), row(0.9, 0.08, 0.005)];
    expect(clearBestByMetric(rows)).toEqual({ accuracy: 0, ece: 1, nll: null, auroc: null, aurocMsp: null, fpr95: null });
    // Wide intervals: nothing is clear.
    const wide = [row(0.99, 0.05, 0.05), row(0.95, 0.01, 0.05), row(0.9, 0.08, 0.05)];
    expect(clearBestByMetric(wide)).toEqual({ accuracy: null, ece: null, nll: null, auroc: null, aurocMsp: null, fpr95: null });
  });
});

describe('names', () => {
  it('names networks and posteriors for readers', () => {
    expect(['lenet5', 'lenet5-overconfident', 'mlp-2', 'cnn-3', 'mlp-2-overconfident', 'something'].map(modelLabel)).toEqual([
      'LeNet-5',
      'LeNet-5 (overconfident)',
      'MLP-2',
      'CNN-3',
      'MLP-2 (overconfident)',
      'something',
    ]);
    expect(['map', 'tuned', 'marglik', 'textbook', 'original'].map(posteriorLabel)).toEqual(['MAP', 'tuned', 'marginal likelihood', 'textbook prior', 'original recipe']);
  });
});
