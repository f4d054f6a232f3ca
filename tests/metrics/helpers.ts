/** Shared test data for the metrics tests: seeded random class probabilities and labels. */

import { Random } from '../../compute/laplace/random.ts';

/** Random softmax rows of shape [count, classes]; `sharpness` scales the logits, so large values give confident rows. */
export function randomProbabilities(random: Random, count: number, classes: number, sharpness = 3): Float64Array {
  const probs = new Float64Array(count * classes);
  for (let i = 0; i < count; i++) {
    let max = -Infinity;
    const logits: number[] = [];
    for (let c = 0; c < classes; c++) {
      const z = sharpness * random.normal();
      logits.push(z);
      max = Math.max(max, z);
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[c] - max);
    for (let c = 0; c < classes; c++) probs[i * classes + c] = Math.exp(logits[c] - max) / sum;
  }
  return probs;
}

/** Random labels in [0, classes). */
export function randomLabels(random: Random, count: number, classes: number): Int32Array {
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = random.integer(classes);
  return labels;
}

/** Random integer scores in [0, levels), so that ties are common. */
export function randomIntegerScores(random: Random, count: number, levels: number): number[] {
  return Array.from({ length: count }, () => random.integer(levels));
}

/** Argmax with the lowest index on ties, written independently of the library. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
}

/** Row i of a row-major matrix. */
export function row(probs: Float32Array | Float64Array, classes: number, i: number): number[] {
  return Array.from(probs.subarray(i * classes, (i + 1) * classes));
}
