/**
 * The likelihood of a data subset on the plane W* + α·d₁ + β·d₂, relative to
 * W*: exp(−(S(α, β) − S(0, 0))) with S the SUM of the cross-entropies over
 * the subset (the log likelihood of the data is −S, not −mean loss), so the
 * value at W* is 1. Summed over hundreds of inputs it is far narrower than
 * the mean loss, so it gets a plane of its own, sized from the Laplace
 * Gaussian (laplaceHalfWidths).
 *
 * The Laplace Gaussian on the plane: with P = Dᵀ H D (curvature.ts), the
 * second-order model of S − S(0, 0) without its linear term is ½ vᵀ P v,
 * v = (α, β), so the Laplace approximation's likelihood is exp(−½ vᵀ P v),
 * centred at W* with peak 1. It is the slice of the P-dimensional Gaussian
 * through the plane (a conditional on the plane, not the marginal of the
 * two coordinates): its precision is P itself.
 */
import type { LaplaceData, LayerMatrix, Network } from '../laplace/index.ts';
import { LandscapeError, type Direction } from './directions.ts';
import { landscape1d, landscape2d, type LandscapeOptions } from './grid.ts';

export type Matrix2 = [[number, number], [number, number]];
/** A 2 × 2 matrix as given: checked for its shape where it is used. */
export type SquareRows = readonly (readonly number[])[];

export interface LikelihoodPlane {
  alphas: number[];
  betas: number[];
  /** S(α, β) − S(0, 0), same layout as Landscape2d (one row per β). */
  deltaLoss: number[];
  /** exp(−deltaLoss): 1 at W*. */
  values: number[];
  /** S(0, 0), the summed loss at W* in nats. */
  lossSum: number;
  count: number;
}

/** Throws unless `precision` is a symmetric positive definite 2 × 2 matrix. */
function checkPrecision(precision: SquareRows): void {
  if (precision.length !== 2 || precision.some((row) => row.length !== 2)) throw new LandscapeError('The plane precision must be a 2 × 2 matrix, one row per direction.');
  const [[a, b], [c, d]] = precision;
  if (![a, b, c, d].every(Number.isFinite)) throw new LandscapeError('The plane precision must have finite entries.');
  if (Math.abs(b - c) > 1e-9 * Math.max(Math.abs(a), Math.abs(d), 1e-300)) throw new LandscapeError(`The plane precision [[${a}, ${b}], [${c}, ${d}]] is not symmetric.`);
  if (!(a > 0 && d > 0 && a * d - b * c > 0)) throw new LandscapeError(`The plane precision [[${a}, ${b}], [${c}, ${d}]] is not positive definite, so it defines no Gaussian; the directions may be degenerate for this network.`);
}

/** Σ = P⁻¹ of a 2 × 2 precision. */
export function covarianceOf(precision: SquareRows): Matrix2 {
  checkPrecision(precision);
  const [[a, b], [, d]] = precision;
  const det = a * d - b * b;
  return [
    [d / det, -b / det],
    [-b / det, a / det],
  ];
}

/**
 * Half-widths of the plane that show the Laplace Gaussian: `sigmas` standard deviations
 * √Σ_αα and √Σ_ββ of Σ = P⁻¹ along each axis, so the ellipse at `sigmas` σ touches the frame.
 */
export function laplaceHalfWidths(precision: SquareRows, sigmas = 3): [number, number] {
  if (!(sigmas > 0) || !Number.isFinite(sigmas)) throw new LandscapeError(`The half-width must be a positive number of standard deviations, got ${sigmas}.`);
  const covariance = covarianceOf(precision);
  return [sigmas * Math.sqrt(covariance[0][0]), sigmas * Math.sqrt(covariance[1][1])];
}

/** exp(−½ vᵀ P v) on alphas × betas, one row per β: the Laplace Gaussian on the plane, 1 at W*. */
export function laplaceGaussian(precision: SquareRows, alphas: readonly number[], betas: readonly number[]): number[] {
  checkPrecision(precision);
  const [[a, b], [, d]] = precision;
  const out: number[] = [];
  for (const beta of betas) for (const alpha of alphas) out.push(Math.exp(-0.5 * (a * alpha * alpha + 2 * b * alpha * beta + d * beta * beta)));
  return out;
}

/** The likelihood exp(−(S − S(W*))) of `data` on the plane over alphas × betas. */
export async function likelihoodPlane(
  network: Network,
  weights: readonly LayerMatrix[],
  data: LaplaceData,
  directionX: Direction,
  directionY: Direction,
  alphas: readonly number[],
  betas: readonly number[],
  options: LandscapeOptions = {},
): Promise<LikelihoodPlane> {
  const plane = await landscape2d(network, weights, data, directionX, directionY, alphas, betas, options);
  const count = plane.count;
  // S at W* from the grid when W* is on it (the same forward pass), otherwise one more point.
  const [i0, j0] = [alphas.indexOf(0), betas.indexOf(0)];
  const centre = i0 >= 0 && j0 >= 0 ? plane.loss[j0 * alphas.length + i0] : (await landscape1d(network, weights, data, directionX, [0], { batchSize: options.batchSize })).loss[0];
  const lossSum = centre * count;
  const deltaLoss = plane.loss.map((loss) => loss * count - lossSum);
  return { alphas: plane.alphas, betas: plane.betas, deltaLoss, values: deltaLoss.map((delta) => Math.exp(-delta)), lossSum, count };
}

export interface PlaneHessian {
  /** [h_α, h_β], the steps of the stencil. */
  step: [number, number];
  /** ∂²S/∂α², ∂²S/∂α∂β, ∂²S/∂β² at W* by central second differences (error O(h²)). */
  matrix: Matrix2;
}

/**
 * The Hessian of S on the plane at W*, from S on the 3 × 3 stencil {−h, 0, h}²: the whole
 * curvature of the data term, which the Gauss–Newton matrix approximates by leaving out the
 * part that comes from the logits' own second derivatives. Float32 logits put a floor of about
 * 1e-7·S/h² on its error, so h should not be much below the width of the likelihood.
 */
export async function planeHessian(
  network: Network,
  weights: readonly LayerMatrix[],
  data: LaplaceData,
  directionX: Direction,
  directionY: Direction,
  step: [number, number],
  options: LandscapeOptions = {},
): Promise<PlaneHessian> {
  const [h, k] = step;
  if (!(h > 0 && k > 0 && Number.isFinite(h) && Number.isFinite(k))) throw new LandscapeError(`The second-difference steps must be positive numbers, got ${h} and ${k}.`);
  const stencil = await landscape2d(network, weights, data, directionX, directionY, [-h, 0, h], [-k, 0, k], options);
  // S at (i, j) ∈ {−1, 0, 1}², one row per β as in Landscape2d.
  const S = (i: number, j: number) => stencil.loss[(j + 1) * 3 + (i + 1)] * stencil.count;
  const aa = (S(1, 0) - 2 * S(0, 0) + S(-1, 0)) / (h * h);
  const bb = (S(0, 1) - 2 * S(0, 0) + S(0, -1)) / (k * k);
  const ab = (S(1, 1) - S(1, -1) - S(-1, 1) + S(-1, -1)) / (4 * h * k);
  return {
    step: [h, k],
    matrix: [
      [aa, ab],
      [ab, bb],
    ],
  };
}
