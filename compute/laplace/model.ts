/**
 * The library's front door: fit a Laplace posterior around a trained model,
 * tune it, predict with it, and turn it into the bytes of a posterior file and
 * back. Nothing here touches the file system (files.ts does, for Node).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { curvatureKinds, fisherTypes, fitCurvature, type CurvatureKind, type CurvatureOptions } from './curvature.ts';
import { checkedData, describeValue, type DataExpectations, type DataInput } from './data.ts';
import { optimizeMarginalLikelihood, type EvidenceOptimum, type OptimizeEvidenceOptions } from './evidence.ts';
import { posteriorFromBytes, posteriorToBytes, PosteriorFileError, type ReadOptions } from './format.ts';
import { likelihoodFor, likelihoodKinds, type Likelihood, type LikelihoodKind } from './likelihoods/index.ts';
import { lastLayerNetwork, Network, UnsupportedModelError, weightSubsets, type LayerMatrix, type WeightSubset } from './network.ts';
import { kfacDampings, Posterior, PosteriorError, type KfacDamping, type PriorPrecision } from './posterior.ts';
import { predict, predictRegression, type PredictOptions, type RegressionPrediction } from './predictive.ts';
import { searchHyperparameters, type SearchOptions, type SearchResult } from './search.ts';

export interface FitLaplaceOptions extends Omit<CurvatureOptions, 'kinds'> {
  curvature: CurvatureKind;
  /** Data-term scale N; default the number of fitting examples (pass the training-set size when fitting on a subset of it). */
  n?: number;
  /**
   * Prior precision τ; default 'marglik', the scalar τ that maximises the marginal likelihood at N.
   * An array gives one τ per parameter layer (its length the layers'), or one per perturbed
   * parameter (a typed array, or its length the parameters', W̄ row-major layer after layer): diag,
   * last-layer, full and lowrank hold that exactly; kfac and efb only one τ per layer.
   */
  tau?: PriorPrecision | 'marglik';
  /** Prior mean μ₀ (default 0): one number, or one per perturbed parameter. The evidence's prior term becomes ½ (θ − μ₀)ᵀ diag(τ) (θ − μ₀). */
  priorMean?: number | ArrayLike<number>;
  /** Temperature T (default 1): the posterior precision is (N/T)·F + τ (laplace-torch's convention). */
  temperature?: number;
  kfacDamping?: KfacDamping;
  /**
   * Which weights get the posterior: 'all' (default) every layer's, for which the whole-network code
   * must know each layer; 'last-layer' the output Dense layer's only, on any body (any layers, any
   * graph, run by tfjs-layers in inference mode), with any structure. curvature 'last-layer' falls
   * back to it on a body the whole-network code does not know.
   */
  subset?: WeightSubset;
  /**
   * 'classification' (default): a softmax over the classes, or one sigmoid unit for two classes;
   * 'regression': a Gaussian on linear outputs, with labels the real targets (regressionData).
   */
  likelihood?: LikelihoodKind;
  /** Regression only: the observation noise σ, or 'marglik' (the default) to maximise the marginal likelihood over σ together with τ. */
  sigma?: number | 'marglik';
}

/** What the data must look like for this network and likelihood: class indices in range, or real targets per output. */
function expectations(network: Network, likelihood: Likelihood): DataExpectations {
  return likelihood.kind === 'regression'
    ? { inputShape: network.inputShape, classes: likelihood.predictionWidth, labelKind: 'real', outputs: likelihood.outputs }
    : { inputShape: network.inputShape, classes: likelihood.predictionWidth };
}

/** A fitted Laplace posterior with the model topology it belongs to. */
export class LaplaceModel {
  constructor(
    readonly posterior: Posterior,
    readonly modelTopology: unknown,
  ) {}

  get n(): number {
    return this.posterior.n;
  }

  get tau(): number {
    return this.posterior.tau;
  }

  /** The regression's observation noise σ; undefined for classification. */
  get sigma(): number | undefined {
    return this.posterior.sigma;
  }

  /** `count` weight samples as W̄ matrices per layer (see network.ts for the layout). */
  sample(count: number, seed = 0): LayerMatrix[][] {
    return this.posterior.sample(count, seed);
  }

