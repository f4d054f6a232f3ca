/**
 * Where the (N, τ) search lands. A choice at the grid's largest N or largest τ
 * means the objective still improved towards a narrower posterior when the grid
 * ran out: the data ask for at least that much collapse onto W*, and the
 * article says so instead of presenting the point as an optimum.
 */
import type { SearchArtifact } from './results.ts';

export type SearchObjectiveName = keyof SearchArtifact['best'];

/** True when the chosen point sits at the largest log N or the largest log τ the search evaluated. */
export function atUpperEdge(search: SearchArtifact, objective: SearchObjectiveName): boolean {
  const best = search.best[objective];
  const highestN = Math.max(...search.points.map((point) => point.logN));
  const highestTau = Math.max(...search.points.map((point) => point.logTau));
  return best.logN === highestN || best.logTau === highestTau;
}

export interface EdgeCount {
  model: string;
  /** Searches of this model (over data sets and structures). */
  searches: number;
  /** Of them, choices below both upper edges of the grid. */
  inside: number;
}

/** Per model, how many searches chose a point below both upper edges of the grid; models in first-seen order. */
export function insideByModel(searches: SearchArtifact[], objective: SearchObjectiveName): EdgeCount[] {
  const counts = new Map<string, EdgeCount>();
  for (const search of searches) {
    const entry = counts.get(search.model) ?? { model: search.model, searches: 0, inside: 0 };
    entry.searches += 1;
    if (!atUpperEdge(search, objective)) entry.inside += 1;
    counts.set(search.model, entry);
  }
  return [...counts.values()];
}

/** The box edges the search artifacts name (SearchArtifact['edges']). */
export const gridEdges = ['logN-low', 'logN-high', 'logTau-low', 'logTau-high'] as const;
export type GridEdge = (typeof gridEdges)[number];

export interface EdgeTally {
  searches: number;
  /** Choices on any edge of the grid. */
  onEdge: number;
  /** Choices on an edge where the objective still improved towards a narrower posterior (largest N or largest τ). */
  narrower: number;
  /** Choices on an edge where it still improved towards a wider posterior (smallest N or smallest τ). */
  wider: number;
  byEdge: Record<GridEdge, number>;
}

/**
 * Where the chosen points of a set of searches sit, from the edges each
 * artifact records: beyond the largest N or τ the grid could only have
 * given a narrower posterior, beyond the smallest a wider one.
 */
export function edgeTally(searches: SearchArtifact[], objective: SearchObjectiveName): EdgeTally {
  const byEdge = Object.fromEntries(gridEdges.map((edge) => [edge, 0])) as Record<GridEdge, number>;
  let onEdge = 0;
  let narrower = 0;
  let wider = 0;
  for (const search of searches) {
    const edges = search.edges[objective].filter((edge): edge is GridEdge => (gridEdges as readonly string[]).includes(edge));
    for (const edge of edges) byEdge[edge] += 1;
    if (edges.length > 0) onEdge += 1;
    if (edges.some((edge) => edge.endsWith('-high'))) narrower += 1;
    if (edges.some((edge) => edge.endsWith('-low'))) wider += 1;
  }
  return { searches: searches.length, onEdge, narrower, wider, byEdge };
}
