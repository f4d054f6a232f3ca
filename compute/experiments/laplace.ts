/**
 * Experiment "laplace": for one (data set, model), fit every curvature once
 * (cached), tune N and τ on validation data for each structure and
 * predictive, and evaluate the deterministic network, temperature scaling and
 * each Laplace variant on the same sets. Writes
 *   <data>/<model>/<method>.json         evaluations (sgd, temperature, diag, kfac, efb, last-layer)
 *   <data>/<model>/search/<method>-<predictive>.json   the (N, τ) surface
 * (summary.json is assembled from these afterwards, see summary.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sha256, stableStringify, writeJsonArtifact } from '../artifacts/json.ts';
import { covarianceArtifact, methodArtifact, searchArtifact } from '../artifacts/schemas.ts';
import { fgsmSigns, perturbSet } from '../attacks/index.ts';
import { applyTemperature, fitTemperature } from '../baselines/index.ts';
import type { Matrix } from '../linalg/index.ts';
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
  searchHyperparameters,
  type PredictiveType,
  type SearchResult,
  type Structure,
} from '../laplace/index.ts';
import { softmaxRows } from '../models/tensors.ts';
import { getProfile, variantsFor, type Profile } from '../study.ts';
import type { TaskContext } from '../workers/protocol.ts';
import { entropyBins, entropyGrid, evaluate, evaluationSteps, maxEntropy, type Evaluation, type EvaluationSets, type Predictor } from './evaluation.ts';
import { profileData, trainedZooModel, type RunSettings } from './inputs.ts';

/** Bump when fitting changes in a way that moves the curvature. */
export const laplaceCodeVersion = 2;

