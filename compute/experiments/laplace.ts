/**
 * Experiment "laplace": for one (data set, model, training seed), fit every
 * curvature once (cached), tune N and τ for each structure on validation
 * data (GLM predictive, probit link, on cached statistics), take the
 * marginal-likelihood and textbook posteriors beside it, and evaluate the
 * deterministic network, temperature scaling and every posterior on the same
 * sets, each metric with its bootstrap interval. One pass of Jacobians over
 * each evaluation set serves every structure and posterior. Writes
 *   <data>/<model>/<method>.json         evaluations (sgd, temperature, diag, kfac, efb, last-layer)
 *   <data>/<model>/search/<method>-<predictive>.json   the (N, τ) surface
 *   <data>/<model>/sweep/<method>.json   the width sweep (fully treated models)
 *   <data>/<model>/seed-<k>/<method>.json   training seed k > 0: test and other data set only
 * (summary.json is assembled from these afterwards, see summary.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sha256, stableStringify, writeJsonArtifact } from '../artifacts/json.ts';
import { covarianceArtifact, methodArtifact, searchArtifact, sweepArtifact } from '../artifacts/schemas.ts';
import { fgsmSigns, perturbSet } from '../attacks/index.ts';
import { applyTemperature, fitTemperature } from '../baselines/index.ts';
import type { Matrix } from '../laplace/linalg/index.ts';
import { makeDerivedSet, rotate, subset, type DatasetName, type ImageSet } from '../data/index.ts';
import {
  fitCurvature,
  imageData,
  loadLaplace,
  LaplaceModel,
  Network,
  Posterior,
  PosteriorFileError,
  preparePredictive,
  saveLaplace,
  searchHyperparameters,
  searchHyperparametersTogether,
  type Structure,
} from '../laplace/index.ts';
import { glmBatchSize } from '../laplace/functional.ts';
import { glmStatisticsTogether, probitFromStatistics } from '../laplace/search.ts';
import { accuracy, auroc, calibration, entropy, fprAtTpr, maxProbabilityScores, negativeLogLikelihood } from '../metrics/index.ts';
import { softmaxRows } from '../models/tensors.ts';
import { getModelSpec } from '../models/zoo.ts';
import { getProfile, variantsFor, type Profile, type Variant } from '../study.ts';
import type { TaskContext } from '../workers/protocol.ts';
import {
  calibrationBins,
  classes,
  classificationIntervals,
  detectionIntervals,
  fgsmOffset,
  entropyBins,
  entropyGrid,
  evaluateProbabilities,
  evaluationSteps,
  maxEntropy,
  mean,
  mspAurocInterval,
  pairedDifferences,
  predictSets,
  unknownOffset,
  type EvaluationSets,
  type IntervalSettings,
  type SetProbabilities,
} from './evaluation.ts';
import { profileData, trainedZooModel, type RunSettings } from './inputs.ts';

/** Bump when fitting changes in a way that moves the curvature. */
export const laplaceCodeVersion = 3;

export interface LaplaceTaskParams {
  settings: RunSettings;
  dataset: DatasetName;
  model: string;
  /** Training seed: 0 is the zoo model and gets every evaluation; k > 0 the test and the other data set only. */
  member: number;
  outDir: string;
}

const otherDataset: Record<DatasetName, DatasetName> = { mnist: 'fashion-mnist', 'fashion-mnist': 'mnist' };
const cut = (set: ImageSet, count: number | null) => (count === null || count >= set.count ? set : subset(set, count));

export function logitsOf(network: Network, weights: tf.Tensor2D[], set: ImageSet): Float32Array {
  const data = imageData(set);
  const out = new Float32Array(set.count * network.classes);
  for (let start = 0; start < set.count; start += 1000) {
    const end = Math.min(set.count, start + 1000);
    const logits = tf.tidy(() => network.forward(data.inputs(start, end), weights));
    out.set(logits.dataSync(), start * network.classes);
    logits.dispose();
  }
  return out;
}

