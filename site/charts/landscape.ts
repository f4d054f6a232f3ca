/**
 * Figures 1–3 and the 1-D cut: the loss landscape around W* on a plane (and a
 * line) through it along two filter-normalised random directions (figure 2 on
 * a plane of its own, zoomed to the likelihood of the summed loss), with
 * contour lines computed here (site/lib/contours.ts) because Vega-Lite has
 * no contour transform.
 */
import type { z } from 'zod';
import type { landscapeArtifact } from '../../compute/artifacts/schemas.ts';
import { contourLines, contourRows } from '../lib/contours.ts';
import { datasetLabels, size, topLevel, type Spec } from './common.ts';

export type LandscapeArtifact = z.infer<typeof landscapeArtifact>;

/** Colours of the two contour families in figure 3 (not method colours: these are quantities). */
export const contourColors = { loss: '#332288', accuracy: '#117733' } as const;

/** The radio param of figure 3 and its choices. */
export const contourParam = { name: 'show', options: ['both', 'loss', 'accuracy'] } as const;

/**
 * Cell boundaries half-way between neighbouring grid coordinates (the outer
 * cells extend by half a step), so each rect is centred on its sample and the
 * cells tile the plane even if the grid is not evenly spaced.
 */
export function cellEdges(coordinates: readonly number[]): { lo: number; hi: number }[] {
  const n = coordinates.length;
  return coordinates.map((c, i) => {
    const lo = i > 0 ? (coordinates[i - 1] + c) / 2 : c - (coordinates[1] - c) / 2;
    const hi = i < n - 1 ? (c + coordinates[i + 1]) / 2 : c + (c - coordinates[n - 2]) / 2;
    return { lo, hi };
  });
}

/**
 * The drawn far edge of a cell: a third of a cell past its true edge, hidden
 * under the next cell (drawn later: rows in order of β, then α), so that
 * anti-aliasing leaves no hairline seams between neighbours. The outermost
 * cells are clipped at the frame.
 */
export const seamless = (lo: number, hi: number) => hi + (hi - lo) / 3;

const round2 = (value: number) => Number(value.toPrecision(2));
const fmt = (value: number, digits = 3) => Number(value.toPrecision(digits)).toString();
const pct = (value: number, digits = 1) => `${(100 * value).toFixed(digits)}%`;

/**
 * Loss levels spaced evenly in log between the smallest and largest loss
 * (the loss rises steeply away from W*, so even spacing would crowd the rim),
 * rounded to two significant digits for readable labels.
 */
export function lossLevels(loss: readonly number[], count = 6): number[] {
  const finite = loss.filter(Number.isFinite);
  const [lo, hi] = [Math.min(...finite), Math.max(...finite)];
  if (!(hi > lo)) return [];
  const levels = lo > 0
    ? Array.from({ length: count }, (_, k) => lo * (hi / lo) ** ((k + 1) / (count + 1)))
    : Array.from({ length: count }, (_, k) => lo + ((hi - lo) * (k + 1)) / (count + 1));
  return [...new Set(levels.map(round2))].filter((level) => level > lo && level < hi);
}

/** Round accuracy levels inside the observed range; the high ones matter most near W*. */
export function accuracyLevels(accuracy: readonly number[]): number[] {
  const [lo, hi] = [Math.min(...accuracy), Math.max(...accuracy)];
  return [0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99].filter((level) => level > lo && level < hi);
}

/**
 * Heights exp(−½k²), k = 3, 2, 1, shared by the three panels of figure 2: on the Laplace
 * Gaussian they are its 3σ, 2σ and 1σ ellipses (in the Mahalanobis sense), on the likelihood
 * the lines where the summed loss is 4.5, 2 and 0.5 nats above its value at W*.
 */
export const likelihoodLevels: readonly number[] = [3, 2, 1].map((k) => Math.exp(-0.5 * k * k));

/** One row per grid cell with its rectangle and the plane's values there. */
function cellRows(alphas: readonly number[], betas: readonly number[], surfaces: Record<string, readonly number[]>) {
  const [xe, ye] = [cellEdges(alphas), cellEdges(betas)];
  return betas.flatMap((beta, j) =>
    alphas.map((alpha, i) => {
      const row: Record<string, number> = { alpha, beta, a0: xe[i].lo, a1: seamless(xe[i].lo, xe[i].hi), b0: ye[j].lo, b1: seamless(ye[j].lo, ye[j].hi) };
      for (const [name, values] of Object.entries(surfaces)) row[name] = values[j * alphas.length + i];
      return row;
    }),
  );
}

