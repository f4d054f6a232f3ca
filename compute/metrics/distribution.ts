/** Histograms and tail fractions of a list of values (entropies, confidences, scores). */

import { checkBinCount, checkValues, countAtMost, sortedCopy, type Values } from '../laplace/metrics/validate.ts';

/** Options of `histogram`. */
export interface HistogramOptions {
  /** Lower end of the first bin. */
  min: number;
  /** Upper end of the last bin; must exceed min. */
  max: number;
  /** Number of equal-width bins (default 20). */
  bins?: number;
}

/** A histogram; plain arrays so it serialises to JSON as is. */
export interface Histogram {
  /** bins + 1 edges, edges[0] = min and edges[bins] = max. */
  edges: number[];
  /** Number of values per bin, clipped values included. */
  counts: number[];
  /** counts / total: sums to 1. */
  fractions: number[];
  /** fractions / bin width: integrates to 1 over [min, max]. */
  densities: number[];
  /** Number of values. */
  total: number;
  /** How many values were below min and counted in the first bin. */
  clippedBelow: number;
  /** How many values were above max and counted in the last bin. */
  clippedAbove: number;
}

/**
 * Equal-width histogram on [min, max]. Bin i holds [edges[i], edges[i+1]) and the last
 * bin is closed, [edges[B−1], max], so a value equal to max goes in the last bin
 * (as numpy.histogram). Values below min are counted in the first bin and values
 * above max in the last (±Infinity included); `clippedBelow`/`clippedAbove` say how many.
 */
export function histogram(values: Values, options: HistogramOptions): Histogram {
  checkValues(values, 'histogram values');
  const { min, max } = options;
  const bins = options.bins ?? 20;
  checkBinCount(bins);
  if (!(Number.isFinite(min) && Number.isFinite(max) && min < max)) {
    throw new Error(`A histogram needs finite min < max, got min = ${min} and max = ${max}.`);
  }
  const edges: number[] = [];
  for (let b = 0; b <= bins; b++) edges.push(b === bins ? max : min + ((max - min) * b) / bins);
  const counts: number[] = new Array<number>(bins).fill(0);
  let clippedBelow = 0;
  let clippedAbove = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) clippedBelow++;
    else if (v > max) clippedAbove++;
    // Bin = number of interior edges ≤ v (binary search over edges[1..bins−1]).
    let lo = 1;
    let hi = bins;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo - 1]++;
  }
  const total = values.length;
  const fractions = counts.map((n) => n / total);
  const densities = fractions.map((f, b) => f / (edges[b + 1] - edges[b]));
  return { edges, counts, fractions, densities, total, clippedBelow, clippedAbove };
}

/** For each h in the grid, the fraction of values strictly greater than h, i.e. 1 − ECDF(h). */
export function inverseEcdf(values: Values, grid: Values): number[] {
  checkValues(values, 'values');
  for (let j = 0; j < grid.length; j++) {
    if (Number.isNaN(grid[j])) throw new Error(`The grid contains NaN at index ${j}.`);
  }
  const sorted = sortedCopy(values);
  const n = sorted.length;
  const out: number[] = [];
  for (let j = 0; j < grid.length; j++) out.push((n - countAtMost(sorted, grid[j])) / n);
  return out;
}
