/**
 * The geometry figures (loss landscape, Gaussians, Kronecker product,
 * curvature sizes, (N, τ) search): each builder on the quick-profile
 * artifacts compiles, renders marks, and shows numbers that are checked here
 * against independent hand or closed-form computations.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import type { Spec } from '../../site/charts/common.ts';
import { gaussianParams, nTauDefaults, nTauParams, nTauSliders, gaussianSliders, type CovarianceArtifact } from '../../site/charts/gaussian.ts';
import { kron, kroneckerExample, kroneckerProduct } from '../../site/charts/kronecker.ts';
import { contourParam, likelihoodAndGaussian, lossAccuracyContours, lossLevels, lossLine, lossSurface, type LandscapeArtifact } from '../../site/charts/landscape.ts';
import { objectiveValue, searchSurface, type SearchArtifact, type SearchObjective } from '../../site/charts/search.ts';
import { curvatureFloatCounts, curvatureSizes, minPixels, type ModelRow } from '../../site/charts/structure.ts';
import { contourLines } from '../../site/lib/contours.ts';
import { renderSvg, toVega } from '../../site/lib/render.ts';
import { quickResultsDir, readQuick } from './fixtures.ts';

const datasets = ['mnist', 'fashion-mnist'] as const;

// ---------- helpers ----------

/** Number of elements drawn inside every SVG group of the Vega mark `name` (e.g. 'cells_marks'). */
function svgItemCount(svg: string, name: string): number {
  let total = 0;
  const opener = new RegExp(`<g class="mark-[a-z]+ role-mark ${name}"[^>]*>`, 'g');
  for (const match of svg.matchAll(opener)) {
    let depth = 0;
    const tag = /<(\/?)([a-z]+)[^>]*?(\/?)>/g;
    tag.lastIndex = match.index! + match[0].length;
    for (let t = tag.exec(svg); t; t = tag.exec(svg)) {
      const [, closing, element, selfClosing] = t;
      if (closing) {
        if (depth === 0) break;
        depth--;
        continue;
      }
      if (depth === 0 && ['path', 'text', 'line', 'rect', 'circle'].includes(element)) total++;
      if (!selfClosing) depth++;
    }
  }
  return total;
}

const svgWidth = (svg: string) => Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)![1]);

async function runView(spec: Spec): Promise<View> {
  const view = new View(parse(toVega(spec)), { renderer: 'none', logLevel: 0 });
  await view.runAsync();
  return view;
}

interface SceneMark {
  name?: string;
  role?: string;
  marktype?: string;
  items: ({ datum: Record<string, unknown>; x: number; y: number; text?: string; items?: unknown[] } & Partial<SceneMark>)[];
}

/** Every mark in the scenegraph called `name` (line marks split by `detail` give one mark per line). */
function sceneMarks(view: View, name: string): SceneMark[] {
  const found: SceneMark[] = [];
  const walk = (node: SceneMark) => {
    if (node.marktype && node.name === name) found.push(node);
    for (const item of node.items ?? []) if (item.items) walk(item as unknown as SceneMark);
  };
  walk((view.scenegraph() as unknown as { root: SceneMark }).root);
  return found;
}
const sceneItems = (view: View, name: string) => sceneMarks(view, name).flatMap((mark) => mark.items);

/** Compiles with Vega-Lite (throws on an invalid spec), renders, and checks the width budget. */
async function rendered(spec: Spec) {
  expect(() => compile(spec)).not.toThrow();
  const svg = await renderSvg(spec);
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svgWidth(svg)).toBeLessThanOrEqual(600);
  expect(typeof spec.description).toBe('string');
  expect(spec.description!.length).toBeGreaterThan(40);
  return svg;
}

/** Linear interpolation of a grid surface at a point lying on a grid edge (where marching squares puts contour points). */
function valueOnEdge(values: readonly number[], xs: readonly number[], ys: readonly number[], x: number, y: number): number {
  const nx = xs.length;
  const at = (i: number, j: number) => values[j * nx + i];
  const i = xs.findIndex((value) => Math.abs(value - x) < 1e-12);
  if (i >= 0) {
    const j = Math.min(ys.length - 2, ys.findIndex((value, k) => k < ys.length - 1 && value <= y && y <= ys[k + 1]));
    const t = (y - ys[j]) / (ys[j + 1] - ys[j]);
    return at(i, j) + t * (at(i, j + 1) - at(i, j));
  }
  const j = ys.findIndex((value) => Math.abs(value - y) < 1e-12);
  expect(j, `point (${x}, ${y}) is on no grid edge`).toBeGreaterThanOrEqual(0);
  const k = Math.min(xs.length - 2, xs.findIndex((value, m) => m < xs.length - 1 && value <= x && x <= xs[m + 1]));
  const t = (x - xs[k]) / (xs[k + 1] - xs[k]);
  return at(k, j) + t * (at(k + 1, j) - at(k, j));
}

