/**
 * Which row of a group is best on a metric, marked only when the data say so:
 * the best point estimate counts as best only when its 95% interval lies
 * wholly on the better side of every other row's interval. Overlapping
 * marginal intervals are a conservative test (the rows share test images,
 * so paired differences would separate more), which is the point: a bold
 * cell should not be a coin toss.
 */
import { singleDraw } from './monte-carlo.ts';

export type Better = 'higher' | 'lower';

export const summaryMetrics = ['accuracy', 'ece', 'nll', 'auroc', 'aurocMsp', 'fpr95'] as const;
export type SummaryMetric = (typeof summaryMetrics)[number];

/** Which way is better for each metric of the summary table. */
export const betterOf: Record<SummaryMetric, Better> = { accuracy: 'higher', ece: 'lower', nll: 'lower', auroc: 'higher', aurocMsp: 'higher', fpr95: 'lower' };

export interface Estimate {
  value: number;
  low: number;
  high: number;
}

/**
 * The index of the clearly best estimate, or null: null with fewer than two
 * rows, when the best value is shared (a tie), or when the best row's interval
 * touches or overlaps another's. Rows not `eligible` (one Monte Carlo draw,
 * whose spread the interval leaves out) are never marked best, and a row that
 * is still has to clear them.
 */
export function clearBest(estimates: readonly Estimate[], better: Better, eligible: readonly boolean[] = estimates.map(() => true)): number | null {
  if (estimates.length < 2) return null;
  const sign = better === 'higher' ? 1 : -1;
  let best = -1;
  for (let index = 0; index < estimates.length; index++) if (eligible[index] && (best < 0 || sign * estimates[index].value > sign * estimates[best].value)) best = index;
  if (best < 0) return null;
  const winner = estimates[best];
  for (let index = 0; index < estimates.length; index++) {
    if (index === best) continue;
    const other = estimates[index];
    if (other.value === winner.value) return null;
    // Separated means the winner's worse end is still better than the other's better end.
    const separated = better === 'higher' ? winner.low > other.high : winner.high < other.low;
    if (!separated) return null;
  }
  return best;
}

export interface MetricRow {
  /** 'sampled' rows are one Monte Carlo draw and never marked best. */
  predictive?: string;
  intervals: Record<SummaryMetric, { low: number; high: number }>;
  accuracy: number;
  ece: number;
  nll: number;
  auroc: number;
  aurocMsp: number;
  fpr95: number;
}

/** For one group of rows, the clearly best row's index per metric (null where none is). */
export function clearBestByMetric(rows: readonly MetricRow[]): Record<SummaryMetric, number | null> {
  const result = {} as Record<SummaryMetric, number | null>;
  for (const metric of summaryMetrics) {
    result[metric] = clearBest(rows.map((row) => ({ value: row[metric], ...row.intervals[metric] })), betterOf[metric], rows.map((row) => !singleDraw(row)));
  }
  return result;
}
