/** How the page words comparisons: only an interval clear of zero may say "lowers" or "raises". */
import { describe, expect, it } from 'vitest';
import { effect, showDifference, tally, verdict, withInterval, type SummaryRow } from '../../site/lib/findings.ts';

const d = (estimate: number, low: number, high: number) => ({ estimate, low, high });

describe('verdict', () => {
  it('calls a difference whose interval contains zero indistinguishable', () => {
    expect(verdict(d(-0.002, -0.005, 0.001), 'nll')).toBe('indistinguishable');
  });
  it('knows which direction is better per metric', () => {
    expect(verdict(d(-0.365, -0.398, -0.334), 'nll')).toBe('better');
    expect(verdict(d(0.261, 0.256, 0.266), 'auroc')).toBe('better');
    expect(verdict(d(0.0795, 0.0753, 0.082), 'ece')).toBe('worse');
    expect(verdict(d(-0.01, -0.012, -0.008), 'accuracy')).toBe('worse');
  });
  it('does not call a difference smaller than the printed precision a finding', () => {
    // Excludes zero, but both ends print as 0.000.
    expect(verdict(d(0.0001, 0.00005, 0.0002), 'nll')).toBe('indistinguishable');
    // 0.00003 of ECE is 0.003 points: below the 0.005 points that print as 0.01.
    expect(verdict(d(0.00003, 0.00001, 0.00004), 'ece')).toBe('indistinguishable');
    // One end clear of the precision is enough.
    expect(verdict(d(0.0006, 0.0001, 0.0011), 'nll')).toBe('worse');
  });
});

describe('effect', () => {
  it('words a clear decrease with its interval as magnitudes', () => {
    expect(effect(d(-0.365, -0.398, -0.334), 'nll')).toBe('lowers the NLL by 0.365 (95% interval 0.334 to 0.398)');
  });
  it('words a clear increase of a percentage in points', () => {
    expect(effect(d(0.0254, 0.0161, 0.0338), 'ece')).toBe('raises the ECE by 2.54 points (95% interval 1.61 to 3.38)');
  });
  it('says indistinguishable and still gives the interval', () => {
    expect(effect(d(0.0001, -0.0004, 0.0008), 'ece')).toBe('leaves the ECE indistinguishable (+0.01 points, 95% interval −0.04 to +0.08)');
  });
  it('does not print a signed zero for a difference below the precision', () => {
    expect(showDifference(d(0.00001, -0.00002, 0.00003), 'nll')).toBe('difference below 0.001 either way');
  });
});

it('withInterval prints value and interval in the same unit', () => {
  expect(withInterval(0.0222, { low: 0.0185, high: 0.0261 }, 'ece')).toBe('2.22% (95% interval 1.85–2.61%)');
  expect(withInterval(0.42, { low: 0.404, high: 0.437 }, 'nll')).toBe('0.420 (95% interval 0.404–0.437)');
});

describe('tally', () => {
  const diffs = (nll: [number, number, number]) => ({ accuracy: d(0, 0, 0), ece: d(0, 0, 0), nll: d(...nll), auroc: d(0, 0, 0), fpr95: d(0, 0, 0) });
  const row = (model: string, method: string, nll: [number, number, number], posterior = 'tuned') =>
    ({ dataset: 'mnist', model, method, posterior, versus: { sgd: diffs(nll), temperature: diffs(nll) } }) as unknown as SummaryRow;
  it('counts a network once, by its best structure', () => {
    const rows = [
      // a: one structure beats the baseline, the other does not: Laplace better.
      row('a', 'diag', [-0.01, -0.02, -0.005]),
      row('a', 'kfac', [0.01, 0.005, 0.02]),
      // b: every structure is worse: baseline better.
      row('b', 'diag', [0.01, 0.005, 0.02]),
      row('b', 'kfac', [0.02, 0.01, 0.03]),
      // c: one worse, one overlapping zero: indistinguishable.
      row('c', 'diag', [0.01, 0.005, 0.02]),
      row('c', 'kfac', [0.0, -0.01, 0.01]),
      // Rows of another posterior, and baselines, are not counted.
      row('d', 'kfac', [-0.1, -0.2, -0.05], 'marglik'),
      { dataset: 'mnist', model: 'a', method: 'temperature', posterior: 'map', versus: null } as unknown as SummaryRow,
    ];
    expect(tally(rows, 'temperature', 'nll')).toEqual({ networks: 3, laplaceBetter: 1, baselineBetter: 1, indistinguishable: 1 });
  });
});
