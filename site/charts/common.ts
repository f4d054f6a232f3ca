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

const listed = (names: string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);

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
