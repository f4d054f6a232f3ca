/**
 * Figures 5 and 7: 2-D Gaussians drawn as k-σ ellipses whose shape follows
 * sliders. The ellipses are computed in Vega expressions (sequence data and
 * calculate transforms reading the slider params), so they move in the
 * browser without any code of ours running there.
 *
 * A k-σ ellipse of covariance Σ is {k·L·(cos t, sin t)} with L the Cholesky
 * factor of Σ: every point x on it has xᵀ Σ⁻¹ x = k².
 */
import type { z } from 'zod';
import type { covarianceArtifact } from '../../compute/artifacts/schemas.ts';
import { datasetLabels, size, topLevel, type Spec } from './common.ts';
import { layerLabel, modelLabel } from '../lib/names.ts';

export type CovarianceArtifact = z.infer<typeof covarianceArtifact>;

/** Points per ellipse, the first repeated at the end to close it. */
const steps = 72;

/** Slider params of figure 5 with their starting values (a tilted ellipse). */
export const gaussianParams = { sigma1: 1.5, sigma2: 0.7, rho: 0.6 } as const;

/** Names of the params of figure 7: the two sliders, and the derived posterior covariance entries (readable as Vega signals). */
export const nTauParams = { logN: 'logN', logTau: 'logTau', cov11: 'cov11', cov12: 'cov12', cov22: 'cov22', correlation: 'corr' } as const;

const sigmaLabels = ['1σ', '2σ', '3σ'];

/**
 * Data and transforms for `count` ellipses (k = 1..count) of the covariance
 * whose entries are the Vega expressions c11, c12, c22.
 */
function ellipseLayerBase(count: number, c11: string, c12: string, c22: string) {
  const per = steps + 1;
  return {
    data: { sequence: { start: 0, stop: count * per, as: 'i' } },
    transform: [
      { calculate: `floor(datum.i / ${per}) + 1`, as: 'k' },
      { calculate: `datum.k + 'σ'`, as: 'band' },
      { calculate: `2 * PI * (datum.i % ${per}) / ${steps}`, as: 't' },
      // Cholesky factor of [[c11, c12], [c12, c22]]: l11 = √c11, l21 = c12/l11, l22 = √(c22 − l21²).
      { calculate: `sqrt(${c11})`, as: 'l11' },
      { calculate: `(${c12}) / datum.l11`, as: 'l21' },
      { calculate: `sqrt(max(0, (${c22}) - datum.l21 * datum.l21))`, as: 'l22' },
      { calculate: 'datum.k * datum.l11 * cos(datum.t)', as: 'x' },
      { calculate: 'datum.k * (datum.l21 * cos(datum.t) + datum.l22 * sin(datum.t))', as: 'y' },
    ],
  };
}

/** One line of text at the top left of the plot, computed from the params by `expression`. */
function readout(name: string, expression: string, top: number) {
  return {
    name,
    data: { values: [{}] },
    transform: [{ calculate: expression, as: 'text' }],
    mark: { type: 'text', align: 'left', baseline: 'top', fontSize: 12 },
    encoding: { x: { value: 6 }, y: { value: top }, text: { field: 'text' } },
  };
}

const axis = (title: string, limit: number) => ({ type: 'quantitative', title, scale: { domain: [-limit, limit], nice: false } });

