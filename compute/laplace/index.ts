/**
 * Laplace approximations for TensorFlow.js Sequential models of Dense and
 * Conv2D layers (with pooling, flatten, activations, dropout between them).
 *
 *   const laplace = await fitLaplace(model, imageData(trainSet), { curvature: 'kfac' });   // N = 55,000, τ by marginal likelihood
 *   const probabilities = await laplace.predict(imageData(testSet));                        // GLM predictive, probit link
 *   await laplace.save('lenet5.kfac.laplace');
 *   const again = await loadLaplace('lenet5.kfac.laplace');
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { fitCurvature, type CurvatureKind, type CurvatureOptions } from './curvature.ts';
import type { LaplaceData } from './data.ts';
import { optimizeMarginalLikelihood, type EvidenceOptimum, type OptimizeEvidenceOptions } from './evidence.ts';
import { loadPosterior, savePosterior } from './io.ts';
import { Network, type LayerMatrix } from './network.ts';
import { Posterior, type KfacDamping } from './posterior.ts';
import { predict, type PredictOptions } from './predictive.ts';
import { searchHyperparameters, type SearchOptions, type SearchResult } from './search.ts';

export { curvatureKinds, fisherTypes, fitCurvature, type CurvatureFit, type CurvatureKind, type FisherType } from './curvature.ts';
export { imageData, tensorData, type LaplaceData } from './data.ts';
export { disposeJacobianBatch, forEachJacobianBatch, FunctionalCovariance, jacobianBatch, type ConvolutionRoute, type JacobianBatch } from './functional.ts';
export { defaultLinkSamples, glmLinks, monteCarloLink, probitLink, type GlmLink } from './links.ts';
export { PosteriorFileError, layoutConventions } from './io.ts';
export { Network, UnsupportedModelError, unfoldPatches, type LayerMatrix, type ParameterLayer } from './network.ts';
export { Posterior, PosteriorError, kfacDampings, checkHyperparameters, type KfacDamping, type Structure } from './posterior.ts';
export { defaultSamples, finiteDifferences, predict, predictGlmTogether, preparePredictive, predictiveTypes, type FiniteDifference, type PredictiveType, type PreparedPredictive } from './predictive.ts';
export {
  bestPoint,
  defaultGridSize,
  defaultLogNRange,
  defaultLogTauRange,
  edgesOf,
  evaluatePoint,
  objectiveValue,
  searchHyperparameters,
  searchObjectives,
  type SearchEdge,
  type SearchObjective,
  type SearchPoint,
  type SearchResult,
} from './search.ts';

export interface FitLaplaceOptions extends Omit<CurvatureOptions, 'kinds'> {
  curvature: CurvatureKind;
  /** Data-term scale N; default the number of fitting examples (pass the training-set size when fitting on a subset of it). */
  n?: number;
  /** Prior precision τ; default 'marglik', the scalar τ that maximises the marginal likelihood at N. */
  tau?: number | 'marglik';
  kfacDamping?: KfacDamping;
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

  /** `count` weight samples as W̄ matrices per layer (see network.ts for the layout). */
  sample(count: number, seed = 0): LayerMatrix[][] {
    return this.posterior.sample(count, seed);
  }

  predict(data: LaplaceData, options?: PredictOptions): Promise<Float32Array> {
    return predict(this.posterior, data, options);
  }

  /** Same curvature, other N and τ: no refit. */
  withHyperparameters(n: number, tau: number | number[], kfacDamping?: KfacDamping): LaplaceModel {
    return new LaplaceModel(this.posterior.withHyperparameters(n, tau, kfacDamping), this.modelTopology);
  }

  /** Search N and τ on validation data and return the posterior at the best point for `objective`. */
  async tune(validation: LaplaceData, objective: 'error+ece' | 'nll', options?: SearchOptions): Promise<{ model: LaplaceModel; search: SearchResult }> {
    const search = await searchHyperparameters(this.posterior, validation, options);
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

  save(path: string): Promise<void> {
    return savePosterior(this.posterior, this.modelTopology, path);
  }

  dispose(): void {
    this.posterior.dispose();
  }
}

/** Fit a Laplace approximation around the model's current weights (taken as the MAP). */
export async function fitLaplace(model: tfl.LayersModel, data: LaplaceData, options: FitLaplaceOptions): Promise<LaplaceModel> {
  const network = new Network(model);
  const mapWeights = network.matricesFromModel(model);
  const curvature = await fitCurvature(network, mapWeights, data, { ...options, kinds: [options.curvature] });
  const tau = options.tau ?? 'marglik';
  let posterior = new Posterior(network, mapWeights, curvature, {
    structure: options.curvature,
    n: options.n ?? data.count,
    tau: tau === 'marglik' ? 1 : tau,
    kfacDamping: options.kfacDamping ?? 'exact',
  });
  if (tau === 'marglik') posterior = optimizeMarginalLikelihood(posterior).posterior;
  return new LaplaceModel(posterior, model.toJSON(undefined, false));
}

/** Load a posterior file written by `LaplaceModel.save`. */
export async function loadLaplace(path: string): Promise<LaplaceModel> {
  const { posterior, modelTopology } = await loadPosterior(path);
  return new LaplaceModel(posterior, modelTopology);
}
export { layerLogDetPrecision, logDetPrecision, logMarginalLikelihood, optimizeMarginalLikelihood, type EvidenceOptimum, type EvidenceOptions, type OptimizeEvidenceOptions, type RangeEdge } from './evidence.ts';
