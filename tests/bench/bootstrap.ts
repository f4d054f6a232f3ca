/**
 * The bootstrap intervals of one fully treated Laplace task (LeNet-5 on MNIST, full profile), on
 * synthetic probabilities of the same sizes, as ratios measured in one run (CPU time of this
 * process, so other work on a shared machine moves less of it):
 *
 *   before: every row's evaluation, and its "versus sgd" and "versus temperature" differences
 *           each resampling both methods again, as the study did;
 *   after:  evaluation.ts, where a method's resampled statistics on a set are computed once and
 *           serve its intervals and every paired difference it is part of;
 *   floor:  the least any resample-based statistic reads: one resampled index and one value per
 *           example and resample, timed as plain gathered sums of the same sizes in this run
 *           (the arithmetic estimate; the metrics read about nine values per example).
 *
 * Also the weighted path (multiplicities of the drawn indices instead of the indices) against the
 * index path on the test set and one unknown set: not the study's, since it changes last bits.
 *
 *   npx tsx tests/bench/bootstrap.ts [--rows 20] [--resamples 1000] [--repeats 2]
 */
import { parseArgs } from 'node:util';
import {
  classificationIntervals,
  evaluateProbabilities,
  pairedDifferences,
  type EvaluationSets,
  type IntervalSettings,
  type SetProbabilities,
} from '../../compute/experiments/evaluation.ts';
import {
  pairedDifferenceIntervals,
  resampleStatistics,
  resampleStatisticsWeighted,
  resampledClassificationMetrics,
  resampledDetectionMetrics,
} from '../../compute/metrics/bootstrap.ts';
import { entropy } from '../../compute/metrics/index.ts';
import { Random } from '../../compute/laplace/random.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20' },
    resamples: { type: 'string', default: '1000' },
    repeats: { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`Usage: npx tsx tests/bench/bootstrap.ts [options]

Times the bootstrap intervals of one LeNet-5 Laplace task (full-profile sizes, synthetic
probabilities) before and after reusing each method's resampled statistics, against an
arithmetic estimate, as ratios of CPU time measured in this run.

Options:
  --rows N        rows of the task: posterior variants plus the two baselines (default 20)
  --resamples N   bootstrap resamples (default 1000)
  --repeats N     timings of each path, interleaved (default 2)
  -h, --help      print this help`);
  process.exit(0);
}
const positive = (name: string, text: string) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${text}".`);
  return value;
};
const rowCount = positive('rows', values.rows!);
const resamples = positive('resamples', values.resamples!);
const repeats = positive('repeats', values.repeats!);

const classes = 10;
const random = new Random(2024);

/** Softmax rows whose confidences crowd the top bin, as a trained network's do. */
function probabilities(count: number, sharpness: number, labels: Uint8Array): Float32Array {
  const out = new Float32Array(count * classes);
  const logits = new Float64Array(classes);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      logits[c] = Math.exp(sharpness * (random.normal() + (c === labels[i] ? 1.5 : 0)));
      sum += logits[c];
    }
    for (let c = 0; c < classes; c++) out[i * classes + c] = logits[c] / sum;
  }
  return out;
}
const labelsOf = (count: number) => Uint8Array.from({ length: count }, () => random.integer(classes));
const imageSet = (name: string, count: number, labels = labelsOf(count)) => ({ name, count, labels, derived: null }) as unknown as EvaluationSets['test'];

// The full profile's sets: 10,000 test images, the other data set's 10,000, three derived sets,
// FGSM at 8 steps and rotations at 8 angles on 2,000 test images each.
const sets: EvaluationSets = {
  test: imageSet('test', 10_000),
  unknown: [imageSet('other', 10_000), ...['rotated-90', 'inverted', 'noise'].map((name) => imageSet(name, 2_000))],
  fgsm: [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5].map((epsilon) => ({ epsilon, set: imageSet(`fgsm ${epsilon}`, 2_000) })),
  shift: [0, 15, 30, 45, 60, 90, 120, 180].map((angle) => ({ angle, set: imageSet(`rotated ${angle}`, 2_000) })),
};
const methodProbabilities = (sharpness: number): SetProbabilities => ({
  test: probabilities(10_000, sharpness, sets.test.labels),
  unknown: sets.unknown.map((set) => probabilities(set.count, sharpness / 3, set.labels)),
  fgsm: sets.fgsm.map(({ set }) => probabilities(set.count, sharpness / 2, set.labels)),
  shift: sets.shift.map(({ set }) => probabilities(set.count, sharpness / 2, set.labels)),
});
const settings: IntervalSettings = { resamples, seed: 23, eceFloorDraws: 200 };
console.log(`Synthetic LeNet-5 task: ${rowCount} rows, ${resamples} resamples; generating probabilities…`);
const baselines = { sgd: methodProbabilities(4), temperature: methodProbabilities(3) };
const rows = Array.from({ length: rowCount - 2 }, (_, r) => methodProbabilities(3 + (r % 5) / 5));

