/**
 * Comparisons in sentences, under one rule the page states: two methods
 * differ when the 95% interval of their paired difference excludes zero,
 * and are indistinguishable on these images when it contains zero. A real
 * difference smaller than the precision the page prints is called "real but
 * negligible" and printed with enough digits to show that its interval
 * excludes zero. Every comparison carries its interval.
 */
import type { SummaryArtifact } from './results.ts';
import { singleDraw } from './monte-carlo.ts';

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
 * The rows a count may rest on: Laplace structures of one posterior kind with
 * paired differences, never a row of one Monte Carlo draw (the sampled
 * recipe), whose spread between draws its interval leaves out.
 */
const countable = (row: SummaryRow, posterior: Posterior) =>
  (laplaceStructures as readonly string[]).includes(row.method) && row.posterior === posterior && row.versus !== null && !singleDraw(row);

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
    if (!countable(row, posterior)) continue;
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
    const chosen = rows.filter((row) => row.method === structure && countable(row, posterior));
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

/** The metrics every training seed was evaluated on (the seed replicas have no accuracy-shift or attack runs). */
export type SeedMetric = 'ece' | 'nll' | 'auroc';

/** One method's metrics on the network of one training seed (member 0 is the zoo's network, the summary's row). */
export interface SeedMetrics {
  member: number;
  ece: number;
  nll: number;
  auroc: number;
  /** A Laplace row's paired differences on this seed against this seed's own baselines, with their 95% bootstrap intervals. */
  versus?: Record<Baseline, Record<SeedMetric, Difference>>;
}

/** The paired seed band: per-seed differences (Laplace minus the baseline on each seed's own network), their mean ± 1.96 sample standard deviations. */
export interface SeedBand {
  mean: number;
  standardDeviation: number;
  low: number;
  high: number;
  min: number;
  max: number;
  count: number;
}

/**
 * The paired difference over training seeds, the statistic the forest plot
 * draws: Laplace minus the baseline on each seed both have, then the mean of
 * those differences ± 1.96 times their sample standard deviation (n − 1).
 * Null with fewer than two shared seeds.
 */
export function pairedSeedBand(laplace: readonly SeedMetrics[], base: readonly SeedMetrics[], metric: SeedMetric): SeedBand | null {
  const differences = laplace.flatMap((entry) => {
    const other = base.find((candidate) => candidate.member === entry.member);
    return other ? [entry[metric] - other[metric]] : [];
  });
  if (differences.length < 2) return null;
  const mean = differences.reduce((sum, value) => sum + value, 0) / differences.length;
  const standardDeviation = Math.sqrt(differences.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (differences.length - 1));
  return { mean, standardDeviation, low: mean - 1.96 * standardDeviation, high: mean + 1.96 * standardDeviation, min: Math.min(...differences), max: Math.max(...differences), count: differences.length };
}

/**
 * The page's rule over training seeds, stated once on the page beside the
 * rule for one network: a difference holds over training seeds when every
 * seed's paired 95% interval and the paired seed band all exclude zero on
 * the same side.
 */
export const overSeedsRule =
  'a difference holds over training seeds only when, on every seed’s own network, its paired 95% interval excludes zero on the same side, and the paired seed band (the mean of the per-seed differences ± 1.96 standard deviations, drawn in the overview) excludes zero on that side too';

export interface OverSeeds {
  /** 'better' or 'worse' where the rule holds; 'not-over-seeds' where a seed or the band disagrees. */
  reading: 'better' | 'worse' | 'not-over-seeds';
  band: SeedBand;
  /** Each shared seed's paired difference and what the one-network rule reads from it. */
  seeds: { member: number; difference: Difference; verdict: Verdict }[];
}

/**
 * A Laplace row against a baseline over training seeds, by overSeedsRule;
 * null where fewer than two seeds have both (the network was trained once).
 */
export function overSeeds(laplace: readonly SeedMetrics[], base: readonly SeedMetrics[], baseline: Baseline, metric: SeedMetric): OverSeeds | null {
  const paired = laplace.filter((entry) => entry.versus && base.some((candidate) => candidate.member === entry.member));
  const band = pairedSeedBand(paired, base, metric);
  if (!band) return null;
  const seeds = paired.map((entry) => {
    const difference = entry.versus![baseline][metric];
    return { member: entry.member, difference, verdict: verdict(difference, metric) };
  });
  const bandReading = verdict({ estimate: band.mean, low: band.low, high: band.high }, metric);
  const first = seeds[0].verdict;
  const holds = first !== 'indistinguishable' && seeds.every((seed) => seed.verdict === first) && bandReading === first;
  return { reading: holds ? first : 'not-over-seeds', band, seeds };
}

const listWords = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);
/** Which way a verdict moves the metric: 'higher' for a better AUROC or a worse NLL, 'lower' for the opposite. */
const direction = (outcome: Exclude<Verdict, 'indistinguishable'>, metric: Metric) => ((outcome === 'better') === metricInfo[metric].lowerIsBetter ? 'lower' : 'higher');
const side = (outcome: Verdict, metric: Metric) =>
  outcome === 'indistinguishable' ? 'indistinguishable from zero' : direction(outcome, metric) === 'higher' ? 'above zero' : 'below zero';

/**
 * A claim's check over training seeds, in words: each seed's paired reading,
 * the seed band, and whether the claim holds by overSeedsRule. "Over 3
 * training seeds, each compared on its own network, KFAC minus temperature
 * scaling in AUROC is above zero on every seed by the paired 95% interval,
 * and the differences average +0.200 (seed band +0.004 to +0.396): KFAC’s
 * higher AUROC holds over training seeds."
 */
export function overSeedsSentence(result: OverSeeds, metric: SeedMetric, rName: string, baseName: string): string {
  const { name } = metricInfo[metric];
  const groups = (['better', 'worse', 'indistinguishable'] as const)
    .map((outcome) => ({ outcome, members: result.seeds.filter((seed) => seed.verdict === outcome).map((seed) => String(seed.member)) }))
    .filter((group) => group.members.length > 0);
  const perSeed = groups.length === 1
    ? `${side(groups[0].outcome, metric)} on every seed`
    : listWords(groups.map((group) => `${side(group.outcome, metric)} on seed${group.members.length > 1 ? 's' : ''} ${listWords(group.members)}`));
  const band = `${showDifference({ estimate: result.band.mean, low: result.band.low, high: result.band.high }, metric).replace(', 95% interval ', ' (seed band ')})`;
  const opening = `Over ${result.seeds.length} training seeds, each compared on its own network, ${rName} minus ${baseName} in ${name} is ${perSeed} by the paired 95% interval, and the differences average ${band}`;
  const agreed = groups.length === 1 ? groups[0].outcome : null;
  let conclusion: string;
  if (result.reading !== 'not-over-seeds') conclusion = `${rName}’s ${direction(result.reading, metric)} ${name} holds over training seeds`;
  else if (agreed === 'indistinguishable') conclusion = 'no seed tells the two apart';
  else if (agreed) conclusion = `the seed band contains zero, so ${rName}’s ${direction(agreed, metric)} ${name} does not hold over training seeds`;
  else conclusion = 'the seeds disagree, so the difference does not hold over training seeds';
  return `${opening}: ${conclusion}.`;
}
