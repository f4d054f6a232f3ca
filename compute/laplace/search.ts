/**
 * Search of log10 N and log10 τ on validation data, re-regularising one fit
 * (no refitting). Every evaluated point keeps all metrics, so one search
 * serves both objectives: the original's (validation error % + ECE %) and NLL.
 *
 * With the GLM predictive and the probit link (the default) the search runs
 * the network once: one pass over the validation data stores the logits at W*
 * and τ·diag Σ_f at every distinct s = ln(N/τ) the points need (functional.ts),
 * so each point costs a division by τ, the link and the metrics. On the default
 * grid (0.5 decades a step on both axes) 841 points share 57 values of s.
 * Every other predictive re-runs the network at each point. The result also
 * carries the marginal likelihood's τ at fixed N, which needs no validation data.
 */
// The two metric files, not the metrics index, so the package built from this folder carries only these.
import { calibration } from './metrics/calibration.ts';
import { accuracy, negativeLogLikelihood } from './metrics/classification.ts';
import { Random } from './random.ts';
import type { LaplaceData } from './data.ts';
import { optimizeMarginalLikelihood } from './evidence.ts';
import { forEachJacobianBatch, FunctionalCovariance, glmBatchSize } from './functional.ts';
import type { GlmLink } from './links.ts';
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

/** The default search box: wide enough that tuned posteriors of the study's networks lie inside it. */
export const defaultLogNRange: [number, number] = [0, 14];
export const defaultLogTauRange: [number, number] = [-4, 10];
/** Grid points per axis by default: 0.5 decades a step on the default box when the search runs on cached statistics, 9 when it re-runs the network. */
export const defaultGridSize = { cached: 29, direct: 9 };

export interface SearchOptions {
  method?: 'grid' | 'random';
  logNRange?: [number, number];
  logTauRange?: [number, number];
  /** Grid: points per axis (default 29 for glm with the probit link, 9 otherwise). */
  gridSize?: number;
  /** Random: number of points. */
  points?: number;
  /** Default glm. */
  predictive?: PredictiveType;
  /** The GLM predictive's link (default probit, the only one scored on cached statistics). */
  link?: GlmLink;
  samples?: number;
  seed?: number;
  /** N at which the result's `marglik` entry maximises the evidence over τ (default the posterior's N; pass the training-set size). */
  marglikN?: number;
  /** The linearised predictive's J δ: central (default) or forward differences. */
  difference?: FiniteDifference;
  onProgress?: (done: number, total: number) => void;
}

/** Where a chosen point touches the searched box: the optimum may lie beyond it. */
export type SearchEdge = 'logN-low' | 'logN-high' | 'logTau-low' | 'logTau-high';

export interface SearchResult {
  method: 'grid' | 'random';
  predictive: PredictiveType;
  samples: number;
  /** cached: one pass over the data served every point (glm, probit); direct: the network ran at every point. */
  statistics: 'cached' | 'direct';
  logNRange: [number, number];
  logTauRange: [number, number];
  points: SearchPoint[];
  best: Record<SearchObjective, SearchPoint>;
  /** Per objective, the box edges its best point lies on (empty when inside). */
  edges: Record<SearchObjective, SearchEdge[]>;
  /**
   * The marginal likelihood's choice, beside the validation objectives: the scalar τ
   * in the searched τ range that maximises the evidence at fixed N (N is not a free
   * parameter of the evidence). Null when the fit recorded no mean loss at W*.
   */
  marglik: { logN: number; logTau: number; logEvidence: number; atEdge: boolean } | null;
}

/** The evidence's τ at fixed N within the searched τ range, from eigenvalues only. */
function marglikChoice(posterior: Posterior, n: number, [low, high]: [number, number]): SearchResult['marglik'] {
  if (posterior.curvature.meanLoss === undefined || !(high > low)) return null;
  const optimum = optimizeMarginalLikelihood(posterior, { n, range: [low, high] });
  return { logN: Math.log10(n), logTau: Math.log10(optimum.tau as number), logEvidence: optimum.logEvidence, atEdge: optimum.atEdge };
}

/**
 * The edges of the box a point lies on: for a grid, on the outermost grid line;
 * for a random search, within 5% of the range of the edge.
 */
