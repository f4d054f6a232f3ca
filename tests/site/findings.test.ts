/** How the page words comparisons: only an interval clear of zero may say "lowers" or "raises". */
import { describe, expect, it } from 'vitest';
import { effect, negligible, overSeeds, overSeedsSentence, pairedSeedBand, showDifference, tally, tallyByStructure, verdict, withInterval, type SeedMetrics, type SummaryRow } from '../../site/lib/findings.ts';

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

describe('the rule over training seeds', () => {
  // Per seed: the Laplace row's AUROC, the baseline's, and the paired interval of their difference on that seed's test images.
  const seeds = (entries: [number, number, [number, number]][]) => {
    const laplace: SeedMetrics[] = entries.map(([mine, theirs, [low, high]], member) => {
      const difference = d(mine - theirs, low, high);
      const versus = { ece: d(0, 0, 0), nll: d(0, 0, 0), auroc: difference };
      return { member, ece: 0, nll: 0, auroc: mine, versus: { sgd: versus, temperature: versus } };
    });
    const base: SeedMetrics[] = entries.map(([, theirs], member) => ({ member, ece: 0, nll: 0, auroc: theirs }));
    return { laplace, base };
  };

  it('draws the paired seed band as the mean of the per-seed differences ± 1.96 sample standard deviations', () => {
    // Differences 0.3, 0.2, 0.1: mean 0.2, sample SD √((0.01 + 0 + 0.01) / 2) = 0.1, band 0.2 ± 0.196.
    const { laplace, base } = seeds([[0.9, 0.6, [0.29, 0.31]], [0.8, 0.6, [0.19, 0.21]], [0.7, 0.6, [0.09, 0.11]]]);
    const band = pairedSeedBand(laplace, base, 'auroc')!;
    expect(band.mean).toBeCloseTo(0.2, 12);
    expect(band.standardDeviation).toBeCloseTo(0.1, 12);
    expect(band.low).toBeCloseTo(0.004, 12);
    expect(band.high).toBeCloseTo(0.396, 12);
    expect([band.min, band.max, band.count]).toEqual([expect.closeTo(0.1, 12), expect.closeTo(0.3, 12), 3]);
    // Only seeds both have are paired; fewer than two give no band.
    expect(pairedSeedBand(laplace, base.slice(0, 1), 'auroc')).toBeNull();
    expect(pairedSeedBand(laplace, base.slice(0, 2), 'auroc')!.count).toBe(2);
  });

  it('holds where every seed’s interval and the band exclude zero on the same side', () => {
    const { laplace, base } = seeds([[0.9, 0.6, [0.29, 0.31]], [0.8, 0.6, [0.19, 0.21]], [0.7, 0.6, [0.09, 0.11]]]);
    const result = overSeeds(laplace, base, 'temperature', 'auroc')!;
    expect(result.reading).toBe('better');
    expect(overSeedsSentence(result, 'auroc', 'KFAC', 'temperature scaling')).toBe(
      'Over 3 training seeds, each compared on its own network, KFAC minus temperature scaling in AUROC is above zero on every seed by the paired 95% interval, and the differences average +0.200 (seed band +0.004 to +0.396): KFAC’s higher AUROC holds over training seeds.',
    );
  });

  it('words a loss that holds as worse, in the metric’s own direction', () => {
    // AUROC lower on every seed: Laplace worse. Differences −0.02, −0.03, −0.025: mean −0.025, SD 0.005, band −0.0348 to −0.0152.
    const { laplace, base } = seeds([[0.95, 0.97, [-0.021, -0.019]], [0.94, 0.97, [-0.031, -0.029]], [0.945, 0.97, [-0.026, -0.024]]]);
    const result = overSeeds(laplace, base, 'temperature', 'auroc')!;
    expect(result.reading).toBe('worse');
    expect(overSeedsSentence(result, 'auroc', 'KFAC', 'temperature scaling')).toBe(
      'Over 3 training seeds, each compared on its own network, KFAC minus temperature scaling in AUROC is below zero on every seed by the paired 95% interval, and the differences average −0.025 (seed band −0.035 to −0.015): KFAC’s lower AUROC holds over training seeds.',
    );
  });

  it('does not hold where every seed agrees but the band reaches across zero', () => {
    // Differences 0.3, 0.01, 0.01 all clear of zero on their seeds; mean 0.10667, SD 0.16743, band −0.22150 to +0.43482.
    const { laplace, base } = seeds([[0.9, 0.6, [0.29, 0.31]], [0.61, 0.6, [0.005, 0.015]], [0.61, 0.6, [0.005, 0.015]]]);
    const result = overSeeds(laplace, base, 'temperature', 'auroc')!;
    expect(result.reading).toBe('not-over-seeds');
    expect(result.seeds.map((seed) => seed.verdict)).toEqual(['better', 'better', 'better']);
    expect(overSeedsSentence(result, 'auroc', 'KFAC', 'temperature scaling')).toBe(
      'Over 3 training seeds, each compared on its own network, KFAC minus temperature scaling in AUROC is above zero on every seed by the paired 95% interval, and the differences average +0.107 (seed band −0.221 to +0.435): the seed band contains zero, so KFAC’s higher AUROC does not hold over training seeds.',
    );
  });

  it('does not hold where a seed’s interval contains zero or lies on the other side, and names the seeds', () => {
    const { laplace, base } = seeds([[0.9, 0.6, [0.29, 0.31]], [0.6, 0.6, [-0.01, 0.01]], [0.7, 0.6, [0.09, 0.11]]]);
    const result = overSeeds(laplace, base, 'temperature', 'auroc')!;
    expect(result.reading).toBe('not-over-seeds');
    // Differences 0.3, 0, 0.1: mean 0.13333, SD 0.15275, band −0.166 to +0.433.
    expect(overSeedsSentence(result, 'auroc', 'KFAC', 'temperature scaling')).toBe(
      'Over 3 training seeds, each compared on its own network, KFAC minus temperature scaling in AUROC is above zero on seeds 0 and 2 and indistinguishable from zero on seed 1 by the paired 95% interval, and the differences average +0.133 (seed band −0.166 to +0.433): the seeds disagree, so the difference does not hold over training seeds.',
    );
    const opposite = seeds([[0.9, 0.6, [0.29, 0.31]], [0.5, 0.6, [-0.11, -0.09]], [0.7, 0.6, [0.09, 0.11]]]);
    const flipped = overSeeds(opposite.laplace, opposite.base, 'temperature', 'auroc')!;
    expect(flipped.reading).toBe('not-over-seeds');
    expect(overSeedsSentence(flipped, 'auroc', 'KFAC', 'temperature scaling')).toContain('above zero on seeds 0 and 2 and below zero on seed 1');
  });

  it('says no seed tells them apart where every seed’s interval contains zero', () => {
    const { laplace, base } = seeds([[0.601, 0.6, [-0.01, 0.012]], [0.6, 0.6, [-0.01, 0.01]], [0.599, 0.6, [-0.011, 0.009]]]);
    const result = overSeeds(laplace, base, 'temperature', 'auroc')!;
    expect(result.reading).toBe('not-over-seeds');
    expect(overSeedsSentence(result, 'auroc', 'KFAC', 'temperature scaling')).toBe(
      'Over 3 training seeds, each compared on its own network, KFAC minus temperature scaling in AUROC is indistinguishable from zero on every seed by the paired 95% interval, and the differences average 0.000 (seed band −0.002 to +0.002): no seed tells the two apart.',
    );
  });

  it('reads a lower-is-better metric the other way round, and has nothing to say for a network trained once', () => {
    // NLL lower on every seed: better. Differences −0.3, −0.2, −0.1: band −0.396 to −0.004.
    const nllSeeds = [[-0.3, [-0.31, -0.29]], [-0.2, [-0.21, -0.19]], [-0.1, [-0.11, -0.09]]] as const;
    const laplace: SeedMetrics[] = nllSeeds.map(([difference, [low, high]], member) => {
      const versus = { ece: d(0, 0, 0), nll: d(difference, low, high), auroc: d(0, 0, 0) };
      return { member, ece: 0, nll: 1 + difference, auroc: 0, versus: { sgd: versus, temperature: versus } };
    });
    const base: SeedMetrics[] = nllSeeds.map((_, member) => ({ member, ece: 0, nll: 1, auroc: 0 }));
    const result = overSeeds(laplace, base, 'sgd', 'nll')!;
    expect(result.reading).toBe('better');
    expect(overSeedsSentence(result, 'nll', 'KFAC', 'the deterministic network')).toBe(
      'Over 3 training seeds, each compared on its own network, KFAC minus the deterministic network in NLL is below zero on every seed by the paired 95% interval, and the differences average −0.200 (seed band −0.396 to −0.004): KFAC’s lower NLL holds over training seeds.',
    );
    expect(overSeeds(laplace.slice(0, 1), base, 'sgd', 'nll')).toBeNull();
  });
});

