/**
 * Input types and guards shared by the metrics. Every public metric checks its
 * inputs here and throws an Error with one sentence saying what is wrong.
 */

/** Class probabilities, row-major with shape [count, classes]. */
export type Probabilities = Float32Array | Float64Array;

/** Integer class labels in [0, classes), one per row of the probabilities. */
export type Labels = Int32Array | Uint8Array | readonly number[];

/** A list of real numbers (scores, entropies, confidences, grid points). */
export type Values = Float32Array | Float64Array | readonly number[];

/** How far a probability may exceed 1 (float rounding) before it is rejected. */
const ENTRY_TOLERANCE = 1e-6;

/** How far a row sum may be from 1 before the row is rejected (catches logits passed by mistake). */
export const ROW_SUM_TOLERANCE = 1e-3;

/** Checks `classes` and the probabilities; returns the number of rows. */
export function checkProbabilities(probs: Probabilities, classes: number): number {
  if (!Number.isInteger(classes) || classes < 2) {
    throw new Error(`The number of classes must be an integer of at least 2, got ${classes}.`);
  }
  if (probs.length === 0) {
    throw new Error('The probabilities are empty; there must be at least one example.');
  }
  if (probs.length % classes !== 0) {
    throw new Error(`The probabilities have ${probs.length} entries, which is not a multiple of classes = ${classes}.`);
  }
  const count = probs.length / classes;
  for (let row = 0; row < count; row++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const p = probs[row * classes + c];
      if (Number.isNaN(p)) {
        throw new Error(`The probability at row ${row}, class ${c} is NaN.`);
      }
      if (!(p >= 0 && p <= 1 + ENTRY_TOLERANCE)) {
        throw new Error(`The probability at row ${row}, class ${c} is ${p}, outside [0, 1].`);
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) {
      throw new Error(`The probabilities of row ${row} sum to ${sum}, not 1 (were logits passed instead of probabilities?).`);
    }
  }
  return count;
}

/** Checks the probabilities and that the labels match them; returns the number of rows. */
export function checkProbabilitiesAndLabels(probs: Probabilities, labels: Labels, classes: number): number {
  const count = checkProbabilities(probs, classes);
  if (labels.length !== count) {
    throw new Error(`There are ${labels.length} labels but ${count} rows of probabilities.`);
  }
  for (let i = 0; i < count; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new Error(`Label ${i} is ${label}, not an integer in [0, ${classes}).`);
    }
  }
  return count;
}

/** Checks that a list of values is non-empty and free of NaN; `what` names it in the message. */
export function checkValues(values: Values, what: string): void {
  if (values.length === 0) {
    throw new Error(`The ${what} are empty; there must be at least one value.`);
  }
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) {
      throw new Error(`The ${what} contain NaN at index ${i}.`);
    }
  }
}

/** Checks that `bins` is a positive integer. */
export function checkBinCount(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new Error(`The number of bins must be a positive integer, got ${bins}.`);
  }
}

/** Checks that a fraction lies in (0, 1]; `what` names it in the message. */
export function checkFraction(value: number, what: string): void {
  if (!(value > 0 && value <= 1)) {
    throw new Error(`The ${what} must be in (0, 1], got ${value}.`);
  }
}

/** A sorted ascending Float64Array copy of the values. */
export function sortedCopy(values: Values): Float64Array {
  const out = Float64Array.from(values);
  out.sort();
  return out;
}

/** Number of entries of an ascending array that are ≤ x (upper bound by binary search). */
export function countAtMost(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of entries of an ascending array that are < x (lower bound by binary search). */
export function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
