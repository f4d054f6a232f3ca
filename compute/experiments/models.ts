/**
 * Experiment "models": train every model of the zoo on every data set and
 * write results/models.json (parameters, epochs, accuracies, test NLL).
 */
import type { DatasetName } from '../data/index.ts';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageSet } from '../data/index.ts';
import { accuracy, negativeLogLikelihood } from '../metrics/index.ts';
import { predictProbabilities } from '../models/predict.ts';
import { Network } from '../laplace/network.ts';
import { classCount, getModelSpec } from '../models/zoo.ts';
import type { TaskContext } from '../workers/protocol.ts';
import { trainedZooModel, type RunSettings } from './inputs.ts';

export interface TrainTaskParams {
  settings: RunSettings;
  dataset: DatasetName;
  model: string;
  /** Training seed: 0 is the zoo model, k > 0 a replica from another seed. */
  member: number;
}

export interface ModelRow {
  dataset: DatasetName;
  model: string;
  family: string;
  depth: number;
  description: string;
  parameters: number;
  epochs: number;
  trainCount: number;
  validationCount: number;
  testCount: number;
  trainAccuracy: number;
  validationAccuracy: number;
  testAccuracy: number;
  testNll: number;
  /** Mean training objective of the last epoch (cross-entropy + weight decay). */
  finalTrainObjective: number;
  /** The layers that carry parameters, in order: what the curvature structures are built from. */
  layers: LayerRow[];
}

export interface LayerRow {
  name: string;
  kind: 'dense' | 'conv2d';
  /** [in, out] or [kh, kw, cin, cout]. */
  kernelShape: number[];
  fanIn: number;
  fanOut: number;
  hasBias: boolean;
  parameters: number;
}

export interface TrainTaskResult {
  row: ModelRow;
  member: number;
  reused: boolean;
}

/** Accuracy and mean negative log likelihood of a model on a set. */
async function evaluateModel(model: tfl.LayersModel, set: ImageSet): Promise<{ accuracy: number; nll: number }> {
  const probabilities = await predictProbabilities(model, set);
  return { accuracy: accuracy(probabilities, set.labels, classCount), nll: negativeLogLikelihood(probabilities, set.labels, classCount) };
}

export async function trainTask(params: TrainTaskParams, context: TaskContext): Promise<TrainTaskResult> {
  const { trained, data, train: trainSet } = await trainedZooModel(params.settings, params.dataset, params.model, context, params.member);
  try {
    const spec = getModelSpec(params.model);
    const [train, validation, test] = [
      await evaluateModel(trained.model, trainSet),
      await evaluateModel(trained.model, data.validation),
      await evaluateModel(trained.model, data.test),
    ];
    const history = trained.record.history;
    return {
      reused: trained.reused,
      member: params.member,
      row: {
        dataset: params.dataset,
        model: params.model,
        family: spec.family,
        depth: spec.depth,
        description: spec.description,
        parameters: trained.record.parameters,
        epochs: trained.record.epochs,
        trainCount: trainSet.count,
        validationCount: data.validation.count,
        testCount: data.test.count,
        trainAccuracy: train.accuracy,
        validationAccuracy: validation.accuracy,
        testAccuracy: test.accuracy,
        testNll: test.nll,
        finalTrainObjective: history[history.length - 1]?.trainObjective ?? 0,
        layers: new Network(trained.model).layers.map((layer) => ({
          name: layer.name,
          kind: layer.kind as 'dense' | 'conv2d', // the study's models are Dense and Conv2D
          kernelShape: layer.kernelShape,
          fanIn: layer.fanIn,
          fanOut: layer.fanOut,
          hasBias: layer.hasBias,
          parameters: (layer.fanIn + (layer.hasBias ? 1 : 0)) * layer.fanOut,
        })),
      },
    };
  } finally {
    trained.model.dispose();
  }
}
