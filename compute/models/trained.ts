/**
 * Trained models, cached. A checkpoint's folder name carries a hash of
 * everything that determines its weights (architecture, recipe, epochs, data
 * files, split, training subset, seed, backend, training-code version), so a
 * rerun reuses it and any change retrains.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { sha256, stableStringify } from '../artifacts/json.ts';
import { type DatasetName, type ImageSet } from '../data/index.ts';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { initializeWeights, trainModel, type EpochRecord, type TrainingProgress } from './train.ts';
import { buildModel, classCount, type ModelSpec, type TrainingRecipe } from './zoo.ts';

/** Bump when the training loop changes in a way that moves weights. */
export const trainingCodeVersion = 3;

export interface TrainingRequest {
  dataset: DatasetName;
  spec: ModelSpec;
  /** Overrides of the spec's recipe (the overconfident variants, the quick profile). */
  recipe: TrainingRecipe;
  epochs: number;
  seed: number;
  /** sha256 of the data files, so new data retrains. */
  dataHashes: string[];
  /** How the training split was made and how much of it is used. */
  split: { validationSize: number; splitSeed: number; trainSubset: number | null };
  backend: string;
}

/** What the sidecar of a trained checkpoint records. */
export interface TrainingRecord {
  dataset: DatasetName;
  model: string;
  parameters: number;
  epochs: number;
  steps: number;
  seed: number;
  trainCount: number;
  history: EpochRecord[];
  key: string;
  recipe: TrainingRecipe;
}

export function trainingKey(request: TrainingRequest): string {
  return sha256(
    stableStringify({
      trainingCodeVersion,
      dataset: request.dataset,
      layers: request.spec.layers,
      recipe: request.recipe,
      epochs: request.epochs,
      seed: request.seed,
      dataHashes: request.dataHashes,
      split: request.split,
      backend: request.backend,
    }),
  );
}

export function checkpointDir(cacheDir: string, request: TrainingRequest): string {
  return join(cacheDir, 'models', request.dataset, `${request.spec.name}-${trainingKey(request).slice(0, 16)}`);
}

export interface TrainedModel {
  model: tfl.LayersModel;
  record: TrainingRecord;
  dir: string;
  /** True when the checkpoint came from the cache. */
  reused: boolean;
}

/**
 * The trained model for `request`: loaded from the cache when a verified
 * checkpoint exists, otherwise trained and saved. A corrupt entry is reported
 * through `log` and rebuilt.
 */
export async function obtainTrainedModel(
  request: TrainingRequest,
  train: ImageSet,
  cacheDir: string,
  log: (line: string) => void,
  onProgress?: (progress: TrainingProgress) => void,
): Promise<TrainedModel> {
  const dir = checkpointDir(cacheDir, request);
  const label = `${request.dataset}/${request.spec.name}`;
  if (existsSync(dir)) {
    try {
      const { model, sidecar } = await loadCheckpoint<TrainingRecord>(dir);
      log(`reusing cached checkpoint for ${label} (${dir})`);
      return { model, record: sidecar.extra, dir, reused: true };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      log(`cached checkpoint for ${label} is unusable (${error.message}); rebuilding it`);
    }
  }
  const model = buildModel(request.spec);
  initializeWeights(model, request.seed);
  const run = await trainModel(model, train, request.recipe, request.epochs, request.seed + 1, label, { onProgress });
  const record: TrainingRecord = {
    dataset: request.dataset,
    model: request.spec.name,
    parameters: model.countParams(),
    epochs: run.epochs,
    steps: run.steps,
    seed: request.seed,
    trainCount: train.count,
    history: run.history,
    key: trainingKey(request),
    recipe: request.recipe,
  };
  await saveCheckpoint(model, dir, record);
  return { model, record, dir, reused: false };
}
