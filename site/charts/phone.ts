/**
 * The phone variant of a chart. Scaling a desktop SVG down to a phone's
 * column shrinks its text with it (an 11 px label drawn at 960 px and shown
 * at 366 px reads at 4 px), so phones get a spec of their own instead: panels
 * side by side are stacked, plot widths shrink to the column and the text
 * keeps its size (at least phoneFontSize). Pure: spec in, spec out; the width
 * a spec finally draws at is checked by the caller (site/lib/phone.ts), which
 * shrinks the plots further until the whole chart fits.
 */
import type { Spec } from './common.ts';

/** The widest a phone chart may draw, in CSS pixels: a 390 px phone's column (366 px) with a margin. */
export const phoneWidth = 350;
/** The smallest text a phone chart draws. */
export const phoneFontSize = 10;
/** Characters per title line on a phone. */
const phoneTitleLine = 46;
/** Characters per axis or legend title line on a phone. */
const phoneAxisTitleLine = 36;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A title's lines re-wrapped to `width` characters (titles are wrapped for the desktop width by noteLines). */
function rewrap(text: unknown, width: number): unknown {
  if (typeof text === 'string') return text.length > width ? rewrap([text], width) : text;
  if (!Array.isArray(text) || !text.every((line) => typeof line === 'string')) return text;
  // Lines already short enough keep their breaks, which their author chose.
  if (text.every((line) => line.length <= width)) return text;
  const words = text.join(' ').split(' ');
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/**
 * The phone layout of a spec, its plots `scale` times as wide as on the
 * desktop (heights shrink less, so a stacked panel keeps some height).
 */
export function phoneLayout(spec: Spec, scale: number): Spec {
  const heightScale = Math.max(scale, 0.7);
  const walk = (node: unknown, key: string | null): unknown => {
    if (Array.isArray(node)) return node.map((child) => walk(child, key));
    if (!isObject(node)) return node;
    const out: Json = {};
    for (const [name, value] of Object.entries(node)) {
      if (name === 'hconcat') out.vconcat = walk(value, name);
      else if (name === 'columns' && ('concat' in node || 'facet' in node)) out.columns = 1;
      else if ((name === 'fontSize' || name === 'labelFontSize' || name === 'titleFontSize' || name === 'subtitleFontSize') && typeof value === 'number') out[name] = Math.max(value, phoneFontSize);
      else if ((name === 'text' || name === 'subtitle') && key === 'title') out[name] = rewrap(value, phoneTitleLine);
      else if (name === 'title' && (typeof value === 'string' || Array.isArray(value)) && key === null) out[name] = rewrap(value, phoneTitleLine);
      // Axis and legend titles wrap too (a tooltip's titles are one line by nature).
      else if (name === 'title' && typeof value === 'string' && key !== 'tooltip') out[name] = rewrap(value, phoneAxisTitleLine);
      // A legend placed at a pixel position moves with its shrunken plot.
      else if (name === 'legendX' && typeof value === 'number') out[name] = Math.max(0, Math.floor(value * scale));
      else out[name] = walk(value, name);
    }
    // Stacked, every panel names its own rows: a row axis hidden beside a neighbour's comes back.
    if (key === 'axis' && node.labels === false) Object.assign(out, { labels: true, ticks: true });
    if (key === 'y' && node.axis === null && node.type === 'nominal') out.axis = { title: null };
    // Text drawn in a plot (read-outs, labels) breaks at its commas instead of running past a narrow plot.
    if (key === 'mark' && node.type === 'text' && node.lineBreak === undefined) out.lineBreak = ', ';
    // A unit's plot size (a view with marks or layers): shrink it, squares staying square.
    if (typeof node.width === 'number' && typeof node.height === 'number' && key !== 'config') {
      const square = node.width === node.height;
      out.width = Math.max(40, Math.floor(node.width * scale));
      out.height = Math.max(40, Math.floor(node.height * (square ? scale : heightScale)));
    } else if (typeof node.width === 'number' && key !== 'config') out.width = Math.max(40, Math.floor(node.width * scale));
    // Legends laid out in rows of three at most two wide, their labels cut to half the column.
    if (key === 'legend' && typeof node.columns === 'number') out.columns = 1;
    if (key === 'legend' && typeof node.labelLimit === 'number') out.labelLimit = Math.min(node.labelLimit, phoneWidth - 40);
    return out;
  };
  const phone = walk(spec, null) as Json;
  // Legends in rows of two at most, their labels cut to fit half the column.
  const config = isObject(phone.config) ? phone.config : {};
  const legend = isObject(config.legend) ? config.legend : {};
  phone.config = { ...config, legend: { ...legend, columns: 1, labelLimit: phoneWidth - 40 } };
  // A title made of a string or lines at the top level was handled above; the config's sizes stay at least phoneFontSize.
  return { ...phone, usermeta: { ...(isObject(phone.usermeta) ? phone.usermeta : {}), phone: true } } as unknown as Spec;
}
