/**
 * Numbers in sentences, read from the artifacts at build time: formatting,
 * and words that follow the data (a sentence says "lowers" only when the
 * number went down).
 */
import type { Results, MethodName } from './results.ts';

export const percent = (value: number, digits = 1) => `${(100 * value).toFixed(digits)}%`;
export const fixed = (value: number, digits = 3) => value.toFixed(digits);
export const integer = (value: number) => Math.round(value).toLocaleString('en');

/** One summary row; throws with the missing (data, model, method) so a page never shows a blank. */
export function summaryRow(results: Results, dataset: string, model: string, method: MethodName) {
  const row = results.summary.rows.find((candidate) => candidate.dataset === dataset && candidate.model === model && candidate.method === method);
  if (!row) throw new Error(`summary.json has no row for ${dataset}/${model}/${method}; the page needs it.`);
  return row;
}

export function hasRow(results: Results, dataset: string, model: string, method: MethodName): boolean {
  return results.summary.rows.some((row) => row.dataset === dataset && row.model === model && row.method === method);
}

/** "lowers it from a to b", "raises it from a to b" or "leaves it at a", by the numbers as shown. */
export function change(before: number, after: number, show: (value: number) => string, verbs: [string, string, string] = ['lowers', 'raises', 'leaves']): string {
  const [a, b] = [show(before), show(after)];
  if (a === b) return `${verbs[2]} it at ${a}`;
  return `${after < before ? verbs[0] : verbs[1]} it from ${a} to ${b}`;
}
