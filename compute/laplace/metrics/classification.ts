/**
 * Per-example and averaged classification metrics on class probabilities.
 * The predicted class is the argmax; on a tie the lowest class index wins.
 */

import { checkProbabilities, checkProbabilitiesAndLabels, type Labels, type Probabilities } from './validate.ts';

/** Floor applied to p[y] before the log in the negative log-likelihood, so p = 0 costs −ln(1e-12) ≈ 27.6 instead of Infinity. */
export const PROBABILITY_FLOOR = 1e-12;

/** Argmax of one row (lowest index on ties); no validation. */
export function rowArgmax(probs: Probabilities, classes: number, row: number): number {
  const start = row * classes;
  let best = 0;
  let bestValue = probs[start];
  for (let c = 1; c < classes; c++) {
    const p = probs[start + c];
    if (p > bestValue) {
      bestValue = p;
      best = c;
    }
  }
  return best;
}

/** Predicted class (argmax, lowest index on ties) of each example. */
export function predictedClasses(probs: Probabilities, classes: number): Int32Array {
  const count = checkProbabilities(probs, classes);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = rowArgmax(probs, classes, i);
  return out;
}

/** Confidence (largest class probability) of each example. */
export function confidences(probs: Probabilities, classes: number): Float64Array {
  const count = checkProbabilities(probs, classes);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = probs[i * classes + rowArgmax(probs, classes, i)];
  return out;
}

/** Mean over examples of the confidence (largest class probability). */
export function meanConfidence(probs: Probabilities, classes: number): number {
  const values = confidences(probs, classes);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** Fraction in [0, 1] of examples whose predicted class equals the label. */
export function accuracy(probs: Probabilities, labels: Labels, classes: number): number {
  const count = checkProbabilitiesAndLabels(probs, labels, classes);
  let correct = 0;
  for (let i = 0; i < count; i++) if (rowArgmax(probs, classes, i) === labels[i]) correct++;
  return correct / count;
}

/** Mean over examples of −ln max(p[y], PROBABILITY_FLOOR) (natural log, nats). */
export function negativeLogLikelihood(probs: Probabilities, labels: Labels, classes: number): number {
  const count = checkProbabilitiesAndLabels(probs, labels, classes);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    sum -= Math.log(Math.max(probs[i * classes + labels[i]], PROBABILITY_FLOOR));
  }
  return sum / count;
}

/** Mean over examples of Σ_c (p_c − 1[y = c])², summed over classes (not divided by classes), so it lies in [0, 2]. */
export function brierScore(probs: Probabilities, labels: Labels, classes: number): number {
  const count = checkProbabilitiesAndLabels(probs, labels, classes);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const label = labels[i];
    for (let c = 0; c < classes; c++) {
      const diff = probs[i * classes + c] - (c === label ? 1 : 0);
      sum += diff * diff;
    }
  }
  return sum / count;
}
