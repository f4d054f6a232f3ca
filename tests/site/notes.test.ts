/** Footnotes are numbered on the rendered page in the order their marks are read, whatever order the notes were declared in. */
import { describe, expect, it } from 'vitest';
import { Footnotes, footnoteNumberSlot, numberFootnotes } from '../../site/lib/notes.ts';

const mark = (key: string) => `<sup><a href="#fn-${key}" id="fnref-${key}" data-footnote="${key}">${footnoteNumberSlot}</a></sup>`;
const item = (key: string, text: string) => `<li id="fn-${key}" data-footnote-item="${key}">${text} <a href="#fnref-${key}" aria-label="Back to note ${footnoteNumberSlot} in the text">↩</a></li>`;

describe('numberFootnotes', () => {
  it('numbers marks by first appearance and puts the list in that order', () => {
    // Declared (listed) a, b, c; read c, a, c again; b is never marked.
    const html = `<p>One${mark('c')} two${mark('a')}</p><p>again${mark('c')}</p><ol class="notes">${item('a', 'A')}${item('b', 'B')}${item('c', 'C')}</ol>`;
    const out = numberFootnotes(html);
    expect([...out.matchAll(/data-footnote="([a-z]+)">(\d+)</g)].map((m) => [m[1], m[2]])).toEqual([['c', '1'], ['a', '2'], ['c', '1']]);
    expect([...out.matchAll(/data-footnote-item="([a-z]+)"/g)].map((m) => m[1])).toEqual(['c', 'a']);
    expect(out).toContain('aria-label="Back to note 1 in the text"');
    expect(out).toContain('aria-label="Back to note 2 in the text"');
    expect(out).not.toContain(footnoteNumberSlot);
    expect(out.startsWith('<p>One')).toBe(true);
    expect(out.endsWith('</ol>')).toBe(true);
  });
  it('refuses a mark whose note is missing from the list', () => {
    expect(() => numberFootnotes(`<p>${mark('x')}</p><ol>${item('y', 'Y')}</ol>`)).toThrow(/"x" is marked in the text but missing/);
  });
  it('leaves a page without footnotes as it is', () => {
    expect(numberFootnotes('<p>No notes.</p>')).toBe('<p>No notes.</p>');
  });
});

describe('Footnotes', () => {
  it('refuses a key that cannot be an id, and a key declared twice', () => {
    const notes = new Footnotes();
    notes.add('ok-1', 'x');
    expect(() => notes.add('ok-1', 'y')).toThrow(/declared twice/);
    expect(() => notes.add('Not ok', 'y')).toThrow(/lower-case/);
  });
});
