import { describe, expect, it } from 'vitest';
import { evaluateProbabilities, pairedDifferences, type EvaluationSets, type SetProbabilities } from '../../compute/experiments/evaluation.ts';
import { bootstrapIntervals, pairedDifferenceIntervals, resampledAurocMetrics, resampledClassificationMetrics, resampledDetectionMetrics } from '../../compute/metrics/bootstrap.ts';
import { entropy, maxProbabilityScores } from '../../compute/metrics/index.ts';
import { Random } from '../../compute/laplace/random.ts';

const classes = 10;
const random = new Random(77);

function probabilities(count: number, sharpness: number): Float32Array {
  const out = new Float32Array(count * classes);
  for (let i = 0; i < count; i++) {
    const row = Array.from({ length: classes }, () => Math.exp(sharpness * random.normal()));
    const sum = row.reduce((a, b) => a + b, 0);
    row.forEach((v, c) => (out[i * classes + c] = v / sum));
  }
  return out;
}
const set = (name: string, count: number) =>
  ({ name, count, derived: null, labels: Uint8Array.from({ length: count }, () => random.integer(classes)) }) as unknown as EvaluationSets['test'];

const sets: EvaluationSets = { test: set('test', 150), unknown: [set('other', 90), set('noise', 40)], fgsm: [{ epsilon: 0.1, set: set('fgsm', 60) }], shift: [] };
const method = (sharpness: number): SetProbabilities => ({
  test: probabilities(150, sharpness),
  unknown: [probabilities(90, sharpness / 2), probabilities(40, sharpness / 2)],
  fgsm: [probabilities(60, sharpness)],
  shift: [],
});
const settings = { resamples: 120, seed: 3, eceFloorDraws: 10 };

/** The paired differences resampled from scratch, both methods on the same drawn rows, as evaluation.ts did before it reused statistics. */
function freshDifferences(first: SetProbabilities, second: SetProbabilities) {
  const classification = (p: SetProbabilities) => resampledClassificationMetrics(p.test, sets.test.labels, classes, { bins: 10, perExample: entropy(p.test, classes) });
  const detection = (p: SetProbabilities) => resampledDetectionMetrics(entropy(p.test, classes), entropy(p.unknown[0], classes), 0.95);
  const test = pairedDifferenceIntervals(classification(first), classification(second), { resamples: 120, seed: 3 });
  const msp = (p: SetProbabilities) => resampledAurocMetrics(maxProbabilityScores(p.test, classes), maxProbabilityScores(p.unknown[0], classes));
  const other = pairedDifferenceIntervals(detection(first), detection(second), { resamples: 120, seed: 3 + 7 * 100 });
  const otherMsp = pairedDifferenceIntervals(msp(first), msp(second), { resamples: 120, seed: 3 + 7 * 100 });
  const pick = (i: { estimate: number; low: number; high: number }) => ({ estimate: i.estimate, low: i.low, high: i.high });
  return { accuracy: pick(test.accuracy), nll: pick(test.nll), ece: pick(test.ece), auroc: pick(other.auroc), aurocMsp: pick(otherMsp.auroc), fpr95: pick(other.fpr) };
}

describe('reused resampled statistics', () => {
  it('give the paired differences that resampling both methods afresh gives, to the bit, whichever is computed first', () => {
    const baseline = method(3);
    const first = method(2);
    const second = method(2.5);
    // A row's evaluation before its differences, and its differences before its evaluation.
    evaluateProbabilities(baseline, sets, settings);
    evaluateProbabilities(first, sets, settings);
    expect(pairedDifferences(first, baseline, sets, settings)).toEqual(freshDifferences(first, baseline));
    expect(pairedDifferences(second, baseline, sets, settings)).toEqual(freshDifferences(second, baseline));
    const evaluated = evaluateProbabilities(second, sets, settings);
    // And the row's own intervals are those of a fresh bootstrap.
    const fresh = bootstrapIntervals(resampledClassificationMetrics(second.test, sets.test.labels, classes, { bins: 10, perExample: entropy(second.test, classes) }), { resamples: 120, seed: 3 });
    expect(evaluated.calibration.intervals.nll).toEqual({ low: fresh.nll.low, high: fresh.nll.high });
    expect(evaluated.calibration.intervals.ece).toEqual({ low: fresh.ece.low, high: fresh.ece.high });
    const detection = bootstrapIntervals(resampledDetectionMetrics(entropy(second.test, classes), entropy(second.unknown[1], classes), 0.95), { resamples: 120, seed: 3 + 7 * 101 });
    expect(evaluated.ood.unknown[1].intervals.auroc).toEqual({ low: detection.auroc.low, high: detection.auroc.high });
    expect(evaluated.ood.unknown[1].intervals.meanEntropy).toEqual({ low: detection.meanUnknown.low, high: detection.meanUnknown.high });
  });

  it('keep apart the same probabilities scored against other labels or at another seed', () => {
    const p = method(2);
    const baseline = method(3);
    const other = { ...settings, seed: 4 };
    const atThree = pairedDifferences(p, baseline, sets, settings);
    const atFour = pairedDifferences(p, baseline, sets, other);
    expect(atFour).not.toEqual(atThree);
    const relabelled: EvaluationSets = { ...sets, test: set('test', 150) };
    expect(pairedDifferences(p, baseline, relabelled, settings).accuracy).not.toEqual(atThree.accuracy);
  });
});

