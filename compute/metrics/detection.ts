/**
 * Scores as detectors of the unknown (out-of-distribution) set. The unknown set is
 * the positive class and a higher score means "more likely unknown" (for example
 * predictive entropy). Scores may be ±Infinity but not NaN.
 */

import { confidences } from '../laplace/metrics/classification.ts';
import { checkFraction, checkValues, countAtMost, countBelow, sortedCopy, type Probabilities, type Values } from '../laplace/metrics/validate.ts';

/**
 * The maximum-softmax-probability (MSP) score of each example, as a detection score:
 * −max_c p_c, so an input counts as more likely unknown the lower its largest class
 * probability (the score of Hendrycks and Gimpel, and of Laplace Redux's AUROC). Negation is
 * exact, so ties and the ranking are those of the confidences themselves.
 */
export function maxProbabilityScores(probs: Probabilities, classes: number): Float64Array {
  const top = confidences(probs, classes);
  for (let i = 0; i < top.length; i++) top[i] = -top[i];
  return top;
}

/** Area under the ROC curve: P(random unknown scores higher than random known), ties counting 1/2; by average ranks, O(n log n). */
export function auroc(scoresKnown: Values, scoresUnknown: Values): number {
  checkValues(scoresKnown, 'known scores');
  checkValues(scoresUnknown, 'unknown scores');
  const nKnown = scoresKnown.length;
  const nUnknown = scoresUnknown.length;
  const n = nKnown + nUnknown;
  // Pool both sets; indices below nKnown are known, the rest unknown.
  const pooled = new Float64Array(n);
  pooled.set(scoresKnown, 0);
  pooled.set(scoresUnknown, nKnown);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => pooled[a] - pooled[b] || 0);
  // Sum of the 1-based ranks of the unknown scores, a tied run sharing its average rank.
  let unknownRankSum = 0;
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && pooled[order[end]] === pooled[order[start]]) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (order[k] >= nKnown) unknownRankSum += averageRank;
    start = end;
  }
  // Mann–Whitney U of the unknown set, divided by the number of pairs.
  const u = unknownRankSum - (nUnknown * (nUnknown + 1)) / 2;
  return u / (nKnown * nUnknown);
}

/** The detection threshold of `fprAtTpr`: the k-th largest unknown score, k = ⌈tpr · n_unknown⌉. */
export function thresholdAtTpr(scoresUnknown: Values, tpr = 0.95): number {
  checkValues(scoresUnknown, 'unknown scores');
  checkFraction(tpr, 'true positive rate');
  const sorted = sortedCopy(scoresUnknown);
  const n = sorted.length;
  // The small allowance keeps e.g. 0.07 · 100 = 7.000000000000001 from rounding up to 8.
  const needed = Math.min(n, Math.max(1, Math.ceil(tpr * n - 1e-9)));
  return sorted[n - needed];
}

/**
 * False positive rate at a true positive rate of at least `tpr`: an example is flagged
 * unknown when its score is ≥ t, and t is the largest threshold that flags at least
 * a fraction tpr of the unknown set, which is the k-th largest unknown score with
 * k = ⌈tpr · n_unknown⌉. Returns the fraction of known scores ≥ t.
 */
export function fprAtTpr(scoresKnown: Values, scoresUnknown: Values, tpr = 0.95): number {
  checkValues(scoresKnown, 'known scores');
  const threshold = thresholdAtTpr(scoresUnknown, tpr);
  const sortedKnown = sortedCopy(scoresKnown);
  return (sortedKnown.length - countBelow(sortedKnown, threshold)) / sortedKnown.length;
}

/**
 * Empirical q-quantile: the smallest value t in the set with at least a fraction q of
 * values ≤ t, i.e. the ⌈q · n⌉-th smallest (inverse of the empirical CDF, Hyndman–Fan type 1).
 */
export function empiricalQuantile(values: Values, q: number): number {
  checkValues(values, 'values');
  checkFraction(q, 'quantile level');
  const sorted = sortedCopy(values);
  const n = sorted.length;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n - 1e-9)));
  return sorted[rank - 1];
}

/** Fraction of unknown scores strictly above the empirical q-quantile of the known scores (the level a fraction q of known stay at or under). */
export function fractionAboveKnownQuantile(scoresKnown: Values, scoresUnknown: Values, q = 0.95): number {
  checkValues(scoresUnknown, 'unknown scores');
  const threshold = empiricalQuantile(scoresKnown, q);
  const sortedUnknown = sortedCopy(scoresUnknown);
  return (sortedUnknown.length - countAtMost(sortedUnknown, threshold)) / sortedUnknown.length;
}
