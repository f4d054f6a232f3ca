/**
 * Least-squares fit of a 2-D Gaussian surface
 *
 *     g(x) = A · exp(−½ (x − μ)ᵀ Σ⁻¹ (x − μ)),   x = (α, β),
 *
 * to values on a grid (the likelihood exp(−ΔΣ loss) of a 2-D landscape), by
 * Levenberg–Marquardt in float64. Σ stays symmetric positive definite by
 * construction: the fit moves θ = (log A, μ_α, μ_β, a, b, c) with
 * Σ⁻¹ = L Lᵀ, L = [[eᵃ, 0], [b, eᶜ]] (a Cholesky factor with a positive
 * diagonal), and A > 0 through its logarithm. The start is the moments of the
 * surface above its minimum. There is no constant offset term: the surface
 * is the Gaussian itself, and what it cannot explain shows in the residual.
 */
import { LandscapeError } from './directions.ts';

export interface GaussianFitOptions {
  /** Most Levenberg–Marquardt iterations; default 500. */
  maxIterations?: number;
  /** Stop when an accepted step lowers the cost by less than this fraction; default 1e-12. */
  tolerance?: number;
}

export interface GaussianResidual {
  /** √(mean (g − y)²) over the grid. */
  rms: number;
  /** max |g − y|. */
  maxAbs: number;
  /** max y − min y: the scale the residual is compared with. */
  range: number;
  relativeRms: number;
  relativeMaxAbs: number;
  /** 1 − Σ(g − y)² / Σ(y − ȳ)². */
  rSquared: number;
}

export interface GaussianFit2d {
  amplitude: number;
  /** [μ_α, μ_β]. */
  mean: [number, number];
  /** [[Σ_αα, Σ_αβ], [Σ_αβ, Σ_ββ]]. */
  covariance: [[number, number], [number, number]];
  /** [√Σ_αα, √Σ_ββ]. */
  standardDeviations: [number, number];
  /** Σ_αβ / √(Σ_αα Σ_ββ). */
  correlation: number;
  /** The fitted g on the grid, same layout as the input: surface[j·alphas.length + i] at (alphas[i], betas[j]). */
  surface: number[];
  residual: GaussianResidual;
  iterations: number;
  /** False when the iteration limit was reached before the cost settled. */
  converged: boolean;
}

const parameterCount = 6;

/**
 * Fit A·exp(−½ [x−μ]ᵀ Σ⁻¹ [x−μ]) to `values` on the grid alphas × betas, laid out row-major
 * with one row per β (values[j·alphas.length + i] at (alphas[i], betas[j]), as landscape2d).
 */
export function fitGaussian2d(alphas: readonly number[], betas: readonly number[], values: readonly number[], options: GaussianFitOptions = {}): GaussianFit2d {
  const nx = alphas.length;
  const ny = betas.length;
  if (nx < 2 || ny < 2) throw new LandscapeError(`A 2-D Gaussian fit needs at least 2 points on each axis, got ${nx} × ${ny}.`);
  if (values.length !== nx * ny) throw new LandscapeError(`The grid is ${nx} × ${ny} = ${nx * ny} points but ${values.length} values were given.`);
  if (![...alphas, ...betas, ...values].every(Number.isFinite)) throw new LandscapeError('The grid and the values must all be finite numbers.');
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.tolerance ?? 1e-12;

  const count = nx * ny;
  const xs = new Float64Array(count);
  const ys = new Float64Array(count);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      xs[j * nx + i] = alphas[i];
      ys[j * nx + i] = betas[j];
    }
  }
  const target = Float64Array.from(values);

  let theta = initialParameters(xs, ys, target, alphas, betas);
  const model = new Float64Array(count);
  const jacobian = new Float64Array(count * parameterCount);
  let cost = evaluate(theta, xs, ys, target, model, null);
  let damping = 1e-3;
  let iterations = 0;
  let converged = false;

  while (iterations < maxIterations && !converged) {
    iterations++;
    evaluate(theta, xs, ys, target, model, jacobian);
    // Normal equations JᵀJ δ = −Jᵀr with Marquardt's diagonal scaling.
    const normal = new Float64Array(parameterCount * parameterCount);
    const gradient = new Float64Array(parameterCount);
    for (let k = 0; k < count; k++) {
      const residual = model[k] - target[k];
      const row = k * parameterCount;
      for (let p = 0; p < parameterCount; p++) {
        const jp = jacobian[row + p];
        gradient[p] += jp * residual;
        for (let q = p; q < parameterCount; q++) normal[p * parameterCount + q] += jp * jacobian[row + q];
      }
    }
    for (let p = 0; p < parameterCount; p++) for (let q = 0; q < p; q++) normal[p * parameterCount + q] = normal[q * parameterCount + p];

    let accepted = false;
    while (!accepted && damping < 1e12) {
      const damped = normal.slice();
      for (let p = 0; p < parameterCount; p++) damped[p * parameterCount + p] += damping * Math.max(normal[p * parameterCount + p], 1e-300);
      const step = solve(damped, Array.from(gradient, (g) => -g));
      if (!step) {
        damping *= 10;
        continue;
      }
      const candidate = theta.map((value, p) => value + step[p]);
      const candidateCost = evaluate(candidate, xs, ys, target, model, null);
      if (Number.isFinite(candidateCost) && candidateCost <= cost) {
        const decrease = cost - candidateCost;
        const stepSize = Math.hypot(...step);
        theta = candidate;
        converged = decrease <= tolerance * Math.max(cost, 1e-300) || stepSize <= 1e-14 * (Math.hypot(...theta) + 1e-14);
        cost = candidateCost;
        damping = Math.max(damping / 10, 1e-15);
        accepted = true;
      } else {
        damping *= 10;
      }
    }
    // No step lowers the cost even with heavy damping: a (numerical) minimum.
    if (!accepted) converged = true;
  }

  evaluate(theta, xs, ys, target, model, null);
  return describe(theta, Array.from(model), target, iterations, converged);
}

