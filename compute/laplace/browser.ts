/**
 * Laplace approximations for TensorFlow.js models: the whole network for
 * Sequential models and residual graphs of the layers network.ts reads, the
 * last layer of any model with a Dense output:
 * everything of the library that runs in a browser as well as in Node. It
 * imports no Node module (tests/laplace/browser-entry.test.ts checks), so a
 * bundler can take it as it is; posterior files come in as bytes or by URL.
 *
 *   const laplace = await fitLaplace(model, tensorData(x, labels), { curvature: 'kfac' });   // N = the examples, τ by marginal likelihood
 *   const probabilities = await laplace.predict(tensorData(xTest, labelsTest));              // GLM predictive, probit link
 *   const again = await loadLaplaceFromUrl('/posteriors/lenet5.kfac.laplace');
 */
export { fitLaplace, LaplaceModel, loadLaplaceFromBytes, loadLaplaceFromUrl, type FitLaplaceOptions } from './model.ts';
export { curvatureKinds, fisherTypes, fitCurvature, type CurvatureFit, type CurvatureKind, type CurvatureOptions, type FisherType } from './curvature.ts';
export { checkedData, imageData, labelIndices, LaplaceDataError, regressionData, tensorData, type DataExpectations, type DataInput, type GreyImages, type LabelsInput, type LaplaceData } from './data.ts';
export { disposeJacobianBatch, forEachJacobianBatch, FunctionalCovariance, jacobianBatch, type ConvolutionRoute, type JacobianBatch } from './functional.ts';
export { defaultLinkSamples, glmLinks, monteCarloLink, probitLink, type GlmLink } from './links.ts';
export { bridgeLink } from './bridge.ts';
export { PosteriorFileError, layoutConventions, posteriorFormat, posteriorFromBytes, posteriorToBytes, type ChecksumKind, type ReadOptions } from './format.ts';
export { sha256Digest, sha256Hex } from './sha256.ts';
export { fitLastLayerFromModel, splitLastLayer, type LastLayerFitOptions, type LastLayerSplit } from './last-layer.ts';
export { lastLayerNetwork, Network, outputDenseLayer, UnsupportedModelError, unfoldPatches, weightSubsets, type LayerMatrix, type ParameterLayer, type WeightSubset } from './network.ts';
export { Posterior, PosteriorError, kfacDampings, checkHyperparameters, perturbedParameters, type KfacDamping, type PriorPrecision, type Structure } from './posterior.ts';
export { PriorPrecisionError, TooManyParametersError } from './errors.ts';
export { fullParameterLimit, infDefaults, largestVarianceIndices, largestVarianceSubnetwork, subnetworkDefaults, type InfFactors, type SubnetworkFit } from './structures/index.ts';
export { likelihoodFor, likelihoodKinds, type Likelihood, type LikelihoodKind } from './likelihoods/index.ts';
export { defaultSamples, finiteDifferences, predict, predictGlmTogether, predictRegression, preparePredictive, predictiveTypes, type RegressionPrediction, type FiniteDifference, type PredictOptions, type PredictiveType, type PreparedPredictive } from './predictive.ts';
export {
  bestPoint,
  defaultGridSize,
  defaultLogNRange,
  defaultLogTauRange,
  edgesOf,
  evaluatePoint,
  objectiveValue,
  searchHyperparameters,
  searchHyperparametersTogether,
  searchObjectives,
  type SearchEdge,
  type SearchObjective,
  type SearchOptions,
  type SearchPoint,
  type SearchResult,
} from './search.ts';
export { layerLogDetPrecision, logDetPrecision, logMarginalLikelihood, optimizeMarginalLikelihood, type EvidenceOptimum, type EvidenceOptions, type OptimizeEvidenceOptions, type RangeEdge } from './evidence.ts';
export { logMarginalLikelihoodTensor, type EvidenceTensorOptions } from './evidence-tensor.ts';
export { accuracyWarningGap, entropyWarningFraction, predictionWarning, tauIsMarginalLikelihoodOptimum, type PredictionCheck } from './warnings.ts';
