/**
 * Calibration of the confidence (largest class probability) against accuracy.
 *
 * Bin rule (of `calibration` and of `binTotals` on any other edges): with edges e_0 < e_1 < … < e_B, bin i holds
 * confidences c with e_i < c ≤ e_{i+1} (left-open, right-closed); the first bin
 * also takes everything ≤ e_0 and the last bin everything > e_B. The rule is
 * applied to the confidence as stored, so a Float32 0.3 (≈ 0.30000001) lands above
 * the edge 0.3.
 *
 * Sign: gap / error = confidence − accuracy, so > 0 means overconfident.
 * All errors are fractions in [0, 1], not percentages.
 */

import { rowArgmax } from './classification.ts';
import { checkBinCount, checkProbabilitiesAndLabels, countBelow, type Labels, type Probabilities } from './validate.ts';

/** One equal-width confidence bin; accuracy, confidence and gap are null when the bin is empty. */
export interface CalibrationBin {
  /** Lower edge (exclusive, except 0 for the first bin). */
  lower: number;
  /** Upper edge (inclusive). */
  upper: number;
  /** Number of examples whose confidence falls in the bin. */
  count: number;
  /** Fraction of those examples predicted correctly. */
  accuracy: number | null;
  /** Mean confidence of those examples. */
  confidence: number | null;
  /** confidence − accuracy (> 0 overconfident). */
  gap: number | null;
}

/** Summary of calibration over equal-width confidence bins. */
export interface CalibrationResult {
  /** Expected calibration error: Σ_b (n_b / N) · |gap_b| over non-empty bins. */
  ece: number;
  /** Maximum calibration error: max |gap_b| over non-empty bins. */
  mce: number;
  /** Signed calibration error: Σ_b (n_b / N) · gap_b, i.e. mean confidence − accuracy (> 0 overconfident). */
  signedError: number;
  /** All bins, empty ones included, in increasing confidence. */
  bins: CalibrationBin[];
}

/** Example counts, correct counts and confidence sums per bin. */
export interface BinTotals {
  counts: Float64Array;
  correct: Float64Array;
  confidenceSums: Float64Array;
}

/** Each example's confidence (its largest probability), whether its argmax is right, and its bin among `edges`. */
export interface ExampleBins {
  bin: Int32Array;
  confidence: Float64Array;
  correct: Uint8Array;
}

/**
 * Sorts every example into a bin by its confidence: c in (e_b, e_{b+1}] goes to bin b,
 * c at or below the first edge to bin 0, c above the last to the last bin.
 */
export function exampleBins(probs: Probabilities, labels: Labels, classes: number, count: number, edges: Float64Array): ExampleBins {
  const bins = edges.length - 1;
  const out: ExampleBins = { bin: new Int32Array(count), confidence: new Float64Array(count), correct: new Uint8Array(count) };
  for (let i = 0; i < count; i++) {
    const predicted = rowArgmax(probs, classes, i);
    out.confidence[i] = probs[i * classes + predicted];
    out.correct[i] = predicted === labels[i] ? 1 : 0;
    // countBelow = number of edges strictly below c; c in (e_b, e_{b+1}] gives b + 1.
    out.bin[i] = Math.min(bins - 1, Math.max(0, countBelow(edges, out.confidence[i]) - 1));
  }
  return out;
}

/** `bins` + 1 equally spaced edges on [0, 1]: the bins of `calibration`. */
export function equalWidthEdges(bins: number): Float64Array {
  const edges = new Float64Array(bins + 1);
  for (let b = 0; b <= bins; b++) edges[b] = b / bins;
  return edges;
}

/** Sums correctness and confidence per bin among `edges`, whatever their spacing. */
export function binTotals(probs: Probabilities, labels: Labels, classes: number, count: number, edges: Float64Array): BinTotals {
  const bins = edges.length - 1;
  const totals: BinTotals = {
    counts: new Float64Array(bins),
    correct: new Float64Array(bins),
    confidenceSums: new Float64Array(bins),
  };
  const examples = exampleBins(probs, labels, classes, count, edges);
  for (let i = 0; i < count; i++) {
    const bin = examples.bin[i];
    totals.counts[bin] += 1;
    totals.confidenceSums[bin] += examples.confidence[i];
    totals.correct[bin] += examples.correct[i];
  }
  return totals;
}

/** Calibration over `bins` equal-width confidence bins on [0, 1]: ECE, MCE, signed error and the per-bin table. */
export function calibration(
  probs: Probabilities,
  labels: Labels,
  classes: number,
  options: { bins?: number } = {},
): CalibrationResult {
  const total = checkProbabilitiesAndLabels(probs, labels, classes);
  const binCount = options.bins ?? 10;
  checkBinCount(binCount);
  const edges = equalWidthEdges(binCount);
  const totals = binTotals(probs, labels, classes, total, edges);

  let ece = 0;
  let mce = 0;
  let signedError = 0;
  const bins: CalibrationBin[] = [];
  for (let b = 0; b < binCount; b++) {
    const n = totals.counts[b];
    if (n === 0) {
      bins.push({ lower: edges[b], upper: edges[b + 1], count: 0, accuracy: null, confidence: null, gap: null });
      continue;
    }
    const binAccuracy = totals.correct[b] / n;
    const binConfidence = totals.confidenceSums[b] / n;
    const gap = binConfidence - binAccuracy;
    ece += (n / total) * Math.abs(gap);
    signedError += (n / total) * gap;
    mce = Math.max(mce, Math.abs(gap));
    bins.push({ lower: edges[b], upper: edges[b + 1], count: n, accuracy: binAccuracy, confidence: binConfidence, gap });
  }
  return { ece, mce, signedError, bins };
}