export function edgesOf(point: SearchPoint, logNRange: [number, number], logTauRange: [number, number], method: 'grid' | 'random'): SearchEdge[] {
  const near = (value: number, edge: number, range: [number, number]) => Math.abs(value - edge) <= (method === 'grid' ? 1e-9 : 0.05 * (range[1] - range[0]));
  const edges: SearchEdge[] = [];
  if (logNRange[1] > logNRange[0]) {
    if (near(point.logN, logNRange[0], logNRange)) edges.push('logN-low');
    if (near(point.logN, logNRange[1], logNRange)) edges.push('logN-high');
  }
  if (logTauRange[1] > logTauRange[0]) {
    if (near(point.logTau, logTauRange[0], logTauRange)) edges.push('logTau-low');
    if (near(point.logTau, logTauRange[1], logTauRange)) edges.push('logTau-high');
  }
  return edges;
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
  link: GlmLink = 'probit',
): Promise<SearchPoint> {
  const candidate = posterior.withHyperparameters(10 ** logN, 10 ** logTau);
  const probabilities = await predict(candidate, data, { predictive, samples, seed, difference, link });
  return scorePoint(logN, logTau, probabilities, data, posterior.likelihood.predictionWidth);
}

function scorePoint(logN: number, logTau: number, probabilities: Float32Array, data: LaplaceData, classes: number): SearchPoint {
  return {
    logN,
    logTau,
    error: 1 - accuracy(probabilities, data.labels, classes),
    ece: calibration(probabilities, data.labels, classes).ece,
    nll: negativeLogLikelihood(probabilities, data.labels, classes),
  };
}

/** s values evaluated per stack: bounds the [parameters × s] weight matrices of the widest layer. */
const logRatiosPerStack = 64;

/**
 * One pass over `data` for several posteriors on the same network and MAP weights
 * (e.g. every structure of one fit): the logits at W* ([count × C]) and each posterior's
 * τ·diag Σ_f at each of its s = ln(N/τ); each batch's Jacobians are computed once and serve all of them. `logRatios[p]` are posterior p's s values;
 * scaledVariances[p][i] is its τ·diag Σ_f at logRatios[p][i].
 */
export async function glmStatisticsTogether(
  posteriors: Posterior[],
  data: LaplaceData,
  logRatios: number[][],
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ logits: Float32Array; scaledVariances: Float32Array[][] }> {
  if (posteriors.length === 0 || logRatios.length !== posteriors.length) throw new PosteriorError('Give one list of s values per posterior, and at least one posterior.');
  const network = posteriors[0].network;
  const classes = network.classes;
  const functionals: FunctionalCovariance[] = [];
  const logits = new Float32Array(data.count * classes);
  const scaledVariances = logRatios.map((ratios) => ratios.map(() => new Float32Array(data.count * classes)));
  try {
    for (const posterior of posteriors) functionals.push(new FunctionalCovariance(posterior));
    await forEachJacobianBatch(
      network,
      posteriors[0].mapWeights,
      data,
      functionals,
      options.batchSize ?? glmBatchSize,
      async (batch, start) => {
        logits.set(await batch.logits.data<'float32'>(), start * classes);
        for (let p = 0; p < functionals.length; p++) {
          const ratios = logRatios[p];
          for (let first = 0; first < ratios.length; first += logRatiosPerStack) {
            const chunk = ratios.slice(first, first + logRatiosPerStack);
            const stacked = functionals[p].scaledVariancesAt(batch, chunk);
            const values = await stacked.data<'float32'>();
            stacked.dispose();
            // values[b, c, s] → scaledVariances[p][first + s][(start + b), c]
            for (let b = 0; b < batch.count; b++)
              for (let c = 0; c < classes; c++)
                for (let s = 0; s < chunk.length; s++) scaledVariances[p][first + s][(start + b) * classes + c] = values[(b * classes + c) * chunk.length + s];
          }
        }
      },
      options.onProgress,
    );
  } finally {
    for (const functional of functionals) functional.dispose();
  }
  return { logits, scaledVariances };
}

// The softmax's probit on cached arrays lives with its likelihood; re-exported for the study, which scores its grids with it.
export { probitFromStatistics } from './likelihoods/softmax.ts';

export async function searchHyperparameters(posterior: Posterior, data: LaplaceData, options: SearchOptions = {}): Promise<SearchResult> {
  return (await searchHyperparametersTogether([posterior], data, options))[0];
}

/**
 * `searchHyperparameters` for several posteriors on the same network and MAP weights (e.g. every
 * structure of one fit), with the same options. On cached statistics (glm, probit) one pass over
 * `data` serves all of them: each batch's Jacobians are computed once (glmStatisticsTogether), so
 * the search costs one Jacobian pass, not one per posterior. Results in the posteriors' order,
 * each the same as its own search.
 */