/**
 * Where to write each level's label: the point of that level's contour
 * farthest inside the plot (a label at the edge is cut by the plot's clip)
 * and from the labels already placed (`taken`, shared between the contour
 * sets of one plot, so the loss and accuracy labels of figure 3 do not
 * collide). Distances are in fractions of the plot's width and height.
 */
function labelRows(values: readonly number[], xs: readonly number[], ys: readonly number[], levels: readonly number[], text: (level: number) => string, taken: { u: number; v: number }[] = []) {
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const toUnit = (point: { x: number; y: number }) => ({ u: (point.x - x0) / (x1 - x0 || 1), v: (point.y - y0) / (y1 - y0 || 1) });
  return levels.flatMap((level) => {
    const pieces = contourLines(values, xs, ys, level);
    let best: { point: { x: number; y: number }; score: number } | null = null;
    for (const piece of pieces) {
      for (const point of piece.points) {
        const { u, v } = toUnit(point);
        // A label is ~0.1 of the plot wide: keep its centre that far from the sides, and clear of the others.
        const inside = Math.min(u - 0.08, 0.92 - u, v - 0.06, 0.94 - v);
        const apart = taken.length > 0 ? Math.min(...taken.map((other) => Math.hypot((u - other.u) / 1.6, v - other.v))) - 0.08 : 1;
        const score = Math.min(inside, apart);
        if (best === null || score > best.score) best = { point, score };
      }
    }
    if (!best) return [];
    taken.push(toUnit(best.point));
    return [{ level, x: best.point.x, y: best.point.y, text: text(level) }];
  });
}

/** A positional encoding of the plane; axis null hides it (a panel beside one that shows it). */
interface PlaneAxis {
  type: 'quantitative';
  title: string;
  scale: { domain: number[]; nice: false; zero: false };
  axis: { grid: boolean; values?: number[] } | null;
}

function planeAxes(alphas: readonly number[], betas: readonly number[]): { x: PlaneAxis; y: PlaneAxis } {
  const [xe, ye] = [cellEdges(alphas), cellEdges(betas)];
  const xDomain = [xe[0].lo, xe[xe.length - 1].hi];
  const yDomain = [ye[0].lo, ye[ye.length - 1].hi];
  return {
    x: { type: 'quantitative', title: 'α (direction 1)', scale: { domain: xDomain, nice: false, zero: false }, axis: { grid: false } },
    y: { type: 'quantitative', title: 'β (direction 2)', scale: { domain: yDomain, nice: false, zero: false }, axis: { grid: false } },
  };
}

/** A layer of contour lines (and one label per level) in a fixed colour. */
function contourLayers(rows: Record<string, unknown>[], labels: Record<string, unknown>[], axes: ReturnType<typeof planeAxes>, options: { name: string; color: string; dash?: number[]; title: string; format: string; filter?: string; legend?: 'loss' | 'accuracy' }) {
  const filter = options.filter ? [{ filter: options.filter }] : [];
  // In figure 3 the two families share a legend: a constant datum on a fixed scale draws it.
  const styled = options.legend
    ? {
        color: { datum: options.legend, type: 'nominal', title: 'contours of', scale: { domain: ['loss', 'accuracy'], range: [contourColors.loss, contourColors.accuracy] } },
        strokeDash: { datum: options.legend, type: 'nominal', title: 'contours of', scale: { domain: ['loss', 'accuracy'], range: [[1, 0], [4, 3]] } },
      }
    : {};
  return [
    {
      name: options.name,
      data: { values: rows },
      transform: filter,
      mark: { type: 'line', color: options.color, strokeWidth: 1.25, strokeDash: options.dash ?? [1, 0], clip: true, aria: false },
      encoding: {
        x: { field: 'x', ...axes.x },
        y: { field: 'y', ...axes.y },
        detail: { field: 'path', type: 'nominal' },
        order: { field: 'order', type: 'quantitative' },
        tooltip: [{ field: 'level', type: 'quantitative', title: options.title, format: options.format }],
        ...styled,
      },
    },
    {
      name: `${options.name}_labels`,
      data: { values: labels },
      transform: filter,
      mark: { type: 'text', color: options.color, fontSize: 10, dy: -5, clip: true },
      encoding: { x: { field: 'x', ...axes.x }, y: { field: 'y', ...axes.y }, text: { field: 'text' } },
    },
  ];
}

