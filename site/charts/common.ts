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

/** Colour-blind-safe (Okabe–Ito) colours, one per method, used in every chart. */
export const methodColors: Record<Method, string> = {
  sgd: '#000000',
  temperature: '#999999',
  ensemble: '#CC79A7',
  diag: '#0072B2',
  kfac: '#E69F00',
  efb: '#009E73',
  'last-layer': '#D55E00',
};

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
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', grid: true, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', orient: 'bottom', direction: 'horizontal' },
  title: { fontSize: 14, fontWeight: 'normal', anchor: 'start' },
} as const;

/** Wrap a spec body with the schema, shared config and a description (the chart's text alternative). */
export function topLevel(description: string, body: Record<string, unknown>): Spec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', description, config: baseConfig, ...body } as Spec;
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
