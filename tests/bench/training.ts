/** Training throughput (examples per second) of each zoo model on the running backend. */
import * as tf from '@tensorflow/tfjs-core';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { initializeWeights, trainModel } from '../../compute/models/train.ts';
import { buildModel, zoo } from '../../compute/models/zoo.ts';

export interface TrainingThroughput {
  model: string;
  parameters: number;
  examplesPerSecond: number;
  /** Seconds one full-profile epoch (55,000 images) would take at this rate. */
  epochSeconds: number;
}

export async function benchTrainingThroughput(steps = 20, models = zoo.map((spec) => spec.name)): Promise<TrainingThroughput[]> {
  const { train } = loadDataset('mnist');
  const rows: TrainingThroughput[] = [];
  for (const spec of zoo.filter((candidate) => models.includes(candidate.name))) {
    const model = buildModel(spec);
    initializeWeights(model, 1);
    const batch = spec.recipe.batchSize;
    // Warm-up compiles kernels and allocates buffers; it is not timed.
    await trainModel(model, subset(train, batch * 2), spec.recipe, 1, 1, spec.name);
    const data = subset(train, batch * steps);
    const started = performance.now();
    await trainModel(model, data, spec.recipe, 1, 2, spec.name);
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      model: spec.name,
      parameters: model.countParams(),
      examplesPerSecond: data.count / seconds,
      epochSeconds: (55000 * seconds) / data.count,
    });
    model.dispose();
    tf.disposeVariables();
  }
  return rows;
}
