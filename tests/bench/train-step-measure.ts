/**
 * Images per second of one model's training, three ways on the same images,
 * interleaved round by round: the reference step (optimizer.minimize over
 * model.apply), the lean step (the default), and the floor under both: the
 * lean step's forward and backward pass of the cross-entropy alone on one
 * fixed batch (no optimizer, no weight decay, no batch assembly), and its
 * forward pass alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { leanGradients, sequentialForward } from '../../compute/models/lean-step.ts';
import { imageBatch, labelBatch } from '../../compute/models/tensors.ts';
import { crossEntropy, initializeWeights, trainModel, type TrainingStepKind } from '../../compute/models/train.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';

export interface StepMeasurement {
  model: string;
  batchSize: number;
  steps: number;
  rounds: number;
}

export interface StepRates {
  model: string;
  batchSize: number;
  /** Images per second of wall time, one entry per round. */
  reference: number[];
  lean: number[];
  forwardBackward: number[];
  forward: number[];
  /**
   * Images per second of the process's CPU time, one entry per round. On a
   * machine shared with other work a wall-clock rate moves with the
   * neighbours; CPU time moves far less. With one intra-op thread TensorFlow
   * runs each op on the calling thread, so in a one-worker process this is
   * the step's own cost (in a two-worker one it counts both workers).
   */
  referenceCpu: number[];
  leanCpu: number[];
}

interface Rate {
  wall: number;
  cpu: number;
}

async function imagesPerSecond(images: number, work: () => Promise<unknown> | unknown): Promise<Rate> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(cpuStarted);
  return { wall: images / ((performance.now() - started) / 1000), cpu: images / ((cpu.user + cpu.system) / 1e6) };
}

export async function measureTrainingSteps({ model: name, batchSize, steps, rounds }: StepMeasurement): Promise<StepRates> {
  const { train } = loadDataset('mnist');
  const spec = getModelSpec(name);
  const recipe = { ...spec.recipe, batchSize };
  const model = buildModel(spec);
  initializeWeights(model, 1);
  const data = subset(train, batchSize * steps);
  const trainOnce = (step: TrainingStepKind, set = data) => trainModel(model, set, recipe, 1, 2, name, { step });
  const gradients = leanGradients(model, crossEntropy);
  const forward = sequentialForward(model);
  const rows = Array.from({ length: batchSize }, (_, row) => row);
  const images = imageBatch(train, rows);
  const labels = tf.tensor1d(labelBatch(train, rows), 'int32');
  const forwardBackward = () => {
    for (let step = 0; step < steps; step++) {
      const { value, grads } = gradients(images, labels);
      tf.dispose([value, ...Object.values(grads)]);
    }
  };
  const forwardOnly = () => {
    for (let step = 0; step < steps; step++) tf.tidy(() => crossEntropy(forward(images), labels));
  };
  // Warm-up: kernels chosen, buffers allocated; not timed.
  const warmSet = subset(train, batchSize * 2);
  await trainOnce('reference', warmSet);
  await trainOnce('lean', warmSet);
  const rates: StepRates = { model: name, batchSize, reference: [], lean: [], forwardBackward: [], forward: [], referenceCpu: [], leanCpu: [] };
  for (let round = 0; round < rounds; round++) {
    // Alternate which step goes first, so a neighbour's burst does not always land on the same one.
    const order: TrainingStepKind[] = round % 2 === 0 ? ['reference', 'lean'] : ['lean', 'reference'];
    for (const kind of order) {
      const rate = await imagesPerSecond(data.count, () => trainOnce(kind));
      rates[kind].push(rate.wall);
      rates[kind === 'lean' ? 'leanCpu' : 'referenceCpu'].push(rate.cpu);
    }
    rates.forwardBackward.push((await imagesPerSecond(batchSize * steps, forwardBackward)).wall);
    rates.forward.push((await imagesPerSecond(batchSize * steps, forwardOnly)).wall);
  }
  tf.dispose([images, labels]);
  model.dispose();
  return rates;
}
