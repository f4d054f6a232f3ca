/** How the page words comparisons: only an interval clear of zero may say "lowers" or "raises". */
import { describe, expect, it } from 'vitest';
import { effect, negligible, overSeeds, seedSpread, showDifference, tally, tallyByStructure, verdict, withInterval, type SummaryRow } from '../../site/lib/findings.ts';

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
  it('applies the one rule at any size: an interval clear of zero is a difference, however small', () => {
    // Both ends print as 0.000, yet the interval excludes zero: real (and, below, worded as negligible).
    expect(verdict(d(0.0001, 0.00005, 0.0002), 'nll')).toBe('worse');
    expect(verdict(d(0.00003, 0.00001, 0.00004), 'ece')).toBe('worse');
    expect(verdict(d(-0.00003, -0.00004, -0.00001), 'auroc')).toBe('worse');
    // An interval touching zero contains it; an all-zero interval (identical predictions) too.
    expect(verdict(d(0.001, 0, 0.002), 'nll')).toBe('indistinguishable');
    expect(verdict(d(0, 0, 0), 'auroc')).toBe('indistinguishable');
  });
});

describe('negligible', () => {
  it('is a real difference whose whole interval prints as zero at the page precision', () => {
    expect(negligible(d(0.000061, 0.00001, 0.000104), 'nll')).toBe(true);
    // Its far end prints as 0.001: not negligible, though its near end needs more digits.
    expect(negligible(d(0.0006, 0.0002, 0.0011), 'nll')).toBe(false);
    // Contains zero: indistinguishable, not negligible.
    expect(negligible(d(0.00001, -0.00002, 0.00003), 'nll')).toBe(false);
    // ECE prints in points to 2 digits: 0.003 points is below 0.005.
    expect(negligible(d(0.00003, 0.00001, 0.00004), 'ece')).toBe(true);
  });
});

