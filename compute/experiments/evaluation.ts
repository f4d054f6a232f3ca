/**
 * Metric blocks shared by every method's artifact: calibration on the test
 * set, entropy-based detection of unknown sets, FGSM curves and rotation
 * shift, each scalar metric with its 95% percentile-bootstrap interval over
 * the images, and paired differences between two methods on the same images.
 * Pure functions of predicted probabilities; no per-example dumps.
 */
import type { ImageSet } from '../data/index.ts';
import {
  accuracy,
  auroc,
  brierScore,
  calibratedEceFloor,
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
import {
  bootstrapInterval,
  pairedDifferenceInterval,
  resampledAccuracy,
  resampledAuroc,
  resampledBrierScore,
  resampledCalibrationError,
  resampledFprAtTpr,
  resampledNegativeLogLikelihood,
  type ResampledMetric,
} from '../metrics/bootstrap.ts';

export const classes = 10;
export const maxEntropy = Math.log(classes);
/** Shared entropy bins and grid, so every histogram and ECDF lines up across methods. */
export const entropyBins = 30;
export const entropyGrid = Array.from({ length: 41 }, (_, i) => (maxEntropy * i) / 40);
/** Equal-width confidence bins of every ECE. */
export const calibrationBins = 10;

export type Predictor = (set: ImageSet) => Promise<Float32Array>;

export interface EvaluationSets {
  test: ImageSet;
  unknown: ImageSet[];
  fgsm: { epsilon: number; set: ImageSet }[];
  shift: { angle: number; set: ImageSet }[];
}

/** How the intervals are drawn: resamples and seed of the bootstrap, draws of the calibrated-ECE simulation. */
export interface IntervalSettings {
  resamples: number;
  seed: number;
  eceFloorDraws: number;
}

/** Every set's predicted probabilities, in the order of EvaluationSets. */
export interface SetProbabilities {
  test: Float32Array;
  unknown: Float32Array[];
  fgsm: Float32Array[];
  shift: Float32Array[];
}

type Interval = { low: number; high: number };

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** The mean of per-example values on resampled rows. */
function resampledMean(values: Float64Array): ResampledMetric {
  return {
    counts: [values.length],
    statistic: (indices) => {
      let sum = 0;
      for (let j = 0; j < indices.length; j++) sum += values[indices[j]];
      return sum / indices.length;
    },
  };
}

function topProbabilities(probabilities: Float32Array): Float64Array {
  const out = new Float64Array(probabilities.length / classes);
  for (let i = 0; i < out.length; i++) {
    let top = 0;
    for (let c = 0; c < classes; c++) top = Math.max(top, probabilities[i * classes + c]);
    out[i] = top;
  }
  return out;
}

/**
 * One seed per interval: the settings' seed plus a fixed offset for the set, so a
 * metric on a set is resampled with the same indices for every method (which is what
 * makes two methods' intervals comparable and their paired difference meaningful).
 */
const setSeed = (settings: IntervalSettings, offset: number) => settings.seed + 7 * offset;

function interval(metric: ResampledMetric, settings: IntervalSettings, offset: number): Interval {
  const result = bootstrapInterval(metric, { resamples: settings.resamples, seed: setSeed(settings, offset) });
  return { low: result.low, high: result.high };
}

export function calibrationBlock(probabilities: Float32Array, labels: Uint8Array, settings: IntervalSettings) {
  const summary = calibration(probabilities, labels, classes, { bins: calibrationBins });
  const floor = calibratedEceFloor(probabilities, classes, { bins: calibrationBins, draws: settings.eceFloorDraws, seed: settings.seed });
  return {
    accuracy: accuracy(probabilities, labels, classes),
    nll: negativeLogLikelihood(probabilities, labels, classes),
    brier: brierScore(probabilities, labels, classes),
    ece: summary.ece,
    mce: summary.mce,
    signedError: summary.signedError,
    meanConfidence: meanConfidence(probabilities, classes),
    intervals: {
      accuracy: interval(resampledAccuracy(probabilities, labels, classes), settings, 0),
      nll: interval(resampledNegativeLogLikelihood(probabilities, labels, classes), settings, 0),
      brier: interval(resampledBrierScore(probabilities, labels, classes), settings, 0),
      ece: interval(resampledCalibrationError(probabilities, labels, classes, { bins: calibrationBins }), settings, 0),
      meanConfidence: interval(resampledMean(topProbabilities(probabilities)), settings, 0),
    },
    // What a perfectly calibrated classifier with these confidences scores at this size and bin count: ECE's upward bias.
    eceCalibrated: { mean: floor.mean, high: floor.high, draws: floor.draws },
    bins: summary.bins,
    curve: calibrationCurve(probabilities, labels, classes, { bins: calibrationBins }),
  };
}

function entropyDistribution(entropies: Float64Array) {
  const counts = histogram(entropies, { min: 0, max: maxEntropy, bins: entropyBins });
  return { meanEntropy: mean(entropies), histogram: counts.fractions, inverseEcdf: inverseEcdf(entropies, entropyGrid) };
}

function shortMetrics(probabilities: Float32Array, labels: Uint8Array, settings: IntervalSettings, offset: number) {
  const entropies = entropy(probabilities, classes);
  return {
    accuracy: accuracy(probabilities, labels, classes),
    nll: negativeLogLikelihood(probabilities, labels, classes),
    ece: calibration(probabilities, labels, classes, { bins: calibrationBins }).ece,
    meanEntropy: mean(entropies),
    intervals: {
      accuracy: interval(resampledAccuracy(probabilities, labels, classes), settings, offset),
      nll: interval(resampledNegativeLogLikelihood(probabilities, labels, classes), settings, offset),
      ece: interval(resampledCalibrationError(probabilities, labels, classes, { bins: calibrationBins }), settings, offset),
      meanEntropy: interval(resampledMean(entropies), settings, offset),
    },
  };
}

/** Probabilities of `predict` on every set. */
export async function predictSets(predict: Predictor, sets: EvaluationSets, onStep?: () => void): Promise<SetProbabilities> {
  const each = async (set: ImageSet) => {
    const probabilities = await predict(set);
    onStep?.();
    return probabilities;
  };
  const test = await each(sets.test);
  const unknown = [];
  for (const set of sets.unknown) unknown.push(await each(set));
  const fgsm = [];
  for (const { set } of sets.fgsm) fgsm.push(await each(set));
  const shift = [];
  for (const { set } of sets.shift) shift.push(await each(set));
  return { test, unknown, fgsm, shift };
}

// Seed offsets of the sets: test 0, unknown set u at 100 + u, FGSM step i at 200 + i, rotation i at 300 + i.
const unknownOffset = (u: number) => 100 + u;

/** Every evaluation of one method from its probabilities on every set. */
export function evaluateProbabilities(probabilities: SetProbabilities, sets: EvaluationSets, settings: IntervalSettings) {
  const known = entropy(probabilities.test, classes);
  const unknown = sets.unknown.map((set, u) => {
    const p = probabilities.unknown[u];
    const entropies = entropy(p, classes);
    return {
      set: set.name,
      derived: set.derived,
      count: set.count,
      auroc: auroc(known, entropies),
      fpr95: fprAtTpr(known, entropies, 0.95),
      meanConfidence: meanConfidence(p, classes),
      fractionAboveKnown95: fractionAboveKnownQuantile(known, entropies, 0.95),
      intervals: {
        auroc: interval(resampledAuroc(known, entropies), settings, unknownOffset(u)),
        fpr95: interval(resampledFprAtTpr(known, entropies, 0.95), settings, unknownOffset(u)),
        meanEntropy: interval(resampledMean(entropies), settings, unknownOffset(u)),
      },
      ...entropyDistribution(entropies),
    };
  });
  return {
    calibration: calibrationBlock(probabilities.test, sets.test.labels, settings),
    ood: {
      known: { set: sets.test.name, count: sets.test.count, intervals: { meanEntropy: interval(resampledMean(known), settings, 0) }, ...entropyDistribution(known) },
      unknown,
    },
    fgsm: sets.fgsm.map(({ epsilon, set }, i) => ({ epsilon, ...shortMetrics(probabilities.fgsm[i], set.labels, settings, 200 + i) })),
    shift: sets.shift.map(({ angle, set }, i) => ({ angle, ...shortMetrics(probabilities.shift[i], set.labels, settings, 300 + i) })),
  };
}

export type Evaluation = ReturnType<typeof evaluateProbabilities>;

/** A paired difference: the statistic on the full sample and its interval from shared resamples. */
export interface Difference {
  estimate: number;
  low: number;
  high: number;
}

/**
 * first − second on the same test images (and the same unknown images, for the first
 * unknown set's AUROC and FPR95): each interval from resamples both methods share.
 */
export function pairedDifferences(first: SetProbabilities, second: SetProbabilities, sets: EvaluationSets, settings: IntervalSettings) {
  const labels = sets.test.labels;
  const difference = (a: ResampledMetric, b: ResampledMetric, offset: number): Difference => {
    const result = pairedDifferenceInterval(a, b, { resamples: settings.resamples, seed: setSeed(settings, offset) });
    return { estimate: result.estimate, low: result.low, high: result.high };
  };
  const detection = (p: SetProbabilities) => [entropy(p.test, classes), entropy(p.unknown[0], classes)] as const;
  const [knownA, unknownA] = detection(first);
  const [knownB, unknownB] = detection(second);
  return {
    accuracy: difference(resampledAccuracy(first.test, labels, classes), resampledAccuracy(second.test, labels, classes), 0),
    nll: difference(resampledNegativeLogLikelihood(first.test, labels, classes), resampledNegativeLogLikelihood(second.test, labels, classes), 0),
    ece: difference(resampledCalibrationError(first.test, labels, classes, { bins: calibrationBins }), resampledCalibrationError(second.test, labels, classes, { bins: calibrationBins }), 0),
    auroc: difference(resampledAuroc(knownA, unknownA), resampledAuroc(knownB, unknownB), unknownOffset(0)),
    fpr95: difference(resampledFprAtTpr(knownA, unknownA, 0.95), resampledFprAtTpr(knownB, unknownB, 0.95), unknownOffset(0)),
  };
}

export type Differences = ReturnType<typeof pairedDifferences>;

/** How many predictions `predictSets` makes, for progress. */
export function evaluationSteps(sets: EvaluationSets): number {
  return 1 + sets.unknown.length + sets.fgsm.length + sets.shift.length;
}
