/**
 * The (N, τ) search surface: the validation objective over log₁₀ N × log₁₀ τ
 * for one method and predictive, with the point each objective picked. A full
 * grid is drawn as a heatmap; scattered (random or adaptive) points as
 * coloured squares at their own positions.
 */
import type { z } from 'zod';
import type { searchArtifact } from '../../compute/artifacts/schemas.ts';
import { cellEdges, seamless } from './landscape.ts';
import { datasetLabels, methodColors, methodLabels, size, topLevel, type Spec } from './common.ts';

export type SearchArtifact = z.infer<typeof searchArtifact>;
export type SearchObjective = 'nll' | 'error+ece';
type SearchPoint = SearchArtifact['points'][number];

/** The objective as the search minimised it: NLL, or validation error % + ECE % (the original's). */
export function objectiveValue(point: SearchPoint, objective: SearchObjective): number {
  return objective === 'nll' ? point.nll : 100 * point.error + 100 * point.ece;
}

const objectiveTitle: Record<SearchObjective, string> = { nll: 'validation NLL', 'error+ece': 'error % + ECE %' };

/** The sorted distinct values of a coordinate, and whether every (logN, logTau) pair of them is present exactly once. */
function gridOf(points: readonly SearchPoint[]) {
  const distinct = (pick: (point: SearchPoint) => number) => [...new Set(points.map(pick))].sort((a, b) => a - b);
  const [ns, taus] = [distinct((p) => p.logN), distinct((p) => p.logTau)];
  const pairs = new Set(points.map((p) => `${p.logN},${p.logTau}`));
  const isGrid = ns.length >= 2 && taus.length >= 2 && pairs.size === points.length && points.length === ns.length * taus.length;
  return { ns, taus, isGrid };
}