export async function evaluationSets(profile: Profile, dataset: DatasetName, test: ImageSet, network: Network, weights: tf.Tensor2D[]): Promise<EvaluationSets> {
  const settings = profile.laplace.evaluation;
  const known = cut(test, settings.testSubset);
  const base = cut(test, settings.derivedSubset);
  const unknown = [otherTestSet(profile, dataset), ...settings.derivedSets.map((name) => makeDerivedSet(name, base, settings.seed))];
  // The attack's gradient is taken on the deterministic network, as in the original study.
  const perturbed = cut(known, settings.perturbedSubset);
  const signs = await fgsmSigns({ kind: 'map', network, weights }, perturbed);
  return {
    test: known,
    unknown,
    fgsm: settings.fgsmEpsilons.map((epsilon) => ({ epsilon, set: perturbSet(perturbed, signs, epsilon) })),
    shift: dataset === 'mnist' ? settings.shiftAngles.map((angle) => ({ angle, set: angle === 0 ? perturbed : rotate(perturbed, angle) })) : [],
  };
}

const otherTestSet = (profile: Profile, dataset: DatasetName) => cut(profileData(profile, otherDataset[dataset]).test, profile.laplace.evaluation.unknownSubset);

/** What another training seed is evaluated on: the test set and the other data set, the summary's columns. */
export function seedSets(profile: Profile, dataset: DatasetName, test: ImageSet): EvaluationSets {
  return { test: cut(test, profile.laplace.evaluation.testSubset), unknown: [otherTestSet(profile, dataset)], fgsm: [], shift: [] };
}

/** Every set of `sets` in predictSets' order. */
export function allSets(sets: EvaluationSets): ImageSet[] {
  return [sets.test, ...sets.unknown, ...sets.fgsm.map((entry) => entry.set), ...sets.shift.map((entry) => entry.set)];
}

/** Per-set arrays in allSets' order back into SetProbabilities. */
function bySet(sets: EvaluationSets, arrays: Float32Array[]): SetProbabilities {
  let i = 0;
  const take = (n: number) => arrays.slice(i, (i += n));
  return { test: take(1)[0], unknown: take(sets.unknown.length), fgsm: take(sets.fgsm.length), shift: take(sets.shift.length) };
}

/** The fields every method artifact starts with. */
export function artifactHeader(dataset: DatasetName, model: string, member: number, sets: EvaluationSets, samples: number, seed: number, bootstrap: IntervalSettings) {
  const perturbed = sets.fgsm[0] ?? sets.shift[0];
  return {
    dataset,
    model,
    member,
    bootstrap: { resamples: bootstrap.resamples, seed: bootstrap.seed, level: 0.95 },
    testCount: sets.test.count,
    perturbedCount: perturbed?.set.count ?? 0,
    samples,
    seed,
    entropy: { max: maxEntropy, bins: entropyBins, grid: entropyGrid },
  };
}

/** The deterministic network's and temperature scaling's probabilities on every set, from logits per set. */
export function baselineProbabilities(logits: Float32Array[], sets: EvaluationSets, temperature: number) {
  return {
    sgd: bySet(sets, logits.map((values) => softmaxRows(values, classes))),
    temperature: bySet(sets, logits.map((values) => applyTemperature(values, classes, temperature))),
  };
}