  /**
   * Class probabilities [count × classes] row-major. `data` is LaplaceData, a tensor of
   * inputs [n, ...inputShape], or a tf.data.Dataset of inputs (or { xs, ys } / [xs, ys]).
   */
  async predict(data: DataInput, options?: PredictOptions): Promise<Float32Array> {
    const checked = await checkedData(data, expectations(this.posterior.network, this.posterior.likelihood), 'predict');
    try {
      return await predict(this.posterior, checked.data, options);
    } finally {
      checked.dispose();
    }
  }

  /** Regression only: the GLM predictive's mean and variance (functional variance + σ²), [count × outputs] each. */
  async predictRegression(data: DataInput, options?: { batchSize?: number; onProgress?: (done: number, total: number) => void }): Promise<RegressionPrediction> {
    const checked = await checkedData(data, expectations(this.posterior.network, this.posterior.likelihood), 'predict');
    try {
      return await predictRegression(this.posterior, checked.data, options);
    } finally {
      checked.dispose();
    }
  }

  /** Same curvature, other N and τ (one, one per layer, or one per perturbed parameter): no refit. */
  withHyperparameters(n: number, tau: PriorPrecision, kfacDamping?: KfacDamping): LaplaceModel {
    return new LaplaceModel(this.posterior.withHyperparameters(n, tau, kfacDamping), this.modelTopology);
  }

  /** Same curvature, another prior mean and/or temperature: no refit. */
  withPrior(options: { mean?: number | ArrayLike<number>; temperature?: number }): LaplaceModel {
    return new LaplaceModel(this.posterior.withPrior(options), this.modelTopology);
  }

  /** Search N and τ on validation data and return the posterior at the best point for `objective`. */
  async tune(validation: DataInput, objective: 'error+ece' | 'nll', options?: SearchOptions): Promise<{ model: LaplaceModel; search: SearchResult }> {
    if (!(['error+ece', 'nll'] as unknown[]).includes(objective)) throw new PosteriorError(`Unknown objective "${String(objective)}"; choose nll or error+ece (or tuneMarginalLikelihood for the evidence).`);
    const checked = await checkedData(validation, expectations(this.posterior.network, this.posterior.likelihood), 'tune');
    let search: SearchResult;
    try {
      search = await searchHyperparameters(this.posterior, checked.data, options);
    } finally {
      checked.dispose();
    }
    const best = search.best[objective];
    return { model: this.withHyperparameters(10 ** best.logN, 10 ** best.logTau), search };
  }

  /**
   * τ by the marginal likelihood at fixed N (default this posterior's N; pass the
   * training-set size), one for all layers or one per layer: no validation data needed.
   */
  tuneMarginalLikelihood(options?: OptimizeEvidenceOptions): { model: LaplaceModel; optimum: EvidenceOptimum } {
    const optimum = optimizeMarginalLikelihood(this.posterior, options);
    return { model: new LaplaceModel(optimum.posterior, this.modelTopology), optimum };
  }

  /** The posterior file's bytes (format.ts); `saveLaplace` writes them to a path in Node. */
  toBytes(): Promise<Uint8Array> {
    return posteriorToBytes(this.posterior, this.modelTopology);
  }

  dispose(): void {
    this.posterior.dispose();
    this.posterior.network.dispose();
  }
}

