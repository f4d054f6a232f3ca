/**
 * Laplace approximations for TensorFlow.js Sequential models of Dense and
 * Conv2D layers (with pooling, flatten, activations, dropout between them).
 *
 *   const laplace = await fitLaplace(model, imageData(trainSet), { curvature: 'kfac', n: 55000, tau: 27 });
 *   const probabilities = await laplace.predict(imageData(testSet), { predictive: 'linearised', samples: 30 });
 *   await laplace.save('lenet5.kfac.laplace');
 *   const again = await loadLaplace('lenet5.kfac.laplace');
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { fitCurvature, type CurvatureKind, type CurvatureOptions } from './curvature.ts';
import type { LaplaceData } from './data.ts';
import { loadPosterior, savePosterior } from './io.ts';
import { Network, type LayerMatrix } from './network.ts';
import { Posterior, type KfacDamping } from './posterior.ts';
import { predict, type PredictOptions } from './predictive.ts';
import { searchHyperparameters, type SearchOptions, type SearchResult } from './search.ts';

export { curvatureKinds, fisherTypes, fitCurvature, type CurvatureFit, type CurvatureKind, type FisherType } from './curvature.ts';
export { imageData, tensorData, type LaplaceData } from './data.ts';
export { disposeJacobianBatch, forEachJacobianBatch, FunctionalCovariance, jacobianBatch, type JacobianBatch } from './functional.ts';
export { defaultLinkSamples, glmLinks, monteCarloLink, probitLink, type GlmLink } from './links.ts';
export { PosteriorFileError, layoutConventions } from './io.ts';
export { Network, UnsupportedModelError, unfoldPatches, type LayerMatrix, type ParameterLayer } from './network.ts';
export { Posterior, PosteriorError, kfacDampings, checkHyperparameters, type KfacDamping, type Structure } from './posterior.ts';
export { defaultSamples, finiteDifferences, predict, preparePredictive, predictiveTypes, type FiniteDifference, type PredictiveType, type PreparedPredictive } from './predictive.ts';
export { bestPoint, evaluatePoint, objectiveValue, searchHyperparameters, searchObjectives, type SearchObjective, type SearchPoint, type SearchResult } from './search.ts';

export interface FitLaplaceOptions extends Omit<CurvatureOptions, 'kinds'> {
  curvature: CurvatureKind;
  /** Data-term scale N; default the number of fitting examples. */
  n?: number;
  /** Prior precision τ; default 1. */
  tau?: number;
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
  const posterior = new Posterior(network, mapWeights, curvature, {
    structure: options.curvature,
    n: options.n ?? data.count,
    tau: options.tau ?? 1,
    kfacDamping: options.kfacDamping ?? 'exact',
  });
  return new LaplaceModel(posterior, model.toJSON(undefined, false));
}

/** Load a posterior file written by `LaplaceModel.save`. */
export async function loadLaplace(path: string): Promise<LaplaceModel> {
  const { posterior, modelTopology } = await loadPosterior(path);
  return new LaplaceModel(posterior, modelTopology);
}
export { layerLogDetPrecision, logDetPrecision, logMarginalLikelihood, optimizeMarginalLikelihood, type EvidenceOptimum, type EvidenceOptions, type OptimizeEvidenceOptions, type RangeEdge } from './evidence.ts';
