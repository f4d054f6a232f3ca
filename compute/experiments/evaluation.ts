/**
 * Metric blocks shared by every method's artifact: calibration on the test
 * set, detection of unknown sets (by entropy, and its AUROC also by the maximum
 * probability), FGSM curves and rotation
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
  maxProbabilityScores,
  meanConfidence,
  negativeLogLikelihood,
} from '../metrics/index.ts';
import {
  differenceIntervalsOf,
  intervalsOf,
  resampleStatistics,
  resampledAurocMetrics,
  resampledClassificationMetrics,
  resampledDetectionMetrics,
  type BootstrapInterval,
  type ResampledStatistics,
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

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/**
 * One seed per set: the settings' seed plus a fixed offset for the set, so a set is
 * resampled with the same indices for every method and metric (which is what makes two
 * methods' intervals comparable and their paired difference meaningful).
 */
export const setSeed = (settings: IntervalSettings, offset: number) => settings.seed + 7 * offset;
const span = (interval: BootstrapInterval): Interval => ({ low: interval.low, high: interval.high });

/**
 * Resampled statistics already computed, by the arrays they came from (probabilities, then
 * labels or the unknown set's probabilities): a method's statistics on a set serve its own
 * intervals and every paired difference it takes part in (each row's versus the baselines,
 * the baselines' in every row), where they had been resampled again for each. The arrays
 * are the predictions of one method on one set and never change once made.
 */
const statisticsCache = new WeakMap<object, WeakMap<object, Map<string, ResampledStatistics>>>();

function cachedStatistics(first: object, second: object, key: string, compute: () => ResampledStatistics): ResampledStatistics {
  let bySecond = statisticsCache.get(first);
  if (!bySecond) statisticsCache.set(first, (bySecond = new WeakMap()));
  let byKey = bySecond.get(second);
  if (!byKey) bySecond.set(second, (byKey = new Map()));
  let statistics = byKey.get(key);
  if (!statistics) byKey.set(key, (statistics = compute()));
  return statistics;
}

/** Every resample's classification metrics (and mean entropy) of one set; `entropies` must be entropy(probabilities). */
function classificationStatistics(probabilities: Float32Array, labels: Uint8Array, entropies: Float64Array, settings: IntervalSettings, offset: number) {
  const options = { resamples: settings.resamples, seed: setSeed(settings, offset) };
  return cachedStatistics(probabilities, labels, `classification ${options.resamples} ${options.seed}`, () =>
    resampleStatistics(resampledClassificationMetrics(probabilities, labels, classes, { bins: calibrationBins, perExample: entropies }), options),
  );
}

/** Every resample's AUROC, FPR95 and unknown mean entropy, the known set being `test`'s entropies. */
function detectionStatistics(test: Float32Array, unknown: Float32Array, settings: IntervalSettings, offset: number, entropies?: { known: Float64Array; unknown: Float64Array }) {
  const options = { resamples: settings.resamples, seed: setSeed(settings, offset) };
  return cachedStatistics(test, unknown, `detection ${options.resamples} ${options.seed}`, () => {
    const { known, unknown: other } = entropies ?? { known: entropy(test, classes), unknown: entropy(unknown, classes) };
    return resampleStatistics(resampledDetectionMetrics(known, other, 0.95), options);
  });
}

/**
 * Every resample's AUROC by the maximum-probability score (MSP) against `test`'s: the same
 * seed as detectionStatistics, so the same resampled known and unknown images as the entropy
 * AUROC's.
 */
function mspStatistics(test: Float32Array, unknown: Float32Array, settings: IntervalSettings, offset: number, scores?: { known: Float64Array; unknown: Float64Array }) {
  const options = { resamples: settings.resamples, seed: setSeed(settings, offset) };
  return cachedStatistics(test, unknown, `msp ${options.resamples} ${options.seed}`, () => {
    const { known, unknown: other } = scores ?? { known: maxProbabilityScores(test, classes), unknown: maxProbabilityScores(unknown, classes) };
    return resampleStatistics(resampledAurocMetrics(known, other), options);
  });
}

/** Intervals of the classification metrics (and the mean entropy) of one set, one pass per resample; `entropies` must be entropy(probabilities). */
export function classificationIntervals(probabilities: Float32Array, labels: Uint8Array, entropies: Float64Array, settings: IntervalSettings, offset: number) {
  const intervals = intervalsOf(classificationStatistics(probabilities, labels, entropies, settings, offset));
  return {
    accuracy: span(intervals.accuracy),
    nll: span(intervals.nll),
    brier: span(intervals.brier),
    ece: span(intervals.ece),
    meanConfidence: span(intervals.meanConfidence),
    meanEntropy: span(intervals.mean),
  };
}

/** Intervals of AUROC, FPR95 and the unknown set's mean entropy, known and unknown resampled independently. */
export function detectionIntervals(known: Float64Array, unknown: Float64Array, settings: IntervalSettings, offset: number) {
  const intervals = intervalsOf(resampleStatistics(resampledDetectionMetrics(known, unknown, 0.95), { resamples: settings.resamples, seed: setSeed(settings, offset) }));
  return detectionSpans(intervals);
}

