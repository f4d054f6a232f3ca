/**
 * The forest plot of the findings on the committed results: one dot, one
 * interval per network × structure × metric × baseline, at the paired
 * differences summary.json states (ECE in percentage points), the paired
 * seed band recounted here from the per-seed artifacts' JSON, and every dot
 * drawn by Vega at its value's pixel.
 */
import { parse, View } from 'vega';
import { describe, expect, it } from 'vitest';
import { forestPlot, forestRows } from '../../site/charts/forest.ts';
import { toVega } from '../../site/lib/render.ts';
import { loadResults } from '../../site/lib/results.ts';
import { seedMetrics } from '../../site/lib/figures.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const results = loadResults('results');
const rows = results.summary.rows;
const name = (model: string) => model;

describe('forest plot', () => {
  it('has a row per tuned network × structure × metric × baseline, at summary.json’s paired differences', () => {
    const forest = forestRows(rows, name);
    const tuned = rows.filter((row) => ['diag', 'kfac', 'efb', 'last-layer'].includes(row.method) && row.posterior === 'tuned' && row.versus);
    expect(tuned.length).toBeGreaterThan(30);
    expect(forest).toHaveLength(tuned.length * 3 * 2);
    for (const row of tuned) {
      const network = `${row.model} · ${row.dataset === 'mnist' ? 'MNIST' : 'Fashion-MNIST'}`;
      const ece = forest.find((entry) => entry.network === network && entry.structure.startsWith(row.method === 'last-layer' ? 'Last-layer' : row.method.toUpperCase()) && entry.metric === 'ECE' && entry.baseline === 'temperature scaling')!;
      expect(ece, network).toBeDefined();
      expect(ece.estimate).toBeCloseTo(100 * row.versus!.temperature.ece.estimate, 9);
      expect(ece.low).toBeCloseTo(100 * row.versus!.temperature.ece.low, 9);
      expect(ece.high).toBeCloseTo(100 * row.versus!.temperature.ece.high, 9);
      const auroc = forest.find((entry) => entry.network === network && entry.structure === ece.structure && entry.metric === 'AUROC' && entry.baseline === 'the deterministic network')!;
      expect(auroc.estimate).toBeCloseTo(row.versus!.sgd.auroc.estimate, 12);
      expect(auroc.seedMean).toBeNull();
    }
    // Without per-seed metrics there is no seed band.
    expect(forest.every((entry) => entry.seedMean === null)).toBe(true);
  });

  it('gives networks trained from several seeds a paired seed band, recounted from the per-seed artifacts', () => {
    const forest = forestRows(rows, name, seedMetrics(results));
    interface RawVariant { posterior: string; objective: string | null; calibration: { ece: number; nll: number }; ood: { unknown: { auroc: number }[] } }
    const metricsOf = (path: string) => {
      const artifact = JSON.parse(readFileSync(join('results', path), 'utf8')) as { variants: RawVariant[] };
      const variant = artifact.variants.find((candidate) => candidate.posterior === 'map' || (candidate.posterior === 'tuned' && candidate.objective === 'nll'))!;
      return { ece: 100 * variant.calibration.ece, nll: variant.calibration.nll, auroc: variant.ood.unknown[0].auroc };
    };
    let checked = 0;
    for (const row of rows.filter((candidate) => ['diag', 'kfac', 'efb', 'last-layer'].includes(candidate.method) && candidate.posterior === 'tuned' && candidate.versus)) {
      const folder = join('results', row.dataset, row.model);
      const members = [0, ...readdirSync(folder).filter((entry) => /^seed-\d+$/.test(entry)).map((entry) => Number(entry.slice(5)))];
      const network = `${row.model} · ${row.dataset === 'mnist' ? 'MNIST' : 'Fashion-MNIST'}`;
      for (const baseline of ['sgd', 'temperature']) {
        const pathOf = (method: string, member: number) => (member === 0 ? `${row.dataset}/${row.model}/${method}.json` : `${row.dataset}/${row.model}/seed-${member}/${method}.json`);
        const shared = members.filter((member) => existsSync(join('results', pathOf(row.method, member))) && existsSync(join('results', pathOf(baseline, member))));
        for (const [metric, title] of [['ece', 'ECE'], ['nll', 'NLL'], ['auroc', 'AUROC']] as const) {
          const entry = forest.find((candidate) => candidate.network === network && candidate.metric === title && candidate.baseline === (baseline === 'sgd' ? 'the deterministic network' : 'temperature scaling') && candidate.structure.toLowerCase().startsWith(row.method === 'last-layer' ? 'last-layer' : row.method))!;
          expect(entry, `${network} ${row.method} ${metric}`).toBeDefined();
          if (shared.length < 2) {
            expect(entry.seedMean).toBeNull();
            continue;
          }
          // Each seed's Laplace network against the same seed's baseline, then their mean and sample standard deviation.
          const differences = shared.map((member) => metricsOf(pathOf(row.method, member))[metric] - metricsOf(pathOf(baseline, member))[metric]);
          const mean = differences.reduce((a, b) => a + b, 0) / differences.length;
          const sd = Math.sqrt(differences.reduce((a, b) => a + (b - mean) ** 2, 0) / (differences.length - 1));
          expect(entry.seeds).toBe(shared.length);
          expect(entry.seedMean).toBeCloseTo(mean, 9);
          expect(entry.seedLow).toBeCloseTo(mean - 1.96 * sd, 9);
          expect(entry.seedHigh).toBeCloseTo(mean + 1.96 * sd, 9);
          expect(entry.seedMin).toBeCloseTo(Math.min(...differences), 9);
          expect(entry.seedMax).toBeCloseTo(Math.max(...differences), 9);
          checked++;
        }
      }
    }
    // Eight seeded networks, four structures, two baselines, three metrics.
    expect(checked).toBe(8 * 4 * 2 * 3);
  });

  it('draws every dot at its difference and every interval from low to high', async () => {
    const view = new View(parse(toVega(forestPlot(rows, name))), { renderer: 'none' });
    await view.runAsync();
    type Item = { x: number; x2?: number; datum: Record<string, number | string> };
    type Node = { name?: string; items: (Item & { items?: Node[] })[] };
    const found = new Map<string, Item[]>();
    const walk = (node: Node) => {
      if (node.name) found.set(node.name, [...(found.get(node.name) ?? []), ...node.items]);
      for (const item of node.items ?? []) for (const child of item.items ?? []) walk(child);
    };
    walk((view.scenegraph() as unknown as { root: Node }).root);
    let dots = 0;
    for (const [index, metric] of ['ece', 'nll', 'auroc'].entries()) {
      for (const [side, baseline] of ['sgd', 'temperature'].entries()) {
        const panel = 2 * index + side;
        const x = view.scale(`concat_${panel}_x`) as unknown as (value: number) => number;
        const points = found.get(`estimate_${metric}_${baseline}_marks`) ?? [];
        const intervals = found.get(`interval_${metric}_${baseline}_marks`) ?? [];
        expect(points.length).toBe(intervals.length);
        for (const point of points) expect(point.x).toBeCloseTo(x(Number(point.datum.estimate)), 6);
        for (const interval of intervals) {
          expect(interval.x).toBeCloseTo(x(Number(interval.datum.low)), 6);
          expect(interval.x2).toBeCloseTo(x(Number(interval.datum.high)), 6);
        }
        dots += points.length;
      }
    }
    expect(dots).toBe(forestRows(rows, name).length);
    view.finalize();
  });
});
