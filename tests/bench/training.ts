/**
 * Training throughput (examples per second) of each zoo model on the running
 * backend, with the lean step (the default) against the reference step
 * (optimizer.minimize over model.apply), timed alternately on the same images.
 * tests/bench/train-step.ts goes further: thread layouts, batch sizes, the
 * forward + backward floor, PyTorch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { initializeWeights, trainModel, type TrainingStepKind } from '../../compute/models/train.ts';
import { buildModel, zoo } from '../../compute/models/zoo.ts';

export interface TrainingThroughput {
  model: string;
  parameters: number;
  /** The lean step's rate, best of the rounds. */
  examplesPerSecond: number;
  /** Seconds one full-profile epoch (55,000 images) would take at this rate. */
  epochSeconds: number;
  /** Lean ÷ reference images/s, low–high over the rounds. */
  leanOverReference: string;
}

export async function benchTrainingThroughput(steps = 20, models = zoo.map((spec) => spec.name), rounds = 2): Promise<TrainingThroughput[]> {
  const { train } = loadDataset('mnist');
  const rows: TrainingThroughput[] = [];
  for (const spec of zoo.filter((candidate) => models.includes(candidate.name))) {
    const model = buildModel(spec);
    initializeWeights(model, 1);
    const batch = spec.recipe.batchSize;
    const data = subset(train, batch * steps);
    const rate = async (step: TrainingStepKind) => {
      const started = performance.now();
      await trainModel(model, data, spec.recipe, 1, 2, spec.name, { step });
      return data.count / ((performance.now() - started) / 1000);
    };
    // Warm-up compiles kernels and allocates buffers; it is not timed.
    for (const step of ['reference', 'lean'] as const) await trainModel(model, subset(train, batch * 2), spec.recipe, 1, 1, spec.name, { step });
    const ratios: number[] = [];
    let best = 0;
    for (let round = 0; round < rounds; round++) {
      const reference = await rate('reference');
      const lean = await rate('lean');
      ratios.push(lean / reference);
      best = Math.max(best, lean);
    }
    rows.push({
      model: spec.name,
      parameters: model.countParams(),
      examplesPerSecond: best,
      epochSeconds: 55000 / best,
      leanOverReference: `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
    });
    model.dispose();
    tf.disposeVariables();
  }
  return rows;
}
