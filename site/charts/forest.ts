/**
 * The forest plot of the findings: for every network, every Laplace
 * structure with its tuned posterior and every metric (ECE, NLL, AUROC), the
 * paired difference to the deterministic network and to temperature scaling
 * with its 95% bootstrap interval over the test images (summary.json's
 * `versus`); where the network was trained from several seeds, also the
 * paired difference over training seeds: on each seed's own network, Laplace
 * minus the baseline, and across seeds the mean of those differences with a
 * band of ±1.96 times their sample standard deviation. One panel per metric
 * and baseline, one row per network, a dot per structure. Pure: summary rows
 * and per-seed metrics in, Vega-Lite spec out.
 */
import type { z } from 'zod';
import type { summaryArtifact } from '../../compute/artifacts/schemas.ts';
import { datasetLabels, methodColors, methodLabels, topLevel, type Method, type Spec } from './common.ts';
import { overSeeds, pairedSeedBand, verdict, type SeedMetrics } from '../lib/findings.ts';

export type ForestSummaryRow = z.infer<typeof summaryArtifact>['rows'][number];

export const forestStructures = ['diag', 'kfac', 'efb', 'last-layer'] as const;
export const forestMetrics = [
  { key: 'ece', title: 'ECE', unit: 'points', scale: 100, lowerIsBetter: true, digits: 2 },
  { key: 'nll', title: 'NLL', unit: 'nats', scale: 1, lowerIsBetter: true, digits: 3 },
  { key: 'auroc', title: 'AUROC', unit: 'unknown set', scale: 1, lowerIsBetter: false, digits: 3 },
] as const;
export const forestBaselines = [
  { key: 'sgd', title: 'the deterministic network', short: 'vs deterministic' },
  { key: 'temperature', title: 'temperature scaling', short: 'vs temperature' },
] as const;

export interface ForestRow {
  network: string;
  structure: string;
  metric: string;
  baseline: string;
  estimate: number;
  low: number;
  high: number;
  /** Mean over training seeds of the per-seed paired difference, and its ±1.96 SD band; null without seeds. */
  seedMean: number | null;
  seedLow: number | null;
  seedHigh: number | null;
  /** The smallest and largest per-seed difference. */
  seedMin: number | null;
  seedMax: number | null;
  seeds: number | null;
  /** What the page's rule (site/lib/findings.ts verdict) reads from the interval: 'Laplace better', 'Laplace worse' or 'indistinguishable'. */
  verdict: string;
  /** What the page's rule over training seeds (site/lib/findings.ts overSeeds) reads from every seed's interval and the band; null without seeds. */
  overSeeds: string | null;
}

/** A method's metrics on every training seed of a network (for the given posterior, tuned by default), or null where the network was trained once. */
export type SeedLookup = (dataset: string, model: string, method: string, posterior?: string) => SeedMetrics[] | null;

/**
 * The rows of the forest plot, in the metric's plotted units (ECE in
 * percentage points). The seed band is paired: each seed's Laplace network
 * is compared with the same seed's baseline, so what the seeds share (the
 * network's training run) cancels, as it does in the bootstrap's paired
 * resamples over test images.
 */
