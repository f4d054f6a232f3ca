/**
 * What every chart shares: the spec type, sizes, the colour of each method
 * and how methods, data sets and models are named on the page. Spec builders
 * are pure functions (artifact in, Vega-Lite spec out) so they can be tested
 * and rendered at build time without a browser.
 */
import type { TopLevelSpec } from 'vega-lite';

export type Spec = TopLevelSpec;

/** Default plot size in pixels; the SVG scales down with the page (it has a viewBox). */
export const size = { width: 560, height: 320, square: 360 } as const;

export const methodOrder = ['sgd', 'temperature', 'ensemble', 'diag', 'kfac', 'efb', 'last-layer'] as const;
export type Method = (typeof methodOrder)[number];

export const methodLabels: Record<Method, string> = {
  sgd: 'SGD (deterministic)',
  temperature: 'Temperature scaling',
  ensemble: 'Deep ensemble',
  diag: 'DIAG Laplace',
  kfac: 'KFAC Laplace',
  efb: 'EFB Laplace',
  'last-layer': 'Last-layer Laplace',
};

/**
 * One colour per method, used in every chart: Okabe–Ito hues, darkened where
 * the original (KFAC's orange, the temperature grey) has less than the 3:1
 * contrast against the white page that WCAG asks of graphics
 * (tests/site/contrast.test.ts computes it for every colour a chart draws).
 */
export const methodColors: Record<Method, string> = {
  sgd: '#000000',
  temperature: '#767676',
  ensemble: '#CC79A7',
  diag: '#0072B2',
  kfac: '#B26B00',
  efb: '#009E73',
  'last-layer': '#CC3311',
};

/** Colours for series that are not methods (networks of a family, variants), in order; each at least 3:1 against white. */
export const seriesColors = ['#0072B2', '#B26B00', '#009E73', '#CC3311', '#7B3294', '#555555', '#CC79A7', '#332288', '#117733', '#AA3377'] as const;

/** The page's background, against which every mark colour is to stand out. */
export const pageBackground = '#ffffff';

/** A colour scale for the methods present, in the fixed order and colours above. */
export function methodScale(methods: readonly string[]) {
  const present = methodOrder.filter((method) => methods.includes(method));
  return { domain: present.map((method) => methodLabels[method]), range: present.map((method) => methodColors[method]) };
}

export const datasetLabels: Record<string, string> = { mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST' };

export const unknownSetLabel = (set: string) => datasetLabels[set] ?? set;

/** Config shared by every spec: font, no chart border, readable axis titles. */
export const baseConfig = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  // No per-mark ARIA labels: a heatmap would carry one per cell (most of its bytes); the figure's text alternative describes the chart.
  aria: false,
  view: { stroke: null },
  // Series without colours of their own (a family's networks) take these instead of Vega's scheme, whose orange and yellow are too faint on white.
  range: { category: [...seriesColors] },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', grid: true, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', orient: 'bottom', direction: 'horizontal' },
  title: { fontSize: 14, fontWeight: 'normal', anchor: 'start' },
} as const;

/** Wrap a spec body with the schema, shared config and a description (the chart's text alternative). */
export function topLevel(description: string, body: Record<string, unknown>): Spec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', description, config: baseConfig, ...body } as unknown as Spec;
}

/** The name of the legend-bound selection on the multi-series line charts. */
export const legendPickName = 'legend_pick';

/**
 * A point selection bound to the colour legend: clicking an entry keeps that
 * series at full opacity and dims the others, shift-click adds one, a click on
 * empty legend space (or Escape) shows them all again. Goes in `params` of the
 * one layer that defines it; `pickedOpacity` on every layer it should dim.
 */
export function legendPick(field: string) {
  return { name: legendPickName, select: { type: 'point', fields: [field] }, bind: 'legend' };
}

export function pickedOpacity(dimmed = 0.12) {
  return { condition: { param: legendPickName, value: 1, empty: true }, value: dimmed };
}

export interface SeriesPoint {
  /** Where the point sits along the shared axis (or a key naming it, such as a bin). */
  key: string | number;
  y: number;
}

/** Names as a sentence lists them: "A", "A and B", "A, B and C". */
export const listed = (names: string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);

/**
 * A note for a chart whose lines lie on top of each other: the series whose
 * largest gap to the reference series, over the points both have, is within
 * `tolerance` (in the plot's units). Without it a reader sees one line and
 * cannot tell whether the others are missing or equal. Null when none do.
 */
