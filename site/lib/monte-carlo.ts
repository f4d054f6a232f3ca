/**
 * The original study's recipe predicts with a sampled network: its rows (the
 * 'sampled' predictive, the 'original' posterior of summary.json, the
 * <method>-sampled.json searches) are one Monte Carlo draw of weight samples.
 * The bootstrap interval over test images does not cover how much another
 * draw would move them. Regenerating the results with another, equally valid
 * draw (eigenvector signs changed) measured it: this module finds, between
 * two versions of summary.json, how far each row's paired differences moved
 * in widths of their paired 95% intervals, and the page states it from the
 * committed record (monte-carlo-draws.json, written from git by
 * `npx tsx site/lib/monte-carlo-write.ts BEFORE AFTER`). No count or
 * comparison on the page is made from a single-draw row.
 */
import type { SummaryArtifact } from './results.ts';
import { modelLabel } from './names.ts';
import { datasetLabels } from '../charts/common.ts';
// Imported, not read from disk: the build bundles this module.
import committed from './monte-carlo-draws.json' with { type: 'json' };

type Row = SummaryArtifact['rows'][number];

/** A row of one Monte Carlo draw: predicted through the sampled network (the original recipe). */
export const singleDraw = (row: { predictive?: string }) => row.predictive === 'sampled';

/** The largest movement of a group of rows, and where. */
export interface Movement {
  /** |after − before| of a paired difference's estimate over the width of its earlier 95% interval. */
  widths: number;
  dataset: string;
  model: string;
  method: string;
  posterior: string;
  baseline: 'sgd' | 'temperature';
  metric: string;
  /** The row's own value of the metric in each draw. */
  before: number;
  after: number;
}

export interface DrawComparison {
  /** The two versions of results/summary.json compared (commits), and the date of the later. */
  before: string;
  after: string;
  date: string;
  /** The single-draw rows' largest movement, and the others'. */
  sampled: Movement;
  others: Movement;
}

const key = (row: Row) => `${row.dataset}/${row.model}/${row.method}/${row.posterior}`;

/** The largest move of a paired difference present in both summaries, among single-draw rows and among the rest (null where a group has none). */
export function drawMovements(before: SummaryArtifact, after: SummaryArtifact): { sampled: Movement | null; others: Movement | null } {
  const earlier = new Map(before.rows.map((row) => [key(row), row]));
  const largest: { sampled: Movement | null; others: Movement | null } = { sampled: null, others: null };
  for (const row of after.rows) {
    const old = earlier.get(key(row));
    if (!old?.versus || !row.versus) continue;
    for (const baseline of ['sgd', 'temperature'] as const) {
      for (const [metric, then] of Object.entries(old.versus[baseline])) {
        const now = row.versus[baseline][metric as keyof typeof row.versus.sgd];
        if (!now) continue;
        const moved = Math.abs(now.estimate - then.estimate);
        const width = then.high - then.low;
        // Identical rows (identical predictions give a zero-width interval) did not move.
        const widths = moved === 0 ? 0 : width > 0 ? moved / width : Number.POSITIVE_INFINITY;
        const group = singleDraw(row) ? 'sampled' : 'others';
        if (largest[group] === null || widths > largest[group]!.widths) {
          const value = (r: Row) => r[metric as 'ece'] as number;
          largest[group] = { widths, dataset: row.dataset, model: row.model, method: row.method, posterior: row.posterior, baseline, metric, before: value(old), after: value(row) };
        }
      }
    }
  }
  return largest;
}

/** The committed measurement the page states. */
export const drawComparison = committed as DrawComparison;

const structureNames: Record<string, string> = { diag: 'DIAG', kfac: 'KFAC', efb: 'EFB', 'last-layer': 'last-layer Laplace' };
const metricNames: Record<string, string> = { ece: 'ECE', nll: 'NLL', auroc: 'AUROC', aurocMsp: 'maximum-probability AUROC', accuracy: 'accuracy', fpr95: 'FPR95' };

/** The value as the page prints the metric: a percentage for ECE and accuracy, three decimals otherwise. */
const shown = (value: number, metric: string) => (metric === 'ece' || metric === 'accuracy' ? `${(100 * value).toFixed(2)}%` : value.toFixed(3));

/** The smallest power of ten above a movement: "under 0.001 of its width". */
const ceilingPower = (value: number) => {
  const power = 10 ** Math.ceil(Math.log10(value));
  return power.toFixed(Math.max(0, -Math.round(Math.log10(power))));
};

/**
 * What the page says wherever it shows a number of the sampled (original)
 * recipe: it rests on one Monte Carlo draw, and by how much another draw moved
 * such rows, with the example of the row that moved most.
 */
export function singleDrawCaveat(comparison: DrawComparison = drawComparison): string {
  const { sampled, others } = comparison;
  const where = `${structureNames[sampled.method] ?? sampled.method} on ${modelLabel(sampled.model)} for ${datasetLabels[sampled.dataset] ?? sampled.dataset}`;
  return (
    `The sampled recipe’s numbers rest on one Monte Carlo draw of weight samples, a spread the bootstrap interval over test images does not include: ` +
    `regenerating the results (${comparison.date}) with another, equally valid draw moved these rows’ paired differences by up to ${Math.floor(sampled.widths)} widths of their 95% intervals ` +
    `(${where}: ${metricNames[sampled.metric] ?? sampled.metric} ${shown(sampled.before, sampled.metric)} in one draw, ${shown(sampled.after, sampled.metric)} in the other), ` +
    `while every other row moved by under ${ceilingPower(others.widths)} of its width.`
  );
}