/** The fitted curvature of every structure, from the cache or fitted now, and which of the two. */
async function fittedLaplace(
  settings: RunSettings,
  profile: Profile,
  dataset: DatasetName,
  modelName: string,
  checkpointKey: string,
  train: ImageSet,
  topology: unknown,
  network: Network,
  weights: tf.Tensor2D[],
  context: TaskContext,
) {
  const fit = profile.laplace.fit;
  const key = sha256(stableStringify({ laplaceCodeVersion, checkpointKey, fit, structures: profile.laplace.structures }));
  const path = join(settings.cacheDir, 'laplace', dataset, `${modelName}-${key.slice(0, 16)}.laplace`);
  if (existsSync(path)) {
    try {
      const loaded = await loadLaplace(path);
      context.log(`reusing cached curvature for ${dataset}/${modelName} (${path})`);
      const curvature = loaded.posterior.curvature;
      loaded.dispose(); // its copy of the MAP weights; the caller has its own
      return { curvature, fromCache: true };
    } catch (error) {
      if (!(error instanceof PosteriorFileError)) throw error;
      context.log(`cached curvature for ${dataset}/${modelName} is unusable (${error.message}); refitting it`);
    }
  }
  const fitSet = cut(train, fit.trainSubset);
  const curvature = await fitCurvature(network, weights, imageData(fitSet), {
    kinds: profile.laplace.structures,
    fisher: fit.fisher,
    mcSamples: fit.mcSamples,
    seed: fit.seed,
    onProgress: (done, total) => context.progress(done, total, 'fit examples'),
  });
  const posterior = new Posterior(network, weights.map((w) => w.clone()), curvature, { structure: profile.laplace.structures[0], n: train.count, tau: 1, kfacDamping: 'exact' });
  await saveLaplace(new LaplaceModel(posterior, topology), path);
  posterior.dispose();
  return { curvature, fromCache: false };
}

/**
 * Two weights of the last layer for the interactive N and τ figure: among the
 * 50 weights with the largest Fisher diagonal, the pair whose Fisher entries
 * are most correlated. The site shows (N·F₂ + τ·I)⁻¹ for their 2×2 block F₂:
 * the posterior covariance of the two given all other weights.
 */
function fisherPair(network: Network, fisher: Matrix) {
  const d = fisher.rows;
  const diagonal = Array.from({ length: d }, (_, i) => fisher.data[i * d + i]);
  const candidates = diagonal.map((value, index) => ({ value, index })).sort((a, b) => b.value - a.value).slice(0, 50).map((entry) => entry.index);
  let best = { p: candidates[0], q: candidates[1], correlation: 0 };
  for (const p of candidates) {
    for (const q of candidates) {
      if (q <= p) continue;
      const correlation = fisher.data[p * d + q] / Math.sqrt(diagonal[p] * diagonal[q]);
      if (Math.abs(correlation) > Math.abs(best.correlation)) best = { p, q, correlation };
    }
  }
  const last = network.layers[network.layers.length - 1];
  const at = (index: number) => ({ row: Math.floor(index / last.fanOut), column: index % last.fanOut, isBias: last.hasBias && Math.floor(index / last.fanOut) === last.fanIn });
  const { p, q } = best;
  return {
    layer: last.name,
    weights: [at(p), at(q)],
    fisherBlock: [
      [fisher.data[p * d + p], fisher.data[p * d + q]],
      [fisher.data[q * d + p], fisher.data[q * d + q]],
    ],
    correlation: best.correlation,
  };
}

/** log10 N and log10 τ of the textbook posterior: N the training-set size, τ = N·λ (λ the recipe's weight decay, or the study's when it has none). */
export function textbookPoint(profile: Profile, model: string, trainCount: number): { logN: number; logTau: number } {
  const decay = getModelSpec(model).recipe.weightDecay || profile.laplace.textbookWeightDecay;
  return { logN: Math.log10(trainCount), logTau: Math.log10(trainCount * decay) };
}

interface Point {
  logN: number;
  logTau: number;
}

/**
 * One network's Laplace evaluation. It says it `reused` work when its curvature came from the
 * cache: its time then leaves out the fit, so the manifest must not count it as a cold task.
 */
/** What a Laplace task did: whether its fit came from the cache, its seconds per phase, and the images each pass saw (for the bench's arithmetic). */
export interface LaplaceTaskResult {
  reused: boolean;
  /** Wall seconds per phase. */
  phases: Record<string, number>;
  /** CPU seconds of the whole process per phase (every thread's: the task's own only when nothing else computes in the process). */
  cpuPhases: Record<string, number>;
  images: {
    /** Training images the curvature was fitted on (0 when the fit came from the cache). */
    fit: number;
    /** Validation images of the one GLM search pass. */
    search: number;
    /** Images of the FGSM sign pass (a forward and backward pass each). */
    fgsm: number;
    /** Images of the statistics (Jacobian) pass: every evaluation set not taken from an earlier one. */
    statistics: number;
    /** Images of every evaluation set, each seen by the sampled predictive `samples` times per sampled variant. */
    evaluation: number;
    /** Sampled variants (the original's recipe), each with its own sampled search. */
    sampledVariants: number;
  };
}

