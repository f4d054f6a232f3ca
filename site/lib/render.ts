/**
 * Build-time rendering: a Vega-Lite spec compiled to Vega (what the page's
 * script runs, so readers never download the Vega-Lite compiler) and drawn to
 * an SVG string by headless Vega, so every chart is on the page before (and
 * without) any JavaScript.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View, type Spec as VegaSpec } from 'vega';

/** The Vega spec of a Vega-Lite spec: what the page draws at build time and what its spec files hold. */
export function toVega(spec: TopLevelSpec): VegaSpec {
  return compile(spec).spec;
}

/** Render a Vega spec to a standalone SVG string; throws on a spec Vega cannot run. */
export async function renderVegaSvg(spec: VegaSpec): Promise<string> {
  const view = new View(parse(spec), { renderer: 'none', logLevel: 0 });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Render a Vega-Lite spec to a standalone SVG string; throws on a spec Vega cannot run. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  return renderVegaSvg(toVega(spec));
}

/** Geometry attributes whose numbers Vega writes with up to 17 significant digits. */
const geometryAttributes = /\s(d|transform|x|y|x1|x2|y1|y2|width|height|cx|cy|r|points)="([^"]*)"/g;

/**
 * An SVG for inlining in the page: coordinates rounded to 1/100 px, far below
 * what a screen can show, which makes a dense figure (a heatmap's cells, a
 * contour's paths) about a third smaller. Text is left alone.
 */
export function compactSvg(svg: string): string {
  return svg.replace(geometryAttributes, (_, name: string, value: string) => ` ${name}="${value.replace(/-?\d*\.\d+(?:e-?\d+)?/gi, (number) => String(Math.round(Number(number) * 100) / 100))}"`);
}
