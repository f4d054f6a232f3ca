/**
 * The evaluation figures (calibration, out-of-distribution, FGSM, rotation):
 * every builder on the quick-profile artifacts of both data sets compiles
 * without Vega-Lite warnings, renders an SVG, and draws marks whose data and
 * pixel positions are checked against numbers recomputed here from the
 * artifacts by separate, deliberately plain code.
 */
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import { fgsmCurves, fgsmPanel, shiftCurves, shiftPanel, type PerturbationMetric } from '../../site/charts/attacks.ts';
import {
  calibrationCurves,
  methodCalibrationCurves,
  confidenceRange,
  reliabilityDiagram,
  variantComparison,
  type MethodArtifact,
} from '../../site/charts/calibration.ts';
import { methodColors, methodLabels, type Method, type Spec } from '../../site/charts/common.ts';
import { entropyHistogram, inverseEcdf, inverseEcdfFamily } from '../../site/charts/ood.ts';
import { renderSvg, toVega } from '../../site/lib/render.ts';
import { readQuick } from './fixtures.ts';
import { visitScene } from './scene.ts';

// ---------- helpers ----------

type Datum = Record<string, unknown>;
interface SceneItem {
  datum: Datum;
  x: number;
  y: number;
  x2?: number;
  y2?: number;
  width?: number;
  height?: number;
  fill?: string;
  stroke?: string;
  strokeDash?: number[];
  text?: string;
  items?: SceneNode[];
}
interface SceneNode {
  marktype?: string;
  name?: string;
  role?: string;
  items: SceneItem[];
}

/** Compile with a logger that collects Vega-Lite's warnings, so a spec that compiles only with complaints fails. */
function compileQuietly(spec: Spec) {
  const warnings: unknown[][] = [];
  const logger = {
    level(this: unknown) {
      return this;
    },
    warn: (...args: unknown[]) => void warnings.push(args),
    error: (...args: unknown[]) => void warnings.push(args),
    info: () => undefined,
    debug: () => undefined,
  };
  const compiled = compile(spec, { logger: logger as never });
  expect(warnings, JSON.stringify(warnings)).toEqual([]);
  return compiled.spec;
}

async function runView(spec: Spec): Promise<View> {
  compileQuietly(spec);
  const view = new View(parse(toVega(spec)), { renderer: 'none', logLevel: 0 });
  await view.runAsync();
  return view;
}

/** Every scenegraph item of the Vega-Lite mark called `name` (Vega names it `${name}_marks`), across facet groups. */
function items(view: View, name: string): SceneItem[] {
  const found: SceneItem[] = [];
  visitScene<SceneNode>(view, (node) => {
    if (node.marktype && node.name === `${name}_marks`) found.push(...node.items);
  });
  return found;
}

/** Texts of every axis label in the chart. */
function axisLabels(view: View): string[] {
  const texts: string[] = [];
  visitScene<SceneNode>(view, (node) => {
    if (node.role === 'axis-label') texts.push(...node.items.map((item) => String(item.text)));
  });
  return texts;
}

interface LegendEntry {
  label: string;
  fill?: string;
  stroke?: string;
  opacity?: number;
  strokeDash?: number[];
}

/** Every legend entry (symbol and label, in drawing order) of the chart. */
function legendEntries(view: View): LegendEntry[] {
  const symbols: SceneItem[] = [];
  const labels: string[] = [];
  visitScene<SceneNode>(view, (node) => {
    if (node.role === 'legend-symbol') symbols.push(...node.items);
    if (node.role === 'legend-label') labels.push(...node.items.map((item) => String(item.text)));
  });
  expect(symbols).toHaveLength(labels.length);
  return labels.map((label, i) => {
    const s = symbols[i] as SceneItem & { opacity?: number };
    return { label, fill: s.fill, stroke: s.stroke, opacity: s.opacity, strokeDash: s.strokeDash };
  });
}

/** A rendered SVG with at least one drawn path or text. */
async function expectSvg(spec: Spec) {
  const svg = await renderSvg(spec);
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toMatch(/<path|<rect|<line/);
  return svg;
}

const scale = (view: View, name: string) => view.scale(name) as unknown as (value: number) => number;
const pct = (value: number) => `${(value * 100).toFixed(2)}%`;
const close = (a: number, b: number, digits = 9) => expect(a).toBeCloseTo(b, digits);

const methods: Method[] = ['sgd', 'temperature', 'diag', 'kfac', 'efb', 'last-layer'];
const datasets = ['mnist', 'fashion-mnist'] as const;
const otherDataset = { mnist: 'fashion-mnist', 'fashion-mnist': 'mnist' } as const;

interface Loaded {
  byMethod: Record<Method, MethodArtifact>;
  all: MethodArtifact[];
}

