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
