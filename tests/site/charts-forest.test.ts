/**
 * The forest plot of the findings on the committed results: one dot, one
 * interval per network × structure × metric × baseline, at the paired
 * differences summary.json states (ECE in percentage points), the seed band
 * recomputed here from the rows' seed spreads, and every dot drawn by Vega
 * at its value's pixel.
 */
import { parse, View } from 'vega';
import { describe, expect, it } from 'vitest';
import { forestPlot, forestRows } from '../../site/charts/forest.ts';
import { toVega } from '../../site/lib/render.ts';
import { loadResults } from '../../site/lib/results.ts';

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
      // Seeds: difference of the means, ±1.96 √(s₁² + s₂²), only where both rows have them.
      const sgd = rows.find((candidate) => candidate.dataset === row.dataset && candidate.model === row.model && candidate.method === 'sgd')!;
      if (row.seeds && sgd.seeds) {
        const mean = row.seeds.auroc.mean - sgd.seeds.auroc.mean;
        const half = 1.96 * Math.sqrt((row.seeds.auroc.standardDeviation ?? 0) ** 2 + (sgd.seeds.auroc.standardDeviation ?? 0) ** 2);
        expect(auroc.seedMean).toBeCloseTo(mean, 12);
        expect(auroc.seedLow).toBeCloseTo(mean - half, 12);
        expect(auroc.seedHigh).toBeCloseTo(mean + half, 12);
      } else expect(auroc.seedMean).toBeNull();
    }
    expect(forest.some((entry) => entry.seedMean !== null)).toBe(true);
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