export async function searchHyperparametersTogether(posteriors: Posterior[], data: LaplaceData, options: SearchOptions = {}): Promise<SearchResult[]> {
  if (posteriors.length === 0) throw new PosteriorError('Give at least one posterior to search.');
  if (posteriors.some((posterior) => posterior.likelihood.kind === 'regression')) throw new PosteriorError('The search scores classification metrics (error, ECE, NLL of class probabilities); tune a regression posterior by the marginal likelihood (tuneMarginalLikelihood, σ and τ together).');
  const method = options.method ?? 'grid';
  const logNRange = options.logNRange ?? defaultLogNRange;
  const logTauRange = options.logTauRange ?? defaultLogTauRange;
  const [nLow, nHigh] = logNRange;
  const [tauLow, tauHigh] = logTauRange;
  const predictive = options.predictive ?? 'glm';
  const link = options.link ?? 'probit';
  // Cached statistics take s = ln(N/τ) with one τ at temperature 1, in a basis that does not move with s; anything else is scored point by point.
  const cachedFor = (posterior: Posterior) =>
    predictive === 'glm' && link === 'probit' && !posterior.spec.layerTau && !posterior.hasParameterTau && posterior.temperature === 1 && !posterior.implementation.functionalBasisMovesWithRatio;
  const cached = posteriors.every(cachedFor);
  if (!cached && posteriors.length > 1) {
    // Only cached statistics are shared; every other predictive re-runs the network per point anyway.
    const results: SearchResult[] = [];
    for (const posterior of posteriors) results.push(...(await searchHyperparametersTogether([posterior], data, options)));
    return results;
  }
  const samples = options.samples ?? 10;
  const seed = options.seed ?? 0;
  if (!(nLow <= nHigh && tauLow <= tauHigh)) throw new PosteriorError('Search ranges must be given as [low, high] with low ≤ high.');
  const candidates: [number, number][] = [];
  if (method === 'grid') {
    const size = options.gridSize ?? (cached ? defaultGridSize.cached : defaultGridSize.direct);
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
  const pointLists: SearchPoint[][] = posteriors.map(() => []);
  if (cached) {
    // Distinct s = ln(N/τ), keyed by log10(N/τ) rounded far below the grid's step.
    const keyOf = (logN: number, logTau: number) => (logN - logTau).toFixed(9);
    const index = new Map<string, number>();
    for (const [logN, logTau] of candidates) if (!index.has(keyOf(logN, logTau))) index.set(keyOf(logN, logTau), index.size);
    const logRatios = [...index.keys()].map((key) => Number(key) * Math.LN10);
    const scored = candidates.length * posteriors.length;
    const statistics = await glmStatisticsTogether(
      posteriors,
      data,
      posteriors.map(() => logRatios),
      { onProgress: options.onProgress ? (done, total) => options.onProgress!(done, total + scored) : undefined },
    );
    let done = 0;
    for (const [p, posterior] of posteriors.entries()) {
      const likelihood = posterior.likelihood;
      for (const [logN, logTau] of candidates) {
        const probabilities = likelihood.probitFromStatistics(statistics.logits, statistics.scaledVariances[p][index.get(keyOf(logN, logTau))!], 10 ** logTau);
        pointLists[p].push(scorePoint(logN, logTau, probabilities, data, likelihood.predictionWidth));
        options.onProgress?.(data.count + ++done, data.count + scored);
      }
    }
  } else {
    const posterior = posteriors[0];
    for (const [logN, logTau] of candidates) {
      pointLists[0].push(await evaluatePoint(posterior, data, logN, logTau, predictive, samples, seed, options.difference, link));
      options.onProgress?.(pointLists[0].length, candidates.length);
    }
  }
  return posteriors.map((posterior, p) => {
    const points = pointLists[p];
    const best = { 'error+ece': bestPoint(points, 'error+ece'), nll: bestPoint(points, 'nll') };
    const edges = { 'error+ece': edgesOf(best['error+ece'], logNRange, logTauRange, method), nll: edgesOf(best.nll, logNRange, logTauRange, method) };
    const marglik = marglikChoice(posterior, options.marglikN ?? posterior.n, [tauLow, tauHigh]);
    return { method, predictive, samples, statistics: cached ? 'cached' : 'direct', logNRange: [nLow, nHigh], logTauRange: [tauLow, tauHigh], points, best, edges, marglik };
  });
}
