/**
 * The Laplace marginal likelihood (evidence) and its post-hoc optimisation
 * over the prior precision (MacKay 1992; Immer et al. 2021; Laplace Redux).
 *
 * With the prior N(0, τ_l⁻¹·I) on the P_l entries of each perturbed layer's W̄
 * (bias row included) and the posterior precision H = blockdiag_l(H_l), H_l
 * the layer's precision for the structure (N·F_l + τ_l·I, or the original's
 * per-factor damping),
 *
 *   log p(D) ≈ log p(D | W*) + Σ_l [ −(τ_l/2)‖W*_l‖² + (P_l/2) log τ_l ] − ½ Σ_l log det H_l,
 *
 * with log p(D | W*) = −N × (mean cross-entropy of the fitting data at W*).
 * Exactly: log p(D) ≈ log p(D|W*) + log N(W*; 0, τ⁻¹I) + (P/2) log 2π − ½ log det H,
 * and log N(W*; 0, τ⁻¹I) = −(P/2) log 2π + (P/2) log τ − (τ/2)‖W*‖², so the
 * 2π terms cancel and no constant is left out. Last-layer Laplace perturbs only
 * the last layer, so P, ‖W*‖² and log det H run over that layer alone.
 *
 * log det H_l, from eigenvalues or diagonals, never a P × P matrix (λ < 0 from
 * rounding clamped at 0), each structure's in its own file (structures/*.ts):
 *  - diag:              Σ_k log(N d_k + τ_l);
 *  - kfac, 'exact':     Σ_ij log(N λ_A,i λ_G,j + τ_l);
 *  - kfac, 'per-factor' (H_l = (√N A + √τ_l I) ⊗ (√N G + √τ_l I), A rows × rows, G cols × cols):
 *                       cols · Σ_i log(√N λ_A,i + √τ_l) + rows · Σ_j log(√N λ_G,j + √τ_l);
 *  - efb:               Σ_ij log(N Λ_ij + τ_l);
 *  - last-layer:        Σ_k log(N λ_k + τ) over the eigenvalues of the last layer's Fisher;
 *  - full:              Σ_k log(N λ_k + τ) over the eigenvalues of every parameter's Fisher: not
 *                       block-diagonal, so the whole sum sits at the first layer and τ is one for all;
 *  - lowrank:           Σ_k log(N λ_k + τ) + (P − k) log τ over the top-k eigenvalues, likewise;
 *  - inf:               Σ_i log(N D_i + τ_l) + log det(I_L + N Λ^{1/2} Uᵀ (N D + τ_l I)⁻¹ U Λ^{1/2}) (inf.ts);
 *  - subnetwork:        Σ_k log(N λ_k + τ) over the eigenvalues of its k parameters' Fisher, with P
 *                       and ‖W*‖² over those k alone (the fixed weights carry no prior).
 *
 * Each layer's terms depend on its own τ_l alone, so the evidence separates
 * over layers and per-layer τ is found one layer at a time. In t = log τ each
 * layer's term has a decreasing derivative (for N·F + τI it is
 * ½[Σ_k Nλ_k/(Nλ_k + τ) − τ‖W*‖²], MacKay's γ − τ‖W*‖²), so it is unimodal and
 * a bracketing scan followed by golden-section search finds its maximum.
 */
import { PosteriorError, type Posterior, type PriorPrecision } from './posterior.ts';

/** Which end of the search range an optimum stopped at. */
export type RangeEdge = 'low' | 'high';

/**
 * What one layer contributes, apart from τ_l: its parameter count, ‖W*_l − μ₀‖², and log det of its
 * precision as a function of τ_l. With per-parameter τ (fixedPrior) the prior's terms are numbers
 * and log det ignores its argument: such a posterior's τ is not a free scalar.
 */
interface LayerTerms {
  layer: number;
  parameters: number;
  squaredNorm: number;
  fixedPrior?: { weightedSquares: number; sumLogTau: number };
  logDet(tau: number): number;
}

/** log det of layer `layer`'s block of the posterior precision at data scale n, as a function of that layer's τ. */
function layerLogDet(posterior: Posterior, layer: number, n: number): (tau: number) => number {
  return posterior.implementation.logDet(posterior, layer, n);
}

/** The precision's data scale: N, or N/σ² for a Gaussian likelihood (its curvature is fitted at σ = 1), over the temperature T. */
const precisionScale = (n: number, sigma: number | undefined, temperature: number) => (sigma === undefined ? n : n / (sigma * sigma)) / temperature;

