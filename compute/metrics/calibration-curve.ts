/**
 * The study's calibration curve: accuracy and mean confidence in bins equally spaced in
 * logit(confidence), which resolve the high-confidence end that equal-width bins lump together.
 * Same bin rule and sign as the package's `calibration` (compute/laplace/metrics/calibration.ts),
 * whose per-bin sums it shares; the package itself has no use for it.
 */

import { binTotals } from '../laplace/metrics/calibration.ts';
import { checkBinCount, checkProbabilitiesAndLabels, type Labels, type Probabilities } from '../laplace/metrics/validate.ts';

/** One non-empty bin of a logit-spaced calibration curve. */
export interface CalibrationCurvePoint {
  /** Mean confidence of the examples in the bin. */
  confidence: number;
  /** Fraction of those examples predicted correctly. */
  accuracy: number;
  /** confidence − accuracy (signed; > 0 overconfident). */
  error: number;
  /** Number of examples in the bin. */
  count: number;
  /** Lower bin edge, as a confidence (exclusive, except for the first bin). */
  lowerEdge: number;
  /** Upper bin edge, as a confidence (inclusive). */
  upperEdge: number;
  /** Lower bin edge as logit(confidence) = ln(c / (1 − c)). */
  lowerLogit: number;
  /** Upper bin edge as logit(confidence). */
  upperLogit: number;
}

/** Options of `calibrationCurve`. */
export interface CalibrationCurveOptions {
  /** Number of logit-spaced bins (default 10). */
  bins?: number;
  /** Confidence of the lowest edge (default 1 / classes, the smallest possible confidence). */
  minConfidence?: number;
  /** Confidence of the highest edge (default 1 − 1e-6); confidences above it, 1 included, go in the last bin. */
  maxConfidence?: number;
}

/** Default confidence of the highest edge of `calibrationCurve`. */
export const CURVE_MAX_CONFIDENCE = 1 - 1e-6;

/** Bin edges equally spaced in logit(confidence) from minConfidence to maxConfidence: `logits` and the same edges as confidences. */
export function logitBinEdges(
  minConfidence: number,
  maxConfidence: number,
  bins: number,
): { edges: Float64Array; logits: Float64Array } {
  checkBinCount(bins);
  if (!(minConfidence > 0 && maxConfidence < 1 && minConfidence < maxConfidence)) {
    throw new Error(`The confidence range must satisfy 0 < min < max < 1, got [${minConfidence}, ${maxConfidence}].`);
  }
  const low = logit(minConfidence);
  const high = logit(maxConfidence);
  const logits = new Float64Array(bins + 1);
  const edges = new Float64Array(bins + 1);
  for (let b = 0; b <= bins; b++) {
    logits[b] = b === bins ? high : low + ((high - low) * b) / bins;
    edges[b] = sigmoid(logits[b]);
  }
  edges[0] = minConfidence;
  edges[bins] = maxConfidence;
  return { edges, logits };
}

/** Accuracy and mean confidence per bin, bins equally spaced in logit(confidence) to resolve the high-confidence end; empty bins omitted. */
export function calibrationCurve(
  probs: Probabilities,
  labels: Labels,
  classes: number,
  options: CalibrationCurveOptions = {},
): CalibrationCurvePoint[] {
  const total = checkProbabilitiesAndLabels(probs, labels, classes);
  const binCount = options.bins ?? 10;
  const { edges, logits } = logitBinEdges(
    options.minConfidence ?? 1 / classes,
    options.maxConfidence ?? CURVE_MAX_CONFIDENCE,
    binCount,
  );
  const totals = binTotals(probs, labels, classes, total, edges);
  const points: CalibrationCurvePoint[] = [];
  for (let b = 0; b < binCount; b++) {
    const n = totals.counts[b];
    if (n === 0) continue;
    const binAccuracy = totals.correct[b] / n;
    const binConfidence = totals.confidenceSums[b] / n;
    points.push({
      confidence: binConfidence,
      accuracy: binAccuracy,
      error: binConfidence - binAccuracy,
      count: n,
      lowerEdge: edges[b],
      upperEdge: edges[b + 1],
      lowerLogit: logits[b],
      upperLogit: logits[b + 1],
    });
  }
  return points;
}

function logit(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
