/**
 * Comparisons in sentences, under one rule the page states: two methods
 * differ when the 95% interval of their paired difference excludes zero,
 * and are indistinguishable on these images when it contains zero. A real
 * difference smaller than the precision the page prints is called "real but
 * negligible" and printed with enough digits to show that its interval
 * excludes zero. Every comparison carries its interval.
 */
import type { SummaryArtifact } from './results.ts';

export type SummaryRow = SummaryArtifact['rows'][number];
/** auroc scores an image by its predictive entropy, aurocMsp by its largest class probability (MSP). */
export type Metric = 'accuracy' | 'ece' | 'nll' | 'auroc' | 'aurocMsp' | 'fpr95';
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
  aurocMsp: { name: 'maximum-probability AUROC', lowerIsBetter: false, percent: false, digits: 3 },
  fpr95: { name: 'FPR95', lowerIsBetter: true, percent: false, digits: 3 },
};

const scale = (metric: Metric) => (metricInfo[metric].percent ? 100 : 1);
/** Half a unit of the last digit printed at `digits`: a number inside ±this prints as zero. */
const halfUnit = (digits: number) => 0.5 * 10 ** -digits;
/** Digits added at most to show a small difference in fixed notation (0.001 → 0.0000001); beyond them it is printed as 1.9e-9. */
const extraDigits = 4;
/** Digits never needed for a value a float can hold. */
const maxDigits = 40;

const minus = '−';
/** Fixed to `digits`, or in exponent notation (1.9e-9) where the digits are more than fixed notation should show. */
const magnitude = (value: number, digits: number, metric: Metric) =>
  digits > metricInfo[metric].digits + extraDigits && value !== 0 ? Math.abs(value).toExponential(1) : Math.abs(value).toFixed(digits);
const signed = (value: number, digits: number, metric: Metric) => {
  const text = magnitude(value, digits, metric);
  if (Number(text) === 0) return text;
  return `${value < 0 ? minus : '+'}${text}`;
};

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

/** The page's one rule: better or worse when the paired interval excludes zero, indistinguishable when it contains it. */
export function verdict(difference: Difference, metric: Metric): Verdict {
  if (difference.low > 0) return metricInfo[metric].lowerIsBetter ? 'worse' : 'better';
  if (difference.high < 0) return metricInfo[metric].lowerIsBetter ? 'better' : 'worse';
  return 'indistinguishable';
}

/** A real difference (interval clear of zero) whose whole interval prints as zero at the page's precision. */
export function negligible(difference: Difference, metric: Metric): boolean {
  if (verdict(difference, metric) === 'indistinguishable') return false;
  const k = scale(metric);
  return Math.max(Math.abs(k * difference.low), Math.abs(k * difference.high)) < halfUnit(metricInfo[metric].digits);
}

/**
 * Digits to print a difference with: the metric's own, more where the
 * interval's far end would print as zero, and for a real difference more
 * where its near end would, so the printed interval excludes zero exactly
 * when the rule says it does (past a few extra digits the numbers are
 * printed in exponent notation instead).
 */
export function differenceDigits(difference: Difference, metric: Metric): number {
  const k = scale(metric);
  const ends = [Math.abs(k * difference.low), Math.abs(k * difference.high)];
  const real = verdict(difference, metric) !== 'indistinguishable';
  const shown = real ? Math.min(...ends) : Math.max(...ends);
  let digits = metricInfo[metric].digits;
  while (shown > 0 && shown < halfUnit(digits) && digits < maxDigits) digits += 1;
  return digits;
}

/** The difference and its interval in the metric's units: "−0.365, 95% interval −0.398 to −0.334". */
export function showDifference(difference: Difference, metric: Metric): string {
  const { percent } = metricInfo[metric];
  const k = scale(metric);
  const digits = differenceDigits(difference, metric);
  const points = percent ? ' points' : '';
  return `${signed(k * difference.estimate, digits, metric)}${points}, 95% interval ${signed(k * difference.low, digits, metric)} to ${signed(k * difference.high, digits, metric)}`;
}

