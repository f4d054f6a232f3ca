/**
 * Whether a tuned (N, τ) sits on the grid's upper edge, on hand-made 3 × 3 grids.
 */
import { describe, expect, it } from 'vitest';
import { atUpperEdge, edgeTally, insideByModel } from '../../site/lib/search-edges.ts';
import type { SearchArtifact } from '../../site/lib/results.ts';

const axis = [2, 5, 8];
const point = (logN: number, logTau: number) => ({ logN, logTau, error: 0.01, ece: 0.01, nll: 0.1 });

function search(model: string, nll: [number, number], original: [number, number]): SearchArtifact {
  return {
    dataset: 'mnist',
    model,
    method: 'kfac',
    predictive: 'glm',
    validationCount: 100,
    samples: 2,
    gridSize: 3,
    points: axis.flatMap((logN) => [-1, 1, 3].map((logTau) => point(logN, logTau))),
    best: { nll: point(...nll), 'error+ece': point(...original) },
    edges: { nll: [], 'error+ece': [] },
    marglik: null,
    textbook: { logN: 4, logTau: 0 },
  };
}

describe('upper edge of the (N, τ) grid', () => {
  it('counts the largest N or the largest τ as the edge, and nothing else', () => {
    expect(atUpperEdge(search('a', [8, 1], [5, 1]), 'nll')).toBe(true); // largest N
    expect(atUpperEdge(search('a', [5, 3], [5, 1]), 'nll')).toBe(true); // largest τ
    expect(atUpperEdge(search('a', [5, 1], [8, 3]), 'nll')).toBe(false); // the centre
    expect(atUpperEdge(search('a', [2, -1], [8, 3]), 'nll')).toBe(false); // lower corner: widest posterior searched
    expect(atUpperEdge(search('a', [5, 1], [8, 3]), 'error+ece')).toBe(true); // the other objective's choice
  });

  it('counts, per model, the choices inside the upper edges', () => {
    const searches = [search('a', [8, 1], [5, 1]), search('b', [5, 1], [5, 1]), search('a', [5, -1], [5, 1]), search('a', [2, 3], [5, 1])];
    expect(insideByModel(searches, 'nll')).toEqual([
      { model: 'a', searches: 3, inside: 1 },
      { model: 'b', searches: 1, inside: 1 },
    ]);
  });
});

describe('edgeTally', () => {
  const withEdges = (edges: string[]) => ({ ...search('m', [5, 1], [5, 1]), edges: { nll: edges, 'error+ece': [] } });
  it('counts choices per edge, and says which way a wider grid would move the posterior', () => {
    const tally = edgeTally([withEdges([]), withEdges(['logN-low']), withEdges(['logN-high']), withEdges(['logN-high', 'logTau-high']), withEdges(['logTau-high']), withEdges(['logTau-low'])], 'nll');
    expect(tally).toEqual({
      searches: 6,
      onEdge: 5,
      // Largest N or τ: the objective still improved towards a narrower posterior.
      narrower: 3,
      // Smallest N or τ: towards a wider one.
      wider: 2,
      byEdge: { 'logN-low': 1, 'logN-high': 2, 'logTau-low': 1, 'logTau-high': 2 },
    });
    // The other objective's edges are not counted.
    expect(edgeTally([withEdges(['logN-low'])], 'error+ece').onEdge).toBe(0);
  });
});