export async function laplaceTask(params: LaplaceTaskParams, context: TaskContext): Promise<LaplaceTaskResult> {
  const { settings, dataset, model: modelName, outDir } = params;
  const member = params.member ?? 0;
  const profile = getProfile(settings.profile);
  const { trained, data, train } = await trainedZooModel(settings, dataset, modelName, context, member);
  const network = new Network(trained.model);
  const weights = network.matricesFromModel(trained.model);
  const topology = trained.model.toJSON(undefined, false) as object;
  trained.model.dispose();
  const dir = member === 0 ? join(outDir, dataset, modelName) : join(outDir, dataset, modelName, `seed-${member}`);
  const full = member === 0 && profile.laplace.fullTreatment.includes(modelName);
  // Seconds per phase, logged at the end: where a task's time goes, for the budget.
  const phases: Record<string, number> = {};
  // And the process's CPU seconds per phase: the work itself when one thread computes (as in the bench), whatever the machine's load.
  const cpuPhases: Record<string, number> = {};
  let phaseStart = performance.now();
  let cpuStart = process.cpuUsage();
  const phase = (name: string) => {
    const now = performance.now();
    const cpu = process.cpuUsage(cpuStart);
    phases[name] = (phases[name] ?? 0) + (now - phaseStart) / 1000;
    cpuPhases[name] = (cpuPhases[name] ?? 0) + (cpu.user + cpu.system) / 1e6;
    phaseStart = now;
    cpuStart = process.cpuUsage();
  };
  // The posteriors share `weights`, which the finally below disposes; they hold no tensors of their own.
  const posteriors: Posterior[] = [];
  let reused = false;
  const images: LaplaceTaskResult['images'] = { fit: 0, search: 0, fgsm: 0, statistics: 0, evaluation: 0, sampledVariants: 0 };
  try {
    const { curvature, fromCache } = await fittedLaplace(settings, profile, dataset, modelName, trained.record.key, train, topology, network, weights, context);
    reused = fromCache;
    images.fit = fromCache ? 0 : train.count;
    phase('fit');
    const sets = member === 0 ? await evaluationSets(profile, dataset, data.test, network, weights) : seedSets(profile, dataset, data.test);
    const search = profile.laplace.search;
    const evaluation = profile.laplace.evaluation;
    const intervals = profile.laplace.bootstrap;
    const structures = profile.laplace.structures;
    const validation = cut(data.validation, search.validationSubset);
    const textbook = textbookPoint(profile, modelName, train.count);
    const variants = new Map(structures.map((structure) => [structure, member === 0 ? variantsFor(profile, modelName, structure) : variantsFor(profile, modelName, structure).filter((v) => v.predictive === 'glm' && v.objective !== 'error+ece')]));
    const sampledCount = [...variants.values()].flat().filter((v) => v.predictive === 'sampled').length;
    images.search = validation.count;
    images.fgsm = sets.fgsm[0]?.set.count ?? 0;
    images.sampledVariants = sampledCount;
    const setCount = evaluationSteps(sets);
    const totalSteps = structures.length * 2 + setCount * (1 + sampledCount) + sampledCount * search.sampled.gridSize ** 2;
    let done = 0;
    const step = () => context.progress(++done, totalSteps, 'steps');
    const common = artifactHeader(dataset, modelName, member, sets, evaluation.samples, evaluation.seed, intervals);

    if (curvature.lastLayer && full) {
      writeJsonArtifact(join(dir, 'covariance-2x2.json'), covarianceArtifact.parse({ dataset, model: modelName, ...fisherPair(network, curvature.lastLayer) }));
    }

    // N and τ of every GLM posterior: tuned on cached validation statistics, marginal likelihood at N = the training-set size, textbook.
    const chosen = new Map<Structure, Map<string, Point>>();
    const marglikPoints = new Map<Structure, Point>();
    const tunedPoints = new Map<Structure, Point>();
    for (const structure of structures) posteriors.push(new Posterior(network, weights, curvature, { structure, n: train.count, tau: 1, kfacDamping: 'exact' }));
    // One Jacobian pass over the validation images serves every structure's grid.
    const results = await searchHyperparametersTogether(posteriors, imageData(validation), {
      method: 'grid',
      gridSize: search.gridSize,
      logNRange: search.logNRange,
      logTauRange: search.logTauRange,
      predictive: 'glm',
      link: 'probit',
      marglikN: train.count,
      seed: search.seed,
    });
    for (const [p, structure] of structures.entries()) {
      const result = results[p];
      step();
      if (!result.marglik) throw new Error(`The ${structure} fit of ${dataset}/${modelName} has no mean loss at W*, so it has no marginal likelihood; refit it.`);
      const marglik = { logN: result.marglik.logN, logTau: result.marglik.logTau };
      marglikPoints.set(structure, marglik);
      tunedPoints.set(structure, { logN: result.best.nll.logN, logTau: result.best.nll.logTau });
      if (member === 0) {
        writeJsonArtifact(
          join(dir, 'search', `${structure}-glm.json`),
          searchArtifact.parse({
            dataset,
            model: modelName,
            method: structure,
            predictive: 'glm',
            validationCount: validation.count,
            samples: 0,
            gridSize: search.gridSize,
            points: result.points,
            best: result.best,
            edges: result.edges,
            marglik: result.marglik,
            textbook,
          }),
        );
      }
      const points = new Map<string, Point>();
      for (const variant of variants.get(structure)!) {
        if (variant.predictive !== 'glm') continue;
        const point = variant.posterior === 'marglik' ? marglik : variant.posterior === 'textbook' ? textbook : result.best[variant.objective as 'nll' | 'error+ece'];
        points.set(variantKey(variant), { logN: point.logN, logTau: point.logTau });
      }
      chosen.set(structure, points);
    }

    phase('search');
    // One pass of Jacobians per evaluation set: the logits at W* and τ·diag Σ_f of every structure at each s = ln(N/τ) it needs.
    const ratioLists = structures.map((structure) => distinctRatios([...chosen.get(structure)!.values()]));
    const logits: Float32Array[] = [];
    const scaled: Float32Array[][][] = structures.map(() => []);
    const passed = allSets(sets);
    images.evaluation = passed.reduce((sum, set) => sum + set.count, 0);
    for (const [i, set] of passed.entries()) {
      const source = prefixSource(set, passed.slice(0, i));
      if (source >= 0) {
        // The same images in the same batches as an earlier set's first ones: its rows are these statistics.
        const rows = set.count * classes;
        logits.push(logits[source].slice(0, rows));
        structures.forEach((_, p) => scaled[p].push(scaled[p][source].map((values) => values.slice(0, rows))));
      } else {
        images.statistics += set.count;
        const statistics = await glmStatisticsTogether(posteriors, imageData(set), ratioLists.map((list) => list.map((key) => Number(key) * Math.LN10)));
        logits.push(statistics.logits);
        structures.forEach((_, p) => scaled[p].push(statistics.scaledVariances[p]));
      }
      step();
    }
    phase('statistics');
    const glmProbabilities = (p: number, point: Point) => {
      const index = ratioLists[p].indexOf(ratioKey(point));
      return bySet(sets, logits.map((values, i) => probitFromStatistics(values, scaled[p][i][index], 10 ** point.logTau, classes)));
    };

    // The baselines, from the same logits; temperature scaling fitted on the whole validation split.
    const temperature = fitTemperature(logitsOf(network, weights, data.validation), data.validation.labels, network.classes);
    const baselines = baselineProbabilities(logits, sets, temperature);
    const map = { predictive: 'map', objective: null, posterior: 'map', logN: null, logTau: null, versus: null } as const;
    writeJsonArtifact(join(dir, 'sgd.json'), methodArtifact.parse({ ...common, method: 'sgd', variants: [{ ...map, ...evaluateProbabilities(baselines.sgd, sets, intervals) }] }));
    writeJsonArtifact(
      join(dir, 'temperature.json'),
      methodArtifact.parse({ ...common, method: 'temperature', temperature, variants: [{ ...map, ...evaluateProbabilities(baselines.temperature, sets, intervals) }] }),
    );
    const versus = (probabilities: SetProbabilities) => ({
      sgd: pairedDifferences(probabilities, baselines.sgd, sets, intervals),
      temperature: pairedDifferences(probabilities, baselines.temperature, sets, intervals),
    });

    for (const [p, structure] of structures.entries()) {
      const posterior = posteriors[p];
      const rows = [];
      for (const variant of variants.get(structure)!) {
        let point: Point;
        let probabilities: SetProbabilities;
        phase('intervals');
        if (variant.predictive === 'glm') {
          point = chosen.get(structure)!.get(variantKey(variant))!;
          probabilities = glmProbabilities(p, point);
        } else {
          // The original's recipe: the sampled network, tuned on error + ECE by a direct search.
          const sampled = search.sampled;
          const result = await searchHyperparameters(posterior, imageData(cut(data.validation, sampled.validationSubset)), {
            method: 'grid',
            gridSize: sampled.gridSize,
            logNRange: sampled.logNRange,
            logTauRange: sampled.logTauRange,
            predictive: 'sampled',
            samples: sampled.samples,
            marglikN: train.count,
            seed: search.seed,
            onProgress: () => step(),
          });
          writeJsonArtifact(
            join(dir, 'search', `${structure}-sampled.json`),
            searchArtifact.parse({
              dataset,
              model: modelName,
              method: structure,
              predictive: 'sampled',
              validationCount: sampled.validationSubset,
              samples: sampled.samples,
              gridSize: sampled.gridSize,
              points: result.points,
              best: result.best,
              edges: result.edges,
              marglik: result.marglik,
              textbook,
            }),
          );
          point = result.best['error+ece'];
          const prepared = preparePredictive(posterior.withHyperparameters(10 ** point.logN, 10 ** point.logTau), { predictive: 'sampled', samples: evaluation.samples, seed: evaluation.seed });
          try {
            // One draw of the weight samples serves all of the evaluation sets.
            probabilities = await predictSets((set) => prepared.predict(imageData(set)), sets, step);
          } finally {
            prepared.dispose();
          }
        }
        phase(variant.predictive === 'glm' ? 'link' : 'sampled');
        rows.push({ ...variant, logN: point.logN, logTau: point.logTau, versus: versus(probabilities), ...evaluateProbabilities(probabilities, sets, intervals) });
      }
      writeJsonArtifact(
        join(dir, `${structure}.json`),
        methodArtifact.parse({ ...common, method: structure, fit: { fisher: curvature.fisher, mcSamples: curvature.mcSamples, examples: curvature.count }, variants: rows }),
      );
      phase('intervals');
      if (full) {
        const sweep = widthSweep(profile, sets, baselines.sgd, (point) => glmProbabilities(p, point), textbook, intervals);
        writeJsonArtifact(
          join(dir, 'sweep', `${structure}.json`),
          sweepArtifact.parse({ dataset, model: modelName, method: structure, ...sweep, tuned: tunedPoints.get(structure)!, marglik: marglikPoints.get(structure)! }),
        );
        phase('sweep');
      }
    }
    context.log(`laplace ${dataset}/${modelName}${member > 0 ? ` (seed ${member})` : ''} phases: ${Object.entries(phases).map(([name, seconds]) => `${name} ${seconds.toFixed(0)}s`).join(', ')}`);
  } finally {
    tf.dispose(weights);
  }
  return { reused, phases, cpuPhases, images };
}

