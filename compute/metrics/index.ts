/**
 * Evaluation metrics on plain typed arrays (no TensorFlow): accuracy, NLL, Brier,
 * calibration (ECE, MCE, signed error, logit-spaced calibration curve, the ECE a
 * calibrated classifier would score), predictive entropy, histograms and inverse
 * ECDFs, and out-of-distribution detection scores (AUROC, FPR at 95% TPR). Every
 * function validates its inputs and throws an Error with one sentence when they are
 * malformed.
 */

export type { Labels, Probabilities, Values } from '../laplace/metrics/validate.ts';
export { ROW_SUM_TOLERANCE } from '../laplace/metrics/validate.ts';
export {
  PROBABILITY_FLOOR,
  accuracy,
  brierScore,
  confidences,
  meanConfidence,
  negativeLogLikelihood,
  predictedClasses,
} from '../laplace/metrics/classification.ts';
export { calibration, type CalibrationBin, type CalibrationResult } from '../laplace/metrics/calibration.ts';
export { CURVE_MAX_CONFIDENCE, calibrationCurve, logitBinEdges, type CalibrationCurveOptions, type CalibrationCurvePoint } from './calibration-curve.ts';
export { calibratedEceFloor, type EceFloor, type EceFloorOptions } from './ece-floor.ts';
export { entropy } from './entropy.ts';
export { histogram, inverseEcdf, type Histogram, type HistogramOptions } from './distribution.ts';
export { auroc, empiricalQuantile, fprAtTpr, fractionAboveKnownQuantile, maxProbabilityScores, thresholdAtTpr } from './detection.ts';
export {
  acrossSeeds,
  bootstrapInterval,
  bootstrapIntervals,
  pairedDifferenceInterval,
  pairedDifferenceIntervals,
  resampledAccuracy,
  resampledAuroc,
  resampledAurocMetrics,
  resampledBrierScore,
  resampledCalibrationError,
  resampledClassificationMetrics,
  resampledDetectionMetrics,
  resampledFprAtTpr,
  resampledNegativeLogLikelihood,
  type BootstrapInterval,
  type BootstrapOptions,
  type ResampledMetric,
  type ResampledMetrics,
  type SeedSummary,
} from './bootstrap.ts';
