/** Charts say when lines lie on top of each other, measured point by point. */
import { expect, it } from 'vitest';
import { coincidenceNote, noteLines } from '../../site/charts/common.ts';

const line = (label: string, ys: number[]) => ({ label, points: ys.map((y, key) => ({ key, y })) });
const show = (gap: number) => gap.toFixed(3);

it('names the series within tolerance of the reference, with the largest gap', () => {
  const series = [line('SGD', [0.1, 0.2, 0.3]), line('DIAG', [0.1, 0.2005, 0.3]), line('KFAC', [0.101, 0.2, 0.3]), line('EFB', [0.1, 0.25, 0.3])];
  expect(coincidenceNote(series, 'SGD', 0.002, show)).toBe('DIAG and KFAC lie on the SGD line (largest gap 0.001)');
});

it('compares only the points both series have, and says nothing when none coincide or the reference is absent', () => {
  const partial = [line('SGD', [0.1, 0.2]), { label: 'DIAG', points: [{ key: 1, y: 0.2 }, { key: 7, y: 5 }] }];
  expect(coincidenceNote(partial, 'SGD', 0.001, show)).toBe('DIAG lies on the SGD line (largest gap 0.000)');
  expect(coincidenceNote([line('SGD', [0]), line('KFAC', [1])], 'SGD', 0.5, show)).toBeNull();
  expect(coincidenceNote([line('KFAC', [1])], 'SGD', 0.5, show)).toBeNull();
  // No shared point is no evidence of coinciding.
  expect(coincidenceNote([line('SGD', [0]), { label: 'KFAC', points: [{ key: 9, y: 0 }] }], 'SGD', 0.5, show)).toBeNull();
});

it('wraps a note into lines no longer than the width', () => {
  const lines = noteLines('DIAG Laplace and KFAC Laplace lie on the SGD (deterministic) line (largest gap 0.02 points).', 30);
  expect(lines.every((text) => text.length <= 30)).toBe(true);
  expect(lines.join(' ')).toBe('DIAG Laplace and KFAC Laplace lie on the SGD (deterministic) line (largest gap 0.02 points).');
});
