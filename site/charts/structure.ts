/**
 * Figure 4: how much of the curvature matrix each approximation keeps, for
 * one real network. The P × P matrix, its per-layer diagonal blocks, its
 * diagonal and KFAC's Kronecker factors are drawn at one common scale, each
 * at least minPixels wide so the small ones stay visible (the chart says so),
 * and the stored-float counts, which span five orders of magnitude, are given
 * as bars on a log axis.
 */
import type { z } from 'zod';
import type { modelRow } from '../../compute/artifacts/schemas.ts';
import { datasetLabels, methodColors, size, topLevel, type Spec } from './common.ts';

export type ModelRow = z.infer<typeof modelRow>;

/** The four representations, in the order drawn, with their colours (DIAG and KFAC in their method colours). */
export const representations = [
  { key: 'full', label: 'full matrix', short: 'full', formula: 'P²', color: '#949494', ink: 'black' },
  { key: 'block', label: 'block-diagonal', short: 'block', formula: 'Σ pᵢ²', color: '#4a4a4a', ink: 'white' },
  { key: 'diagonal', label: 'diagonal', short: 'diagonal', formula: 'P', color: methodColors.diag, ink: 'white' },
  { key: 'kfac', label: 'KFAC factors', short: 'KFAC', formula: 'Σ aᵢ² + gᵢ²', color: methodColors.kfac, ink: 'black' },
] as const;

export interface CurvatureCounts {
  parameters: number;
  full: number;
  block: number;
  diagonal: number;
  kfac: number;
  layers: { name: string; kind: string; parameters: number; offset: number; block: number; aSide: number; gSide: number; kfac: number }[];
}

/**
 * Stored floats of each representation, counting every entry of a square
 * matrix (no symmetric packing): full P², block Σ pᵢ², diagonal P, KFAC
 * Σ (aᵢ² + gᵢ²) with aᵢ = fanIn + 1 when the layer has a bias, gᵢ = fanOut.
 */
export function curvatureFloatCounts(model: ModelRow): CurvatureCounts {
  let offset = 0;
  const layers = model.layers.map((layer) => {
    const aSide = layer.fanIn + (layer.hasBias ? 1 : 0);
    const gSide = layer.fanOut;
    const row = { name: layer.name, kind: layer.kind, parameters: layer.parameters, offset, block: layer.parameters ** 2, aSide, gSide, kfac: aSide ** 2 + gSide ** 2 };
    offset += layer.parameters;
    return row;
  });
  const P = model.parameters;
  const sum = (pick: (layer: CurvatureCounts['layers'][number]) => number) => layers.reduce((total, layer) => total + pick(layer), 0);
  return { parameters: P, full: P * P, block: sum((layer) => layer.block), diagonal: P, kfac: sum((layer) => layer.kfac), layers };
}

const thousands = (value: number) => value.toLocaleString('en-US');
/** Bytes as float32, in a readable unit. */
function bytes(floats: number): string {
  const b = floats * 4;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  const power = Math.min(units.length - 1, Math.floor(Math.log10(Math.max(b, 1)) / 3));
  return `${Number((b / 1000 ** power).toPrecision(3))} ${units[power]}`;
}

/** The smallest side, in pixels, any square of the to-scale drawing is given, so that none vanishes. */
export const minPixels = 3;