function load(dataset: string): Loaded {
  const byMethod = Object.fromEntries(methods.map((m) => [m, readQuick<MethodArtifact>(`${dataset}/lenet5/${m}.json`)])) as Record<Method, MethodArtifact>;
  byMethod.ensemble = readQuick<MethodArtifact>(`${dataset}/lenet5/ensemble.json`);
  return { byMethod, all: [...methods, 'ensemble' as const].map((m) => byMethod[m]) };
}

/** logit written out as the brief states it, independent of the builder's log/log1p form. */
const logitPlain = (c: number) => Math.log(c / (1 - c));

/** The plotted x of a curve point, recomputed: logit of the mean confidence, held inside the bin's logit edges. */
function expectedX(point: MethodArtifact['variants'][number]['calibration']['curve'][number]): number {
  const raw = point.confidence >= 1 ? Infinity : logitPlain(point.confidence);
  if (raw > point.upperLogit) return point.upperLogit;
  if (raw < point.lowerLogit) return point.lowerLogit;
  return raw;
}

// ---------- tests ----------

describe.each(datasets)('evaluation charts on %s', (dataset) => {
  let data: Loaded;
  const other = otherDataset[dataset];
  beforeAll(() => {
    data = load(dataset);
  });

  describe('reliability diagram', () => {
    it('draws one accuracy bar and one gap bar per non-empty bin, at the artifact values', async () => {
      for (const method of ['sgd', 'temperature', 'kfac'] as const) {
        const artifact = data.byMethod[method];
        const block = artifact.variants[0].calibration;
        const spec = reliabilityDiagram(artifact);
        const view = await runView(spec);
        const filled = block.bins.filter((bin) => bin.count > 0);
        const bars = items(view, 'accuracy_bars');
        const gaps = items(view, 'gap_bars');
        expect(bars).toHaveLength(filled.length);
        expect(gaps).toHaveLength(filled.length);
        const [x, y] = [scale(view, 'x'), scale(view, 'y')];
        for (const bin of filled) {
          const bar = bars.find((item) => item.datum.count === bin.count && Math.abs(Number(item.datum.start) - bin.lower) < 0.01)!;
          expect(bar, `bar of bin ${bin.lower}`).toBeDefined();
          // Pixel geometry: from accuracy down to zero, inside the bin's edges.
          close(bar.y, y(bin.accuracy!), 6);
          close(bar.y + bar.height!, y(0), 6);
          expect(bar.x).toBeGreaterThanOrEqual(x(bin.lower));
          expect(bar.x + bar.width!).toBeLessThanOrEqual(x(bin.upper));
          const gap = gaps.find((item) => item.datum.start === bar.datum.start)!;
          close(Math.min(gap.y, gap.y + gap.height!), y(Math.max(bin.accuracy!, bin.confidence!)), 6);
          close(Math.max(gap.y, gap.y + gap.height!), y(Math.min(bin.accuracy!, bin.confidence!)), 6);
          close(Number(gap.datum.gap), bin.confidence! - bin.accuracy!, 5);
        }
        expect(items(view, 'diagonal')).toHaveLength(2);
        expect(spec.description).toContain(`ECE ${pct(block.ece)}`);
        expect(spec.description).toContain(`MCE ${pct(block.mce)}`);
        expect(spec.description).toContain(`accuracy ${pct(block.accuracy)}`);
        await expectSvg(spec);
      }
    });

    it('has one legend entry per colour drawn, each swatch as its bars look', async () => {
      for (const method of ['sgd', 'temperature', 'kfac', 'diag'] as const) {
        const view = await runView(reliabilityDiagram(data.byMethod[method]));
        const entries = legendEntries(view);
        const bars = [...items(view, 'accuracy_bars'), ...items(view, 'gap_bars')] as (SceneItem & { opacity?: number })[];
        const drawn = new Map<string, (SceneItem & { opacity?: number })[]>();
        for (const bar of items(view, 'accuracy_bars')) drawn.set('Accuracy', [...(drawn.get('Accuracy') ?? []), bar]);
        for (const bar of items(view, 'gap_bars')) {
          const kind = Number(bar.datum.gap) >= 0 ? 'gap: overconfident' : 'gap: underconfident';
          drawn.set(kind, [...(drawn.get(kind) ?? []), bar]);
        }
        expect(entries.map((e) => e.label).sort()).toEqual([...drawn.keys()].sort());
        const fills = new Set(bars.map((bar) => bar.fill));
        expect(fills.size).toBe(drawn.size);
        for (const entry of entries) {
          for (const bar of drawn.get(entry.label)!) {
            expect(bar.fill, entry.label).toBe(entry.fill);
            expect(bar.opacity ?? 1, entry.label).toBe(entry.opacity ?? 1);
            expect(bar.stroke ?? 'none', entry.label).toBe(entry.stroke === 'transparent' ? 'none' : (entry.stroke ?? 'none'));
          }
        }
      }
      // Both signs of gap, each with its own entry and colour.
      const artifact = structuredClone(data.byMethod.sgd);
      const filled = artifact.variants[0].calibration.bins.filter((bin) => bin.count > 0);
      filled[0].gap = -Math.abs(filled[0].gap ?? 0.05) || -0.05;
      filled[filled.length - 1].gap = Math.abs(filled[filled.length - 1].gap ?? 0.05) || 0.05;
      const entries = legendEntries(await runView(reliabilityDiagram(artifact)));
      expect(entries.map((e) => e.label)).toEqual(['Accuracy', 'gap: overconfident', 'gap: underconfident']);
      expect(new Set(entries.map((e) => e.fill)).size).toBe(3);
    });

    it('leaves empty bins out and follows the chosen variant', async () => {
      const artifact = structuredClone(data.byMethod['last-layer']);
      // Empty one more bin by hand: its bars must disappear.
      const target = artifact.variants[1].calibration.bins.findIndex((bin) => bin.count > 0);
      const before = artifact.variants[1].calibration.bins.filter((bin) => bin.count > 0).length;
      Object.assign(artifact.variants[1].calibration.bins[target], { count: 0, accuracy: null, confidence: null, gap: null });
      const view = await runView(reliabilityDiagram(artifact, 1));
      expect(items(view, 'accuracy_bars')).toHaveLength(before - 1);
      expect(reliabilityDiagram(artifact, 1).description).toContain(`ECE ${pct(artifact.variants[1].calibration.ece)}`);
      expect(() => reliabilityDiagram(artifact, artifact.variants.length)).toThrow(/no variant/);
      // A baseline has one variant, used whatever index a page passes for all methods.
      expect(reliabilityDiagram(data.byMethod.sgd, 3)).toEqual(reliabilityDiagram(data.byMethod.sgd));
    });
  });

  describe('legend isolation', () => {
    /** Pick `value` as a click on its legend entry would (a tuple in the selection's store), and wait for the view. */
    async function pick(view: View, field: string, value: string | null) {
      view.data('legend_pick_store', value === null ? [] : [{ unit: 'any', fields: [{ field, channel: 'color', type: 'E' }], values: [value] }]);
      await view.runAsync();
    }
    const opacityOf = (item: SceneItem) => (item as SceneItem & { opacity?: number }).opacity ?? 1;

    const cases: [string, (d: Loaded) => Spec, string[], string][] = [
      ['calibration curves', (d) => methodCalibrationCurves(d.all), ['curve_lines', 'curve_points'], 'label'],
      ['inverse ECDF', (d) => inverseEcdf(d.all, otherDataset[dataset]), ['ecdf_lines'], 'label'],
      [
        'inverse ECDF family',
        (d) => inverseEcdfFamily([{ label: 'LeNet-5', artifact: d.byMethod.sgd }], [{ label: 'LeNet-5', artifact: d.byMethod.kfac }, { label: 'LeNet-5 DIAG', artifact: d.byMethod.diag }], otherDataset[dataset]),
        ['ecdf_lines_before', 'ecdf_lines_after'],
        'label',
      ],
      ['FGSM curves', (d) => fgsmCurves(d.all), ['fgsm_lines', 'fgsm_points'], 'method'],
      ['FGSM panel', (d) => fgsmPanel(d.all), ['fgsm_accuracy_lines', 'fgsm_ece_lines', 'fgsm_nll_points'], 'method'],
    ];
    it.each(cases)('%s: a legend click keeps one series and dims the rest', async (_, build, marks, field) => {
      const spec = build(data);
      const json = JSON.stringify(spec);
      expect(json).toContain('"bind":"legend"');
      const view = await runView(spec);
      const all = () => marks.flatMap((name) => items(view, name));
      expect(all().length).toBeGreaterThan(0);
      for (const item of all()) expect(opacityOf(item)).toBe(1);
      const chosen = String(all()[0].datum[field]);
      await pick(view, field, chosen);
      const [kept, dimmed] = [all().filter((i) => i.datum[field] === chosen), all().filter((i) => i.datum[field] !== chosen)];
      expect(kept.length).toBeGreaterThan(0);
      expect(dimmed.length).toBeGreaterThan(0);
      for (const item of kept) expect(opacityOf(item)).toBe(1);
      for (const item of dimmed) expect(opacityOf(item)).toBeLessThan(0.5);
      await pick(view, field, null);
      for (const item of all()) expect(opacityOf(item)).toBe(1);
      view.finalize();
    });
  });

  describe('tooltip ranges', () => {
    /** "a–b" with both ends to the same number of decimals, at least 2, each end within a tenth of its distance to 1. */
    const expectRange = (text: string, lower: number, upper: number) => {
      const match = /^(\d\.(\d+))–(\d\.(\d+))$/.exec(text);
      expect(match, text).not.toBeNull();
      const [, a, aDecimals, b, bDecimals] = match!;
      expect(aDecimals.length, text).toBe(bDecimals.length);
      expect(aDecimals.length, text).toBeGreaterThanOrEqual(2);
      expect(Math.abs(Number(a) - lower), text).toBeLessThanOrEqual(0.1 * (1 - lower) + 1e-12);
      expect(Math.abs(Number(b) - upper), text).toBeLessThanOrEqual(0.1 * (1 - upper) + 1e-12);
    };

    it('state confidence bins with the same precision at both ends', async () => {
      for (const artifact of data.all) {
        const reliability = await runView(reliabilityDiagram(artifact));
        for (const bar of items(reliability, 'accuracy_bars')) {
          const bin = artifact.variants[0].calibration.bins[Number(bar.datum.index)];
          expectRange(String(bar.datum.range), bin.lower, bin.upper);
        }
        const curves = await runView(methodCalibrationCurves([artifact]));
        const points = items(curves, 'curve_points');
        expect(points.length).toBe(artifact.variants[0].calibration.curve.length);
        for (const point of points) {
          const source = artifact.variants[0].calibration.curve.find((p) => p.count === point.datum.count && p.confidence === point.datum.confidence)!;
          expectRange(String(point.datum.bin), source.lowerEdge, source.upperEdge);
        }
      }
      // The full profile's logit bins reach 1 − 1e-6: decimals grow as the edges near 1, never misstating them.
      expect(confidenceRange(0.1, 0.355271)).toBe('0.10–0.36');
      expect(confidenceRange(0.985301, 0.997014)).toBe('0.985–0.997');
      expect(confidenceRange(0.999995, 0.999999)).toBe('0.999995–0.999999');
    });
  });

  describe('calibration curves', () => {
    const entriesOf = (d: Loaded) => [
      { label: 'LeNet-5 SGD', artifact: d.byMethod.sgd },
      { label: 'LeNet-5 ensemble', artifact: d.byMethod.ensemble },
      { label: 'LeNet-5 temperature', artifact: d.byMethod.temperature },
      { label: 'LeNet-5 DIAG (error+ece)', artifact: d.byMethod.diag, variant: 1 },
    ];

    it('places every point at logit(confidence) and labels the axis with confidences', async () => {
      const entries = entriesOf(data);
      const spec = calibrationCurves(entries, { title: 'Family' });
      const view = await runView(spec);
      const points = items(view, 'curve_points');
      const x = scale(view, 'x');
      const y = scale(view, 'y');
      let expected = 0;
      for (const entry of entries) {
        const curve = entry.artifact.variants[entry.variant ?? 0].calibration.curve;
        expected += curve.length;
        const mine = points.filter((p) => p.datum.label === entry.label);
        expect(mine).toHaveLength(curve.length);
        for (const point of curve) {
          const item = mine.find((p) => p.datum.confidence === point.confidence)!;
          expect(item).toBeDefined();
          close(Number(item.datum.x), expectedX(point), 9);
          if (point.confidence < point.upperEdge) close(Number(item.datum.x), logitPlain(point.confidence), 9);
          close(item.x, x(logitPlain(point.confidence)), 4);
          close(item.y, y(point.error), 4);
        }
      }
      expect(points).toHaveLength(expected);
      expect(items(view, 'band')).toHaveLength(0);
      expect(items(view, 'zero')).toHaveLength(1);

      // Tick positions are logits of round confidences, and the labels read those confidences back.
      const axis = (spec as { layer: { encoding?: { x?: { axis?: { values?: number[] } } } }[] }).layer.find((l) => l.encoding?.x?.axis?.values)!.encoding!.x!.axis!.values!;
      expect(axis.length).toBeGreaterThanOrEqual(3);
      const labels = axisLabels(view);
      for (const value of axis) {
        const c = 1 / (1 + Math.exp(-value));
        const round = Number(c.toPrecision(6));
        expect(value).toBeCloseTo(logitPlain(round), 9);
        expect(labels).toContain(String(round));
      }
      expect(labels).toContain('0.5');
      for (const entry of entries) {
        expect(spec.description).toContain(`${entry.label} ECE ${pct(entry.artifact.variants[entry.variant ?? 0].calibration.ece)}`);
      }
      await expectSvg(spec);
    });

    it('draws a min/max band equal to a brute-force envelope of the interpolated curves', async () => {
      const entries = entriesOf(data);
      const spec = calibrationCurves(entries, { band: true });
      const view = await runView(spec);
      const band = items(view, 'band');

      // Brute force: each curve as its polyline in logit space; at every point x of any curve,
      // evaluate every curve that spans x by scanning its segments, then take min and max.
      const curves = entries.map((entry) => entry.artifact.variants[entry.variant ?? 0].calibration.curve.map((p) => [expectedX(p), p.error] as const));
      const xs: number[] = [];
      for (const curve of curves) for (const [px] of curve) if (!xs.includes(px)) xs.push(px);
      xs.sort((a, b) => a - b);
      expect(band).toHaveLength(xs.length);
      const y = scale(view, 'y');
      const sortedBand = [...band].sort((a, b) => Number(a.datum.x) - Number(b.datum.x));
      xs.forEach((gx, k) => {
        const values: number[] = [];
        for (const curve of curves) {
          for (let i = 0; i < curve.length; i++) {
            const [x0, e0] = curve[i];
            if (x0 === gx) {
              values.push(e0);
              break;
            }
            if (i + 1 < curve.length && x0 < gx && gx < curve[i + 1][0]) {
              const [x1, e1] = curve[i + 1];
              values.push(e0 + ((gx - x0) / (x1 - x0)) * (e1 - e0));
              break;
            }
          }
        }
        const item = sortedBand[k];
        close(Number(item.datum.x), gx, 12);
        close(Number(item.datum.min), Math.min(...values), 12);
        close(Number(item.datum.max), Math.max(...values), 12);
        expect(item.datum.curves).toBe(values.length);
        close(item.y, y(Math.min(...values)), 4);
        close(item.y2!, y(Math.max(...values)), 4);
      });
      // The band is not degenerate on this data: somewhere it has width.
      expect(sortedBand.some((item) => Number(item.datum.max) - Number(item.datum.min) > 0.01)).toBe(true);
      expect(spec.description).toMatch(/band/);
      await expectSvg(spec);
    });

    it('colours one line per method with the fixed method colours', async () => {
      const spec = methodCalibrationCurves(data.all);
      const view = await runView(spec);
      const points = items(view, 'curve_points');
      expect(points).toHaveLength(data.all.reduce((n, a) => n + a.variants[0].calibration.curve.length, 0));
      for (const artifact of data.all) {
        const mine = points.filter((p) => p.datum.label === methodLabels[artifact.method]);
        expect(mine).toHaveLength(artifact.variants[0].calibration.curve.length);
        for (const item of mine) expect(item.fill?.toLowerCase()).toBe(methodColors[artifact.method].toLowerCase());
        expect(spec.description).toContain(`${methodLabels[artifact.method]} ECE ${pct(artifact.variants[0].calibration.ece)}`);
      }
      await expectSvg(spec);
    });
  });

  describe('entropy histogram', () => {
    it('draws both histograms on the shared bins with the artifact fractions', async () => {
      for (const method of ['sgd', 'kfac'] as const) {
        const artifact = data.byMethod[method];
        const variant = artifact.variants[0];
        const unknown = variant.ood.unknown.find((u) => u.set.startsWith(`${other}-test:`))!;
        const spec = entropyHistogram(artifact, other);
        // The exact set name (as summary.json gives it) picks the same set.
        expect(entropyHistogram(artifact, unknown.set)).toEqual(spec);
        const view = await runView(spec);
        const bars = items(view, 'histogram_bars');
        const { bins, max } = artifact.entropy;
        expect(bars).toHaveLength(2 * bins);
        const [x, y] = [scale(view, 'x'), scale(view, 'y')];
        const known = bars.filter((b) => String(b.datum.series).startsWith('Known'));
        const unknownBars = bars.filter((b) => String(b.datum.series).startsWith('Unknown'));
        for (let i = 0; i < bins; i++) {
          const k = known.find((b) => b.datum.bin === i)!;
          const u = unknownBars.find((b) => b.datum.bin === i)!;
          expect(k.datum.fraction).toBe(variant.ood.known.histogram[i]);
          expect(u.datum.fraction).toBe(unknown.histogram[i]);
          close(k.x, x((i * max) / bins), 6);
          close(k.x + k.width!, x(((i + 1) * max) / bins), 6);
          close(Math.min(u.y, u.y + u.height!), y(unknown.histogram[i]), 6);
          close(Math.max(u.y, u.y + u.height!), y(0), 6);
        }
        expect(items(view, 'max_entropy')[0].datum.h).toBeCloseTo(Math.log(10), 4);
        expect(spec.description).toContain(`${variant.ood.known.meanEntropy.toFixed(3)} nats`);
        expect(spec.description).toContain(`${unknown.meanEntropy.toFixed(3)} nats`);
        expect(spec.description).toContain(`AUROC ${unknown.auroc.toFixed(3)}`);
        await expectSvg(spec);
      }
    });

    it('labels each dashed mean line with its set, in its colour, at its x', async () => {
      for (const method of ['sgd', 'kfac'] as const) {
        const artifact = data.byMethod[method];
        const view = await runView(entropyHistogram(artifact, other));
        const x = scale(view, 'x');
        const rules = items(view, 'mean_rules');
        expect(rules).toHaveLength(2);
        for (const which of ['known', 'unknown'] as const) {
          const rule = rules.find((r) => String(r.datum.series).toLowerCase().startsWith(which))!;
          const label = items(view, `mean_label_${which}`);
          expect(label).toHaveLength(1);
          expect(label[0].text).toBe(`mean ${which}`);
          close(label[0].x, x(Number(rule.datum.mean)), 6);
          expect(label[0].fill).toBe(rule.stroke);
        }
      }
    });

    it('refuses an unknown set the artifact does not have', () => {
      expect(() => entropyHistogram(data.byMethod.sgd, 'cifar10')).toThrow(/No unknown set "cifar10"/);
    });
  });

  describe('inverse ECDF', () => {
    it('draws known (dashed) and unknown (solid) lines per method with the artifact values', async () => {
      const spec = inverseEcdf(data.all, other);
      const view = await runView(spec);
      const points = items(view, 'ecdf_lines');
      for (const artifact of data.all) {
        const variant = artifact.variants[0];
        const unknown = variant.ood.unknown.find((u) => u.set.startsWith(`${other}-test:`))!;
        for (const [series, values] of [
          ['known', variant.ood.known.inverseEcdf],
          ['unknown', unknown.inverseEcdf],
        ] as const) {
          const line = points.filter((p) => p.datum.label === methodLabels[artifact.method] && p.datum.series === series);
          expect(line.map((p) => p.datum.h)).toEqual(artifact.entropy.grid);
          expect(line.map((p) => p.datum.fraction)).toEqual(values);
          for (const item of line) {
            expect(item.stroke?.toLowerCase()).toBe(methodColors[artifact.method].toLowerCase());
            expect(item.strokeDash ?? []).toEqual(series === 'known' ? [5, 4] : [1, 0]);
          }
        }
        expect(spec.description).toContain(`${methodLabels[artifact.method]} ${unknown.auroc.toFixed(3)}`);
      }
      expect(points).toHaveLength(data.all.length * 2 * data.all[0].entropy.grid.length);
      await expectSvg(spec);
    });

    it('draws a family before and after in two panels', async () => {
      const before = [
        { label: 'LeNet-5', artifact: data.byMethod.sgd },
        { label: 'Ensemble', artifact: data.byMethod.ensemble },
      ];
      const after = [{ label: 'LeNet-5', artifact: data.byMethod.kfac }];
      const spec = inverseEcdfFamily(before, after, other);
      const view = await runView(spec);
      const left = items(view, 'ecdf_lines_before');
      const right = items(view, 'ecdf_lines_after');
      const grid = data.byMethod.sgd.entropy.grid.length;
      expect(left).toHaveLength(2 * 2 * grid);
      expect(right).toHaveLength(2 * grid);
      const unknownOf = (a: MethodArtifact) => a.variants[0].ood.unknown.find((u) => u.set.startsWith(`${other}-test:`))!;
      expect(right.filter((p) => p.datum.series === 'unknown').map((p) => p.datum.fraction)).toEqual(unknownOf(data.byMethod.kfac).inverseEcdf);
      expect(left.filter((p) => p.datum.label === 'Ensemble' && p.datum.series === 'known').map((p) => p.datum.fraction)).toEqual(
        data.byMethod.ensemble.variants[0].ood.known.inverseEcdf,
      );
      expect(spec.description).toContain(`LeNet-5 ${unknownOf(data.byMethod.sgd).auroc.toFixed(3)} → ${unknownOf(data.byMethod.kfac).auroc.toFixed(3)}`);
      expect(spec.description).toContain(`Ensemble ${unknownOf(data.byMethod.ensemble).auroc.toFixed(3)} → –`);
      await expectSvg(spec);
    });
  });

  describe('FGSM', () => {
    const metrics: PerturbationMetric[] = ['meanEntropy', 'accuracy', 'nll', 'ece'];

    it.each(metrics)('puts every artifact row of %s at its ε on a square-root axis', async (metric) => {
      const spec = fgsmCurves(data.all, metric);
      const view = await runView(spec);
      const points = items(view, 'fgsm_points');
      const [x, y] = [scale(view, 'x'), scale(view, 'y')];
      const epsMax = Math.max(...data.all.flatMap((a) => a.variants[0].fgsm.map((r) => r.epsilon)));
      let rows = 0;
      for (const artifact of data.all) {
        for (const row of artifact.variants[0].fgsm) {
          rows++;
          const item = points.find((p) => p.datum.method === methodLabels[artifact.method] && p.datum.epsilon === row.epsilon)!;
          expect(item, `${artifact.method} ε=${row.epsilon}`).toBeDefined();
          expect(item.datum[metric]).toBe(row[metric]);
          // Square-root scale: the distance from 0 grows as √ε.
          close((item.x - x(0)) / (x(epsMax) - x(0)), Math.sqrt(row.epsilon / epsMax), 6);
          close(item.y, y(row[metric]), 6);
        }
      }
      expect(rows).toBeGreaterThan(0);
      expect(points).toHaveLength(rows);
      expect(items(view, 'fgsm_max')).toHaveLength(metric === 'meanEntropy' ? 1 : 0);
      const sgdRows = data.byMethod.sgd.variants[0].fgsm;
      const last = sgdRows[sgdRows.length - 1];
      const text = metric === 'accuracy' || metric === 'ece' ? `${(last[metric] * 100).toFixed(1)}%` : last[metric].toFixed(3);
      expect(spec.description).toContain(`${methodLabels.sgd} ${text}`);
      await expectSvg(spec);
    });

    it('spreads the full-profile ε grid by its square root', async () => {
      // The quick profile has only ε = 0 and 0.1, which any scale maps to the two ends; the full grid tells scales apart.
      const grid = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5];
      const artifact = structuredClone(data.byMethod.kfac);
      artifact.variants[0].fgsm = grid.map((epsilon, i) => ({ ...artifact.variants[0].fgsm[0], epsilon, accuracy: 1 - i / 10, nll: i / 4, ece: i / 20, meanEntropy: (i / 8) * Math.log(10) }));
      const view = await runView(fgsmCurves([artifact]));
      const x = scale(view, 'x');
      const points = items(view, 'fgsm_points').sort((a, b) => Number(a.datum.epsilon) - Number(b.datum.epsilon));
      expect(points.map((p) => p.datum.epsilon)).toEqual(grid);
      for (const p of points) close((p.x - x(0)) / (x(0.5) - x(0)), Math.sqrt(Number(p.datum.epsilon) / 0.5), 6);
      // Every grid step is a tick.
      const labels = axisLabels(view);
      for (const epsilon of grid) expect(labels).toContain(String(epsilon));
    });

    it('draws the four metrics as small multiples', async () => {
      const spec = fgsmPanel(data.all);
      const view = await runView(spec);
      for (const metric of metrics) {
        const points = items(view, `fgsm_${metric}_points`);
        expect(points).toHaveLength(data.all.reduce((n, a) => n + a.variants[0].fgsm.length, 0));
        for (const artifact of data.all) {
          const mine = points.filter((p) => p.datum.method === methodLabels[artifact.method]).sort((a, b) => Number(a.datum.epsilon) - Number(b.datum.epsilon));
          expect(mine.map((p) => p.datum[metric])).toEqual(artifact.variants[0].fgsm.map((r) => r[metric]));
        }
      }
      expect(items(view, 'fgsm_meanEntropy_max')).toHaveLength(1);
      await expectSvg(spec);
    });
  });

  describe('rotation shift', () => {
    it('plots the rotation rows, or says there are none', async () => {
      const hasShift = data.all.some((a) => a.variants[0].shift.length > 0);
      expect(hasShift).toBe(dataset === 'mnist');
      for (const spec of [shiftCurves(data.all), shiftPanel(data.all)]) {
        const view = await runView(spec);
        if (!hasShift) {
          expect(spec.description).toMatch(/no rotation data/i);
          expect(items(view, 'no_data')).toHaveLength(1);
        }
        await expectSvg(spec);
      }
      if (!hasShift) return;
      const view = await runView(shiftCurves(data.all, 'accuracy'));
      const points = items(view, 'shift_points');
      const x = scale(view, 'x');
      for (const artifact of data.all) {
        const mine = points.filter((p) => p.datum.method === methodLabels[artifact.method]).sort((a, b) => Number(a.datum.angle) - Number(b.datum.angle));
        expect(mine.map((p) => [p.datum.angle, p.datum.accuracy])).toEqual(artifact.variants[0].shift.map((r) => [r.angle, r.accuracy]));
        // Linear angle axis.
        const angles = artifact.variants[0].shift.map((r) => r.angle);
        const [a0, a1] = [Math.min(...angles), Math.max(...angles)];
        for (const p of mine) close((p.x - x(a0)) / (x(a1) - x(a0)), (Number(p.datum.angle) - a0) / (a1 - a0), 6);
      }
      const panel = await runView(shiftPanel(data.all));
      expect(items(panel, 'shift_ece_points')).toHaveLength(points.length);
    });

    it('labels the angle axis in whole degrees, also past 100°', async () => {
      const artifact = data.all.find((a) => a.variants[0].shift.length > 0);
      if (!artifact) return;
      // The full profile's angles; '~g' once printed 120 as "1.2e+2".
      const angles = [0, 15, 30, 45, 60, 90, 120, 180];
      const wide = structuredClone(artifact);
      wide.variants[0].shift = angles.map((angle) => ({ ...artifact.variants[0].shift[0], angle }));
      const svg = await renderSvg(shiftCurves([wide], 'accuracy'));
      const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]);
      expect(labels).toContain('120');
      expect(labels.filter((label) => /e[+-]\d/.test(label))).toEqual([]);
    });
  });

  describe('variant comparison', () => {
    it('draws ECE, NLL and both AUROCs (entropy, maximum probability) of every variant, with the baseline marked', async () => {
      const artifact = data.byMethod['last-layer'];
      const sgd = data.byMethod.sgd;
      const spec = variantComparison(artifact, sgd);
      const view = await runView(spec);
      const firstSet = artifact.variants[0].ood.unknown[0].set;
      const expected = {
        ece: artifact.variants.map((v) => v.calibration.ece),
        nll: artifact.variants.map((v) => v.calibration.nll),
        auroc: artifact.variants.map((v) => v.ood.unknown.find((u) => u.set === firstSet)!.auroc),
        aurocMsp: artifact.variants.map((v) => v.ood.unknown.find((u) => u.set === firstSet)!.aurocMsp),
      };
      for (const key of ['ece', 'nll', 'auroc', 'aurocMsp'] as const) {
        const bars = items(view, `variant_bars_${key}`).sort((a, b) => Number(a.datum.index) - Number(b.datum.index));
        expect(bars.map((b) => b.datum[key])).toEqual(expected[key]);
        expect(bars.map((b) => [b.datum.logN, b.datum.logTau])).toEqual(artifact.variants.map((v) => [v.logN, v.logTau]));
        const baseline = items(view, `baseline_${key}`);
        expect(baseline).toHaveLength(1);
        const sgdValue = key === 'auroc' || key === 'aurocMsp' ? sgd.variants[0].ood.unknown.find((u) => u.set === firstSet)![key] : sgd.variants[0].calibration[key];
        expect(baseline[0].datum.value).toBe(sgdValue);
      }
      const labels = items(view, 'variant_bars_ece').map((b) => b.datum.variant);
      expect(labels).toContain('linearised, tuned on likelihood');
      expect(labels).toContain('linearised, textbook prior');
      expect(new Set(labels).size).toBe(artifact.variants.length);
      expect(spec.description).toContain(`ECE from ${pct(Math.min(...expected.ece))}`);
      expect(spec.description).toContain(`to ${pct(Math.max(...expected.ece))}`);
      expect(spec.description).toContain(`AUROC from ${Math.min(...expected.auroc).toFixed(3)}`);
      expect(spec.description).toContain(`AUROC by maximum probability from ${Math.min(...expected.aurocMsp).toFixed(3)}`);
      await expectSvg(spec);
      // Without a baseline, and for a single-variant artifact, it still draws.
      await expectSvg(variantComparison(data.byMethod.kfac));
      expect(items(await runView(variantComparison(sgd)), 'variant_bars_nll')).toHaveLength(1);
    });
  });

  it('builders are pure: same spec twice, plain JSON, artifacts untouched', () => {
    const snapshot = structuredClone(data.all);
    const build = () => [
      reliabilityDiagram(data.byMethod.kfac),
      calibrationCurves([{ label: 'a', artifact: data.byMethod.sgd }, { label: 'b', artifact: data.byMethod.ensemble }], { band: true }),
      methodCalibrationCurves(data.all),
      entropyHistogram(data.byMethod.diag, other),
      inverseEcdf(data.all, other),
      inverseEcdfFamily([{ label: 'a', artifact: data.byMethod.sgd }], [{ label: 'a', artifact: data.byMethod.kfac }], other),
      fgsmCurves(data.all),
      fgsmPanel(data.all),
      shiftCurves(data.all),
      shiftPanel(data.all),
      variantComparison(data.byMethod.kfac, data.byMethod.sgd),
    ];
    const first = build();
    expect(build()).toEqual(first);
    expect(JSON.parse(JSON.stringify(first))).toStrictEqual(first);
    expect(data.all).toEqual(snapshot);
    for (const spec of first) {
      expect(typeof spec.description).toBe('string');
      expect(spec.description!.length).toBeGreaterThan(40);
    }
  });
});