/** Figure 5: a 2-D Gaussian's 1σ/2σ/3σ ellipses with sliders for σ₁, σ₂ and the correlation ρ. */
export function gaussianSliders(): Spec {
  const { sigma1, sigma2, rho } = gaussianParams;
  const limit = 6; // 3σ of the largest slider value (2) fits: fixed axes make every slider move visible.
  const x = { field: 'x', ...axis('w₁', limit) };
  const y = { field: 'y', ...axis('w₂', limit) };
  const description =
    `A 2-D Gaussian with mean 0 drawn as its 1σ, 2σ and 3σ ellipses at standard deviations σ₁ = ${sigma1}, σ₂ = ${sigma2} and correlation ρ = ${rho} ` +
    `(covariance ρ·σ₁·σ₂), a tilted ellipse; with JavaScript, sliders change σ₁, σ₂ and ρ.`;
  return topLevel(description, {
    width: size.square,
    height: size.square,
    params: [
      { name: 'sigma1', value: sigma1, bind: { input: 'range', min: 0.2, max: 2, step: 0.05, name: 'σ₁ ' } },
      { name: 'sigma2', value: sigma2, bind: { input: 'range', min: 0.2, max: 2, step: 0.05, name: 'σ₂ ' } },
      { name: 'rho', value: rho, bind: { input: 'range', min: -0.95, max: 0.95, step: 0.05, name: 'correlation ρ ' } },
    ],
    layer: [
      {
        name: 'ellipses',
        ...ellipseLayerBase(3, 'sigma1 * sigma1', 'rho * sigma1 * sigma2', 'sigma2 * sigma2'),
        mark: { type: 'line', clip: true, strokeWidth: 1.5 },
        encoding: {
          x,
          y,
          detail: { field: 'k', type: 'ordinal' },
          order: { field: 'i', type: 'quantitative' },
          color: { field: 'band', type: 'ordinal', title: 'ellipse', scale: { domain: sigmaLabels, range: ['#08306b', '#2171b5', '#5b8fc4'] } },
        },
      },
      readout(
        'readout',
        `'Σ = [[' + format(sigma1 * sigma1, '.2f') + ', ' + format(rho * sigma1 * sigma2, '.2f') + '], [' + format(rho * sigma1 * sigma2, '.2f') + ', ' + format(sigma2 * sigma2, '.2f') + ']]'`,
        6,
      ),
    ],
  });
}

/** Closed-form (N·F + τ·I)⁻¹ of a 2×2 F, for defaults and the static reference ellipse. */
export function posteriorCovariance(fisher: readonly (readonly number[])[], logN: number, logTau: number): [[number, number], [number, number]] {
  const [n, tau] = [10 ** logN, 10 ** logTau];
  const [p11, p12, p22] = [n * fisher[0][0] + tau, n * fisher[0][1], n * fisher[1][1] + tau];
  const det = p11 * p22 - p12 * p12;
  return [
    [p22 / det, -p12 / det],
    [-p12 / det, p11 / det],
  ];
}

/**
 * Slider starting point: τ = 1 and N such that N times F's smaller eigenvalue
 * is about 1, where neither the data nor the prior term dominates and the
 * ellipse is visibly tilted.
 */
export function nTauDefaults(fisher: readonly (readonly number[])[]): { logN: number; logTau: number } {
  const [a, b, c] = [fisher[0][0], fisher[0][1], fisher[1][1]];
  const mid = (a + c) / 2;
  const half = Math.sqrt(((a - c) / 2) ** 2 + b * b);
  const small = mid - half > 0 ? mid - half : (mid + half) / 10;
  const logN = Math.round(10 * Math.min(8, Math.max(0, -Math.log10(small)))) / 10;
  return { logN, logTau: 0 };
}

/** A round axis limit just above `value` (1, 2, 2.5 or 5 times a power of ten). */
function roundUp(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 2.5, 5, 10].find((m) => m * power >= value) ?? 10) * power;
}

function weightName(weight: CovarianceArtifact['weights'][number]) {
  return weight.isBias ? `the bias of unit ${weight.column}` : `the weight from input ${weight.row} to unit ${weight.column}`;
}