/** The options a caller can get wrong, each refused in one sentence before any work. */
function checkFitOptions(options: FitLaplaceOptions): void {
  if (typeof options !== 'object' || options === null) throw new PosteriorError(`fitLaplace needs options with at least a curvature (${curvatureKinds.join(', ')}).`);
  const oneOf = (name: string, value: unknown, allowed: readonly string[]) => {
    if (!allowed.includes(value as string)) throw new PosteriorError(`Unknown ${name} ${JSON.stringify(value)}; choose one of ${allowed.join(', ')}.`);
  };
  oneOf('curvature', options.curvature, curvatureKinds);
  if (options.subset !== undefined) oneOf('subset', options.subset, weightSubsets);
  if (options.fisher !== undefined) oneOf('Fisher type', options.fisher, fisherTypes);
  if (options.kfacDamping !== undefined) oneOf('KFAC damping', options.kfacDamping, kfacDampings);
  const whole = (name: string, value: unknown, least: number) => {
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= least)) throw new PosteriorError(`${name} must be a whole number of at least ${least}, got ${String(value)}.`);
  };
  whole('mcSamples', options.mcSamples, 1);
  whole('batchSize', options.batchSize, 1);
  whole('seed', options.seed, 0);
  for (const name of ['rank', 'lowrankIterations', 'lowrankTolerance'] as const) {
    if (options[name] !== undefined && options.curvature !== 'lowrank') throw new PosteriorError(`${name} applies only to the lowrank curvature, not ${options.curvature}; drop it.`);
  }
  if (options.infRank !== undefined && options.curvature !== 'inf') throw new PosteriorError(`infRank applies only to the inf curvature, not ${options.curvature}; drop it.`);
  for (const name of ['subnetworkIndices', 'subnetworkCount'] as const) {
    if (options[name] !== undefined && options.curvature !== 'subnetwork') throw new PosteriorError(`${name} applies only to the subnetwork curvature, not ${options.curvature}; drop it.`);
  }
  if (options.subnetworkIndices !== undefined && options.subnetworkCount !== undefined) throw new PosteriorError('Give the subnetwork either its indices or a count for the largest-variance heuristic to choose, not both.');
  if (options.mcSamples !== undefined && (options.fisher ?? 'mc') !== 'mc') throw new PosteriorError(`mcSamples applies only to the mc Fisher, not ${options.fisher}; drop it.`);
  if (options.n !== undefined && !(typeof options.n === 'number' && Number.isFinite(options.n) && options.n > 0)) throw new PosteriorError(`N must be a positive finite number, got ${String(options.n)}.`);
  if (options.likelihood !== undefined) oneOf('likelihood', options.likelihood, likelihoodKinds);
  const regression = options.likelihood === 'regression';
  if (options.sigma !== undefined) {
    if (!regression) throw new PosteriorError(`σ is the noise of a regression's Gaussian likelihood; pass likelihood: 'regression' with it, or drop it.`);
    if (options.sigma !== 'marglik' && !(typeof options.sigma === 'number' && Number.isFinite(options.sigma) && options.sigma > 0)) throw new PosteriorError(`σ must be a positive finite number or 'marglik', got ${String(options.sigma)}.`);
  }
  if (regression && options.fisher === 'empirical') throw new PosteriorError('The empirical Fisher is for classification only; use the mc or exact Fisher for regression.');
  const tau = options.tau;
  if (typeof tau === 'object' && tau !== null && typeof (tau as ArrayLike<number>).length === 'number') {
    if (!Array.from(tau as ArrayLike<unknown>).every((value) => typeof value === 'number' && Number.isFinite(value) && value > 0)) throw new PosteriorError('Every τ of an array prior precision must be a positive finite number.');
  } else if (tau !== undefined && tau !== 'marglik' && !(typeof tau === 'number' && Number.isFinite(tau) && tau > 0)) {
    throw new PosteriorError(`τ must be a positive finite number, an array of them (one per layer or per parameter) or 'marglik', got ${String(tau)}.`);
  }
  const temperature = options.temperature;
  if (temperature !== undefined && !(typeof temperature === 'number' && Number.isFinite(temperature) && temperature > 0)) throw new PosteriorError(`The temperature T must be a positive finite number, got ${String(temperature)}.`);
  const mean = options.priorMean;
  if (mean !== undefined && !(typeof mean === 'number' ? Number.isFinite(mean) : typeof mean === 'object' && mean !== null && Array.from(mean as ArrayLike<unknown>).every((value) => typeof value === 'number' && Number.isFinite(value)))) {
    throw new PosteriorError('The prior mean must be a finite number or an array of finite numbers.');
  }
}

/**
 * The network the posterior lives on: every layer's weights, or the output Dense layer's on an
 * opaque body (asked for, or curvature 'last-layer' on a body the whole-network code refuses).
 */
async function networkFor(model: tfl.LayersModel, options: FitLaplaceOptions): Promise<Network> {
  if (options.subset === 'last-layer') return lastLayerNetwork(model);
  try {
    return new Network(model);
  } catch (error) {
    if (error instanceof UnsupportedModelError && options.curvature === 'last-layer' && options.subset === undefined) return lastLayerNetwork(model);
    throw error;
  }
}

