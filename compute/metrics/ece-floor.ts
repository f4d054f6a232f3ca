/**
 * The ECE a perfectly calibrated classifier would score. On a finite test set the
 * ECE estimator is biased upward: even labels drawn from the predicted probabilities
 * themselves leave a gap in every bin by chance. This simulates that floor for the
 * same predicted probabilities, set size and bins as a measured ECE, so the two can
 * be read side by side.
 */

import { equalWidthEdges, exampleBins } from '../laplace/metrics/calibration.ts';
import { checkBinCount, checkFraction, checkProbabilities, type Probabilities } from '../laplace/metrics/validate.ts';
import { Random } from '../laplace/random.ts';
import { interpolatedQuantile } from './bootstrap.ts';

/** The simulated ECE of a calibrated classifier and how it was made. */
export interface EceFloor {
  /** Mean ECE over the draws. */
  mean: number;
  /** The `level` quantile of the ECE over the draws (type 7). */
  high: number;
  draws: number;
  seed: number;
}

/** Options of `calibratedEceFloor`. */
export interface EceFloorOptions {
  /** Number of equal-width bins, as in `calibration` (default 10). */
  bins?: number;
  /** Number of simulated label sets (default 200). */
  draws?: number;
  /** Seed of the simulated labels; required, so every floor is reproducible. */
  seed: number;
  /** Quantile reported as `high`, in (0, 1] (default 0.95). */
  level?: number;
}

/**
 * ECE, binned exactly as `calibration` bins, of labels drawn from each example's own
 * predicted distribution, over `draws` draws: its mean and its `level` quantile.
 */
export function calibratedEceFloor(probabilities: Probabilities, classes: number, options: EceFloorOptions): EceFloor {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new Error('The ECE floor needs an options object with an integer seed, e.g. { seed: 0 }.');
  }
  const { bins = 10, draws = 200, seed, level = 0.95 } = options;
  const count = checkProbabilities(probabilities, classes);
  checkBinCount(bins);
  if (!Number.isInteger(draws) || draws < 1) {
    throw new Error(`The number of draws must be an integer of at least 1, got ${draws}.`);
  }
  checkFraction(level, 'quantile level of the ECE floor');
  if (!Number.isInteger(seed)) {
    throw new Error(`The ECE floor's seed must be an integer, got ${seed}.`);
  }

  // Labels are not needed for the bins and confidences; `correct` from these zeros is ignored.
  const { bin: binOf, confidence } = exampleBins(probabilities, new Int32Array(count), classes, count, equalWidthEdges(bins));
  const binCounts = new Float64Array(bins);
  const binConfidence = new Float64Array(bins);
  for (let i = 0; i < count; i++) {
    binCounts[binOf[i]] += 1;
    binConfidence[binOf[i]] += confidence[i];
  }

  const random = new Random(seed);
  const binCorrect = new Float64Array(bins);
  const values = new Float64Array(draws);
  for (let d = 0; d < draws; d++) {
    binCorrect.fill(0);
    // ECE sees a label only through "is it the argmax?", and a label drawn from the
    // example's distribution is the argmax with probability equal to the top probability
    // (its confidence). So a Bernoulli(confidence) per example is the same in distribution
    // as drawing the full categorical label, at one uniform a draw.
    for (let i = 0; i < count; i++) if (random.uniform() < confidence[i]) binCorrect[binOf[i]] += 1;
    // The same arithmetic, in the same order, as `calibration`.
    let ece = 0;
    for (let b = 0; b < bins; b++) {
      const n = binCounts[b];
      if (n === 0) continue;
      ece += (n / count) * Math.abs(binConfidence[b] / n - binCorrect[b] / n);
    }
    values[d] = ece;
  }

  let sum = 0;
  for (let d = 0; d < draws; d++) sum += values[d];
  values.sort();
  return { mean: sum / draws, high: interpolatedQuantile(values, level), draws, seed };
}
