/**
 * Build-time rendering: a Vega-Lite spec compiled to Vega and drawn to an SVG
 * string by headless Vega, so every chart is on the page before (and without)
 * any JavaScript.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';

export function toVega(spec: TopLevelSpec) {
  return compile(spec).spec;
}

/** Render a Vega-Lite spec to a standalone SVG string; throws on a spec Vega cannot run. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(toVega(spec)), { renderer: 'none', logLevel: 0 });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
