/**
 * Loss landscapes through the trained weights W* (Li et al. 2018): seeded,
 * filter-normalised random directions; loss and accuracy on a line and on a
 * plane; the likelihood exp(−ΔΣ loss) of the data on a plane, beside the
 * Laplace Gaussian that the Gauss–Newton curvature at W* implies there and a
 * least-squares 2-D Gaussian fit of it.
 *
 *   const weights = network.matricesFromModel(model);
 *   const dx = randomDirection(network, weights, 1);
 *   const dy = randomDirection(network, weights, 2);
 *   const axis = linspace(-1, 1, 41);
 *   const plane = await landscape2d(network, weights, imageData(testSubset), dx, dy, axis, axis);
 *   const { gaussNewton } = await planeCurvature(network, weights, imageData(testSubset), [dx, dy]);
 *   const [ha, hb] = laplaceHalfWidths(gaussNewton, 3);
 *   const [alphas, betas] = [linspace(-ha, ha, 31), linspace(-hb, hb, 31)];
 *   const likelihood = await likelihoodPlane(network, weights, imageData(testSubset), dx, dy, alphas, betas);
 *   const laplace = laplaceGaussian(gaussNewton, alphas, betas);
 *   const fit = fitGaussian2d(alphas, betas, likelihood.values);
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
export { kfacPlaneCurvature, planeCurvature, type PlaneCurvature, type PlaneCurvatureOptions } from './curvature.ts';
export { covarianceOf, laplaceGaussian, laplaceHalfWidths, likelihoodPlane, planeHessian, type LikelihoodPlane, type Matrix2, type PlaneHessian, type SquareRows } from './likelihood.ts';
export { fitGaussian2d, surfaceResidual, type GaussianFit2d, type GaussianFitOptions, type GaussianResidual } from './gaussian.ts';