/** W* at the origin of the plane. */
function optimumLayer(axes: ReturnType<typeof planeAxes>, color = 'white', prefix = '') {
  return {
    name: `${prefix}optimum`,
    data: { values: [{ x: 0, y: 0, label: 'W*' }] },
    layer: [
      { name: `${prefix}optimum_marker`, mark: { type: 'point', shape: 'cross', size: 120, filled: true, color, stroke: 'black', strokeWidth: 0.75 }, encoding: { x: { field: 'x', ...axes.x }, y: { field: 'y', ...axes.y } } },
      { mark: { type: 'text', align: 'left', dx: 7, dy: 8, fontWeight: 'bold', color }, encoding: { x: { field: 'x', ...axes.x }, y: { field: 'y', ...axes.y }, text: { field: 'label' } } },
    ],
  };
}

/** The plane's value at the grid point nearest W* (0, 0). */
function atOptimum(landscape: LandscapeArtifact, values: readonly number[]): number {
  const nearest = (list: readonly number[]) => list.reduce((best, value, k) => (Math.abs(value) < Math.abs(list[best]) ? k : best), 0);
  return values[nearest(landscape.plane.betas) * landscape.plane.alphas.length + nearest(landscape.plane.alphas)];
}

// The split, where recorded, names the images in words; otherwise the set id (e.g. 'mnist-test:first-500') without its subset details.
const where = (landscape: LandscapeArtifact) => {
  const images = landscape.split ? `${landscape.count} ${landscape.split === 'train' ? 'training' : 'test'} images` : `${landscape.count} images of ${landscape.set.split(':')[0]}`;
  return `${landscape.model} on ${datasetLabels[landscape.dataset] ?? landscape.dataset} (${images})`;
};

/**
 * The plane as a heatmap: one rect per grid cell, coloured by `color`, with
 * the cell's α, β and `tooltip` fields in its tooltip. aria is off because a
 * screen reader would read every one of the 1,681 cells; the spec's
 * description is the text alternative.
 */
function heatmapLayer(name: string, rows: Record<string, unknown>[] | { name: string }, axes: ReturnType<typeof planeAxes>, color: Record<string, unknown>, tooltip: Record<string, unknown>[]) {
  return {
    name,
    data: Array.isArray(rows) ? { values: rows } : rows,
    mark: { type: 'rect', tooltip: true, clip: true, aria: false },
    encoding: {
      x: { field: 'a0', ...axes.x },
      x2: { field: 'a1' },
      y: { field: 'b0', ...axes.y },
      y2: { field: 'b1' },
      color,
      tooltip: [{ field: 'alpha', type: 'quantitative', title: 'α', format: '.3f' }, { field: 'beta', type: 'quantitative', title: 'β', format: '.3f' }, ...tooltip],
    },
  };
}

/** Figure 1: loss over the plane through W*, as a heatmap with contour lines. */
export function lossSurface(landscape: LandscapeArtifact): Spec {
  const { alphas, betas, loss, accuracy } = landscape.plane;
  const axes = planeAxes(alphas, betas);
  const levels = lossLevels(loss);
  const logColour = Math.min(...loss) > 0;
  const description =
    `Loss of ${where(landscape)} on a ${alphas.length} × ${betas.length} grid over the plane W* + α·d₁ + β·d₂, α and β from ${alphas[0]} to ${alphas[alphas.length - 1]}: ` +
    `${fmt(atOptimum(landscape, loss))} at W* (accuracy ${pct(atOptimum(landscape, accuracy))}), between ${fmt(Math.min(...loss))} and ${fmt(Math.max(...loss))} over the plane; contour lines at ${levels.join(', ')}.`;
  return topLevel(description, {
    width: size.square,
    height: size.square,
    layer: [
      heatmapLayer(
        'cells',
        cellRows(alphas, betas, { loss, accuracy }),
        axes,
        // The data's own lowest to highest loss, unrounded: no cell clipped to an end colour.
        { field: 'loss', type: 'quantitative', title: 'loss', scale: { type: logColour ? 'log' : 'linear', domain: [Math.min(...loss), Math.max(...loss)], nice: false, scheme: 'viridis' } },
        [
          { field: 'loss', type: 'quantitative', title: 'loss', format: '.4f' },
          { field: 'accuracy', type: 'quantitative', title: 'accuracy', format: '.1%' },
        ],
      ),
      ...contourLayers(contourRows(loss, alphas, betas, levels), labelRows(loss, alphas, betas, levels, String), axes, { name: 'contours', color: 'white', title: 'loss level', format: '.3g' }),
      optimumLayer(axes),
    ],
  });
}