export function forestRows(rows: readonly ForestSummaryRow[], networkLabel: (model: string) => string, seedsOf: SeedLookup = () => null): ForestRow[] {
  const out: ForestRow[] = [];
  for (const row of rows) {
    if (!(forestStructures as readonly string[]).includes(row.method) || row.posterior !== 'tuned' || !row.versus) continue;
    const network = `${networkLabel(row.model)} · ${datasetLabels[row.dataset] ?? row.dataset}`;
    const laplaceSeeds = seedsOf(row.dataset, row.model, row.method);
    for (const baseline of forestBaselines) {
      const baseSeeds = seedsOf(row.dataset, row.model, baseline.key);
      for (const metric of forestMetrics) {
        const difference = row.versus[baseline.key][metric.key];
        const k = metric.scale;
        const [low, high] = [k * difference.low, k * difference.high];
        // The page's one rule for calling a difference real (site/lib/findings.ts), so the plot and the sentences agree.
        const reading = verdict(difference, metric.key);
        const seeded = laplaceSeeds && baseSeeds ? pairedSeedBand(laplaceSeeds, baseSeeds, metric.key) : null;
        // The page's rule over training seeds (site/lib/findings.ts overSeeds), read from the same band.
        const overTraining = laplaceSeeds && baseSeeds ? overSeeds(laplaceSeeds, baseSeeds, baseline.key, metric.key) : null;
        out.push({
          network,
          structure: methodLabels[row.method as Method],
          metric: metric.title,
          baseline: baseline.title,
          estimate: k * difference.estimate,
          low,
          high,
          seedMean: seeded ? k * seeded.mean : null,
          seedLow: seeded ? k * seeded.low : null,
          seedHigh: seeded ? k * seeded.high : null,
          seedMin: seeded ? k * seeded.min : null,
          seedMax: seeded ? k * seeded.max : null,
          seeds: seeded?.count ?? null,
          verdict: reading === 'better' ? 'Laplace better' : reading === 'worse' ? 'Laplace worse' : 'indistinguishable',
          overSeeds: overTraining === null ? null : overTraining.reading === 'better' ? 'Laplace better on every seed' : overTraining.reading === 'worse' ? 'Laplace worse on every seed' : 'does not hold over seeds',
        });
      }
    }
  }
  return out;
}

/** Pixels per structure within a network's band (Vega-Lite's step counts the offset's values). */
const structureStep = 9;

/**
 * The forest plot: a panel per metric (side by side) and baseline (one row
 * of panels each); the x axis of each panel is the difference Laplace −
 * baseline, its title says which side is better; zero is a solid rule.
 */