export function searchSurface(search: SearchArtifact, objective: SearchObjective): Spec {
  const other: SearchObjective = objective === 'nll' ? 'error+ece' : 'nll';
  const { ns, taus, isGrid } = gridOf(search.points);
  const [nEdges, tauEdges] = isGrid ? [cellEdges(ns), cellEdges(taus)] : [[], []];
  // Grid cells are drawn in order of τ then N, as the seam overlap of cellEdges needs.
  const ordered = isGrid ? [...search.points].sort((a, b) => a.logTau - b.logTau || a.logN - b.logN) : search.points;
  const rows = ordered.map((point) => {
    const i = ns.indexOf(point.logN);
    const j = taus.indexOf(point.logTau);
    return {
      ...point,
      value: objectiveValue(point, objective),
      errorPct: 100 * point.error,
      ecePct: 100 * point.ece,
      ...(isGrid ? { n0: nEdges[i].lo, n1: seamless(nEdges[i].lo, nEdges[i].hi), t0: tauEdges[j].lo, t1: seamless(tauEdges[j].lo, tauEdges[j].hi) } : {}),
    };
  });
  const values = rows.map((row) => row.value);
  const positive = Math.min(...values) > 0;
  // A margin of half a step (grid) or 5% (scattered points) keeps edge markers inside the frame.
  const pad = (list: number[]) => (list.length > 1 ? (list[list.length - 1] - list[0]) * 0.05 : 0.5);
  const xDomain = isGrid ? [nEdges[0].lo, nEdges[nEdges.length - 1].hi] : [ns[0] - pad(ns), ns[ns.length - 1] + pad(ns)];
  const yDomain = isGrid ? [tauEdges[0].lo, tauEdges[tauEdges.length - 1].hi] : [taus[0] - pad(taus), taus[taus.length - 1] + pad(taus)];
  // On a grid the ticks sit on the cell centres, the values searched; scattered points keep Vega's round ticks.
  // Grid exponents are whole or half numbers: '~r' writes 10 as "10", where '~g' wrote "1e+1".
  const ticks = (values: number[]) => (isGrid ? { axis: { values, format: '~r', grid: false } } : {});
  const x = { type: 'quantitative', title: 'log₁₀ N (data scale)', scale: { domain: xDomain, nice: false, zero: false }, ...ticks(ns) };
  const y = { type: 'quantitative', title: 'log₁₀ τ (prior precision)', scale: { domain: yDomain, nice: false, zero: false }, ...ticks(taus) };
  const tooltip = [
    { field: 'logN', type: 'quantitative', title: 'log₁₀ N', format: '.2f' },
    { field: 'logTau', type: 'quantitative', title: 'log₁₀ τ', format: '.2f' },
    { field: 'value', type: 'quantitative', title: objectiveTitle[objective], format: '.4g' },
    { field: 'errorPct', type: 'quantitative', title: 'error %', format: '.2f' },
    { field: 'ecePct', type: 'quantitative', title: 'ECE %', format: '.2f' },
    { field: 'nll', type: 'quantitative', title: 'NLL', format: '.4f' },
  ];
  // Lower is better: the reversed scheme makes the best region the brightest.
  // The domain is the data's own lowest to highest value, unrounded, so no cell is clipped to an end colour.
  const colour = {
    field: 'value',
    type: 'quantitative',
    title: `${objectiveTitle[objective]} (lower is better)`,
    legend: { titleLimit: 400 },
    scale: { type: objective === 'nll' && positive ? 'log' : 'linear', domain: [Math.min(...values), Math.max(...values)], nice: false, clamp: false, scheme: 'viridis', reverse: true },
  };

  const surface = isGrid
    ? { name: 'surface', mark: { type: 'rect', tooltip: true, clip: true, aria: false }, encoding: { x: { field: 'n0', ...x }, x2: { field: 'n1' }, y: { field: 't0', ...y }, y2: { field: 't1' }, color: colour, tooltip } }
    : { name: 'surface', mark: { type: 'square', size: 90, filled: true, opacity: 1, tooltip: true }, encoding: { x: { field: 'logN', ...x }, y: { field: 'logTau', ...y }, color: colour, tooltip } };

  const label = (which: SearchObjective) => `best by ${objectiveTitle[which]}${which === objective ? ' (shown)' : ''}`;
  const marked = [objective, other].map((which) => {
    const point = search.best[which];
    return { ...point, which: label(which), role: which === objective ? 'chosen' : 'other', value: objectiveValue(point, objective), errorPct: 100 * point.error, ecePct: 100 * point.ece };
  });
  const methodColour = methodColors[search.method];
  const best = search.best[objective];
  const otherBest = search.best[other];

  const description =
    `${objectiveTitle[objective]} of ${methodLabels[search.method]} (${search.predictive} predictive) for ${search.model} on ${datasetLabels[search.dataset] ?? search.dataset}, ` +
    `over ${search.points.length} (log₁₀ N, log₁₀ τ) pairs${isGrid ? ` on a ${ns.length} × ${taus.length} grid` : ''}, measured on ${search.validationCount} validation images. ` +
    `The lowest, ${Number(objectiveValue(best, objective).toPrecision(4))}, is at log₁₀ N = ${best.logN}, log₁₀ τ = ${best.logTau}; ` +
    `the ${objectiveTitle[other]} objective picks log₁₀ N = ${otherBest.logN}, log₁₀ τ = ${otherBest.logTau}.` +
    // A sampled predictive scores every point on one Monte Carlo draw of weight samples (site/lib/monte-carlo.ts).
    (search.predictive === 'sampled' ? ' Every point is scored on one Monte Carlo draw of weight samples, so the surface and the choices are that draw’s; another draw can move them.' : '');

  return topLevel(description, {
    title: { text: `${methodLabels[search.method]}, ${search.predictive}`, color: methodColour },
    width: size.square,
    height: size.square,
    data: { values: rows },
    layer: [
      surface,
      {
        name: 'best',
        data: { values: marked },
        mark: { type: 'point', filled: false, strokeWidth: 2.5, size: 260 },
        encoding: {
          x: { field: 'logN', ...x },
          y: { field: 'logTau', ...y },
          shape: { field: 'which', type: 'nominal', title: null, scale: { domain: [label(objective), label(other)], range: ['diamond', 'circle'] }, legend: { labelLimit: 400, orient: 'top', direction: 'horizontal' } },
          stroke: { field: 'which', type: 'nominal', title: null, scale: { domain: [label(objective), label(other)], range: ['#d62728', 'black'] } },
          strokeDash: { field: 'which', type: 'nominal', title: null, scale: { domain: [label(objective), label(other)], range: [[1, 0], [3, 2]] } },
          tooltip,
        },
      },
    ],
  });
}
