/**
 * Comparisons in sentences. A sentence may say that a method lowers or
 * raises a metric only when the 95% interval of the paired difference
 * excludes zero by more than the precision the page prints; otherwise it
 * says the two are indistinguishable on these images. Every comparison
 * carries its interval.
 */
import type { SummaryArtifact } from './results.ts';

export type SummaryRow = SummaryArtifact['rows'][number];
export type Metric = 'accuracy' | 'ece' | 'nll' | 'auroc' | 'fpr95';
export type Baseline = 'sgd' | 'temperature';
export type Posterior = SummaryRow['posterior'];

export interface Difference {
  estimate: number;
  low: number;
  high: number;
}

interface MetricInfo {
  name: string;
  lowerIsBetter: boolean;
  /** Fractions shown in percent, their differences in percentage points. */
  percent: boolean;
  digits: number;
}

export const metricInfo: Record<Metric, MetricInfo> = {
  accuracy: { name: 'accuracy', lowerIsBetter: false, percent: true, digits: 2 },
  ece: { name: 'ECE', lowerIsBetter: true, percent: true, digits: 2 },
  nll: { name: 'NLL', lowerIsBetter: true, percent: false, digits: 3 },
  auroc: { name: 'AUROC', lowerIsBetter: false, percent: false, digits: 3 },
  fpr95: { name: 'FPR95', lowerIsBetter: true, percent: false, digits: 3 },
};

const scale = (metric: Metric) => (metricInfo[metric].percent ? 100 : 1);
/** Half a unit of the last printed digit: an interval inside ±this prints as zero. */
const resolution = (metric: Metric) => 0.5 * 10 ** -metricInfo[metric].digits;

const minus = '−';
const signed = (value: number, digits: number) => {
  const text = Math.abs(value).toFixed(digits);
  if (Number(text) === 0) return text;
  return `${value < 0 ? minus : '+'}${text}`;
};
const unsigned = (value: number, digits: number) => Math.abs(value).toFixed(digits);

/** A metric's value as the page prints it: "98.91%", "0.041". */
export function showValue(value: number, metric: Metric): string {
  const { percent, digits } = metricInfo[metric];
  return percent ? `${(100 * value).toFixed(digits)}%` : value.toFixed(digits);
}

/** A value with its interval: "0.420 (95% interval 0.404–0.437)". */
export function withInterval(value: number, interval: { low: number; high: number }, metric: Metric): string {
  const { percent, digits } = metricInfo[metric];
  const k = scale(metric);
  const unit = percent ? '%' : '';
  return `${(k * value).toFixed(digits)}${unit} (95% interval ${(k * interval.low).toFixed(digits)}–${(k * interval.high).toFixed(digits)}${unit})`;
}

export type Verdict = 'better' | 'worse' | 'indistinguishable';

/** Better or worse only when the whole interval lies on one side of zero, beyond the printed precision. */
export function verdict(difference: Difference, metric: Metric): Verdict {
  const k = scale(metric);
  const [low, high] = [k * difference.low, k * difference.high];
  const r = resolution(metric);
  if (low > 0 && high >= r) return metricInfo[metric].lowerIsBetter ? 'worse' : 'better';
  if (high < 0 && low <= -r) return metricInfo[metric].lowerIsBetter ? 'better' : 'worse';
  return 'indistinguishable';
}

/** The difference and its interval in the metric's units: "−0.365, 95% interval −0.398 to −0.334". */
export function showDifference(difference: Difference, metric: Metric): string {
  const { percent, digits } = metricInfo[metric];
  const k = scale(metric);
  const r = resolution(metric);
  if (Math.abs(k * difference.low) < r && Math.abs(k * difference.high) < r) {
    return `difference below ${(2 * r).toFixed(digits)}${percent ? ' points' : ''} either way`;
  }
  const points = percent ? ' points' : '';
  return `${signed(k * difference.estimate, digits)}${points}, 95% interval ${signed(k * difference.low, digits)} to ${signed(k * difference.high, digits)}`;
}

/**
 * What a method does to a metric against a baseline, worded by its interval:
 * "lowers the NLL by 0.365 (95% interval 0.334 to 0.398)", or "leaves the
 * NLL indistinguishable (difference +0.001, 95% interval −0.002 to +0.004)".
 */
export function effect(difference: Difference, metric: Metric): string {
  const { name, percent, digits } = metricInfo[metric];
  const k = scale(metric);
  const outcome = verdict(difference, metric);
  if (outcome === 'indistinguishable') return `leaves the ${name} indistinguishable (${showDifference(difference, metric)})`;
  const verb = difference.estimate < 0 ? 'lowers' : 'raises';
  const [a, b] = [Math.abs(k * difference.low), Math.abs(k * difference.high)].sort((x, y) => x - y);
  const points = percent ? ' points' : '';
  return `${verb} the ${name} by ${unsigned(k * difference.estimate, digits)}${points} (95% interval ${a.toFixed(digits)} to ${b.toFixed(digits)})`;
}

/** One summary row by data set, network, method and posterior (any posterior when none is given), or null. */
export function maybeRow(rows: SummaryRow[], dataset: string, model: string, method: SummaryRow['method'], posterior?: Posterior): SummaryRow | null {
  return rows.find((candidate) => candidate.dataset === dataset && candidate.model === model && candidate.method === method && (posterior === undefined || candidate.posterior === posterior)) ?? null;
}

/** A row's paired difference against a baseline, or throws when the row has none (baselines have none). */
export function versus(row: SummaryRow, baseline: Baseline, metric: Metric): Difference {
  if (!row.versus) throw new Error(`The ${row.dataset}/${row.model}/${row.method} row has no paired differences.`);
  return row.versus[baseline][metric];
}

export const laplaceStructures = ['diag', 'kfac', 'efb', 'last-layer'] as const;

export interface Tally {
  /** Networks (data set and network) compared. */
  networks: number;
  /** Some Laplace posterior is better than the baseline. */
  laplaceBetter: number;
  /** Every Laplace posterior is worse than the baseline. */
  baselineBetter: number;
  /** Neither: the best Laplace posterior is indistinguishable from the baseline. */
  indistinguishable: number;
}

/**
 * Over every network with Laplace rows of a posterior kind (tuned by
 * default), how often some structure beats the baseline on a metric, how
 * often every structure loses to it, and how often they cannot be told apart.
 */
export function tally(rows: SummaryRow[], baseline: Baseline, metric: Metric, posterior: Posterior = 'tuned'): Tally {
  const groups = new Map<string, SummaryRow[]>();
  for (const row of rows) {
    if (!(laplaceStructures as readonly string[]).includes(row.method) || row.posterior !== posterior || !row.versus) continue;
    const key = `${row.dataset}/${row.model}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const result: Tally = { networks: groups.size, laplaceBetter: 0, baselineBetter: 0, indistinguishable: 0 };
  for (const group of groups.values()) {
    const verdicts = group.map((row) => verdict(versus(row, baseline, metric), metric));
    if (verdicts.includes('better')) result.laplaceBetter += 1;
    else if (verdicts.every((v) => v === 'worse')) result.baselineBetter += 1;
    else result.indistinguishable += 1;
  }
  return result;
}