const cpuSeconds = (work: () => unknown) => {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

// Per-example reads per resample of one row's own intervals (the "after" path) and of its two
// paired differences (which the "before" path resamples again, both methods each time).
const classificationExamples = sets.test.count + [...sets.fgsm, ...sets.shift].reduce((sum, { set }) => sum + set.count, 0);
const detectionExamples = sets.unknown.reduce((sum, set) => sum + sets.test.count + set.count, 0);
const versusExamples = 2 * 2 * (sets.test.count + sets.test.count + sets.unknown[0].count);
// The floor reads one value per example and resample, whatever the metrics (they read about nine: six sums and three bin counters).
const classificationReads = 1;
const detectionReads = 1;

const copy = (p: SetProbabilities): SetProbabilities => ({ test: p.test.slice(), unknown: p.unknown.map((a) => a.slice()), fgsm: p.fgsm.map((a) => a.slice()), shift: p.shift.map((a) => a.slice()) });

/**
 * One task's evaluations, each row with its two paired differences. Before: each difference
 * resampled both methods again (pairedDifferenceIntervals, as evaluation.ts did). After:
 * evaluation.ts, whose differences take the methods' statistics already resampled. Fresh arrays
 * each time, so nothing is served from an earlier repeat.
 */
function task(reuse: boolean) {
  const sgd = copy(baselines.sgd);
  const temperature = copy(baselines.temperature);
  const options = (offset: number) => ({ resamples, seed: settings.seed + 7 * offset });
  const classification = (m: SetProbabilities) => resampledClassificationMetrics(m.test, sets.test.labels, classes, { bins: 10, perExample: entropy(m.test, classes) });
  const detection = (m: SetProbabilities) => resampledDetectionMetrics(entropy(m.test, classes), entropy(m.unknown[0], classes), 0.95);
  const versus = (p: SetProbabilities, q: SetProbabilities) => {
    if (reuse) return pairedDifferences(p, q, sets, settings);
    return [pairedDifferenceIntervals(classification(p), classification(q), options(0)), pairedDifferenceIntervals(detection(p), detection(q), options(100))];
  };
  evaluateProbabilities(sgd, sets, settings);
  evaluateProbabilities(temperature, sets, settings);
  for (const p of rows.map(copy)) {
    versus(p, sgd);
    versus(p, temperature);
    evaluateProbabilities(p, sets, settings);
  }
}
const before = () => task(false);
const after = () => task(true);

/** The arithmetic estimate: plain gathered sums over resampled indices, `reads` values per example, for `examples` examples. */
function floorSeconds(): number {
  const n = 10_000;
  const value = Float64Array.from({ length: n }, () => random.uniform());
  const indices = Int32Array.from({ length: n * 100 }, () => random.integer(n));
  let sink = 0;
  const seconds = cpuSeconds(() => {
    for (let r = 0; r < 100; r++) {
      let sum = 0;
      for (let j = r * n; j < (r + 1) * n; j++) sum += value[indices[j]];
      sink += sum;
    }
  });
  if (sink === -1) console.log(sink);
  const perRead = seconds / (100 * n);
  const reads = resamples * (rowCount * (classificationExamples * classificationReads + detectionExamples * detectionReads));
  return reads * perRead;
}

// Warm-up: draws the index blocks once (both paths share them, as a task's rows do).
classificationIntervals(baselines.sgd.test, sets.test.labels, entropy(baselines.sgd.test, classes), settings, 0);
const timings: { before: number; after: number; floor: number }[] = [];
for (let k = 0; k < repeats; k++) {
  const b = cpuSeconds(before);
  const a = cpuSeconds(after);
  timings.push({ before: b, after: a, floor: floorSeconds() });
  console.log(`repeat ${k + 1}: before ${b.toFixed(1)} s, after ${a.toFixed(1)} s CPU`);
}
const range = (ratios: number[]) => `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
console.table({
  'before / after': range(timings.map((t) => t.before / t.after)),
  'after / arithmetic estimate': range(timings.map((t) => t.after / t.floor)),
  'before / arithmetic estimate': range(timings.map((t) => t.before / t.floor)),
});
console.log(
  `Arithmetic estimate: ${rowCount} rows × ${resamples} resamples × (${classificationExamples} classification examples × ${classificationReads} reads + ${detectionExamples} detection examples × ${detectionReads}) = ${(
    (rowCount * resamples * (classificationExamples * classificationReads + detectionExamples * detectionReads)) /
    1e9
  ).toFixed(2)} G gathered reads; the paired differences (${versusExamples} examples a row a resample before) now cost none.`,
);

// The weighted path against the index path, on the test set and the other data set.
const test = baselines.sgd.test;
const classificationMetrics = resampledClassificationMetrics(test, sets.test.labels, classes, { bins: 10, perExample: entropy(test, classes) });
const detectionMetrics = resampledDetectionMetrics(entropy(test, classes), entropy(baselines.sgd.unknown[0], classes), 0.95);
const options = { resamples, seed: 5 };
resampleStatisticsWeighted(classificationMetrics, options);
resampleStatisticsWeighted(detectionMetrics, options);
const weighted: { classification: number; detection: number }[] = [];
for (let k = 0; k < 2 * repeats; k++) {
  const indexClassification = cpuSeconds(() => resampleStatistics(classificationMetrics, options));
  const weightedClassification = cpuSeconds(() => resampleStatisticsWeighted(classificationMetrics, options));
  const indexDetection = cpuSeconds(() => resampleStatistics(detectionMetrics, options));
  const weightedDetection = cpuSeconds(() => resampleStatisticsWeighted(detectionMetrics, options));
  weighted.push({ classification: indexClassification / weightedClassification, detection: indexDetection / weightedDetection });
}
console.table({
  'index path / weighted path, test set (10,000)': range(weighted.map((w) => w.classification)),
  'index path / weighted path, detection (10,000 + 10,000)': range(weighted.map((w) => w.detection)),
});
