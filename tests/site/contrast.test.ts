/**
 * WCAG contrast of what the page draws: every colour a chart spec gives a
 * mark, a scale's range or the category scheme (for every figure and every
 * choice a picker offers, on the committed results, desktop and phone
 * layouts), and the focus ring of the style sheets, each at least 3:1 against
 * the white page (WCAG 2.1, 1.4.11 non-text contrast). Marks drawn
 * translucent (bands, grid lines) are decoration and exempt. The ratio is
 * computed here from the WCAG formula, not by the site's code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { methodColors, seriesColors } from '../../site/charts/common.ts';
import { gapKinds } from '../../site/charts/calibration.ts';
import { phoneLayout } from '../../site/charts/phone.ts';
import { buildFigure, figures, picksOf } from '../../site/lib/figures.ts';
import { loadResults } from '../../site/lib/results.ts';

/** WCAG 2.1 relative luminance of a #rrggbb or #rgb colour. */
function luminance(hex: string): number {
  const digits = hex.length === 4 ? [...hex.slice(1)].map((d) => d + d) : [hex.slice(1, 3), hex.slice(3, 5), hex.slice(5, 7)];
  const [r, g, b] = digits.map((d) => {
    const c = parseInt(d, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

/** Every opaque colour a spec draws with, and where it sits. */
function colours(spec: unknown): { colour: string; at: string }[] {
  const found: { colour: string; at: string }[] = [];
  const walk = (node: unknown, path: string) => {
    if (Array.isArray(node)) return node.forEach((child, index) => walk(child, `${path}[${index}]`));
    if (typeof node !== 'object' || node === null) return;
    const object = node as Record<string, unknown>;
    const translucent = [object.opacity, object.fillOpacity, object.strokeOpacity].some((value) => typeof value === 'number' && value < 1);
    for (const [key, value] of Object.entries(object)) {
      // The config's grid and other chrome are not marks; its category scheme is.
      if (path === '' && key === 'config') {
        const range = (value as { range?: { category?: unknown } }).range;
        if (Array.isArray(range?.category)) for (const colour of range.category) found.push({ colour: String(colour), at: 'config.range.category' });
        continue;
      }
      if (['color', 'fill', 'stroke'].includes(key) && typeof value === 'string' && hex.test(value) && !translucent) found.push({ colour: value, at: `${path}.${key}` });
      else if (key === 'range' && Array.isArray(value)) for (const colour of value) if (typeof colour === 'string' && hex.test(colour)) found.push({ colour, at: `${path}.range` });
      else walk(value, `${path}.${key}`);
    }
  };
  walk(spec, '');
  return found;
}

const white = '#ffffff';

describe('contrast', () => {
  it('computes WCAG ratios as the standard states them', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 6);
    expect(contrast('#ffffff', '#ffffff')).toBeCloseTo(1, 6);
    // The review's figures: Okabe–Ito orange 2.25:1, grey #999 2.85:1, Tableau yellow 1.6:1.
    expect(contrast('#E69F00', white)).toBeCloseTo(2.25, 2);
    expect(contrast('#999999', white)).toBeCloseTo(2.85, 2);
    expect(contrast('#EECA3B', white)).toBeCloseTo(1.6, 1);
  });

  it('gives every method, series and gap colour at least 3:1 on white, each distinct', () => {
    const named = [...Object.values(methodColors), ...seriesColors, gapKinds.over.color, gapKinds.under.color];
    for (const colour of named) expect(contrast(colour, white), colour).toBeGreaterThanOrEqual(3);
    expect(new Set(Object.values(methodColors).map((c) => c.toLowerCase())).size).toBe(Object.keys(methodColors).length);
  });

  it('draws every chart mark of every figure and choice, desktop and phone, at least 3:1 on white', () => {
    const results = loadResults('results');
    const failures: string[] = [];
    let checked = 0;
    for (const figure of figures) {
      for (const pick of picksOf(figure, results)) {
        const { spec } = buildFigure(figure, results, pick);
        if (!spec) continue;
        for (const [layout, drawn] of [['desktop', spec], ['phone', phoneLayout(spec, 0.6)]] as const) {
          for (const { colour, at } of colours(drawn)) {
            checked++;
            const ratio = contrast(colour, white);
            if (ratio < 3) failures.push(`${figure.id} ${pick.dataset}/${pick.model} (${layout}) ${at}: ${colour} is ${ratio.toFixed(2)}:1`);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect([...new Set(failures)]).toEqual([]);
  });

  it('draws the focus ring of every style sheet at least 3:1 on white', () => {
    const sheets = ['site/layouts/Article.astro', 'site/components/SummaryTable.astro'].map((path) => readFileSync(path, 'utf8'));
    const rings = sheets.flatMap((css) => [...css.matchAll(/focus[^{]*\{[^}]*outline:\s*\d+px\s+solid\s+(#[0-9a-f]{3,6})/gi)].map((match) => match[1]));
    expect(rings.length).toBeGreaterThanOrEqual(2);
    for (const ring of rings) expect(contrast(ring, white), ring).toBeGreaterThanOrEqual(3);
  });
});