export interface LaplaceTaskParams {
  settings: RunSettings;
  dataset: DatasetName;
  model: string;
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
  const base = cut(test, settings.unknownSubset);
  const unknown = [cut(profileData(profile, otherDataset[dataset]).test, settings.unknownSubset), ...settings.derivedSets.map((name) => makeDerivedSet(name, base, settings.seed))];
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

/** The fields every method artifact starts with. */
export function artifactHeader(dataset: DatasetName, model: string, sets: EvaluationSets, samples: number, seed: number) {
  const perturbed = sets.fgsm[0] ?? sets.shift[0];
  return { dataset, model, testCount: sets.test.count, perturbedCount: perturbed?.set.count ?? 0, samples, seed, entropy: { max: maxEntropy, bins: entropyBins, grid: entropyGrid } };
}

/** The fitted curvature of every structure, from the cache or fitted now. */
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
      return curvature;
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
  const posterior = new Posterior(network, weights.map((w) => w.clone()), curvature, { structure: profile.laplace.structures[0], n: fitSet.count, tau: 1, kfacDamping: 'exact' });
  await new LaplaceModel(posterior, topology).save(path);
  posterior.dispose();
  return curvature;
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

export async function laplaceTask(params: LaplaceTaskParams, context: TaskContext): Promise<void> {
  const { settings, dataset, model: modelName, outDir } = params;
  const profile = getProfile(settings.profile);
  const { trained, data } = await trainedZooModel(settings, dataset, modelName, context);
  const network = new Network(trained.model);
  const weights = network.matricesFromModel(trained.model);
  const topology = trained.model.toJSON(undefined, false) as object;
  trained.model.dispose();
  const dir = join(outDir, dataset, modelName);
  try {
    const curvature = await fittedLaplace(settings, profile, dataset, modelName, trained.record.key, data.train, topology, network, weights, context);
    const sets = await evaluationSets(profile, dataset, data.test, network, weights);
    const validation = cut(data.validation, profile.laplace.search.validationSubset);
    const evaluation = profile.laplace.evaluation;
    const structures = profile.laplace.structures;
    const searchesPerStructure = structures.map((structure) => new Set(variantsFor(profile, modelName, structure).map((v) => v.predictive)).size);
    const variantCount = structures.reduce((sum, structure) => sum + variantsFor(profile, modelName, structure).length, 0);
    const totalSteps = (2 + variantCount) * evaluationSteps(sets) + searchesPerStructure.reduce((a, b) => a + b, 0) * profile.laplace.search.gridSize ** 2;
    let done = 0;
    const step = () => context.progress(++done, totalSteps, 'steps');
    const common = artifactHeader(dataset, modelName, sets, evaluation.samples, evaluation.seed);
    // The deterministic network.
    const mapPredictor: Predictor = async (set) => softmaxRows(logitsOf(network, weights, set), network.classes);
    const sgd = await evaluate(mapPredictor, sets, step);
    writeJsonArtifact(join(dir, 'sgd.json'), methodArtifact.parse({ ...common, method: 'sgd', variants: [{ predictive: 'map', objective: null, logN: null, logTau: null, ...sgd }] }));

    // Temperature scaling, fitted on the whole validation split.
    const temperature = fitTemperature(logitsOf(network, weights, data.validation), data.validation.labels, network.classes);
    const scaled = await evaluate(async (set) => applyTemperature(logitsOf(network, weights, set), network.classes, temperature), sets, step);
    writeJsonArtifact(
      join(dir, 'temperature.json'),
      methodArtifact.parse({ ...common, method: 'temperature', temperature, variants: [{ predictive: 'map', objective: null, logN: null, logTau: null, ...scaled }] }),
    );

    if (curvature.lastLayer && profile.laplace.fullTreatment.includes(modelName)) {
      writeJsonArtifact(join(dir, 'covariance-2x2.json'), covarianceArtifact.parse({ dataset, model: modelName, ...fisherPair(network, curvature.lastLayer) }));
    }

    for (const structure of structures) {
      const posterior = new Posterior(network, weights, curvature, { structure, n: 1, tau: 1, kfacDamping: 'exact' });
      const variants = variantsFor(profile, modelName, structure);
      const searches = new Map<PredictiveType, SearchResult>();
      for (const predictive of new Set(variants.map((variant) => variant.predictive))) {
        const search = profile.laplace.search;
        const result = await searchHyperparameters(posterior, imageData(validation), {
          method: 'grid',
          gridSize: search.gridSize,
          logNRange: search.logNRange,
          logTauRange: search.logTauRange,
          predictive,
          samples: search.samples,
          seed: search.seed,
          onProgress: () => step(),
        });
        searches.set(predictive, result);
        writeJsonArtifact(
          join(dir, 'search', `${structure}-${predictive}.json`),
          searchArtifact.parse({ dataset, model: modelName, method: structure, predictive, validationCount: validation.count, samples: search.samples, gridSize: search.gridSize, points: result.points, best: result.best }),
        );
      }
      const results = [];
      // When both objectives pick the same point, the evaluation is the same computation: do it once.
      const evaluated = new Map<string, Evaluation>();
      for (const variant of variants) {
        const best = searches.get(variant.predictive)!.best[variant.objective];
        const key = `${variant.predictive} ${best.logN} ${best.logTau}`;
        let result = evaluated.get(key);
        if (result) {
          for (let i = 0; i < evaluationSteps(sets); i++) step();
        } else {
          const tuned = posterior.withHyperparameters(10 ** best.logN, 10 ** best.logTau);
          // One draw of the weight samples serves all of the evaluation sets.
          const prepared = preparePredictive(tuned, { predictive: variant.predictive, samples: evaluation.samples, seed: evaluation.seed });
          result = await evaluate((set) => prepared.predict(imageData(set)), sets, step).finally(() => prepared.dispose());
          evaluated.set(key, result);
        }
        results.push({ ...variant, logN: best.logN, logTau: best.logTau, ...result });
      }
      writeJsonArtifact(
        join(dir, `${structure}.json`),
        methodArtifact.parse({
          ...common,
          method: structure,
          fit: { fisher: curvature.fisher, mcSamples: curvature.mcSamples, examples: curvature.count },
          variants: results,
        }),
      );
    }
  } finally {
    tf.dispose(weights);
  }
}
