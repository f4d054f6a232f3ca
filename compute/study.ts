/**
 * The study: which data sets, models and experiments, per profile. `full` is
 * what results/ holds; `quick` runs the same code on small subsets in a couple
 * of minutes, for tests and for trying things.
 */
import type { DatasetName } from './data/index.ts';
import { getModelSpec, modelNames, type ModelSpec } from './models/zoo.ts';

export const profileNames = ['full', 'quick'] as const;
export type ProfileName = (typeof profileNames)[number];

/** Experiments in the order they run; each writes its own artifacts. */
export const experimentNames = ['models'] as const;
export type ExperimentName = (typeof experimentNames)[number];

export interface Profile {
  name: ProfileName;
  datasets: DatasetName[];
  models: string[];
  /** How the 60k training images are split. */
  split: { validationSize: number; splitSeed: number };
  /** Examples used from each split; null means all of it. */
  subsets: { train: number | null; validation: number | null; test: number | null };
  /** Epochs for a model on a data set (the recipe's, or fewer). */
  epochs(spec: ModelSpec, dataset: DatasetName): number;
  /** Seed of model initialisation and data order; model i of the zoo adds i. */
  trainingSeed: number;
  /** Where results go when --out is not given. */
  defaultOut: string;
}

export const profiles: Record<ProfileName, Profile> = {
  full: {
    name: 'full',
    datasets: ['mnist', 'fashion-mnist'],
    models: [...modelNames],
    split: { validationSize: 5000, splitSeed: 0 },
    subsets: { train: null, validation: null, test: null },
    epochs: (spec, dataset) => spec.recipe.epochs[dataset],
    trainingSeed: 1000,
    defaultOut: 'results',
  },
  quick: {
    name: 'quick',
    datasets: ['mnist', 'fashion-mnist'],
    // Two depths per family are enough to exercise every family-wise figure.
    models: ['mlp-1', 'mlp-2', 'lenet5', 'cnn-1', 'cnn-2'],
    split: { validationSize: 5000, splitSeed: 0 },
    subsets: { train: 2000, validation: 500, test: 500 },
    epochs: () => 2,
    trainingSeed: 1000,
    defaultOut: '.cache/out/quick',
  },
};

export class StudyError extends Error {
  override name = 'StudyError';
}

export function getProfile(name: string): Profile {
  if (!(profileNames as readonly string[]).includes(name)) {
    throw new StudyError(`Unknown profile "${name}"; choose one of ${profileNames.join(', ')}.`);
  }
  return profiles[name as ProfileName];
}

export function parseExperiments(list: string | undefined): ExperimentName[] {
  if (!list) return [...experimentNames];
  const names = list.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (!(experimentNames as readonly string[]).includes(name)) {
      throw new StudyError(`Unknown experiment "${name}"; choose from ${experimentNames.join(', ')}.`);
    }
  }
  return experimentNames.filter((name) => names.includes(name));
}

/** Seed for training one model: the profile's base plus the model's place in the zoo. */
export function trainingSeedFor(profile: Profile, modelName: string): number {
  getModelSpec(modelName);
  return profile.trainingSeed + modelNames.indexOf(modelName);
}