const linspace = (from: number, to: number, count: number) => Array.from({ length: count }, (_, k) => from + ((to - from) * k) / (count - 1));

// ---------- contours ----------

describe('marching squares (site/lib/contours.ts)', () => {
  it('a plane z = x gives one straight vertical line at the level', () => {
    const xs = [0, 1, 2, 3, 4];
    const ys = [0, 1, 2, 3];
    const values = ys.flatMap(() => xs.map((x) => x));
    const lines = contourLines(values, xs, ys, 1.5);
    expect(lines).toHaveLength(1);
    expect(lines[0].closed).toBe(false);
    for (const point of lines[0].points) expect(point.x).toBeCloseTo(1.5, 12);
    expect(lines[0].points.map((point) => point.y).sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
  });

  it('reads the grid as one row per y (z = y on a 3 × 5 grid gives a horizontal line)', () => {
    const xs = [0, 1, 2];
    const ys = [0, 1, 2, 3, 4];
    const values = ys.flatMap((y) => xs.map(() => y));
    const lines = contourLines(values, xs, ys, 2.25);
    expect(lines).toHaveLength(1);
    for (const point of lines[0].points) expect(point.y).toBeCloseTo(2.25, 12);
    expect(lines[0].points.map((point) => point.x).sort()).toEqual([0, 1, 2]);
  });

  it('a radially symmetric bowl gives one closed loop at the right radius', () => {
    const xs = linspace(-2, 2, 41);
    const ys = linspace(-2, 2, 41);
    const values = ys.flatMap((y) => xs.map((x) => x * x + y * y));
    for (const radius of [0.7, 1, 1.5]) {
      const lines = contourLines(values, xs, ys, radius * radius);
      expect(lines).toHaveLength(1);
      const [loop] = lines;
      expect(loop.closed).toBe(true);
      expect(loop.points[0]).toEqual(loop.points[loop.points.length - 1]);
      expect(loop.points.length).toBeGreaterThan(20);
      // Linear interpolation of r² along an edge of length h errs by at most h²/4 in r².
      for (const point of loop.points) expect(Math.abs(Math.hypot(point.x, point.y) - radius)).toBeLessThan(0.0025 / radius + 1e-9);
      // Shoelace area of the loop against πr².
      let area = 0;
      for (let k = 0; k + 1 < loop.points.length; k++) area += loop.points[k].x * loop.points[k + 1].y - loop.points[k + 1].x * loop.points[k].y;
      expect(Math.abs(area / 2)).toBeCloseTo(Math.PI * radius * radius, 1);
    }
  });

  it('a bowl cut by the grid edge gives an open arc', () => {
    const xs = linspace(0, 2, 21);
    const ys = linspace(-2, 2, 41);
    const values = ys.flatMap((y) => xs.map((x) => x * x + y * y));
    const lines = contourLines(values, xs, ys, 1);
    expect(lines).toHaveLength(1);
    expect(lines[0].closed).toBe(false);
    const ends = [lines[0].points[0], lines[0].points[lines[0].points.length - 1]];
    for (const end of ends) expect(end.x).toBeCloseTo(0, 12);
    expect(ends.map((end) => end.y).sort((a, b) => a - b)).toEqual([-1, 1]);
  });

  it('splits a saddle cell by its centre value', () => {
    // z = x·y on one cell: corners (−1,−1) and (1,1) are +1, the others −1, centre 0.
    const values = [1, -1, -1, 1];
    const lines = contourLines(values, [-1, 1], [-1, 1], 0.5);
    expect(lines).toHaveLength(2);
    const pieces = lines.map((line) => line.points.map((p) => [p.x, p.y]).sort((a, b) => a[0] - b[0] || a[1] - b[1]));
    // The centre is below 0.5, so the two pieces cut off the two high corners.
    expect(pieces).toContainEqual([
      [-1, -0.5],
      [-0.5, -1],
    ]);
    expect(pieces).toContainEqual([
      [0.5, 1],
      [1, 0.5],
    ]);
  });

  it('finds nothing when the level is outside the values', () => {
    expect(contourLines([1, 2, 3, 4], [0, 1], [0, 1], 10)).toEqual([]);
  });
});

// ---------- landscape figures ----------

// Four decimals below 1, four significant digits above it: on training images the likelihood can peak well above its value at W*.
const closeEnough = (expected: number) => 5e-5 * Math.max(1, Math.abs(expected));

describe.each(datasets)('landscape figures on %s', (dataset) => {
  const landscape = () => readQuick<LandscapeArtifact>(`${dataset}/lenet5/landscape.json`);

  it('is drawn on images the network was trained on, where W* is the optimum, and says so', async () => {
    const data = landscape();
    const model = readQuick<{ models: ModelRow[] }>('models.json').models.find((row) => row.dataset === dataset && row.model === 'lenet5')!;
    expect(data.split).toBe('train');
    // The id names the training split, never validation or test, and the subset fits inside the images trained on.
    expect(data.set).toMatch(new RegExp(`^${dataset}-train(:|$)`));
    expect(data.count).toBeLessThanOrEqual(model.trainCount);
    expect(data.likelihood.definition).toContain('training subset');
    expect((lossSurface(data) as { description: string }).description).toContain(`${data.count} training images`);
  });

  it('lossSurface: one cell per grid point, contours on the surface, W* at the origin', async () => {
    const data = landscape();
    const { alphas, betas, loss } = data.plane;
    const spec = lossSurface(data);
    const svg = await rendered(spec);
    expect(svgItemCount(svg, 'cells_marks')).toBe(alphas.length * betas.length);
    const lines = svgItemCount(svg, 'contours_marks');
    expect(lines).toBeGreaterThanOrEqual(lossLevels(loss).length);
    expect(svgItemCount(svg, 'contours_labels_marks')).toBe(lossLevels(loss).length);

    const view = await runView(spec);
    // The colours span the data's own lowest to highest loss, unrounded.
    expect(view.scale('color').domain()).toEqual([Math.min(...loss), Math.max(...loss)]);
    // Every contour point lies on a grid edge where the interpolated loss equals its level.
    const points = sceneItems(view, 'contours_marks');
    expect(points.length).toBeGreaterThan(lines);
    for (const { datum } of points) expect(valueOnEdge(loss, alphas, betas, datum.x as number, datum.y as number)).toBeCloseTo(datum.level as number, 9);
    // The cell at (αᵢ, βⱼ) carries loss[j·|α| + i].
    for (const { datum } of sceneItems(view, 'cells_marks')) {
      const [i, j] = [alphas.indexOf(datum.alpha as number), betas.indexOf(datum.beta as number)];
      expect(datum.loss).toBe(loss[j * alphas.length + i]);
    }
    const [marker] = sceneItems(view, 'optimum_marker_marks');
    expect(marker.x).toBeCloseTo(view.scale('x')(0), 6);
    expect(marker.y).toBeCloseTo(view.scale('y')(0), 6);
    view.finalize();
    // The line through W* and the plane agree at W*: the description quotes that loss.
    const centre = data.line.alphas.indexOf(0);
    expect(spec.description).toContain(Number(data.line.loss[centre].toPrecision(3)).toString());
  });

  it('likelihoodAndGaussian: three titled panels on one colour scale; the likelihood is exp(−ΔΣ), the middle and right ones the stated Gaussians', async () => {
    const data = landscape();
    const { alphas, betas, values, deltaLoss, laplace, fit, peak } = data.likelihood;
    const spec = likelihoodAndGaussian(data);
    const titles = (spec as { hconcat: { title: { text: string[] } }[] }).hconcat.map((panel) => panel.title.text.join(' '));
    expect(titles).toEqual(['Likelihood exp(−ΔΣ loss)', 'Laplace approximation (Gauss–Newton at W*)', 'Least-squares Gaussian fit']);
    const svg = await rendered(spec);
    for (const field of ['likelihood', 'laplace', 'fit']) {
      expect(svgItemCount(svg, `${field}_cells_marks`)).toBe(alphas.length * betas.length);
      expect(svgItemCount(svg, `${field}_contours_marks`)).toBeGreaterThan(0);
      expect(svgItemCount(svg, `${field}_optimum_marker_marks`)).toBe(1);
    }
    expect(spec.description).toContain(`R² = ${laplace.residual.rSquared.toFixed(3)}`);
    expect(spec.description).toContain(`R² = ${fit.residual.rSquared.toFixed(3)}`);

    const view = await runView(spec);
    // 0 to 1 (the likelihood at W*, the Laplace peak), or higher where the likelihood rises above it.
    expect(view.scale('color').domain()).toEqual([0, Math.max(1, ...values, ...fit.values)]);
    // The likelihood is exp(−(S − S(W*))): 1 at W*, the grid's middle point.
    const centre = betas.indexOf(0) * alphas.length + alphas.indexOf(0);
    expect(values[centre]).toBe(1);
    expect(Math.max(...values)).toBeCloseTo(peak.value, 5);
    // Middle: exp(−½ vᵀPv) about W*; right: A·exp(−½ dᵀΣ⁻¹d), d = v − μ; both in closed form here.
    const [[p11, p12], [, p22]] = laplace.precision;
    const laplaceAt = (a: number, b: number) => Math.exp(-0.5 * (p11 * a * a + 2 * p12 * a * b + p22 * b * b));
    const { amplitude, mean, covariance } = fit;
    const det = covariance[0][0] * covariance[1][1] - covariance[0][1] ** 2;
    const fitAt = (a: number, b: number) => {
      const [u, v] = [a - mean[0], b - mean[1]];
      return amplitude * Math.exp(-0.5 * (covariance[1][1] * u * u - 2 * covariance[0][1] * u * v + covariance[0][0] * v * v) / det);
    };
    for (const { datum } of sceneItems(view, 'likelihood_cells_marks')) {
      const k = betas.indexOf(datum.beta as number) * alphas.length + alphas.indexOf(datum.alpha as number);
      // The artifact keeps 6 significant digits: ΔΣ to ±5e-6·|ΔΣ| moves exp(−ΔΣ) by that fraction of itself.
      const expected = Math.exp(-deltaLoss[k]);
      expect(Math.abs((datum.likelihood as number) - expected)).toBeLessThanOrEqual(closeEnough(expected) + 1e-5 * Math.abs(deltaLoss[k]) * expected);
    }
    for (const { datum } of sceneItems(view, 'laplace_cells_marks')) expect(datum.laplace as number).toBeCloseTo(laplaceAt(datum.alpha as number, datum.beta as number), 4);
    for (const { datum } of sceneItems(view, 'fit_cells_marks')) {
      const expected = fitAt(datum.alpha as number, datum.beta as number);
      expect(Math.abs((datum.fit as number) - expected)).toBeLessThanOrEqual(closeEnough(expected));
    }
    // W* at the origin of every panel, the fit's mean in the right one.
    const [marker] = sceneItems(view, 'laplace_optimum_marker_marks');
    expect(marker.datum).toMatchObject({ x: 0, y: 0 });
    const [mu] = sceneItems(view, 'fit_mean_marker_marks');
    expect(mu.datum).toMatchObject({ x: mean[0], y: mean[1] });
    view.finalize();
  });

  it('lossAccuracyContours: both families drawn, each hidden by the radio param', async () => {
    const data = landscape();
    const { alphas, betas, accuracy } = data.plane;
    const spec = lossAccuracyContours(data);
    const svg = await rendered(spec);
    const lossLines = svgItemCount(svg, 'loss_contours_marks');
    const accuracyLines = svgItemCount(svg, 'accuracy_contours_marks');
    expect(lossLines).toBeGreaterThan(0);
    expect(accuracyLines).toBeGreaterThan(0);
    const param = (spec as { params: { name: string; value: string; bind: { input: string; options: string[] } }[] }).params[0];
    expect(param).toMatchObject({ name: contourParam.name, value: 'both', bind: { input: 'radio', options: ['both', 'loss', 'accuracy'] } });

    const view = await runView(spec);
    for (const { datum } of sceneItems(view, 'accuracy_contours_marks')) expect(valueOnEdge(accuracy, alphas, betas, datum.x as number, datum.y as number)).toBeCloseTo(datum.level as number, 9);
    const count = (name: string) => sceneMarks(view, name).filter((mark) => mark.items.length > 0).length;
    expect([count('loss_contours_marks'), count('accuracy_contours_marks')]).toEqual([lossLines, accuracyLines]);
    await view.signal(contourParam.name, 'loss').runAsync();
    expect([count('loss_contours_marks'), count('accuracy_contours_marks')]).toEqual([lossLines, 0]);
    await view.signal(contourParam.name, 'accuracy').runAsync();
    expect([count('loss_contours_marks'), count('accuracy_contours_marks')]).toEqual([0, accuracyLines]);
    view.finalize();
  });

  it('lossLine: loss and accuracy at every point of the line', async () => {
    const data = landscape();
    const spec = lossLine(data);
    const svg = await rendered(spec);
    expect(svgItemCount(svg, 'loss_line_marks')).toBe(1);
    expect(svgItemCount(svg, 'accuracy_line_marks')).toBe(1);
    const view = await runView(spec);
    const lossPoints = sceneItems(view, 'loss_line_marks');
    expect(lossPoints.map(({ datum }) => [datum.alpha, datum.loss])).toEqual(data.line.alphas.map((alpha, k) => [alpha, data.line.loss[k]]));
    expect(sceneItems(view, 'accuracy_line_marks').map(({ datum }) => datum.accuracy)).toEqual(data.line.accuracy);
    view.finalize();
  });
});

// ---------- figure 4: curvature sizes ----------

describe('curvatureSizes', () => {
  // LeNet-5 by hand: conv 5×5×1→6, conv 5×5×6→16, dense 256→120, 120→84, 84→10, all with biases.
  const shapes = [
    [5 * 5 * 1, 6],
    [5 * 5 * 6, 16],
    [256, 120],
    [120, 84],
    [84, 10],
  ];
  const p = shapes.map(([fanIn, fanOut]) => (fanIn + 1) * fanOut); // 156, 2416, 30840, 10164, 850
  const P = p.reduce((a, b) => a + b, 0);
  const hand = {
    parameters: 44426,
    full: 44426 * 44426,
    block: 156 ** 2 + 2416 ** 2 + 30840 ** 2 + 10164 ** 2 + 850 ** 2,
    diagonal: 44426,
    kfac: 26 ** 2 + 6 ** 2 + (151 ** 2 + 16 ** 2) + (257 ** 2 + 120 ** 2) + (121 ** 2 + 84 ** 2) + (85 ** 2 + 10 ** 2),
  };

  it('the hand count is self-consistent', () => {
    expect(p).toEqual([156, 2416, 30840, 10164, 850]);
    expect(P).toBe(hand.parameters);
    expect(hand).toEqual({ parameters: 44426, full: 1_973_669_476, block: 1_060_996_388, diagonal: 44426, kfac: 133_240 });
  });

  it.each(datasets)('LeNet-5 on %s: float counts, drawing and description', async (dataset) => {
    const model = readQuick<{ models: ModelRow[] }>('models.json').models.find((row) => row.dataset === dataset && row.model === 'lenet5')!;
    const counts = curvatureFloatCounts(model);
    expect({ parameters: counts.parameters, full: counts.full, block: counts.block, diagonal: counts.diagonal, kfac: counts.kfac }).toEqual(hand);
    const spec = curvatureSizes(model);
    for (const value of [hand.full, hand.block, hand.diagonal, hand.kfac]) expect(spec.description).toContain(value.toLocaleString('en-US'));
    const svg = await rendered(spec);
    expect(svgItemCount(svg, 'matrices_marks')).toBe(1 + shapes.length);
    expect(svgItemCount(svg, 'factors_marks')).toBe(2 * shapes.length);
    expect(svgItemCount(svg, 'diagonal_marks')).toBe(1);
    expect(svgItemCount(svg, 'floats_marks')).toBe(4);

    const view = await runView(spec);
    // To scale: each diagonal block's drawn side is pᵢ/P of the full matrix's, except that none is drawn under
    // minPixels (LeNet-5's first block, 156 of 44,426 parameters, would be 1.3 px of 360).
    type Square = { x: number; y: number; width: number; height: number; datum: { representation: string; x0: number; what: string } };
    const squares = sceneItems(view, 'matrices_marks') as unknown as Square[];
    const full = squares.find((item) => item.datum.representation === 'full matrix')!;
    const side = full.width;
    const blocks = squares.filter((item) => item.datum.representation === 'block-diagonal').sort((a, b) => a.datum.x0 - b.datum.x0);
    expect(blocks).toHaveLength(shapes.length);
    blocks.forEach((block, k) => {
      const toScale = (p[k] / P) * side;
      expect(block.width, `block ${k}`).toBeCloseTo(Math.max(toScale, minPixels), 6);
      expect(block.datum.what.includes(`drawn ${minPixels} px wide`), `block ${k}`).toBe(toScale < minPixels);
    });
    expect(blocks[0].width).toBe(minPixels);
    // Every KFAC factor is a visible square of at least minPixels (to scale all ten of LeNet-5's are under 2.1 px), at its
    // block's corner, G to the right of A.
    const factors = sceneItems(view, 'factors_marks') as unknown as Square[];
    expect(factors).toHaveLength(2 * shapes.length);
    for (const factor of factors) {
      expect(factor.width, factor.datum.what).toBeGreaterThanOrEqual(minPixels - 1e-9);
      expect(factor.height, factor.datum.what).toBeCloseTo(factor.width, 6);
    }
    shapes.forEach(([fanIn, fanOut], k) => {
      const [a, g] = [factors[2 * k], factors[2 * k + 1]];
      expect(a.width).toBeCloseTo(Math.max(((fanIn + 1) / P) * side, minPixels), 6);
      expect(g.width).toBeCloseTo(Math.max((fanOut / P) * side, minPixels), 6);
      expect(a.x).toBeCloseTo(blocks[k].x, 6);
      expect(g.x).toBeCloseTo(a.x + a.width, 6);
    });
    // The chart states its scale and the enlargement.
    const subtitle = ((spec as { vconcat: { title: { subtitle: string[] } }[] }).vconcat[0].title.subtitle).join(' ');
    expect(subtitle).toContain(`1 px = ${Math.round(P / side)} parameters`);
    expect(subtitle).toContain(`under ${minPixels} px`);
    expect(subtitle).toContain(`enlarged to ${minPixels} px`);
    const bars = sceneItems(view, 'floats_marks').map(({ datum }) => datum.floats);
    expect(bars).toEqual([hand.full, hand.block, hand.diagonal, hand.kfac]);
    view.finalize();
  });
});

// ---------- figures 5 and 7: Gaussians with sliders ----------

/** xᵀ M x for a symmetric 2×2 M. */
const quadratic = (m: number[][], x: number, y: number) => m[0][0] * x * x + 2 * m[0][1] * x * y + m[1][1] * y * y;

describe('gaussianSliders', () => {
  it('draws the 1σ/2σ/3σ ellipses of the slider covariance, and follows the sliders', async () => {
    const spec = gaussianSliders();
    const svg = await rendered(spec);
    expect(svgItemCount(svg, 'ellipses_marks')).toBe(3);
    const params = (spec as { params: { name: string; value: number; bind: { input: string } }[] }).params;
    expect(params.map((param) => [param.name, param.bind.input])).toEqual([
      ['sigma1', 'range'],
      ['sigma2', 'range'],
      ['rho', 'range'],
    ]);
    const view = await runView(spec);
    const check = (s1: number, s2: number, rho: number) => {
      // Σ⁻¹ of [[s1², ρs1s2], [ρs1s2, s2²]] in closed form.
      const det = s1 * s1 * s2 * s2 * (1 - rho * rho);
      const inverse = [
        [(s2 * s2) / det, (-rho * s1 * s2) / det],
        [(-rho * s1 * s2) / det, (s1 * s1) / det],
      ];
      const items = sceneItems(view, 'ellipses_marks');
      expect(items.length).toBe(3 * 73);
      for (const { datum } of items) expect(quadratic(inverse, datum.x as number, datum.y as number)).toBeCloseTo((datum.k as number) ** 2, 9);
    };
    const { sigma1, sigma2, rho } = gaussianParams;
    expect(rho).not.toBe(0); // the starting ellipse is tilted
    check(sigma1, sigma2, rho);
    await view.signal('sigma1', 0.5).signal('rho', -0.8).runAsync();
    check(0.5, sigma2, -0.8);
    view.finalize();
  });
});

describe.each(datasets)('nTauSliders on %s', (dataset) => {
  it('starts at the closed-form (N·F + τ·I)⁻¹ and follows the sliders', async () => {
    const covariance = readQuick<CovarianceArtifact>(`${dataset}/lenet5/covariance-2x2.json`);
    const F = covariance.fisherBlock;
    const spec = nTauSliders(covariance);
    // The layer in words (its tfjs name, e.g. dense_8, means nothing to a reader).
    expect(spec.description).toMatch(/two weights of a dense layer of /);
    expect(spec.description).not.toContain(covariance.layer);
    const svg = await rendered(spec);
    expect(svgItemCount(svg, 'ellipses_marks')).toBe(2);
    expect(svgItemCount(svg, 'readout_cov_marks')).toBe(1);

    const view = await runView(spec);
    const check = (logN: number, logTau: number) => {
      const [N, tau] = [10 ** logN, 10 ** logTau];
      const precision = [
        [N * F[0][0] + tau, N * F[0][1]],
        [N * F[1][0], N * F[1][1] + tau],
      ];
      const det = precision[0][0] * precision[1][1] - precision[0][1] * precision[1][0];
      const expected = { cov11: precision[1][1] / det, cov12: -precision[0][1] / det, cov22: precision[0][0] / det };
      for (const key of ['cov11', 'cov12', 'cov22'] as const) expect((view.signal(nTauParams[key]) as number) / expected[key]).toBeCloseTo(1, 10);
      expect(view.signal(nTauParams.correlation)).toBeCloseTo(expected.cov12 / Math.sqrt(expected.cov11 * expected.cov22), 10);
      // Points of the k-σ ellipse satisfy xᵀ (N·F + τ·I) x = k², with no inverse involved.
      const items = sceneItems(view, 'ellipses_marks');
      expect(items.length).toBe(2 * 73);
      for (const { datum } of items) expect(quadratic(precision, datum.x as number, datum.y as number)).toBeCloseTo((datum.k as number) ** 2, 6);
      const [text] = sceneItems(view, 'readout_cov_marks');
      expect(text.datum.text).toContain('Var(w₁)');
    };
    const defaults = nTauDefaults(F);
    const params = (spec as { params: { name: string; value?: number }[] }).params;
    expect(params.find((param) => param.name === nTauParams.logN)!.value).toBe(defaults.logN);
    expect(params.find((param) => param.name === nTauParams.logTau)!.value).toBe(defaults.logTau);
    check(defaults.logN, defaults.logTau);
    await view.signal(nTauParams.logN, 6).signal(nTauParams.logTau, 3.5).runAsync();
    check(6, 3.5);
    view.finalize();
  });
});

// ---------- figure 6: Kronecker product ----------

describe('kroneckerProduct', () => {
  // Worked by hand: block (i, j) is A[i][j]·B with A = [[2, −1], [1, 3]], B = [[1, 2, 0], [0, 1, −2], [3, 0, 1]].
  const expected = [
    [2, 4, 0, -1, -2, 0],
    [0, 2, -4, 0, -1, 2],
    [6, 0, 2, -3, 0, -1],
    [1, 2, 0, 3, 6, 0],
    [0, 1, -2, 0, 3, -6],
    [3, 0, 1, 9, 0, 3],
  ];

  it('kron matches the hand-computed product', () => {
    expect(kroneckerExample.A).toEqual([
      [2, -1],
      [1, 3],
    ]);
    expect(kron(kroneckerExample.A, kroneckerExample.B)).toEqual(expected);
  });

  it('draws A, B and the product with its values, four block borders and labels', async () => {
    const spec = kroneckerProduct();
    const svg = await rendered(spec);
    expect(svgItemCount(svg, 'A_values_marks')).toBe(4);
    expect(svgItemCount(svg, 'B_values_marks')).toBe(9);
    expect(svgItemCount(svg, 'product_values_marks')).toBe(36);
    expect(svgItemCount(svg, 'product_blocks_marks')).toBe(4);
    expect(svgItemCount(svg, 'product_labels_marks')).toBe(4);
    const view = await runView(spec);
    const shown = sceneItems(view, 'product_values_marks');
    for (const item of shown) {
      const { row, col } = item.datum as { row: number; col: number };
      expect(Number(String(item.text).replace('\u2212', '-'))).toBe(expected[row][col]);
    }
    expect(new Set(shown.map(({ datum }) => `${datum.row},${datum.col}`)).size).toBe(36);
    expect(sceneItems(view, 'product_labels_marks').map(({ text }) => text)).toEqual(['a₁₁·B', 'a₁₂·B', 'a₂₁·B', 'a₂₂·B']);
    view.finalize();
  });
});

// ---------- (N, τ) search surface ----------

const searchFiles = (dataset: string) =>
  readdirSync(join(quickResultsDir(), dataset, 'lenet5', 'search'))
    .filter((file) => file.endsWith('.json'))
    .map((file) => `${dataset}/lenet5/search/${file}`);

describe.each(datasets)('searchSurface on %s', (dataset) => {
  it.each(['nll', 'error+ece'] as SearchObjective[])('marks the artifact\'s best point by %s on every search', async (objective) => {
    const files = searchFiles(dataset);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const search = readQuick<SearchArtifact>(file);
      const other: SearchObjective = objective === 'nll' ? 'error+ece' : 'nll';
      const best = search.best[objective];
      // The artifact's best is the minimum of the objective as defined here (nll, or 100·error + 100·ece).
      const minimum = Math.min(...search.points.map((point) => (objective === 'nll' ? point.nll : 100 * point.error + 100 * point.ece)));
      expect(objectiveValue(best, objective)).toBeCloseTo(minimum, 9);

      const spec = searchSurface(search, objective);
      const svg = await rendered(spec);
      expect(svgItemCount(svg, 'surface_marks')).toBe(search.points.length);
      expect(svgItemCount(svg, 'best_marks')).toBe(2);
      const view = await runView(spec);
      const marks = sceneItems(view, 'best_marks');
      const chosen = marks.find(({ datum }) => datum.role === 'chosen')!;
      const second = marks.find(({ datum }) => datum.role === 'other')!;
      expect([chosen.datum.logN, chosen.datum.logTau]).toEqual([best.logN, best.logTau]);
      expect([second.datum.logN, second.datum.logTau]).toEqual([search.best[other].logN, search.best[other].logTau]);
      expect(chosen.x).toBeCloseTo(view.scale('x')(best.logN), 6);
      expect(chosen.y).toBeCloseTo(view.scale('y')(best.logTau), 6);
      // Drawn distinctly: different shapes.
      expect((chosen as unknown as { shape: string }).shape).not.toBe((second as unknown as { shape: string }).shape);
      view.finalize();
    }
  });

  it.each(['nll', 'error+ece'] as SearchObjective[])('a grid by %s: ticks on the cell centres, colours spanning the data exactly', async (objective) => {
    for (const file of searchFiles(dataset)) {
      const search = readQuick<SearchArtifact>(file);
      const view = await runView(searchSurface(search, objective));
      const distinct = (pick: (p: SearchArtifact['points'][number]) => number) => [...new Set(search.points.map(pick))].sort((a, b) => a - b);
      const ticks: number[][] = [];
      const walk = (node: SceneMark) => {
        if (node.role === 'axis-label') ticks.push(node.items.map((item) => Number((item.datum as { value: number }).value)));
        for (const item of node.items ?? []) if (item.items) walk(item as unknown as SceneMark);
      };
      walk((view.scenegraph() as unknown as { root: SceneMark }).root);
      const centres = (values: number[]) => values.map((v) => Math.round(1e9 * v) / 1e9).sort((a, b) => a - b);
      expect(ticks.map(centres).sort((a, b) => a.length - b.length || a[0] - b[0])).toEqual(
        [distinct((p) => p.logN), distinct((p) => p.logTau)].sort((a, b) => a.length - b.length || a[0] - b[0]),
      );
      const values = search.points.map((p) => objectiveValue(p, objective));
      expect(view.scale('color').domain()).toEqual([Math.min(...values), Math.max(...values)]);
      // Every cell inside the colour range, the best one at its end.
      for (const item of sceneItems(view, 'surface_marks')) expect(view.scale('color')(item.datum.value as number)).toBeTruthy();
      view.finalize();
    }
  });

  it('draws scattered (random) points as they come', async () => {
    const search = readQuick<SearchArtifact>(searchFiles(dataset)[0]);
    // Nudge each point off the grid, deterministically.
    const scattered = { ...search, points: search.points.map((point, k) => ({ ...point, logN: point.logN + 0.37 * ((k % 3) - 1) + 0.011 * k })) };
    const minimum = scattered.points.reduce((a, b) => (a.nll <= b.nll ? a : b));
    scattered.best = { ...search.best, nll: minimum };
    const spec = searchSurface(scattered, 'nll');
    const svg = await rendered(spec);
    expect(svgItemCount(svg, 'surface_marks')).toBe(scattered.points.length);
    const view = await runView(spec);
    const items = sceneItems(view, 'surface_marks');
    for (const item of items) expect(item.x).toBeCloseTo(view.scale('x')(item.datum.logN as number), 6);
    const chosen = sceneItems(view, 'best_marks').find(({ datum }) => datum.role === 'chosen')!;
    expect(chosen.datum.logN).toBe(minimum.logN);
    view.finalize();
  });
});