export function forestPlot(rows: readonly ForestSummaryRow[], networkLabel: (model: string) => string, seedsOf: SeedLookup = () => null): Spec {
  const data = forestRows(rows, networkLabel, seedsOf);
  const networks = [...new Set(data.map((row) => row.network))];
  const structures = forestStructures.filter((method) => data.some((row) => row.structure === methodLabels[method]));
  const color = {
    field: 'structure',
    type: 'nominal',
    scale: { domain: structures.map((method) => methodLabels[method]), range: structures.map((method) => methodColors[method]) },
    // Swatches as the dots look, whatever the faint seed bands merged into the legend would make them.
    legend: { title: null, columns: 4, orient: 'top', labelLimit: 200, symbolType: 'circle', symbolOpacity: 1, symbolStrokeWidth: 0 },
  };
  const tooltip = [
    { field: 'network', title: 'Network' },
    { field: 'structure', title: 'Structure' },
    { field: 'metric', title: 'Metric' },
    { field: 'baseline', title: 'Against' },
    { field: 'estimate', title: 'Difference', format: '+.4f' },
    { field: 'low', title: '95% interval, low', format: '+.4f' },
    { field: 'high', title: '95% interval, high', format: '+.4f' },
    { field: 'seedMean', title: 'Over seeds: mean paired difference', format: '+.4f' },
    { field: 'seedLow', title: 'Over seeds: mean − 1.96 SD', format: '+.4f' },
    { field: 'seedHigh', title: 'Over seeds: mean + 1.96 SD', format: '+.4f' },
    { field: 'seedMin', title: 'Over seeds: smallest difference', format: '+.4f' },
    { field: 'seedMax', title: 'Over seeds: largest difference', format: '+.4f' },
    { field: 'seeds', title: 'Training seeds' },
    { field: 'verdict', title: 'Reading' },
    { field: 'overSeeds', title: 'Reading over training seeds' },
  ];
  const panel = (baseline: (typeof forestBaselines)[number], metric: (typeof forestMetrics)[number], first: boolean) => {
    // Network names on two lines ("MLP-2 (overconfident)" over "Fashion-MNIST"), so the plot keeps its width on a phone.
    const rowAxis = { title: null, labelExpr: "split(datum.label, ' · ')", labelLimit: 200, grid: true, gridDash: [2, 3] };
    const y = { field: 'network', type: 'nominal', sort: networks, axis: first ? rowAxis : { ...rowAxis, labels: false, ticks: false } };
    const yOffset = { field: 'structure', type: 'nominal', sort: structures.map((method) => methodLabels[method]), scale: { paddingOuter: 0.5 } };
    const better = metric.lowerIsBetter ? '← Laplace better' : 'Laplace better →';
    return {
      title: { text: `${metric.title} (${metric.unit})`, fontSize: 12, subtitle: [baseline.short, better], subtitleFontSize: 11, frame: 'group' },
      width: 112,
      height: { step: structureStep },
      transform: [{ filter: `datum.baseline === '${baseline.title}' && datum.metric === '${metric.title}'` }],
      layer: [
        { name: `zero_${metric.key}_${baseline.key}`, data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#555555', strokeWidth: 1 }, encoding: { x: { field: 'zero', type: 'quantitative' } } },
        {
          name: `seeds_${metric.key}_${baseline.key}`,
          transform: [{ filter: 'datum.seedMean !== null' }],
          mark: { type: 'rule', strokeWidth: 7, opacity: 0.3 },
          encoding: { y, yOffset, x: { field: 'seedLow', type: 'quantitative' }, x2: { field: 'seedHigh' }, color, tooltip },
        },
        {
          name: `interval_${metric.key}_${baseline.key}`,
          mark: { type: 'rule', strokeWidth: 1.6 },
          encoding: { y, yOffset, x: { field: 'low', type: 'quantitative', title: null, axis: { tickCount: 3, format: metric.key === 'ece' ? '+.1~f' : '+.2~f', labelOverlap: true } }, x2: { field: 'high' }, color, tooltip },
        },
        {
          name: `estimate_${metric.key}_${baseline.key}`,
          mark: { type: 'point', filled: true, size: 30, opacity: 1 },
          encoding: { y, yOffset, x: { field: 'estimate', type: 'quantitative' }, color, tooltip },
        },
      ],
    };
  };
  const tally = (baseline: string, metric: string) => {
    const of = data.filter((row) => row.baseline === baseline && row.metric === metric);
    return `${metric} against ${baseline}: Laplace better on ${of.filter((row) => row.verdict === 'Laplace better').length}, worse on ${of.filter((row) => row.verdict === 'Laplace worse').length}, indistinguishable on ${of.filter((row) => row.verdict === 'indistinguishable').length} of ${of.length}`;
  };
  const description =
    `Forest plot of paired differences, Laplace (tuned posterior) minus the deterministic network and minus temperature scaling, for ${networks.length} networks and data sets, ` +
    `structures ${structures.map((method) => methodLabels[method]).join(', ')}, metrics ECE (percentage points), NLL and AUROC, each with its 95% bootstrap interval over the test images; ` +
    `where a network was trained from several seeds, a wide faint band shows the paired difference over training seeds: Laplace minus the baseline on each seed's own network, their mean ± 1.96 sample standard deviations. ` +
    `${forestBaselines.flatMap((baseline) => forestMetrics.map((metric) => tally(baseline.title, metric.title))).join('; ')}.`;
  return topLevel(description, {
    data: { values: data },
    // Each metric beside its two baselines: ECE against the deterministic network, then against temperature scaling, and so on.
    hconcat: forestMetrics.flatMap((metric) => forestBaselines.map((baseline) => panel(baseline, metric, metric === forestMetrics[0] && baseline === forestBaselines[0]))),
    spacing: 10,
    resolve: { scale: { x: 'independent' } },
  });
}