export function coincidenceNote(series: { label: string; points: SeriesPoint[] }[], reference: string, tolerance: number, show: (gap: number) => string): string | null {
  const base = series.find((entry) => entry.label === reference);
  if (!base) return null;
  const at = new Map(base.points.map((point) => [point.key, point.y]));
  const same = series
    .filter((entry) => entry !== base)
    .map((entry) => {
      const gaps = entry.points.filter((point) => at.has(point.key)).map((point) => Math.abs(point.y - at.get(point.key)!));
      return { label: entry.label, gap: gaps.length > 0 ? Math.max(...gaps) : Number.POSITIVE_INFINITY };
    })
    .filter((entry) => entry.gap <= tolerance);
  if (same.length === 0) return null;
  const verb = same.length > 1 ? 'lie' : 'lies';
  return `${listed(same.map((entry) => entry.label))} ${verb} on the ${reference} line (largest gap ${show(Math.max(...same.map((entry) => entry.gap)))})`;
}

/** A note as title lines of at most `width` characters, so a long one wraps instead of widening the chart. */
export function noteLines(note: string, width = 80): string[] {
  const lines: string[] = [];
  for (const word of note.split(' ')) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/**
 * The largest gap between two series over the keys both have: how far apart
 * a curve is before and after a treatment. Infinite when they share no key
 * (no shared point is no evidence of being the same).
 */
export function largestGap(before: readonly SeriesPoint[], after: readonly SeriesPoint[]): number {
  const at = new Map(before.map((point) => [point.key, point.y]));
  const gaps = after.filter((point) => at.has(point.key)).map((point) => Math.abs(point.y - at.get(point.key)!));
  return gaps.length > 0 ? Math.max(...gaps) : Number.POSITIVE_INFINITY;
}

/**
 * A note naming the series that are the same in both panels of a before /
 * after chart, within `tolerance`: "MLP-1 and MLP-2 are the same before and
 * after (largest gap 0.00 points)", or "Every network is …" when all are.
 * Null when none is.
 */
export function unchangedNote(pairs: readonly { label: string; before: SeriesPoint[]; after: SeriesPoint[] }[], tolerance: number, show: (gap: number) => string, every = 'Every curve'): string | null {
  const same = pairs.map((pair) => ({ label: pair.label, gap: largestGap(pair.before, pair.after) })).filter((pair) => pair.gap <= tolerance);
  if (same.length === 0) return null;
  const gap = show(Math.max(...same.map((pair) => pair.gap)));
  if (same.length === pairs.length && pairs.length > 1) return `${every} is the same before and after (largest gap ${gap})`;
  return `${listed(same.map((pair) => pair.label))} ${same.length > 1 ? 'are' : 'is'} the same before and after (largest gap ${gap})`;
}

/** Names given to marks (and to nothing else) in a spec body, found where Vega-Lite puts them: on a layer's entries. */
function renameMarks(node: unknown, suffix: string): unknown {
  if (Array.isArray(node)) return node.map((child) => renameMarks(child, suffix));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'layer' && Array.isArray(value)) out.layer = value.map((entry) => (typeof entry === 'object' && entry !== null && 'name' in entry && typeof entry.name === 'string' ? { ...(renameMarks(entry, suffix) as object), name: `${entry.name}_${suffix}` } : renameMarks(entry, suffix)));
    else out[key] = key === 'data' || key === 'encoding' ? value : renameMarks(value, suffix);
  }
  return out;
}

/** Drops the selection parameters of a spec body: a selection is defined once per chart, by its first panel. */
function withoutParams(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutParams);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node).filter(([key]) => key !== 'params').map(([key, value]) => [key, key === 'data' || key === 'encoding' ? value : withoutParams(value)]));
}

export interface SidePanel {
  /** The panel's heading, naming what it shows. */
  title: string;
  /** A single-view chart (a layered spec), as its own builder makes it. */
  spec: Spec;
  /** Its marks' names get this suffix, so the panels' marks stay apart ("accuracy_bars_before"). */
  suffix: string;
}

/**
 * Two or more single-view charts as small multiples side by side (stacked
 * on a phone by site/charts/phone.ts) on shared scales, so a difference
 * between them reads off one axis; `note` is a title above both (what the
 * panels have in common, when they are the same).
 */
export function sideBySide(description: string, panels: readonly SidePanel[], options: { width?: number; height?: number; note?: string | null; shared?: readonly string[] } = {}): Spec {
  const shared = options.shared ?? ['x', 'y', 'color'];
  return topLevel(description, {
    ...(options.note ? { title: { text: noteLines(`${options.note}.`) } } : {}),
    hconcat: panels.map((panel, index) => {
      const { $schema: _schema, config: _config, description: _description, title: _title, ...body } = panel.spec as unknown as Record<string, unknown>;
      const renamed = renameMarks(index === 0 ? body : withoutParams(body), panel.suffix) as Record<string, unknown>;
      return {
        ...renamed,
        ...(options.width !== undefined ? { width: options.width } : {}),
        ...(options.height !== undefined ? { height: options.height } : {}),
        title: { text: panel.title, frame: 'group', limit: 0 },
      };
    }),
    spacing: 16,
    resolve: { scale: Object.fromEntries(shared.map((channel) => [channel, 'shared'])) },
  });
}