export function curvatureSizes(model: ModelRow): Spec {
  const counts = curvatureFloatCounts(model);
  const P = counts.parameters;
  const side = size.square;
  const colour = { type: 'nominal', title: null, legend: { columns: 2 }, scale: { domain: representations.map((r) => r.label), range: representations.map((r) => r.color) } };
  const x = { type: 'quantitative', title: 'parameter index', scale: { domain: [0, P], nice: false, zero: false }, axis: { format: '~s', grid: false } };
  const y = { ...x, title: null, scale: { ...x.scale, reverse: true } };
  const label = (key: string) => representations.find((r) => r.key === key)!.label;

  // To scale, most of KFAC's factors (and a small first block) are under a pixel and vanish, so
  // every square is drawn at least minPixels wide; the tooltip and subtitle say where that happened.
  const perPixel = P / side;
  const minSide = minPixels * perPixel;
  const drawn = (extent: number) => Math.max(extent, minSide);
  const enlarged = (extent: number) => (extent < minSide ? ` (drawn ${minPixels} px wide; to scale ${((extent / P) * side).toPrecision(2)} px)` : '');

  const full = [{ representation: label('full'), what: `all P² = ${thousands(counts.full)} entries`, x0: 0, x1: P }];
  const blocks = counts.layers.map((layer) => ({
    representation: label('block'),
    what: `${layer.name} (${layer.kind}): ${thousands(layer.parameters)} parameters, block ${thousands(layer.block)} floats${enlarged(layer.parameters)}`,
    x0: layer.offset,
    x1: layer.offset + drawn(layer.parameters),
  }));
  // KFAC's two factors per layer are separate small matrices; they sit at the corner of the block they stand for
  // (the block is A ⊗ G, side aᵢ·gᵢ), A first and G to its right.
  const factors = counts.layers.flatMap((layer) => [
    {
      representation: label('kfac'),
      what: `${layer.name} A: ${layer.aSide} × ${layer.aSide} = ${thousands(layer.aSide ** 2)} floats${enlarged(layer.aSide)}`,
      x0: layer.offset,
      x1: layer.offset + drawn(layer.aSide),
      y0: layer.offset,
      y1: layer.offset + drawn(layer.aSide),
    },
    {
      representation: label('kfac'),
      what: `${layer.name} G: ${layer.gSide} × ${layer.gSide} = ${thousands(layer.gSide ** 2)} floats${enlarged(layer.gSide)}`,
      x0: layer.offset + drawn(layer.aSide),
      x1: layer.offset + drawn(layer.aSide) + drawn(layer.gSide),
      y0: layer.offset,
      y1: layer.offset + drawn(layer.gSide),
    },
  ]);
  // Largest first, so an enlarged small block is drawn over its neighbour rather than under it.
  const squares = [...full, ...blocks].map((row) => ({ ...row, y0: row.x0, y1: row.x1 })).sort((a, b) => b.x1 - b.x0 - (a.x1 - a.x0));
  const tooltip = [
    { field: 'representation', title: 'representation' },
    { field: 'what', title: 'size' },
  ];

  const bars = representations.map((r) => ({
    representation: r.label,
    formula: `${r.short}: ${r.formula}`,
    floats: counts[r.key],
    text: `${thousands(counts[r.key])} (${bytes(counts[r.key])})`,
    ink: r.ink,
  }));
  const top = 10 ** Math.ceil(Math.log10(counts.full));
  const scale = perPixel >= 10 ? thousands(Math.round(perPixel)) : perPixel.toPrecision(2);

  const description =
    `The curvature matrix of ${model.model} (${datasetLabels[model.dataset] ?? model.dataset}, P = ${thousands(P)} parameters in ${counts.layers.length} layers) drawn to scale: ` +
    `the full matrix stores P² = ${thousands(counts.full)} floats, the block-diagonal one Σ pᵢ² = ${thousands(counts.block)} (${((100 * counts.block) / counts.full).toFixed(1)}% of it), ` +
    `the diagonal P = ${thousands(counts.diagonal)} and KFAC's factors Σ (fanIn+1)² + fanOut² = ${thousands(counts.kfac)}. ` +
    `One pixel is ${scale} parameters; squares narrower than ${minPixels} px are drawn ${minPixels} px wide, and the diagonal 1 px wide.`;

  return topLevel(description, {
    vconcat: [
      {
        title: {
          text: `Drawn to scale: P × P, P = ${thousands(P)}`,
          subtitle: [
            // Short lines: build-time rendering over-estimates text widths, and a long line widens the chart.
            `1 px = ${scale} parameters;`,
            `squares under ${minPixels} px (most KFAC factors)`,
            `enlarged to ${minPixels} px; diagonal drawn 1 px wide;`,
            "KFAC's factors sit at their block's corner",
          ],
        },
        width: side,
        height: side,
        layer: [
          {
            name: 'matrices',
            data: { values: squares },
            mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
            encoding: { x: { field: 'x0', ...x }, x2: { field: 'x1' }, y: { field: 'y0', ...y }, y2: { field: 'y1' }, color: { field: 'representation', ...colour }, tooltip },
          },
          {
            name: 'diagonal',
            data: { values: [{ representation: label('diagonal'), what: `P = ${thousands(P)} entries`, x0: 0, x1: P, y0: 0, y1: P }] },
            mark: { type: 'rule', strokeWidth: 1 },
            encoding: { x: { field: 'x0', ...x }, x2: { field: 'x1' }, y: { field: 'y0', ...y }, y2: { field: 'y1' }, color: { field: 'representation', ...colour }, tooltip },
          },
          {
            name: 'factors',
            data: { values: factors },
            mark: { type: 'rect' },
            encoding: { x: { field: 'x0', ...x }, x2: { field: 'x1' }, y: { field: 'y0', ...y }, y2: { field: 'y1' }, color: { field: 'representation', ...colour }, tooltip },
          },
        ],
      },
      {
        title: 'Floats stored (log scale; float32 bytes)',
        width: side,
        height: 4 * 28,
        data: { values: bars },
        encoding: {
          y: { field: 'formula', type: 'nominal', sort: null, title: null, axis: { grid: false, ticks: false } },
          tooltip: [
            { field: 'representation', title: 'representation' },
            { field: 'floats', type: 'quantitative', title: 'floats', format: ',' },
          ],
        },
        layer: [
          {
            name: 'floats',
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'floats', type: 'quantitative', title: 'floats', scale: { type: 'log', domain: [1, top] }, axis: { format: '~s' } },
              x2: { datum: 1 },
              color: { field: 'representation', ...colour },
            },
          },
          {
            // The count is written inside each bar, from its start, in a colour that reads on that bar.
            name: 'floats_text',
            mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
            encoding: {
              x: { datum: 1, type: 'quantitative' },
              text: { field: 'text' },
              color: { field: 'ink', type: 'nominal', scale: null },
            },
          },
        ],
      },
    ],
    spacing: 16,
    resolve: { scale: { color: 'shared' } },
  });
}