/**
 * Fit a Laplace approximation around the model's current weights (taken as the MAP).
 * `data`: LaplaceData (tensorData, imageData) or a tf.data.Dataset of { xs, ys }; labels
 * are class indices or one-hot rows, checked against the model's classes.
 */
export async function fitLaplace(model: tfl.LayersModel, data: DataInput, options: FitLaplaceOptions): Promise<LaplaceModel> {
  // Duck-typed, since a second copy of tfjs-layers in the caller's bundle makes instanceof fail on a real model.
  const candidate = model as Partial<tfl.LayersModel> | null;
  if (typeof candidate !== 'object' || candidate === null || !Array.isArray(candidate.layers) || !Array.isArray(candidate.inputs) || typeof candidate.getWeights !== 'function') {
    throw new UnsupportedModelError(`fitLaplace takes a trained tfjs-layers model (tf.sequential, tf.model or tf.loadLayersModel) first, not ${describeValue(model)}.`);
  }
  checkFitOptions(options);
  const network = await networkFor(model, options);
  let likelihood: Likelihood;
  let checked: Awaited<ReturnType<typeof checkedData>>;
  try {
    likelihood = likelihoodFor(network.output, options.likelihood);
    checked = await checkedData(data, expectations(network, likelihood), 'fit');
  } catch (error) {
    network.dispose();
    throw error;
  }
  let curvature: Awaited<ReturnType<typeof fitCurvature>>;
  const mapWeights = network.matricesFromModel(network.sourceModel ?? model);
  try {
    curvature = await fitCurvature(network, mapWeights, checked.data, { ...options, kinds: [options.curvature] });
  } catch (error) {
    mapWeights.forEach((weights) => weights.dispose());
    network.dispose();
    throw error;
  } finally {
    checked.dispose();
  }
  const tau = options.tau ?? 'marglik';
  let posterior: Posterior;
  try {
    posterior = new Posterior(network, mapWeights, curvature, {
      structure: options.curvature,
      n: options.n ?? checked.data.count,
      tau: typeof tau === 'number' ? tau : 1,
      kfacDamping: options.kfacDamping ?? 'exact',
      ...(likelihood.kind === 'regression' ? { sigma: typeof options.sigma === 'number' ? options.sigma : 1 } : {}),
      // Only when given, so the default spec is what it was.
      ...(options.priorMean !== undefined ? { priorMean: typeof options.priorMean === 'number' ? options.priorMean : Float64Array.from(options.priorMean) } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    });
    if (typeof tau === 'object') posterior = posterior.withHyperparameters(posterior.n, tau);
  } catch (error) {
    mapWeights.forEach((weights) => weights.dispose());
    network.dispose();
    throw error;
  }
  const sigma = likelihood.kind === 'regression' ? (options.sigma ?? 'marglik') : undefined;
  if (tau === 'marglik' || sigma === 'marglik') posterior = optimizeMarginalLikelihood(posterior, { optimizeTau: tau === 'marglik', optimizeSigma: sigma === 'marglik' }).posterior;
  return new LaplaceModel(posterior, model.toJSON(undefined, false));
}

/**
 * A posterior from the bytes of a posterior file; `source` names them in errors (a path or URL).
 * A file older than the format's checksum loads with a warning (`options.onWarning`, default console.warn).
 */
export async function loadLaplaceFromBytes(bytes: Uint8Array | ArrayBuffer, source?: string, options?: ReadOptions): Promise<LaplaceModel> {
  const { posterior, modelTopology } = await posteriorFromBytes(bytes, source, options);
  return new LaplaceModel(posterior, modelTopology);
}

/** Fetch a posterior file and read it with the same reader as `loadLaplace` (fetch: browsers, Node 18+). */
export async function loadLaplaceFromUrl(url: string | URL, init?: RequestInit, options?: ReadOptions): Promise<LaplaceModel> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new PosteriorFileError(`Posterior file ${String(url)} cannot be fetched (${(error as Error).message}); check the URL and that its server is reachable.`);
  }
  if (!response.ok) throw new PosteriorFileError(`Posterior file ${String(url)} cannot be fetched (HTTP ${response.status}); check the URL.`);
  return loadLaplaceFromBytes(await response.arrayBuffer(), String(url), options);
}
