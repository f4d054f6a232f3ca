/**
 * How networks and posteriors are named on the page. The artifacts use short
 * slugs (lenet5, mlp-2-overconfident, marglik); readers get names.
 */

const familyLabels: Record<string, string> = { lenet: 'LeNet', mlp: 'MLP', cnn: 'CNN' };

/** lenet5 → LeNet-5, mlp-2 → MLP-2, cnn-3 → CNN-3, a "-overconfident" suffix → " (overconfident)"; an unknown slug is shown as it is. */
export function modelLabel(model: string): string {
  const match = model.match(/^(lenet|mlp|cnn)-?(\d+)(-overconfident)?$/);
  if (!match) return model;
  const [, family, depth, overconfident] = match;
  return `${familyLabels[family]}-${depth}${overconfident ? ' (overconfident)' : ''}`;
}

const posteriorLabels: Record<string, string> = {
  map: 'MAP',
  tuned: 'tuned',
  marglik: 'marginal likelihood',
  textbook: 'textbook prior',
  original: 'original recipe',
};

/** The words for which posterior of a fit a row is: tuned on validation, marginal-likelihood τ, the textbook prior, the original study's recipe. */
export function posteriorLabel(posterior: string): string {
  return posteriorLabels[posterior] ?? posterior;
}

const predictiveLabels: Record<string, string> = {
  map: 'point estimate',
  glm: 'linearised',
  linearised: 'linearised',
  probit: 'linearised',
  sampled: 'sampled network',
};

/** The words for a predictive: the linearised (GLM) network, the sampled network, the point estimate. */
export function predictiveLabel(predictive: string): string {
  return predictiveLabels[predictive] ?? predictive;
}

const choiceLabels: Record<string, string> = {
  nll: 'tuned on likelihood',
  'error+ece': 'tuned on error + calibration',
  marglik: 'marginal likelihood',
  textbook: 'textbook prior',
  tuned: 'tuned on likelihood',
  original: 'original recipe',
};

/** The words for how N and τ were chosen: an objective of the search on validation images, the marginal likelihood, the textbook prior; no choice at all for a baseline. */
export function choiceLabel(objective: string | null | undefined, posterior?: string): string {
  const key = objective ?? posterior;
  if (key === undefined || key === null || key === 'none' || key === 'map') return 'no choice (a baseline)';
  return choiceLabels[key] ?? key;
}

/** A Laplace variant in words, "linearised, tuned on likelihood" (on validation images); "point estimate" for a baseline, which has no choices. */
export function variantWords(variant: { predictive: string; objective?: string | null; posterior: string }): string {
  if (variant.predictive === 'map') return 'point estimate';
  return `${predictiveLabel(variant.predictive)}, ${choiceLabel(variant.objective, variant.posterior)}`;
}

/** A layer by its kind, for readers: dense_8 → "a dense layer", conv2d_3 → "a convolution layer" (the numbers are TensorFlow.js's counters, not positions). */
export function layerLabel(layer: string): string {
  if (/^dense/.test(layer)) return 'a dense layer';
  if (/^conv/.test(layer)) return 'a convolution layer';
  return `layer ${layer}`;
}