/** The three panels of figure 2, in order: what each shows and the field of its values. */
export const likelihoodPanels = [
  { field: 'likelihood', title: ['Likelihood', 'exp(−ΔΣ loss)'] },
  { field: 'laplace', title: ['Laplace approximation', '(Gauss–Newton at W*)'] },
  { field: 'fit', title: ['Least-squares', 'Gaussian fit'] },
] as const;

/** Legend labels for a colour scale from 0 to `top`: 0, 0.5, 1 (the value at W*) and the top itself, those closer than 0.2 to it left out. */
function legendValues(top: number): number[] {
  return [...[0, 0.5, 1].filter((value) => value <= top - 0.2 || value === top), ...(top > 1 ? [top] : [])].filter((value, index, all) => all.indexOf(value) === index);
}

/** −t, 0, t for the largest t of one significant digit within 80% of the half-width (short labels). */
export function symmetricTicks(halfWidth: number): number[] {
  const limit = 0.8 * halfWidth;
  const power = 10 ** Math.floor(Math.log10(limit));
  const step = [5, 4, 3, 2, 1].map((m) => m * power).find((t) => t <= limit) ?? power;
  const t = Number(step.toPrecision(1));
  return [-t, 0, t];
}

type Matrix2 = readonly (readonly number[])[];
const matrixText = (m: Matrix2) => `[[${fmt(m[0][0])}, ${fmt(m[0][1])}], [${fmt(m[1][0])}, ${fmt(m[1][1])}]]`;

/**
 * Figure 2: the likelihood of the subset on a plane zoomed to ±k Laplace standard deviations,
 * beside the Gaussian the Laplace approximation predicts there (exact Gauss–Newton curvature at
 * W*, its slice through the plane) and the least-squares Gaussian fitted to the likelihood, on
 * one colour scale from 0 (1 is the likelihood at W*, the Laplace Gaussian's peak).
 */