/** Start: A = max y, μ and Σ the weighted moments of y − min y (Σ floored at a grid spacing). */
function initialParameters(xs: Float64Array, ys: Float64Array, target: Float64Array, alphas: readonly number[], betas: readonly number[]): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const value of target) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  if (!(max > 0) || !(max > min)) throw new LandscapeError('The surface is flat or not positive anywhere, so no Gaussian can be fitted to it.');
  let total = 0;
  let mx = 0;
  let my = 0;
  for (let k = 0; k < target.length; k++) {
    const w = target[k] - min;
    total += w;
    mx += w * xs[k];
    my += w * ys[k];
  }
  mx /= total;
  my /= total;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let k = 0; k < target.length; k++) {
    const w = target[k] - min;
    const dx = xs[k] - mx;
    const dy = ys[k] - my;
    sxx += w * dx * dx;
    sxy += w * dx * dy;
    syy += w * dy * dy;
  }
  sxx /= total;
  sxy /= total;
  syy /= total;
  const spacing = (axis: readonly number[]) => Math.abs(axis[axis.length - 1] - axis[0]) / (axis.length - 1);
  const floorX = spacing(alphas) ** 2;
  const floorY = spacing(betas) ** 2;
  sxx = Math.max(sxx, floorX);
  syy = Math.max(syy, floorY);
  // Keep the start well inside the SPD cone.
  const limit = 0.95 * Math.sqrt(sxx * syy);
  sxy = Math.max(-limit, Math.min(limit, sxy));
  // Σ⁻¹ = L Lᵀ with L lower triangular.
  const det = sxx * syy - sxy * sxy;
  const pxx = syy / det;
  const pxy = -sxy / det;
  const pyy = sxx / det;
  const l11 = Math.sqrt(pxx);
  const l21 = pxy / l11;
  const l22 = Math.sqrt(pyy - l21 * l21);
  return [Math.log(max), mx, my, Math.log(l11), l21, Math.log(l22)];
}

