/**
 * Experiment "ensemble": a deep ensemble (Lakshminarayanan et al. 2017) of
 * one architecture, the zoo model plus members trained from other seeds with
 * the same recipe, evaluated on the same sets as the Laplace methods.
 * Writes <data>/<model>/ensemble.json.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonArtifact } from '../artifacts/json.ts';
import { methodArtifact } from '../artifacts/schemas.ts';
import type { DatasetName, ImageSet } from '../data/index.ts';
import { Network } from '../laplace/index.ts';
import { fitTemperature } from '../baselines/index.ts';
import { softmaxRows } from '../models/tensors.ts';
import { getProfile } from '../study.ts';
import type { TaskContext } from '../workers/protocol.ts';
import { evaluateProbabilities, evaluationSteps, pairedDifferences, predictSets } from './evaluation.ts';
import { trainedZooModel, type RunSettings } from './inputs.ts';
import { allSets, artifactHeader, baselineProbabilities, evaluationSets, logitsOf } from './laplace.ts';

export interface EnsembleTaskParams {
  settings: RunSettings;
  dataset: DatasetName;
  outDir: string;
}

export async function ensembleTask(params: EnsembleTaskParams, context: TaskContext): Promise<void> {
  const { settings, dataset, outDir } = params;
  const profile = getProfile(settings.profile);
  const { model: modelName, members } = profile.ensemble;
  const networks: { network: Network; weights: tf.Tensor2D[] }[] = [];
  let data: Awaited<ReturnType<typeof trainedZooModel>>['data'] | null = null;
  try {
    for (let member = 0; member < members; member++) {
      const result = await trainedZooModel(settings, dataset, modelName, context, member);
      data = result.data;
      const network = new Network(result.trained.model);
      networks.push({ network, weights: network.matricesFromModel(result.trained.model) });
      result.trained.model.dispose();
    }
    const sets = await evaluationSets(profile, dataset, data!.test, networks[0].network, networks[0].weights);
    let done = 0;
    const predictor = async (set: ImageSet) => {
      const sum = new Float32Array(set.count * networks[0].network.classes);
      for (const { network, weights } of networks) softmaxRows(logitsOf(network, weights, set), network.classes).forEach((p, i) => (sum[i] += p / networks.length));
      return sum;
    };
    const probabilities = await predictSets(predictor, sets, () => context.progress(++done, evaluationSteps(sets), 'evaluations'));
    // Paired against member 0 alone (the zoo model) and its temperature scaling, on the same images.
    const first = networks[0];
    const temperature = fitTemperature(logitsOf(first.network, first.weights, data!.validation), data!.validation.labels, first.network.classes);
    const logits = allSets(sets).map((set) => logitsOf(first.network, first.weights, set));
    const baselines = baselineProbabilities(logits, sets, temperature);
    const intervals = profile.laplace.bootstrap;
    const versus = { sgd: pairedDifferences(probabilities, baselines.sgd, sets, intervals), temperature: pairedDifferences(probabilities, baselines.temperature, sets, intervals) };
    writeJsonArtifact(
      join(outDir, dataset, modelName, 'ensemble.json'),
      methodArtifact.parse({
        ...artifactHeader(dataset, modelName, 0, sets, members, 0, intervals),
        method: 'ensemble',
        variants: [{ predictive: 'map', objective: null, posterior: 'map', logN: null, logTau: null, versus, ...evaluateProbabilities(probabilities, sets, intervals) }],
      }),
    );
  } finally {
    for (const { weights } of networks) tf.dispose(weights);
  }
}
