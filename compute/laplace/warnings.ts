/**
 * A posterior too wide for its network says nothing by itself: its predictions
 * are just worse. This compares a prediction with the deterministic network's
 * on the same inputs and, when the posterior's accuracy falls far below it or
 * its entropy sits near the maximum ln C where the network is confident,
 * returns one warning naming the likely cause and the remedy (null otherwise).
 * The command lines print it; a program can call it the same way.
 */
import { optimizeMarginalLikelihood } from './evidence.ts';
import type { LaplaceModel } from './model.ts';
import type { PredictiveType } from './predictive.ts';

/** Fraction of accuracy by which a posterior's prediction may trail the deterministic network's before a warning. */
export const accuracyWarningGap = 0.05;
/** Mean entropy, as a fraction of ln C, above which a prediction counts as near-uniform. */
export const entropyWarningFraction = 0.9;

export interface PredictionCheck {
  predictive: PredictiveType;
  /** The posterior's class probabilities [count × classes]. */
  probabilities: Float32Array;
  /** The deterministic network's on the same inputs (the map predictive). */
  mapProbabilities: Float32Array;
  /** Class indices, when known: the accuracy check needs them. */
  labels?: ArrayLike<number> | null;
  /** How the caller's users change τ and tune by validation data, for the remedy (defaults name the API). */
  advice?: { tauOption?: string; tuneByValidation?: string; tuneByEvidence?: string };
}

function accuracyOf(probabilities: Float32Array, labels: ArrayLike<number>, classes: number): number {
  let correct = 0;
  for (let row = 0; row < labels.length; row++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[row * classes + c] > probabilities[row * classes + best]) best = c;
    if (best === labels[row]) correct++;
  }
  return correct / labels.length;
}

function meanEntropy(probabilities: Float32Array, classes: number): number {
  let total = 0;
  for (const p of probabilities) if (p > 0) total -= p * Math.log(p);
  return total / (probabilities.length / classes);
}

/** Whether the posterior's τ is (to 0.05 decades) the one the marginal likelihood picks at its N; null when that cannot be computed. */
export function tauIsMarginalLikelihoodOptimum(laplace: LaplaceModel): boolean | null {
  try {
    const layerTau = laplace.posterior.spec.layerTau;
    const optimum = optimizeMarginalLikelihood(laplace.posterior, { perLayer: layerTau !== undefined });
    const given = layerTau ?? [laplace.tau];
    const best = Array.isArray(optimum.tau) ? optimum.tau : [optimum.tau];
    return given.every((tau, index) => Math.abs(Math.log10(tau) - Math.log10(best[index])) < 0.05);
  } catch {
    return null;
  }
}

const percent = (fraction: number) => `${(100 * fraction).toFixed(1)}%`;
const short = (value: number) => String(Number(value.toPrecision(3)));

/** One warning sentence when the prediction looks like that of a posterior too wide for the network, or null. */
export function predictionWarning(laplace: LaplaceModel, check: PredictionCheck): string | null {
  // A regression's prediction is its means: no accuracy or entropy to compare.
  if (check.predictive === 'map' || laplace.posterior.likelihood.kind === 'regression') return null;
  const classes = laplace.posterior.likelihood.predictionWidth;
  const symptoms: string[] = [];
  if (check.labels && check.labels.length > 0) {
    const accuracy = accuracyOf(check.probabilities, check.labels, classes);
    const deterministic = accuracyOf(check.mapProbabilities, check.labels, classes);
    if (accuracy < deterministic - accuracyWarningGap) symptoms.push(`accuracy (${percent(accuracy)}) is far below the deterministic network's (${percent(deterministic)})`);
  }
  const entropy = meanEntropy(check.probabilities, classes);
  const networkEntropy = meanEntropy(check.mapProbabilities, classes);
  const maximum = Math.log(classes);
  // Only where the network itself is fairly sure: a near-uniform network leaves nothing for the posterior to spoil.
  if (entropy > entropyWarningFraction * maximum && networkEntropy < 0.6 * maximum) {
    symptoms.push(`mean entropy (${entropy.toFixed(2)} nats) is near the maximum ln ${classes} = ${maximum.toFixed(2)} where the network's is ${networkEntropy.toFixed(2)}`);
  }
  if (symptoms.length === 0) return null;
  const tauOption = check.advice?.tauOption ?? 'a larger τ';
  const byValidation = check.advice?.tuneByValidation ?? 'tune(validation, "nll")';
  const byEvidence = check.advice?.tuneByEvidence ?? 'tuneMarginalLikelihood()';
  const width = `the posterior (N = ${short(laplace.n)}, τ = ${short(laplace.tau)}) is too wide for this network`;
  const fromEvidence = tauIsMarginalLikelihoodOptimum(laplace);
  let cause: string;
  if (fromEvidence === true) {
    // Marglik already chose this τ, so advising it again would be circular.
    cause =
      `; this τ maximises the marginal likelihood, which comes out tiny for a network trained without weight decay (its large weights are improbable under a tighter prior). ` +
      `Choose N and τ on validation data instead (${byValidation}), use ${tauOption}, or train with weight decay`;
  } else {
    cause = `; use ${tauOption} or a smaller N, or choose them on validation data (${byValidation})`;
    if (fromEvidence === false) {
      const optimum = optimizeMarginalLikelihood(laplace.posterior);
      if (typeof optimum.tau === 'number' && optimum.tau > laplace.tau) cause += `, or the marginal likelihood's τ = ${short(optimum.tau)} (${byEvidence})`;
    }
  }
  const alternative = check.predictive === 'sampled' ? '; the glm predictive tolerates a wider posterior than sampling does' : '';
  return `warning: the ${check.predictive} predictive's ${symptoms.join(' and its ')} on these inputs: ${width}${cause}${alternative}.`;
}
