/**
 * Metric blocks shared by every method's artifact: calibration on the test
 * set, entropy-based detection of unknown sets, FGSM curves and rotation
 * shift. Pure functions of predicted probabilities; no per-example dumps.
 */
import type { ImageSet } from '../data/index.ts';
import {
  accuracy,
  auroc,
  brierScore,
  calibration,
  calibrationCurve,
  entropy,
  fprAtTpr,
  fractionAboveKnownQuantile,
  histogram,
  inverseEcdf,
  meanConfidence,
  negativeLogLikelihood,
} from '../metrics/index.ts';

export const classes = 10;
export const maxEntropy = Math.log(classes);
/** Shared entropy bins and grid, so every histogram and ECDF lines up across methods. */
export const entropyBins = 30;
export const entropyGrid = Array.from({ length: 41 }, (_, i) => (maxEntropy * i) / 40);

export type Predictor = (set: ImageSet) => Promise<Float32Array>;

export interface EvaluationSets {
  test: ImageSet;
  unknown: ImageSet[];
  fgsm: { epsilon: number; set: ImageSet }[];
  shift: { angle: number; set: ImageSet }[];
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

export function calibrationBlock(probabilities: Float32Array, labels: Uint8Array) {
  const summary = calibration(probabilities, labels, classes, { bins: 10 });
  return {
    accuracy: accuracy(probabilities, labels, classes),
    nll: negativeLogLikelihood(probabilities, labels, classes),
    brier: brierScore(probabilities, labels, classes),
    ece: summary.ece,
    mce: summary.mce,
    signedError: summary.signedError,
    meanConfidence: meanConfidence(probabilities, classes),
    bins: summary.bins,
    curve: calibrationCurve(probabilities, labels, classes, { bins: 10 }),
  };
}

function entropyDistribution(entropies: Float64Array) {
  const counts = histogram(entropies, { min: 0, max: maxEntropy, bins: entropyBins });
  return { meanEntropy: mean(entropies), histogram: counts.fractions, inverseEcdf: inverseEcdf(entropies, entropyGrid) };
}

function shortMetrics(probabilities: Float32Array, labels: Uint8Array) {
  return {
    accuracy: accuracy(probabilities, labels, classes),
    nll: negativeLogLikelihood(probabilities, labels, classes),
    ece: calibration(probabilities, labels, classes).ece,
    meanEntropy: mean(entropy(probabilities, classes)),
  };
}

/** Every evaluation of one method: `predict` maps a set to probabilities. */
export async function evaluate(predict: Predictor, sets: EvaluationSets, onStep?: () => void) {
  const testProbabilities = await predict(sets.test);
  onStep?.();
  const known = entropy(testProbabilities, classes);
  const unknown = [];
  for (const set of sets.unknown) {
    const probabilities = await predict(set);
    onStep?.();
    const entropies = entropy(probabilities, classes);
    unknown.push({
      set: set.name,
      derived: set.derived,
      count: set.count,
      auroc: auroc(known, entropies),
      fpr95: fprAtTpr(known, entropies, 0.95),
      meanConfidence: meanConfidence(probabilities, classes),
      fractionAboveKnown95: fractionAboveKnownQuantile(known, entropies, 0.95),
      ...entropyDistribution(entropies),
    });
  }
  const fgsm = [];
  for (const { epsilon, set } of sets.fgsm) {
    fgsm.push({ epsilon, ...shortMetrics(await predict(set), set.labels) });
    onStep?.();
  }
  const shift = [];
  for (const { angle, set } of sets.shift) {
    shift.push({ angle, ...shortMetrics(await predict(set), set.labels) });
    onStep?.();
  }
  return {
    calibration: calibrationBlock(testProbabilities, sets.test.labels),
    ood: { known: { set: sets.test.name, count: sets.test.count, ...entropyDistribution(known) }, unknown },
    fgsm,
    shift,
  };
}

export type Evaluation = Awaited<ReturnType<typeof evaluate>>;

/** How many predictions `evaluate` makes, for progress. */
export function evaluationSteps(sets: EvaluationSets): number {
  return 1 + sets.unknown.length + sets.fgsm.length + sets.shift.length;
}
