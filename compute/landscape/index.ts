/**
 * Loss landscapes through the trained weights W* (Li et al. 2018): seeded,
 * filter-normalised random directions; loss and accuracy on a line and on a
 * plane; and a least-squares 2-D Gaussian fit of the likelihood exp(−loss).
 *
 *   const weights = network.matricesFromModel(model);
 *   const dx = randomDirection(network, weights, 1);
 *   const dy = randomDirection(network, weights, 2);
 *   const axis = linspace(-1, 1, 41);
 *   const plane = await landscape2d(network, weights, imageData(testSubset), dx, dy, axis, axis);
 *   const fit = fitGaussian2d(plane.alphas, plane.betas, likelihoodFromLoss(plane.loss));
 */
export {
  LandscapeError,
  biasModes,
  checkDirection,
  directionCosine,
  directionTensors,
  randomDirection,
  type BiasMode,
  type Direction,
  type DirectionOptions,
} from './directions.ts';
export { landscape1d, landscape2d, linspace, type Landscape1d, type Landscape2d, type LandscapeOptions } from './grid.ts';
export { fitGaussian2d, likelihoodFromLoss, type GaussianFit2d, type GaussianFitOptions, type GaussianResidual } from './gaussian.ts';