export function likelihoodAndGaussian(landscape: LandscapeArtifact): Spec {
  const { alphas, betas, values, deltaLoss, laplace, fit, peak, range, sigmas, hessian, gradient } = landscape.likelihood;
  const sharedAxes = planeAxes(alphas, betas);
  const surfaces = { likelihood: values, laplace: laplace.values, fit: fit.values };
  // From 0 to at least 1; further when the likelihood (or its fit) rises above its value at W*.
  const top = Math.max(1, ...values, ...fit.values);
  const rows = cellRows(alphas, betas, { ...surfaces, deltaLoss });
  // Three panels within the 600 px budget: the shared β axis is labelled on the first one only.
  const panelSize = 160;
  const subtitles: Record<(typeof likelihoodPanels)[number]['field'], string[]> = {
    likelihood: [`Σ over ${landscape.count} images`, `1 at W*, peak ${fmt(peak.value)}`],
    laplace: ['centred at W*, peak 1', `R² = ${laplace.residual.rSquared.toFixed(2)}`],
    fit: ['free peak and mean', `R² = ${fit.residual.rSquared.toFixed(2)}`],
  };
  const panel = ({ field, title }: (typeof likelihoodPanels)[number], index: number) => {
    const surface = surfaces[field];
    // Ticks well inside the frame, so that no end label sticks out between the panels.
    const x: PlaneAxis = { ...sharedAxes.x, axis: { grid: false, values: symmetricTicks(range[0]) } };
    const axes = { x, y: index === 0 ? { ...sharedAxes.y, axis: { grid: false, values: symmetricTicks(range[1]) } } : { ...sharedAxes.y, axis: null } };
    const markers =
      field === 'fit'
        ? [
            {
              name: 'fit_mean',
              data: { values: [{ x: fit.mean[0], y: fit.mean[1], label: 'μ' }] },
              layer: [
                { name: 'fit_mean_marker', mark: { type: 'point', shape: 'circle', size: 40, filled: true, color: 'white', stroke: 'black', strokeWidth: 0.75, clip: true }, encoding: { x: { field: 'x', ...axes.x }, y: { field: 'y', ...axes.y } } },
                { mark: { type: 'text', align: 'left', dx: 6, dy: -7, color: 'white', clip: true }, encoding: { x: { field: 'x', ...axes.x }, y: { field: 'y', ...axes.y }, text: { field: 'label' } } },
              ],
            },
          ]
        : [];
    return {
      title: { text: [...title], subtitle: subtitles[field], fontSize: 10, fontWeight: 'bold', subtitleFontSize: 10 },
      width: panelSize,
      height: panelSize,
      layer: [
        heatmapLayer(
          `${field}_cells`,
          // The three panels read one table of cells (top-level datasets), so the spec holds it once.
          { name: 'cells' },
          axes,
          // One explicit domain for the three panels: equal colours mean equal heights.
          { field, type: 'quantitative', title: 'likelihood relative to its value at W*', scale: { domain: [0, top], nice: false, scheme: 'viridis' }, legend: { titleLimit: 400, values: legendValues(top), format: '.2~f', gradientLength: 240 } },
          [
            { field, type: 'quantitative', title: title.join(' '), format: '.4g' },
            ...(field === 'likelihood' ? [] : [{ field: 'likelihood', type: 'quantitative', title: 'likelihood exp(−ΔΣ loss)', format: '.4g' }]),
            { field: 'deltaLoss', type: 'quantitative', title: 'ΔΣ loss (nats)', format: '.3f' },
          ],
        ),
        ...contourLayers(contourRows(surface, alphas, betas, [...likelihoodLevels]), labelRows(surface, alphas, betas, likelihoodLevels, (level) => fmt(level, 2)), axes, {
          name: `${field}_contours`,
          color: 'white',
          title: 'level',
          format: '.3g',
        }),
        optimumLayer(axes, 'white', `${field}_`),
        ...markers,
      ],
    };
  };
  const description =
    `Left, the likelihood exp(−(S − S(W*))) of ${where(landscape)}, S the sum of their cross-entropies, on a ${alphas.length} × ${betas.length} grid over the plane W* + α·d₁ + β·d₂ ` +
    `with α within ±${fmt(range[0], 2)} and β within ±${fmt(range[1], 2)} (±${sigmas} standard deviations of the Laplace Gaussian): 1 at W*, ${fmt(peak.value)} at its peak (${fmt(peak.alpha, 2)}, ${fmt(peak.beta, 2)}). ` +
    `The slope of S at W* is (${fmt(gradient[0])}, ${fmt(gradient[1])}) nats per unit of α and β: W* minimises the training objective, not S on these images. ` +
    `Middle, the Laplace approximation's Gaussian exp(−½ vᵀPv) on the plane, from the exact Gauss–Newton curvature of S at W* projected onto it, P = ${matrixText(laplace.precision)} ` +
    `(standard deviations ${fmt(laplace.standardDeviations[0], 2)} and ${fmt(laplace.standardDeviations[1], 2)}, correlation ${fmt(laplace.correlation, 2)}): its slice through the plane, not its marginal; ` +
    `it explains R² = ${laplace.residual.rSquared.toFixed(3)} of the likelihood's variance. The Hessian of S on the plane by second differences is ${matrixText(hessian.matrix)}. ` +
    `Right, the least-squares Gaussian fitted to the likelihood (peak ${fmt(fit.amplitude)}, mean (${fmt(fit.mean[0], 2)}, ${fmt(fit.mean[1], 2)}), standard deviations ${fmt(fit.standardDeviations[0], 2)} and ${fmt(fit.standardDeviations[1], 2)}, correlation ${fmt(fit.correlation, 2)}): ` +
    `R² = ${fit.residual.rSquared.toFixed(3)}. One colour scale from 0 to ${fmt(top)}; contour lines at exp(−½k²) for k = 3, 2, 1 (${likelihoodLevels.map((level) => fmt(level, 2)).join(', ')}).`;
  return topLevel(description, {
    datasets: { cells: rows },
    hconcat: likelihoodPanels.map(panel),
    resolve: { scale: { color: 'shared' } },
    spacing: 12,
  });
}