function layerTerms(posterior: Posterior, n: number, sigma = posterior.sigma): LayerTerms[] {
  const scale = precisionScale(n, sigma, posterior.temperature);
  return posterior.perturbedLayers.map((layer) => {
    const weights = posterior.mapWeights[layer].dataSync();
    const mean = posterior.priorMeanOf(layer);
    let squaredNorm = 0;
    // A subnetwork's fixed weights carry no prior: only its chosen entries count.
    const entries = posterior.implementation.priorEntries?.(posterior, layer);
    const precision = posterior.priorPrecisionOf(layer);
    let weightedSquares = 0;
    let sumLogTau = 0;
    const visit = (i: number) => {
      // w − 0 is w itself, so a zero mean gives the plain sum of squares.
      const deviation = weights[i] - (typeof mean === 'number' ? mean : mean[i]);
      squaredNorm += deviation * deviation;
      if (precision) {
        weightedSquares += precision[i] * deviation ** 2;
        sumLogTau += Math.log(precision[i]);
      }
    };
    if (entries) for (const entry of entries) visit(entry);
    else for (let i = 0; i < weights.length; i++) visit(i);
    const terms: LayerTerms = { layer, parameters: entries?.length ?? posterior.network.parameterCount(layer), squaredNorm, logDet: layerLogDet(posterior, layer, scale) };
    if (precision) terms.fixedPrior = { weightedSquares, sumLogTau };
    return terms;
  });
}

/** The τ-dependent part of the evidence from one layer: −(τ/2)‖W* − μ₀‖² + (P/2) log τ − ½ log det H(τ) (or its per-parameter τ's). */
function layerEvidence(terms: LayerTerms, tau: number): number {
  if (terms.fixedPrior) return -0.5 * terms.fixedPrior.weightedSquares + 0.5 * terms.fixedPrior.sumLogTau - 0.5 * terms.logDet(tau);
  return -0.5 * tau * terms.squaredNorm + 0.5 * terms.parameters * Math.log(tau) - 0.5 * terms.logDet(tau);
}

/** log det of layer `layer`'s block of the posterior precision, at the posterior's N and that layer's τ. */
export function layerLogDetPrecision(posterior: Posterior, layer: number): number {
  if (!posterior.perturbedLayers.includes(layer)) throw new PosteriorError(`Layer ${layer} is not perturbed by this ${posterior.structure} posterior, so it has no block in its precision.`);
  return layerLogDet(posterior, layer, posterior.dataScale)(posterior.tauOf(layer));
}

/** log det of the posterior precision over the perturbed layers (block-diagonal: the sum of the layers' blocks). */
export function logDetPrecision(posterior: Posterior): number {
  return posterior.perturbedLayers.reduce((sum, layer) => sum + layerLogDetPrecision(posterior, layer), 0);
}

export interface EvidenceOptions {
  /** log p(D | W*); default from the mean loss the fit recorded at W* (−N × the mean cross-entropy for classification). */
  logLikelihood?: number;
}

function dataTerm(posterior: Posterior, n: number, options: EvidenceOptions, sigma = posterior.sigma): number {
  if (options.logLikelihood !== undefined) {
    if (!Number.isFinite(options.logLikelihood)) throw new PosteriorError(`logLikelihood must be a finite number, got ${options.logLikelihood}.`);
    return options.logLikelihood;
  }
  const meanLoss = posterior.curvature.meanLoss;
  if (meanLoss === undefined) throw new PosteriorError('This fit did not record its mean loss at W* (files written before it was, lack it), so log p(D | W*) is unknown; refit the curvature or pass logLikelihood.');
  const value = posterior.likelihood.logLikelihood(meanLoss, n, sigma ?? 1);
  // A tempered likelihood p^(1/T) (laplace-torch's): its loss over T; a Gaussian's normaliser, which is not part of the loss, stays.
  const temperature = posterior.temperature;
  if (temperature === 1) return value;
  const normaliser = posterior.likelihood.logLikelihood(0, n, sigma ?? 1);
  return normaliser + (value - normaliser) / temperature;
}

/**
 * The Laplace log marginal likelihood
 *   log p(D | W*) + Σ_l [−(τ_l/2)‖W*_l‖² + (P_l/2) log τ_l] − ½ log det H
 * over the perturbed layers (see the top of this file; the 2π terms cancel).
 */
export function logMarginalLikelihood(posterior: Posterior, options: EvidenceOptions = {}): number {
  const likelihood = dataTerm(posterior, posterior.n, options);
  return layerTerms(posterior, posterior.n).reduce((sum, terms) => sum + layerEvidence(terms, posterior.tauOf(terms.layer)), likelihood);
}

