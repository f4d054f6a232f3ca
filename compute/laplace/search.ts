/**
 * Search of log10 N and log10 τ on validation data, re-regularising one fit
 * (no refitting). Every evaluated point keeps all metrics, so one search
 * serves both objectives: the original's (validation error % + ECE %) and NLL.
 */
import { accuracy, calibration, negativeLogLikelihood } from '../metrics/index.ts';
import { Random } from '../random/index.ts';
import type { LaplaceData } from './data.ts';
import { predict, type FiniteDifference, type PredictiveType } from './predictive.ts';
import { PosteriorError, type Posterior } from './posterior.ts';

export const searchObjectives = ['error+ece', 'nll'] as const;
export type SearchObjective = (typeof searchObjectives)[number];

export interface SearchPoint {
  logN: number;
  logTau: number;
  /** Validation error and ECE as fractions; NLL in nats. */
  error: number;
  ece: number;
  nll: number;
}

export interface SearchOptions {
  method?: 'grid' | 'random';
  logNRange?: [number, number];
  logTauRange?: [number, number];
  /** Grid: points per axis. */
  gridSize?: number;
  /** Random: number of points. */
  points?: number;
  predictive?: PredictiveType;
  samples?: number;
  seed?: number;
  /** The linearised predictive's J δ: central (default) or forward differences. */
  difference?: FiniteDifference;
  onProgress?: (done: number, total: number) => void;
}

export interface SearchResult {
  method: 'grid' | 'random';
  predictive: PredictiveType;
  samples: number;
  points: SearchPoint[];
  best: Record<SearchObjective, SearchPoint>;
}

/** The objective's value at a point (lower is better). */
export function objectiveValue(point: SearchPoint, objective: SearchObjective): number {
  return objective === 'nll' ? point.nll : 100 * point.error + 100 * point.ece;
}

/** The point with the lowest objective; NaN counts as worst, ties go to the first. */
export function bestPoint(points: SearchPoint[], objective: SearchObjective): SearchPoint {
  // A point whose predictive overflowed scores NaN; rank it last, or a NaN first point would never be replaced.
  const score = (point: SearchPoint) => {
    const value = objectiveValue(point, objective);
    return Number.isNaN(value) ? Infinity : value;
  };
  // Ties go to the first evaluated point, so the choice is deterministic.
  return points.reduce((best, point) => (score(point) < score(best) ? point : best));
}

/** Evaluate the posterior with N, τ on `data`. */
export async function evaluatePoint(
  posterior: Posterior,
  data: LaplaceData,
  logN: number,
  logTau: number,
  predictive: PredictiveType,
  samples: number,
  seed: number,
  difference: FiniteDifference = 'central',
): Promise<SearchPoint> {
  const candidate = posterior.withHyperparameters(10 ** logN, 10 ** logTau);
  const probabilities = await predict(candidate, data, { predictive, samples, seed, difference });
  const classes = posterior.network.classes;
  return {
    logN,
    logTau,
    error: 1 - accuracy(probabilities, data.labels, classes),
    ece: calibration(probabilities, data.labels, classes).ece,
    nll: negativeLogLikelihood(probabilities, data.labels, classes),
  };
}

export async function searchHyperparameters(posterior: Posterior, data: LaplaceData, options: SearchOptions = {}): Promise<SearchResult> {
  const method = options.method ?? 'grid';
  const [nLow, nHigh] = options.logNRange ?? [0, 8];
  const [tauLow, tauHigh] = options.logTauRange ?? [-4, 6];
  const predictive = options.predictive ?? 'sampled';
  const samples = options.samples ?? 10;
  const seed = options.seed ?? 0;
  if (!(nLow <= nHigh && tauLow <= tauHigh)) throw new PosteriorError('Search ranges must be given as [low, high] with low ≤ high.');
  const candidates: [number, number][] = [];
  if (method === 'grid') {
    const size = options.gridSize ?? 9;
    if (!Number.isInteger(size) || size < 1) throw new PosteriorError(`The grid size must be a positive integer, got ${size}.`);
    const at = (low: number, high: number, i: number) => (size === 1 ? (low + high) / 2 : low + ((high - low) * i) / (size - 1));
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) candidates.push([at(nLow, nHigh, i), at(tauLow, tauHigh, j)]);
  } else if (method === 'random') {
    const count = options.points ?? 50;
    if (!Number.isInteger(count) || count < 1) throw new PosteriorError(`The number of random points must be a positive integer, got ${count}.`);
    const random = new Random(seed + 1);
    for (let i = 0; i < count; i++) candidates.push([nLow + (nHigh - nLow) * random.uniform(), tauLow + (tauHigh - tauLow) * random.uniform()]);
  } else {
    throw new PosteriorError(`Unknown search method "${method as string}"; choose grid or random.`);
  }
  const points: SearchPoint[] = [];
  for (const [logN, logTau] of candidates) {
    points.push(await evaluatePoint(posterior, data, logN, logTau, predictive, samples, seed, options.difference));
    options.onProgress?.(points.length, candidates.length);
  }
  return { method, predictive, samples, points, best: { 'error+ece': bestPoint(points, 'error+ece'), nll: bestPoint(points, 'nll') } };
}