describe('effect: one wording per case', () => {
  it('better: words a clear decrease with its interval as magnitudes', () => {
    expect(effect(d(-0.365, -0.398, -0.334), 'nll')).toBe('lowers the NLL by 0.365 (95% interval 0.334 to 0.398)');
    expect(verdict(d(-0.365, -0.398, -0.334), 'nll')).toBe('better');
  });
  it('worse: words a clear increase of a percentage in points', () => {
    expect(effect(d(0.0254, 0.0161, 0.0338), 'ece')).toBe('raises the ECE by 2.54 points (95% interval 1.61 to 3.38)');
    expect(verdict(d(0.0254, 0.0161, 0.0338), 'ece')).toBe('worse');
  });
  it('worse for a higher-is-better metric: a fall of the AUROC', () => {
    expect(effect(d(-0.0097, -0.0104, -0.0089), 'auroc')).toBe('lowers the AUROC by 0.010 (95% interval 0.009 to 0.010)');
  });
  it('indistinguishable: says so and still gives the interval', () => {
    expect(effect(d(0.0001, -0.0004, 0.0008), 'ece')).toBe('leaves the ECE indistinguishable (+0.01 points, 95% interval −0.04 to +0.08)');
  });
  it('real but negligible: its own words, with the digits that show the interval excludes zero', () => {
    // summary.json's KFAC − deterministic NLL on MNIST LeNet-5: +6.1e-5 [+1.0e-5, +1.04e-4].
    expect(effect(d(0.000061, 0.00001, 0.000104), 'nll')).toBe('makes a real but negligible change to the NLL (+0.00006, 95% interval +0.00001 to +0.00010)');
    expect(effect(d(-0.00003, -0.00004, -0.00001), 'ece')).toBe('makes a real but negligible change to the ECE (−0.003 points, 95% interval −0.004 to −0.001)');
  });
  it('real but negligible down to float rounding: exponent notation rather than a row of zeros', () => {
    // The quick profile's KFAC − deterministic ECE on LeNet-5: identical predictions up to float32 rounding.
    expect(effect(d(9.68576e-10, 2.98023e-10, 1.86265e-9), 'ece')).toBe('makes a real but negligible change to the ECE (+9.7e-8 points, 95% interval +3.0e-8 to +1.9e-7)');
    expect(showDifference(d(2.16404e-9, 4.51812e-10, 4.51417e-9), 'nll')).toBe('+2.2e-9, 95% interval +4.5e-10 to +4.5e-9');
  });
  it('prints a real difference with enough digits that neither end reads as zero', () => {
    expect(showDifference(d(0.0006, 0.0002, 0.0011), 'nll')).toBe('+0.0006, 95% interval +0.0002 to +0.0011');
    expect(effect(d(0.0006, 0.0002, 0.0011), 'nll')).toBe('raises the NLL by 0.0006 (95% interval 0.0002 to 0.0011)');
  });
  it('prints a tiny indistinguishable difference with the digits its wider end needs, not as a bare zero', () => {
    expect(showDifference(d(0.00001, -0.00002, 0.00003), 'nll')).toBe('+0.00001, 95% interval −0.00002 to +0.00003');
    expect(showDifference(d(0, 0, 0), 'auroc')).toBe('0.000, 95% interval 0.000 to 0.000');
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

describe('tallyByStructure', () => {
  const diffs = (nll: [number, number, number]) => ({ accuracy: d(0, 0, 0), ece: d(0, 0, 0), nll: d(...nll), auroc: d(0, 0, 0), fpr95: d(0, 0, 0) });
  const row = (model: string, method: string, nll: [number, number, number]) =>
    ({ dataset: 'mnist', model, method, posterior: 'tuned', versus: { sgd: diffs(nll), temperature: diffs(nll) } }) as unknown as SummaryRow;
  it('counts each structure on its own, with no choice among them', () => {
    const rows = [row('a', 'diag', [-0.01, -0.02, -0.005]), row('a', 'kfac', [0.01, 0.005, 0.02]), row('b', 'diag', [0, -0.01, 0.01]), row('b', 'kfac', [0.00006, 0.00001, 0.0001])];
    expect(tallyByStructure(rows, 'sgd', 'nll')).toEqual([
      { structure: 'diag', networks: 2, better: 1, worse: 0, indistinguishable: 1 },
      { structure: 'kfac', networks: 2, better: 0, worse: 2, indistinguishable: 0 },
    ]);
  });
});

describe('seeds', () => {
  const spread = (mean: number, min: number, max: number) => ({ mean, standardDeviation: 0.01, min, max });
  const seeded = (auroc: [number, number, number] | null) =>
    ({ seeds: auroc && { count: 3, accuracy: spread(0.9, 0.9, 0.9), ece: spread(0.01, 0.01, 0.01), nll: spread(0.1, 0.1, 0.1), fpr95: spread(0.5, 0.5, 0.5), auroc: spread(...auroc) } }) as unknown as SummaryRow;
  it('holds a comparison over seeds only when every seed of one is on the same side of every seed of the other', () => {
    expect(overSeeds(seeded([0.87, 0.83, 0.95]), seeded([0.62, 0.58, 0.65]), 'auroc')).toBe('better');
    expect(overSeeds(seeded([0.96, 0.95, 0.97]), seeded([0.976, 0.972, 0.98]), 'auroc')).toBe('worse');
    expect(overSeeds(seeded([0.79, 0.75, 0.83]), seeded([0.70, 0.66, 0.76]), 'auroc')).toBe('indistinguishable');
    expect(overSeeds(seeded(null), seeded([0.70, 0.66, 0.76]), 'auroc')).toBeNull();
  });
  it('prints mean ± standard deviation and the range, in the metric units', () => {
    expect(seedSpread(seeded([0.8729, 0.8287, 0.9459]), 'auroc')).toBe('0.873 ± 0.010 (0.829 to 0.946)');
    expect(seedSpread(seeded(null), 'auroc')).toBeNull();
  });
});
