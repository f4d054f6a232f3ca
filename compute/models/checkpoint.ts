/**
 * Checkpoints in TensorFlow.js's own layers format (model.json + weights.bin,
 * what `tf.loadLayersModel('file://…/model.json')` reads with tfjs-node), plus a
 * sidecar `checkpoint.json` with what we know about the run and the sha256 of
 * both files, so a corrupt cache entry is detected instead of used.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { sha256, stableStringify } from '../artifacts/json.ts';

export const modelFile = 'model.json';
export const weightsFile = 'weights.bin';
export const sidecarFile = 'checkpoint.json';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** What the sidecar records; `extra` is the caller's (training report, data set, …). */
export interface CheckpointSidecar<Extra = unknown> {
  format: 'laplace-bnn-checkpoint/1';
  files: { [modelFile]: string; [weightsFile]: string };
  extra: Extra;
}

/** Save `model` into `dir` atomically: everything goes to a temp folder that is renamed at the end. */
export async function saveCheckpoint<Extra>(model: tfl.LayersModel, dir: string, extra: Extra): Promise<void> {
  let modelJson = '';
  let weights = new Uint8Array();
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      modelJson = JSON.stringify({
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
        convertedBy: null,
        weightsManifest: [{ paths: [`./${weightsFile}`], weights: artifacts.weightSpecs }],
      });
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  const sidecar: CheckpointSidecar<Extra> = {
    format: 'laplace-bnn-checkpoint/1',
    files: { [modelFile]: sha256(modelJson), [weightsFile]: sha256(weights) },
    extra,
  };
  const temp = `${dir}.${process.pid}.tmp`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  writeFileSync(join(temp, modelFile), modelJson);
  writeFileSync(join(temp, weightsFile), weights);
  writeFileSync(join(temp, sidecarFile), stableStringify(sidecar));
  mkdirSync(dirname(dir), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(temp, dir);
}

/** Read and verify a checkpoint's sidecar; throws a CheckpointError naming what is wrong. */
export function readSidecar<Extra = unknown>(dir: string): CheckpointSidecar<Extra> {
  if (!existsSync(dir)) throw new CheckpointError(`Checkpoint folder ${dir} does not exist; pass a folder written by \`npm run compute -- train\` (they live under .cache/models/).`);
  const sidecarPath = join(dir, sidecarFile);
  let sidecar: CheckpointSidecar<Extra>;
  try {
    sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as CheckpointSidecar<Extra>;
  } catch {
    throw new CheckpointError(`Checkpoint ${dir} has no readable ${sidecarFile}; it is incomplete or not a checkpoint of this project: retrain it.`);
  }
  for (const file of [modelFile, weightsFile] as const) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new CheckpointError(`Checkpoint ${dir} is missing ${file}; it is incomplete: retrain it.`);
    const actual = sha256(readFileSync(path));
    if (actual !== sidecar.files?.[file]) {
      throw new CheckpointError(`Checkpoint file ${path} does not match its recorded sha256 (corrupt or edited); retrain it.`);
    }
  }
  return sidecar;
}

/** Load a verified checkpoint as a tfjs-layers model. */
export async function loadCheckpoint<Extra = unknown>(dir: string): Promise<{ model: tfl.LayersModel; sidecar: CheckpointSidecar<Extra> }> {
  const sidecar = readSidecar<Extra>(dir);
  const parsed = JSON.parse(readFileSync(join(dir, modelFile), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const bytes = readFileSync(join(dir, weightsFile));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: parsed.modelTopology, weightSpecs: parsed.weightsManifest.flatMap((group) => group.weights), weightData }),
  );
  for (const weight of model.getWeights()) {
    const allFinite = tf.tidy(() => tf.all(tf.isFinite(weight)));
    const ok = (await allFinite.data())[0] === 1;
    allFinite.dispose();
    if (!ok) {
      model.dispose();
      throw new CheckpointError(`Checkpoint ${dir} holds NaN or infinite weights; retrain it.`);
    }
  }
  return { model, sidecar };
}