/**
 * What a method does to a metric against a baseline, worded by its interval:
 * "lowers the NLL by 0.365 (95% interval 0.334 to 0.398)"; "makes a real but
 * negligible change to the NLL (+0.00006, 95% interval +0.00001 to
 * +0.00010)"; or "leaves the NLL indistinguishable (+0.001, 95% interval
 * −0.002 to +0.004)".
 */
export function effect(difference: Difference, metric: Metric): string {
  const { name, percent } = metricInfo[metric];
  const k = scale(metric);
  const outcome = verdict(difference, metric);
  if (outcome === 'indistinguishable') return `leaves the ${name} indistinguishable (${showDifference(difference, metric)})`;
  if (negligible(difference, metric)) return `makes a real but negligible change to the ${name} (${showDifference(difference, metric)})`;
  const digits = differenceDigits(difference, metric);
  const verb = difference.low > 0 ? 'raises' : 'lowers';
  const [a, b] = [Math.abs(k * difference.low), Math.abs(k * difference.high)].sort((x, y) => x - y);
  const points = percent ? ' points' : '';
  return `${verb} the ${name} by ${magnitude(k * difference.estimate, digits, metric)}${points} (95% interval ${magnitude(a, digits, metric)} to ${magnitude(b, digits, metric)})`;
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
 * "Some structure" is the best of four picked on the test set itself, which
 * favours Laplace: the page says so wherever it prints this count and shows
 * tallyByStructure beside it.
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

export interface StructureTally {
  structure: (typeof laplaceStructures)[number];
  /** Networks (data set and network) with a row of this structure. */
  networks: number;
  better: number;
  worse: number;
  indistinguishable: number;
}

/**
 * The same comparison for every structure on its own, so that no count rests
 * on choosing the best of four structures on the test set.
 */
export function tallyByStructure(rows: SummaryRow[], baseline: Baseline, metric: Metric, posterior: Posterior = 'tuned'): StructureTally[] {
  return laplaceStructures.flatMap((structure) => {
    const chosen = rows.filter((row) => row.method === structure && row.posterior === posterior && row.versus);
    if (chosen.length === 0) return [];
    const verdicts = chosen.map((row) => verdict(versus(row, baseline, metric), metric));
    return [{
      structure,
      networks: chosen.length,
      better: verdicts.filter((v) => v === 'better').length,
      worse: verdicts.filter((v) => v === 'worse').length,
      indistinguishable: verdicts.filter((v) => v === 'indistinguishable').length,
    }];
  });
}

/**
 * A row's spread over its training seeds in the metric's units, or null
 * where it was trained once: "0.873 ± 0.064 (0.829 to 0.946)", mean ±
 * sample standard deviation (range).
 */
export function seedSpread(row: SummaryRow, metric: Metric): string | null {
  if (!row.seeds) return null;
  const spread = row.seeds[metric];
  const { percent, digits } = metricInfo[metric];
  const k = scale(metric);
  const unit = percent ? '%' : '';
  const sd = spread.standardDeviation === null ? '' : ` ± ${(k * spread.standardDeviation).toFixed(digits)}${percent ? ' points' : ''}`;
  return `${(k * spread.mean).toFixed(digits)}${unit}${sd} (${(k * spread.min).toFixed(digits)}${unit} to ${(k * spread.max).toFixed(digits)}${unit})`;
}

/**
 * Whether a comparison holds over training seeds: better (or worse) only when
 * every seed of the row is better (or worse) than every seed of the baseline
 * (the ranges do not overlap); null where either was trained once. The
 * summary keeps each seed's range, not its paired differences, so this is
 * the strict reading.
 */
export function overSeeds(row: SummaryRow, baseline: SummaryRow, metric: Metric): Verdict | null {
  if (!row.seeds || !baseline.seeds) return null;
  const a = row.seeds[metric];
  const b = baseline.seeds[metric];
  const lowerIsBetter = metricInfo[metric].lowerIsBetter;
  if (a.min > b.max) return lowerIsBetter ? 'worse' : 'better';
  if (a.max < b.min) return lowerIsBetter ? 'better' : 'worse';
  return 'indistinguishable';
}