/** Figure 3: loss contours against accuracy contours on the same plane, each set shown or hidden by a radio button. */
export function lossAccuracyContours(landscape: LandscapeArtifact): Spec {
  const { alphas, betas, loss, accuracy } = landscape.plane;
  const axes = planeAxes(alphas, betas);
  const [lossAt, accuracyAt] = [lossLevels(loss), accuracyLevels(accuracy)];
  // The two families' labels are placed clear of each other.
  const placed: { u: number; v: number }[] = [];
  const p = contourParam.name;
  const description =
    `Contour lines of the loss (solid, at ${lossAt.join(', ')}) and of the accuracy (dashed, at ${accuracyAt.map((level) => pct(level, 0)).join(', ')}) of ${where(landscape)} on the same plane through W*, ` +
    `where the loss is ${fmt(atOptimum(landscape, loss))} and the accuracy ${pct(atOptimum(landscape, accuracy))}.`;
  return topLevel(description, {
    width: size.square,
    height: size.square,
    params: [{ name: p, value: 'both', bind: { input: 'radio', options: [...contourParam.options], name: 'Contours: ' } }],
    layer: [
      ...contourLayers(contourRows(loss, alphas, betas, lossAt, 'loss'), labelRows(loss, alphas, betas, lossAt, String, placed), axes, {
        name: 'loss_contours',
        color: contourColors.loss,
        title: 'loss level',
        format: '.3g',
        filter: `${p} !== 'accuracy'`,
        legend: 'loss',
      }),
      ...contourLayers(contourRows(accuracy, alphas, betas, accuracyAt, 'accuracy'), labelRows(accuracy, alphas, betas, accuracyAt, (level) => pct(level, 0), placed), axes, {
        name: 'accuracy_contours',
        color: contourColors.accuracy,
        dash: [4, 3],
        title: 'accuracy level',
        format: '.0%',
        filter: `${p} !== 'loss'`,
        legend: 'accuracy',
      }),
      optimumLayer(axes, 'black'),
    ],
  });
}

/** The 1-D cut: loss and accuracy along one direction through W*, stacked with a shared α axis. */
export function lossLine(landscape: LandscapeArtifact): Spec {
  const { alphas, loss, accuracy } = landscape.line;
  const rows = alphas.map((alpha, k) => ({ alpha, loss: loss[k], accuracy: accuracy[k] }));
  const centre = alphas.reduce((best, value, k) => (Math.abs(value) < Math.abs(alphas[best]) ? k : best), 0);
  const x = { field: 'alpha', type: 'quantitative', title: 'α (distance along the direction, filter-normalised)', scale: { domain: [alphas[0], alphas[alphas.length - 1]], nice: false, zero: false } };
  const tooltip = [
    { field: 'alpha', type: 'quantitative', title: 'α', format: '.3f' },
    { field: 'loss', type: 'quantitative', title: 'loss', format: '.4f' },
    { field: 'accuracy', type: 'quantitative', title: 'accuracy', format: '.1%' },
  ];
  const panel = (name: 'loss' | 'accuracy', title: string, format?: string, domain?: number[]) => ({
    width: size.width - 60, // room for the y axis within 600 px
    height: 150,
    layer: [
      { mark: { type: 'rule', color: '#999', strokeDash: [2, 2] }, data: { values: [{ alpha: 0 }] }, encoding: { x } },
      {
        name: `${name}_line`,
        mark: { type: 'line', point: { color: contourColors[name] }, color: contourColors[name], tooltip: true },
        encoding: { x, y: { field: name, type: 'quantitative', title, ...(format ? { axis: { format } } : {}), ...(domain ? { scale: { domain } } : {}) }, tooltip },
      },
    ],
  });
  const description =
    `Loss and accuracy of ${where(landscape)} along one filter-normalised direction through W*, at ${alphas.length} points from α = ${alphas[0]} to ${alphas[alphas.length - 1]}: ` +
    `the loss is ${fmt(loss[centre])} at W* (accuracy ${pct(accuracy[centre])}) and ${fmt(loss[0])} and ${fmt(loss[loss.length - 1])} at the two ends (accuracy ${pct(accuracy[0])} and ${pct(accuracy[accuracy.length - 1])}).`;
  return topLevel(description, {
    data: { values: rows },
    vconcat: [panel('loss', 'loss (cross-entropy)'), panel('accuracy', 'accuracy', '.0%', [0, 1])],
    spacing: 10,
  });
}