/** Figure 7: the posterior of two real weights under N·F + τ·I, with sliders for log₁₀ N and log₁₀ τ. */
export function nTauSliders(covariance: CovarianceArtifact): Spec {
  const F = covariance.fisherBlock;
  const defaults = nTauDefaults(F);
  const start = posteriorCovariance(F, defaults.logN, defaults.logTau);
  const startCorrelation = start[0][1] / Math.sqrt(start[0][0] * start[1][1]);
  // Axes fixed around the starting 2σ ellipse: moving a slider then visibly shrinks, grows or rounds it.
  const major = Math.sqrt((start[0][0] + start[1][1]) / 2 + Math.sqrt(((start[0][0] - start[1][1]) / 2) ** 2 + start[0][1] ** 2));
  const limit = roundUp(1.5 * 2 * major);
  const x = { field: 'x', ...axis('w₁ − w₁*', limit) };
  const y = { field: 'y', ...axis('w₂ − w₂*', limit) };
  const p = nTauParams;
  const f = (value: number) => `(${value})`;
  const [c11, c12, c22] = [p.cov11, p.cov12, p.cov22];

  const reference = [1, 2].flatMap((k) => {
    const l11 = Math.sqrt(start[0][0]);
    const l21 = start[0][1] / l11;
    const l22 = Math.sqrt(Math.max(0, start[1][1] - l21 * l21));
    return Array.from({ length: steps + 1 }, (_, s) => {
      const t = (2 * Math.PI * s) / steps;
      return { k, order: s, x: k * l11 * Math.cos(t), y: k * (l21 * Math.cos(t) + l22 * Math.sin(t)) };
    });
  });

  const fmt = (value: number) => Number(value.toPrecision(3)).toString();
  const description =
    `The posterior of two weights of ${layerLabel(covariance.layer)} of ${modelLabel(covariance.model)} (${datasetLabels[covariance.dataset] ?? covariance.dataset}): ${weightName(covariance.weights[0])} (w₁) and ${weightName(covariance.weights[1])} (w₂), ` +
    `whose Fisher block F = [[${fmt(F[0][0])}, ${fmt(F[0][1])}], [${fmt(F[1][0])}, ${fmt(F[1][1])}]] has correlation ${covariance.correlation.toFixed(2)}. ` +
    `The 1σ and 2σ ellipses of Σ = (N·F + τ·I)⁻¹ are drawn at log₁₀ N = ${defaults.logN} and log₁₀ τ = ${defaults.logTau}, ` +
    `where the variances are ${fmt(start[0][0])} and ${fmt(start[1][1])} and the correlation ${startCorrelation.toFixed(2)}; with JavaScript, sliders for log₁₀ N and log₁₀ τ move them.`;

  return topLevel(description, {
    width: size.square,
    height: size.square,
    params: [
      { name: p.logN, value: defaults.logN, bind: { input: 'range', min: 0, max: 8, step: 0.1, name: 'log₁₀ N ' } },
      { name: p.logTau, value: defaults.logTau, bind: { input: 'range', min: -2, max: 6, step: 0.1, name: 'log₁₀ τ ' } },
      // Precision N·F + τ·I and its closed-form 2×2 inverse, in dependency order.
      { name: 'prec11', expr: `pow(10, ${p.logN}) * ${f(F[0][0])} + pow(10, ${p.logTau})` },
      { name: 'prec12', expr: `pow(10, ${p.logN}) * ${f(F[0][1])}` },
      { name: 'prec22', expr: `pow(10, ${p.logN}) * ${f(F[1][1])} + pow(10, ${p.logTau})` },
      { name: 'precDet', expr: 'prec11 * prec22 - prec12 * prec12' },
      { name: c11, expr: 'prec22 / precDet' },
      { name: c12, expr: '-prec12 / precDet' },
      { name: c22, expr: 'prec11 / precDet' },
      { name: p.correlation, expr: `${c12} / sqrt(${c11} * ${c22})` },
    ],
    layer: [
      {
        name: 'start',
        data: { values: reference },
        mark: { type: 'line', clip: true, color: '#999', strokeDash: [3, 3], strokeWidth: 1 },
        encoding: { x, y, detail: { field: 'k', type: 'ordinal' }, order: { field: 'order', type: 'quantitative' } },
      },
      {
        name: 'ellipses',
        ...ellipseLayerBase(2, c11, c12, c22),
        mark: { type: 'line', clip: true, strokeWidth: 1.75 },
        encoding: {
          x,
          y,
          detail: { field: 'k', type: 'ordinal' },
          order: { field: 'i', type: 'quantitative' },
          color: { field: 'band', type: 'ordinal', title: 'ellipse (dashed: where the sliders started)', legend: { titleLimit: 400 }, scale: { domain: sigmaLabels.slice(0, 2), range: ['#08306b', '#4292c6'] } },
        },
      },
      readout('readout_nt', `'N = ' + format(pow(10, ${p.logN}), '.3~g') + ', τ = ' + format(pow(10, ${p.logTau}), '.3~g')`, 6),
      readout(
        'readout_cov',
        `'Var(w₁) = ' + format(${c11}, '.3~g') + ', Var(w₂) = ' + format(${c22}, '.3~g') + ', correlation = ' + format(${p.correlation}, '.2f')`,
        22,
      ),
    ],
  });
}