const detectionSpans = (intervals: Record<string, BootstrapInterval>) => ({ auroc: span(intervals.auroc), fpr95: span(intervals.fpr), meanEntropy: span(intervals.meanUnknown) });

/** The interval of the AUROC by maximum probability (scores from maxProbabilityScores), on the resamples of `detectionIntervals` at the same offset. */
export function mspAurocInterval(known: Float64Array, unknown: Float64Array, settings: IntervalSettings, offset: number) {
  return span(intervalsOf(resampleStatistics(resampledAurocMetrics(known, unknown), { resamples: settings.resamples, seed: setSeed(settings, offset) })).auroc);
}

export function calibrationBlock(probabilities: Float32Array, labels: Uint8Array, settings: IntervalSettings, intervals: ReturnType<typeof classificationIntervals>) {
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
    intervals: { accuracy: intervals.accuracy, nll: intervals.nll, brier: intervals.brier, ece: intervals.ece, meanConfidence: intervals.meanConfidence },
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
  const intervals = classificationIntervals(probabilities, labels, entropies, settings, offset);
  return {
    accuracy: accuracy(probabilities, labels, classes),
    nll: negativeLogLikelihood(probabilities, labels, classes),
    ece: calibration(probabilities, labels, classes, { bins: calibrationBins }).ece,
    meanEntropy: mean(entropies),
    intervals: { accuracy: intervals.accuracy, nll: intervals.nll, ece: intervals.ece, meanEntropy: intervals.meanEntropy },
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
export const unknownOffset = (u: number) => 100 + u;
export const fgsmOffset = (i: number) => 200 + i;

/** Every evaluation of one method from its probabilities on every set. */
export function evaluateProbabilities(probabilities: SetProbabilities, sets: EvaluationSets, settings: IntervalSettings) {
  const known = entropy(probabilities.test, classes);
  const knownMsp = maxProbabilityScores(probabilities.test, classes);
  const unknown = sets.unknown.map((set, u) => {
    const p = probabilities.unknown[u];
    const entropies = entropy(p, classes);
    const msp = maxProbabilityScores(p, classes);
    const mspInterval = intervalsOf(mspStatistics(probabilities.test, p, settings, unknownOffset(u), { known: knownMsp, unknown: msp })).auroc;
    return {
      set: set.name,
      derived: set.derived,
      count: set.count,
      auroc: auroc(known, entropies),
      aurocMsp: auroc(knownMsp, msp),
      fpr95: fprAtTpr(known, entropies, 0.95),
      meanConfidence: meanConfidence(p, classes),
      fractionAboveKnown95: fractionAboveKnownQuantile(known, entropies, 0.95),
      intervals: { ...detectionSpans(intervalsOf(detectionStatistics(probabilities.test, p, settings, unknownOffset(u), { known, unknown: entropies }))), aurocMsp: span(mspInterval) },
      ...entropyDistribution(entropies),
    };
  });
  const testIntervals = classificationIntervals(probabilities.test, sets.test.labels, known, settings, 0);
  return {
    calibration: calibrationBlock(probabilities.test, sets.test.labels, settings, testIntervals),
    ood: {
      known: { set: sets.test.name, count: sets.test.count, intervals: { meanEntropy: testIntervals.meanEntropy }, ...entropyDistribution(known) },
      unknown,
    },
    fgsm: sets.fgsm.map(({ epsilon, set }, i) => ({ epsilon, ...shortMetrics(probabilities.fgsm[i], set.labels, settings, fgsmOffset(i)) })),
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
 * unknown set's AUROC by entropy and by maximum probability, and FPR95): each interval
 * from resamples both methods share.
 */
export function pairedDifferences(first: SetProbabilities, second: SetProbabilities, sets: EvaluationSets, settings: IntervalSettings) {
  const labels = sets.test.labels;
  const classification = (p: SetProbabilities) => classificationStatistics(p.test, labels, entropy(p.test, classes), settings, 0);
  const detection = (p: SetProbabilities) => detectionStatistics(p.test, p.unknown[0], settings, unknownOffset(0));
  const test = differenceIntervalsOf(classification(first), classification(second));
  const msp = (p: SetProbabilities) => mspStatistics(p.test, p.unknown[0], settings, unknownOffset(0));
  const other = differenceIntervalsOf(detection(first), detection(second));
  const otherMsp = differenceIntervalsOf(msp(first), msp(second));
  const difference = (interval: BootstrapInterval): Difference => ({ estimate: interval.estimate, low: interval.low, high: interval.high });
  return {
    accuracy: difference(test.accuracy),
    nll: difference(test.nll),
    ece: difference(test.ece),
    auroc: difference(other.auroc),
    aurocMsp: difference(otherMsp.auroc),
    fpr95: difference(other.fpr),
  };
}

export type Differences = ReturnType<typeof pairedDifferences>;

/** How many predictions `predictSets` makes, for progress. */
export function evaluationSteps(sets: EvaluationSets): number {
  return 1 + sets.unknown.length + sets.fgsm.length + sets.shift.length;
}