export interface OptimizeEvidenceOptions extends EvidenceOptions {
  /** One τ per layer (the evidence separates over layers) instead of one for all. */
  perLayer?: boolean;
  /** Data-term scale N, held fixed; default the posterior's N. Pass the training-set size. */
  n?: number;
  /** Range of log10 τ searched; default [−4, 10]. */
  range?: [number, number];
  /** Step of the bracketing scan in log10 τ; default 0.25. */
  scanStep?: number;
  /** Width in log10 τ to which the golden-section search narrows the optimum; default 1e-6. */
  tolerance?: number;
  /** Regression only: also maximise over the Gaussian's noise σ (τ maximised anew at every σ); default false. */
  optimizeSigma?: boolean;
  /** False keeps the posterior's τ (with optimizeSigma: σ alone); default true. */
  optimizeTau?: boolean;
  /** Range of log10 σ searched; default [−4, 4]. */
  sigmaRange?: [number, number];
}

export interface EvidenceOptimum {
  perLayer: boolean;
  n: number;
  /** The optimal τ, or per layer (one per parameter layer; layers the posterior does not perturb keep their τ); with optimizeTau false the posterior's own (a per-parameter τ as its geometric mean: `posterior` holds it whole). */
  tau: number | number[];
  logEvidence: number;
  /** The posterior at (n, tau). */
  posterior: Posterior;
  range: [number, number];
  /** Per optimised τ (one, or one per parameter layer): the range's edge it stopped at, or null when inside. */
  edges: (RangeEdge | null)[];
  /** Regression: the noise σ of the posterior (tuned when optimizeSigma was asked), and the σ range's edge it stopped at. */
  sigma?: number;
  sigmaEdge?: RangeEdge | null;
  /** True when any optimum lies on the range's edge: widen the range. */
  atEdge: boolean;
  /** Evaluations of a layer's (or, for scalar τ, all layers') evidence terms. */
  evaluations: number;
  /** Golden-section iterations, summed over the optimised τ. */
  iterations: number;
}

/**
 * Maximum of a unimodal f on [low, high] (in log10 τ): a scan every `step`
 * brackets it between the best grid point's neighbours, golden-section search
 * narrows the bracket to `tolerance`.
 */
function maximise(f: (t: number) => number, low: number, high: number, step: number, tolerance: number): { t: number; value: number; edge: RangeEdge | null; evaluations: number; iterations: number } {
  const intervals = Math.max(1, Math.ceil((high - low) / step - 1e-9));
  const grid = Array.from({ length: intervals + 1 }, (_, k) => (k === intervals ? high : low + (k * (high - low)) / intervals));
  const values = grid.map(f);
  let evaluations = grid.length;
  let best = 0;
  values.forEach((value, k) => {
    if (value > values[best] || Number.isNaN(values[best])) best = k;
  });
  let a = grid[Math.max(best - 1, 0)];
  let b = grid[Math.min(best + 1, intervals)];
  const ratio = (Math.sqrt(5) - 1) / 2;
  let c = b - ratio * (b - a);
  let d = a + ratio * (b - a);
  let fc = f(c);
  let fd = f(d);
  evaluations += 2;
  let iterations = 0;
  while (b - a > tolerance) {
    if (fc >= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - ratio * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + ratio * (b - a);
      fd = f(d);
    }
    evaluations++;
    iterations++;
  }
  let t = (a + b) / 2;
  let value = f(t);
  evaluations++;
  // The range's ends are candidates too: golden section never evaluates the bracket's own ends.
  for (const end of [low, high]) {
    const endValue = end === low ? values[0] : values[intervals];
    if (endValue >= value) {
      t = end;
      value = endValue;
    }
  }
  const edge: RangeEdge | null = t - low <= tolerance ? 'low' : high - t <= tolerance ? 'high' : null;
  return { t, value, edge, evaluations, iterations };
}

/**
 * Post-hoc prior precision by the marginal likelihood (Laplace Redux): N fixed
 * (the training-set size), log τ maximised, one τ for all layers or one per
 * layer. Each evaluation costs eigenvalue sums only.
 */
