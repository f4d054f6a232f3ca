/**
 * Phone variants fitted at build time: the spec of site/charts/phone.ts is
 * compiled and drawn by headless Vega, and its plots shrink until the whole
 * chart (axes, legends, titles) is at most phoneWidth wide, so a phone shows
 * it at its own size, text unscaled.
 */
import * as vega from 'vega';
import type { Spec as VegaSpec } from 'vega';
import type { Spec } from '../charts/common.ts';
import { phoneLayout, phoneWidth } from '../charts/phone.ts';
import { renderVegaSvg, toVega } from './render.ts';

/**
 * Text width in em of a sans-serif face (DejaVu Sans, what the browsers of
 * the tests draw system-ui with, is among the wider ones), by character
 * class. Headless Vega without a canvas guesses 0.8 em a character, which
 * makes a phone chart's labels look twice as wide as a browser draws them.
 */
export function textWidthEm(text: string): number {
  let em = 0;
  for (const character of text) {
    if (/[il.,:;'|!·]/.test(character)) em += 0.3;
    else if (/[ ()[\]{}\-ftrj1]/.test(character)) em += 0.4;
    else if (/[mwMW%—]/.test(character)) em += 0.95;
    else if (/[A-Z]/.test(character)) em += 0.72;
    else em += 0.62;
  }
  return em;
}

type MeasuredItem = { fontSize?: number; text?: unknown; limit?: number };

/** The drawn width of a Vega spec, from its SVG, with text measured by textWidthEm. */
export async function drawnWidth(spec: VegaSpec): Promise<number> {
  // The typings leave textMetrics out; Vega exports it so that a measure can be supplied (as vl-convert does).
  const metrics = (vega as unknown as { textMetrics: unknown }).textMetrics as { width: (item: MeasuredItem, text: unknown) => number };
  const estimate = metrics.width;
  metrics.width = (item, text) => textWidthEm(String(text ?? '').trim()) * (item.fontSize ?? 11);
  let svg: string;
  try {
    svg = await renderVegaSvg(spec);
  } finally {
    metrics.width = estimate;
  }
  const match = /<svg[^>]*\swidth="([\d.]+)"/.exec(svg);
  if (!match) throw new Error('The rendered chart has no width.');
  return Number(match[1]);
}

/** The widest plot of a spec, for the first guess of its phone scale. */
function widestPlot(spec: unknown): number {
  if (Array.isArray(spec)) return Math.max(0, ...spec.map(widestPlot));
  if (typeof spec !== 'object' || spec === null) return 0;
  const own = 'width' in spec && typeof spec.width === 'number' ? spec.width : 0;
  return Math.max(own, ...Object.entries(spec).filter(([key]) => key !== 'config').map(([, value]) => widestPlot(value)));
}

/** Room a stacked panel needs beside its plot (axis labels and title), for the first guess. */
const besidePlot = 80;
/** The narrowest plot worth drawing on a phone, in pixels. */
const minimumPlot = 170;

/** The phone variant of a Vega-Lite spec as a Vega spec, at most phoneWidth wide when drawn. */
export async function phoneVega(spec: Spec): Promise<{ vega: VegaSpec; width: number; scale: number }> {
  const widest = widestPlot(spec);
  // Plots narrower than this say nothing; what then still overshoots is text that the layout must wrap, not shrink.
  const minimumScale = widest > 0 ? Math.min(1, minimumPlot / widest) : 1;
  // A chart narrower than the column grows to fill it, up to half again its size.
  let scale = widest > 0 ? Math.max(minimumScale, Math.min(1.5, (phoneWidth - besidePlot) / widest)) : 1;
  let best: { vega: VegaSpec; width: number; scale: number } | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const vega = toVega(phoneLayout(spec, scale));
    const width = await drawnWidth(vega);
    best = { vega, width, scale };
    if (width <= phoneWidth) return best;
    // Shrink the plots by what the chart overshoots, taking the part beside the plots as fixed.
    const beside = Math.min(width - 40, besidePlot);
    scale = Math.max(minimumScale, scale * Math.max(0.25, (phoneWidth - beside) / (width - beside)) * 0.98);
    if (best.scale === minimumScale) return best;
  }
  return best!;
}
