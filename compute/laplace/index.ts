/**
 * The library for Node: the browser-safe part (browser.ts) and posterior files
 * by path (files.ts).
 *
 *   const laplace = await fitLaplace(model, imageData(trainSet), { curvature: 'kfac' });   // N = 55,000, τ by marginal likelihood
 *   const probabilities = await laplace.predict(imageData(testSet));                        // GLM predictive, probit link
 *   await saveLaplace(laplace, 'lenet5.kfac.laplace');
 *   const again = await loadLaplace('lenet5.kfac.laplace');
 */
export * from './browser.ts';
export { loadLaplace, saveLaplace } from './files.ts';