export function optimizeMarginalLikelihood(posterior: Posterior, options: OptimizeEvidenceOptions = {}): EvidenceOptimum {
  const n = options.n ?? posterior.n;
  const range = options.range ?? [-4, 10];
  const step = options.scanStep ?? 0.25;
  const tolerance = options.tolerance ?? 1e-6;
  if (!(Number.isFinite(n) && n > 0)) throw new PosteriorError(`N must be a positive finite number, got ${n}.`);
  if (!(range.length === 2 && Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] < range[1])) throw new PosteriorError(`The log10 τ range must be two finite numbers, low < high, got [${range.join(', ')}].`);
  if (!(step > 0 && Number.isFinite(step))) throw new PosteriorError(`The scan step must be a positive number of decades, got ${step}.`);
  if (!(tolerance > 0 && Number.isFinite(tolerance))) throw new PosteriorError(`The tolerance must be a positive number of decades, got ${tolerance}.`);
  if (options.perLayer && posterior.implementation.couplesLayers) throw new PosteriorError(`The ${posterior.structure} posterior couples the layers, so it takes one τ for all of them; drop perLayer.`);
  const optimizeTau = options.optimizeTau ?? true;
  const optimizeSigma = options.optimizeSigma ?? false;
  if (optimizeSigma && posterior.sigma === undefined) throw new PosteriorError(`σ is the noise of a regression's Gaussian likelihood; this posterior's likelihood is ${posterior.likelihood.kind}, so there is no σ to tune.`);
  if (!optimizeTau && !optimizeSigma) throw new PosteriorError('Nothing to tune: optimizeTau is false and optimizeSigma is not set.');
  const sigmaRange = options.sigmaRange ?? [-4, 4];
  if (optimizeSigma && !(sigmaRange.length === 2 && Number.isFinite(sigmaRange[0]) && Number.isFinite(sigmaRange[1]) && sigmaRange[0] < sigmaRange[1])) {
    throw new PosteriorError(`The log10 σ range must be two finite numbers, low < high, got [${sigmaRange.join(', ')}].`);
  }
  // Checked before any eigendecomposition, so a missing data term fails fast.
  dataTerm(posterior, n, options);
  const [low, high] = range;
  let evaluations = 0;
  let iterations = 0;
  /** The best τ (or the posterior's, when τ is kept) at noise σ, and the evidence's τ-dependent terms there. */
  // Optimising τ replaces a per-parameter τ (or full's and lowrank's per-layer τ, which is one) by one τ (or one per layer): the terms are then functions of it.
  const free = optimizeTau && posterior.hasParameterTau ? posterior.withHyperparameters(posterior.n, posterior.tau) : posterior;
  const bestTau = (sigma: number | undefined): { tau: PriorPrecision; edges: (RangeEdge | null)[]; value: number } => {
    const terms = layerTerms(free, n, sigma);
    if (!optimizeTau) {
      return { tau: posterior.priorPrecision, edges: [], value: terms.reduce((sum, layer) => sum + layerEvidence(layer, posterior.tauOf(layer.layer)), 0) };
    }
    if (options.perLayer) {
      const layerTau = posterior.network.layers.map((_, layer) => posterior.tauOf(layer));
      const edges: (RangeEdge | null)[] = layerTau.map(() => null);
      let value = 0;
      for (const layer of terms) {
        const best = maximise((t) => layerEvidence(layer, 10 ** t), low, high, step, tolerance);
        layerTau[layer.layer] = 10 ** best.t;
        edges[layer.layer] = best.edge;
        value += best.value;
        evaluations += best.evaluations;
        iterations += best.iterations;
      }
      return { tau: layerTau, edges, value };
    }
    const best = maximise((t) => terms.reduce((sum, layer) => sum + layerEvidence(layer, 10 ** t), 0), low, high, step, tolerance);
    evaluations += best.evaluations;
    iterations += best.iterations;
    return { tau: 10 ** best.t, edges: [best.edge], value: best.value };
  };
  let sigma = posterior.sigma;
  let sigmaEdge: RangeEdge | null = null;
  if (optimizeSigma) {
    // The profile evidence over log σ: the data term and the τ-dependent terms at that σ's best τ.
    const best = maximise((t) => dataTerm(posterior, n, options, 10 ** t) + bestTau(10 ** t).value, sigmaRange[0], sigmaRange[1], step, tolerance);
    sigma = 10 ** best.t;
    sigmaEdge = best.edge;
  }
  const { tau, edges } = bestTau(sigma);
  const atSigma = optimizeSigma ? posterior.withSigma(sigma!) : posterior;
  const optimum = atSigma.withHyperparameters(n, tau);
  return {
    perLayer: options.perLayer ?? false,
    n,
    tau: typeof tau === 'number' || Array.isArray(tau) ? tau : optimum.tau,
    logEvidence: logMarginalLikelihood(optimum, options),
    posterior: optimum,
    range: [low, high],
    edges,
    ...(sigma !== undefined ? { sigma, sigmaEdge } : {}),
    atEdge: edges.some((edge) => edge !== null) || sigmaEdge !== null,
    evaluations,
    iterations,
  };
}