/** Writes g into `model` (and ∂g/∂θ row-major into `jacobian` when given); returns ½ Σ (g − y)². */
function evaluate(theta: readonly number[], xs: Float64Array, ys: Float64Array, target: Float64Array, model: Float64Array, jacobian: Float64Array | null): number {
  const [logAmplitude, mx, my, a, b, c] = theta;
  const amplitude = Math.exp(logAmplitude);
  const l11 = Math.exp(a);
  const l22 = Math.exp(c);
  let cost = 0;
  for (let k = 0; k < xs.length; k++) {
    const dx = xs[k] - mx;
    const dy = ys[k] - my;
    // u = Lᵀ d, q = ‖u‖² = dᵀ Σ⁻¹ d.
    const u1 = l11 * dx + b * dy;
    const u2 = l22 * dy;
    const g = amplitude * Math.exp(-0.5 * (u1 * u1 + u2 * u2));
    model[k] = g;
    const r = g - target[k];
    cost += 0.5 * r * r;
    if (jacobian) {
      const row = k * parameterCount;
      jacobian[row] = g;
      // ∂q/∂μ = −2 Σ⁻¹ d = −2 L u.
      jacobian[row + 1] = g * (l11 * u1);
      jacobian[row + 2] = g * (b * u1 + l22 * u2);
      jacobian[row + 3] = -g * u1 * dx * l11;
      jacobian[row + 4] = -g * u1 * dy;
      jacobian[row + 5] = -g * u2 * dy * l22;
    }
  }
  return cost;
}

/** Solves the small dense system by Gaussian elimination with partial pivoting; null when singular. */
function solve(matrix: Float64Array, rhs: number[]): number[] | null {
  const n = rhs.length;
  const m = Float64Array.from(matrix);
  const x = rhs.slice();
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]) > Math.abs(m[pivot * n + col])) pivot = r;
    if (!(Math.abs(m[pivot * n + col]) > 1e-300)) return null;
    if (pivot !== col) {
      for (let j = 0; j < n; j++) [m[col * n + j], m[pivot * n + j]] = [m[pivot * n + j], m[col * n + j]];
      [x[col], x[pivot]] = [x[pivot], x[col]];
    }
    for (let r = col + 1; r < n; r++) {
      const factor = m[r * n + col] / m[col * n + col];
      if (factor === 0) continue;
      for (let j = col; j < n; j++) m[r * n + j] -= factor * m[col * n + j];
      x[r] -= factor * x[col];
    }
  }
  for (let row = n - 1; row >= 0; row--) {
    let sum = x[row];
    for (let j = row + 1; j < n; j++) sum -= m[row * n + j] * x[j];
    x[row] = sum / m[row * n + row];
  }
  return x.every(Number.isFinite) ? x : null;
}

/** How far `model` is from `target` on the same grid: RMS, largest error, both relative to the target's range, and R². */
export function surfaceResidual(model: ArrayLike<number>, target: ArrayLike<number>): GaussianResidual {
  if (model.length !== target.length || target.length === 0) throw new LandscapeError(`A residual needs two surfaces of the same non-zero size, got ${model.length} and ${target.length} values.`);
  let squares = 0;
  let maxAbs = 0;
  let min = Infinity;
  let max = -Infinity;
  let mean = 0;
  for (let k = 0; k < target.length; k++) {
    const r = model[k] - target[k];
    squares += r * r;
    maxAbs = Math.max(maxAbs, Math.abs(r));
    min = Math.min(min, target[k]);
    max = Math.max(max, target[k]);
    mean += target[k];
  }
  mean /= target.length;
  let spread = 0;
  for (let k = 0; k < target.length; k++) spread += (target[k] - mean) ** 2;
  const rms = Math.sqrt(squares / target.length);
  const range = max - min;
  return { rms, maxAbs, range, relativeRms: rms / range, relativeMaxAbs: maxAbs / range, rSquared: 1 - squares / spread };
}

function describe(theta: readonly number[], surface: number[], target: Float64Array, iterations: number, converged: boolean): GaussianFit2d {
  const [logAmplitude, mx, my, a, b, c] = theta;
  const l11 = Math.exp(a);
  const l22 = Math.exp(c);
  // Σ = (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹ with L⁻¹ = [[1/l11, 0], [−b/(l11 l22), 1/l22]].
  const i11 = 1 / l11;
  const i21 = -b / (l11 * l22);
  const i22 = 1 / l22;
  const sxx = i11 * i11 + i21 * i21;
  const sxy = i21 * i22;
  const syy = i22 * i22;
  return {
    amplitude: Math.exp(logAmplitude),
    mean: [mx, my],
    covariance: [
      [sxx, sxy],
      [sxy, syy],
    ],
    standardDeviations: [Math.sqrt(sxx), Math.sqrt(syy)],
    correlation: sxy / Math.sqrt(sxx * syy),
    surface,
    residual: surfaceResidual(surface, target),
    iterations,
    converged,
  };
}