describe('single Monte Carlo draws', () => {
  const diffs = (nll: [number, number, number]) => ({ accuracy: d(0, 0, 0), ece: d(0, 0, 0), nll: d(...nll), auroc: d(0, 0, 0), fpr95: d(0, 0, 0) });
  const row = (model: string, method: string, posterior: string, predictive: string, nll: [number, number, number]) =>
    ({ dataset: 'mnist', model, method, posterior, predictive, versus: { sgd: diffs(nll), temperature: diffs(nll) } }) as unknown as SummaryRow;
  it('never counts a row of the sampled recipe, whatever its interval says', () => {
    const rows = [
      row('a', 'kfac', 'tuned', 'glm', [0.01, 0.005, 0.02]),
      // The original recipe's sampled rows: far better by their intervals, and one draw.
      row('a', 'kfac', 'original', 'sampled', [-0.5, -0.6, -0.4]),
      row('a', 'diag', 'original', 'sampled', [-0.5, -0.6, -0.4]),
      // Even labelled tuned, a sampled row is not counted.
      row('b', 'kfac', 'tuned', 'sampled', [-0.5, -0.6, -0.4]),
    ];
    expect(tally(rows, 'sgd', 'nll')).toEqual({ networks: 1, laplaceBetter: 0, baselineBetter: 1, indistinguishable: 0 });
    expect(tally(rows, 'sgd', 'nll', 'original')).toEqual({ networks: 0, laplaceBetter: 0, baselineBetter: 0, indistinguishable: 0 });
    expect(tallyByStructure(rows, 'sgd', 'nll')).toEqual([{ structure: 'kfac', networks: 1, better: 0, worse: 1, indistinguishable: 0 }]);
    expect(tallyByStructure(rows, 'sgd', 'nll', 'original')).toEqual([]);
  });
});
