/** Inlined SVGs: geometry rounded to 1/100 px, text untouched (hand-worked cases). */
import { describe, expect, it } from 'vitest';
import { compactSvg } from '../../site/lib/render.ts';

describe('compactSvg', () => {
  it('rounds the numbers of geometry attributes and nothing else', () => {
    const svg = '<svg width="250.00000000000003" height="80"><g transform="translate(10.123456,-0.004999)"><path d="M108.38723223771791,75.69891259196218h6.881769558212355v3.2e-7Z" fill="rgb(68, 1, 84)"/><text x="1.23456" y="7" font-size="11.5">+0.00006 (0.123456)</text></g></svg>';
    expect(compactSvg(svg)).toBe(
      '<svg width="250" height="80"><g transform="translate(10.12,0)"><path d="M108.39,75.7h6.88v0Z" fill="rgb(68, 1, 84)"/><text x="1.23" y="7" font-size="11.5">+0.00006 (0.123456)</text></g></svg>',
    );
  });
});
