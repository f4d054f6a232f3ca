/**
 * Numbers in sentences, read from the artifacts at build time. Comparisons
 * between methods are worded by site/lib/findings.ts from their intervals.
 */
export const percent = (value: number, digits = 1) => `${(100 * value).toFixed(digits)}%`;
export const fixed = (value: number, digits = 3) => value.toFixed(digits);
export const integer = (value: number) => Math.round(value).toLocaleString('en');