/** Largest probability of each row, by a loop of its own. */
const rowMaxima = (probs: Float32Array) => Array.from({ length: probs.length / classes }, (_, i) => Math.max(...probs.subarray(i * classes, (i + 1) * classes)));

/** Over every (known, unknown) pair: 1 when the unknown image's largest probability is the lower, ½ when equal. */
function bruteMspAuroc(known: number[], unknown: number[]): number {
  let wins = 0;
  for (const u of unknown) for (const k of known) wins += u < k ? 1 : u === k ? 0.5 : 0;
  return wins / (known.length * unknown.length);
}

function quantile7(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  return sorted[Math.floor(h)] + (h - Math.floor(h)) * (sorted[Math.ceil(h)] - sorted[Math.floor(h)]);
}

/** Known and unknown index draws of every resample at `seed`: set k from the k-th fork of new Random(seed). */
function draws(seed: number, knownCount: number, unknownCount: number) {
  const master = new Random(seed);
  const [knownStream, unknownStream] = [new Random(master.fork()), new Random(master.fork())];
  return Array.from({ length: settings.resamples }, () => ({
    known: Array.from({ length: knownCount }, () => knownStream.integer(knownCount)),
    unknown: Array.from({ length: unknownCount }, () => unknownStream.integer(unknownCount)),
  }));
}

describe('the AUROC by maximum probability', () => {
  it('is the pair count of each unknown set, with the interval and paired differences of explicit resampling at the entropy AUROC\'s seed', () => {
    const first = method(2);
    const baseline = method(3);
    const evaluated = evaluateProbabilities(first, sets, settings);
    sets.unknown.forEach((unknownSet, u) => {
      const known = rowMaxima(first.test);
      const unknown = rowMaxima(first.unknown[u]);
      const entry = evaluated.ood.unknown[u];
      expect(entry.aurocMsp).toBe(bruteMspAuroc(known, unknown));
      const values = draws(settings.seed + 7 * (100 + u), 150, unknownSet.count).map((r) => bruteMspAuroc(r.known.map((i) => known[i]), r.unknown.map((i) => unknown[i])));
      expect(entry.intervals.aurocMsp.low).toBeCloseTo(quantile7(values, 0.025), 14);
      expect(entry.intervals.aurocMsp.high).toBeCloseTo(quantile7(values, 0.975), 14);
    });
    const difference = pairedDifferences(first, baseline, sets, settings).aurocMsp;
    const [a, b] = [[rowMaxima(first.test), rowMaxima(first.unknown[0])], [rowMaxima(baseline.test), rowMaxima(baseline.unknown[0])]];
    const at = (m: number[][], r: { known: number[]; unknown: number[] }) => bruteMspAuroc(r.known.map((i) => m[0][i]), r.unknown.map((i) => m[1][i]));
    const differences = draws(settings.seed + 7 * 100, 150, 90).map((r) => at(a, r) - at(b, r));
    expect(difference.estimate).toBe(bruteMspAuroc(a[0], a[1]) - bruteMspAuroc(b[0], b[1]));
    expect(difference.low).toBeCloseTo(quantile7(differences, 0.025), 14);
    expect(difference.high).toBeCloseTo(quantile7(differences, 0.975), 14);
  });
});