/**
 * The index of an earlier set whose first images are exactly `set`'s, in whole GLM batches (so every
 * batch holds the same images and gives the same floats), or −1. The FGSM step ε = 0 and the rotation
 * by 0° are the test set's first 2,000 images: 4,000 of MNIST's 58,000 images per pass.
 */
function prefixSource(set: ImageSet, earlier: ImageSet[]): number {
  if (set.count % glmBatchSize !== 0) return -1;
  return earlier.findIndex((candidate) => {
    if (candidate.count < set.count || candidate.height !== set.height || candidate.width !== set.width) return false;
    const pixels = set.count * set.height * set.width;
    for (let i = 0; i < pixels; i++) if (!Object.is(candidate.images[i], set.images[i])) return false;
    for (let i = 0; i < set.count; i++) if (candidate.labels[i] !== set.labels[i]) return false;
    return true;
  });
}

const variantKey = (variant: Variant) => `${variant.predictive} ${variant.objective} ${variant.posterior}`;
/** s = ln(N/τ) keyed by log10(N/τ), rounded far below any grid's step. */
const ratioKey = (point: Point) => (point.logN - point.logTau).toFixed(9);
const distinctRatios = (points: Point[]) => [...new Set(points.map(ratioKey))];

/**
 * The width sweep: the textbook covariance divided by 10^k (N and τ both times 10^k,
 * so s and the cached statistics stay those of the textbook point), from wider than
 * textbook to the collapse onto W*. In-domain accuracy, NLL, ECE; AUROC (by entropy and
 * by maximum probability) and FPR95 against the other data set; mean entropy under FGSM at one ε.
 */
