import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { CheckpointError, loadCheckpoint, saveCheckpoint, weightsFile } from '../../compute/models/checkpoint.ts';
import { predictLogits } from '../../compute/models/predict.ts';
import { initializeWeights } from '../../compute/models/train.ts';
import { accuracy } from '../../compute/metrics/index.ts';
import { predictProbabilities } from '../../compute/models/predict.ts';
import { obtainTrainedModel, type TrainingRequest } from '../../compute/models/trained.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';

const tinySpec = {
  ...getModelSpec('lenet5'),
  name: 'tiny-cnn',
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'valid', strides: 2, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'linear' },
  ],
} as const;

beforeAll(async () => {
  await startBackend('wasm');
});

function weightValues(model: { getWeights(): tf.Tensor[] }): number[][] {
  return model.getWeights().map((weight) => Array.from(weight.dataSync()));
}

describe('seeded initialisation', () => {
  it('gives the same weights for the same seed and different ones for another seed', () => {
    const [a, b, c] = [buildModel(tinySpec), buildModel(tinySpec), buildModel(tinySpec)];
    initializeWeights(a, 7);
    initializeWeights(b, 7);
    initializeWeights(c, 8);
    expect(weightValues(a)).toEqual(weightValues(b));
    expect(weightValues(a)).not.toEqual(weightValues(c));
    // He-uniform: every kernel entry of the ReLU conv lies within sqrt(6 / fan_in), fan_in = 3·3·1.
    const kernel = weightValues(a)[0];
    expect(Math.max(...kernel.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 9));
    expect(weightValues(a)[1].every((bias) => bias === 0)).toBe(true);
  });
});

describe('checkpoints', () => {
  const { test } = loadDataset('mnist');
  const images = subset(test, 64);

  it('save then load gives a model with identical predictions', async () => {
    const model = buildModel(tinySpec);
    initializeWeights(model, 3);
    const dir = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'model');
    await saveCheckpoint(model, dir, { note: 'test' });
    const loaded = await loadCheckpoint<{ note: string }>(dir);
    expect(loaded.sidecar.extra.note).toBe('test');
    expect(Array.from(await predictLogits(loaded.model, images))).toEqual(Array.from(await predictLogits(model, images)));
    // tfjs's own format: a model.json whose manifest names weights.bin.
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(manifest.format).toBe('layers-model');
    expect(manifest.weightsManifest[0].paths).toEqual([`./${weightsFile}`]);
  });

  it('refuses a missing folder, a corrupt weights file and NaN weights, each with a sentence saying what to do', async () => {
    await expect(loadCheckpoint('/nonexistent/checkpoint')).rejects.toThrow(/does not exist; pass a folder/);
    const model = buildModel(tinySpec);
    initializeWeights(model, 3);
    const dir = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'model');
    await saveCheckpoint(model, dir, {});
    const bytes = readFileSync(join(dir, weightsFile));
    bytes[10] ^= 0xff;
    writeFileSync(join(dir, weightsFile), bytes);
    await expect(loadCheckpoint(dir)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/does not match its recorded sha256.*retrain it/);

    const broken = buildModel(tinySpec);
    initializeWeights(broken, 3);
    const weights = broken.getWeights().map((weight, index) => (index === 0 ? tf.fill(weight.shape, Number.NaN) : weight.clone()));
    broken.setWeights(weights);
    const nanDir = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'model');
    await saveCheckpoint(broken, nanDir, {});
    await expect(loadCheckpoint(nanDir)).rejects.toThrow(/NaN or infinite weights/);
  });
});

describe('training cache', () => {
  it('trains once, then reuses the checkpoint and says so; a corrupt entry is rebuilt', async () => {
    const { train, test } = loadDataset('mnist');
    const cacheDir = mkdtempSync(join(tmpdir(), 'cache-'));
    const spec = getModelSpec('mlp-1');
    const request: TrainingRequest = {
      dataset: 'mnist',
      spec,
      recipe: spec.recipe,
      epochs: 2,
      seed: 5,
      dataHashes: ['x'],
      split: { validationSize: 5000, splitSeed: 0, trainSubset: 2000 },
      backend: 'wasm',
    };
    const logs: string[] = [];
    const first = await obtainTrainedModel(request, subset(train, 2000), cacheDir, (line) => logs.push(line));
    expect(first.reused).toBe(false);
    const testSet = subset(test, 1000);
    // Chance is 10%; 2,000 images and two epochs already give a usable classifier.
    expect(accuracy(await predictProbabilities(first.model, testSet), testSet.labels, 10)).toBeGreaterThan(0.75);

    const second = await obtainTrainedModel(request, subset(train, 2000), cacheDir, (line) => logs.push(line));
    expect(second.reused).toBe(true);
    expect(logs.some((line) => line.startsWith('reusing cached checkpoint for mnist/mlp-1'))).toBe(true);
    expect(weightValues(second.model)).toEqual(weightValues(first.model));

    const bytes = readFileSync(join(first.dir, weightsFile));
    bytes[0] ^= 0xff;
    writeFileSync(join(first.dir, weightsFile), bytes);
    const third = await obtainTrainedModel(request, subset(train, 2000), cacheDir, (line) => logs.push(line));
    expect(third.reused).toBe(false);
    expect(logs.some((line) => /unusable .*rebuilding it/.test(line))).toBe(true);
    // Same seed, same backend: retraining reproduces the weights bit for bit.
    expect(weightValues(third.model)).toEqual(weightValues(first.model));
  });
});