function widthSweep(
  profile: Profile,
  sets: EvaluationSets,
  deterministic: SetProbabilities,
  probabilitiesAt: (point: Point) => SetProbabilities,
  textbook: Point,
  settings: IntervalSettings,
) {
  const { exponents, fgsmEpsilon } = profile.laplace.sweep;
  const attacked = sets.fgsm.findIndex((entry) => entry.epsilon === fgsmEpsilon);
  if (attacked < 0) throw new Error(`The width sweep's FGSM step ${fgsmEpsilon} is not among the profile's steps (${sets.fgsm.map((entry) => entry.epsilon).join(', ')}).`);
  const labels = sets.test.labels;
  const measure = (probabilities: SetProbabilities) => {
    const known = entropy(probabilities.test, classes);
    const unknown = entropy(probabilities.unknown[0], classes);
    const attackedEntropy = entropy(probabilities.fgsm[attacked], classes);
    // The same sets and seeds as the method artifacts' intervals.
    const test = classificationIntervals(probabilities.test, labels, known, settings, 0);
    const other = detectionIntervals(known, unknown, settings, unknownOffset(0));
    const knownMsp = maxProbabilityScores(probabilities.test, classes);
    const unknownMsp = maxProbabilityScores(probabilities.unknown[0], classes);
    const attackedSet = sets.fgsm[attacked].set;
    const fgsm = classificationIntervals(probabilities.fgsm[attacked], attackedSet.labels, attackedEntropy, settings, fgsmOffset(attacked));
    return {
      accuracy: accuracy(probabilities.test, labels, classes),
      nll: negativeLogLikelihood(probabilities.test, labels, classes),
      ece: calibration(probabilities.test, labels, classes, { bins: calibrationBins }).ece,
      auroc: auroc(known, unknown),
      aurocMsp: auroc(knownMsp, unknownMsp),
      fpr95: fprAtTpr(known, unknown, 0.95),
      fgsmEntropy: mean(attackedEntropy),
      intervals: {
        accuracy: test.accuracy,
        nll: test.nll,
        ece: test.ece,
        auroc: other.auroc,
        aurocMsp: mspAurocInterval(knownMsp, unknownMsp, settings, unknownOffset(0)),
        fpr95: other.fpr95,
        fgsmEntropy: fgsm.meanEntropy,
      },
    };
  };
  return {
    testCount: sets.test.count,
    unknownSet: sets.unknown[0].name,
    unknownCount: sets.unknown[0].count,
    fgsm: { epsilon: fgsmEpsilon, count: sets.fgsm[attacked].set.count },
    textbook,
    deterministic: measure(deterministic),
    points: exponents.map((k) => {
      const point = { logN: textbook.logN + k, logTau: textbook.logTau + k };
      return { k, ...point, ...measure(probabilitiesAt(point)) };
    }),
  };
}
