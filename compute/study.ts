/**
 * The study: which data sets, models and experiments, per profile. `full` is
 * what results/ holds; `quick` runs the same code on small subsets in a couple
 * of minutes, for tests and for trying things.
 */
import type { DatasetName } from './data/index.ts';
import type { FisherType, PredictiveType, SearchObjective, Structure } from './laplace/index.ts';
import { epochsFor, getModelSpec, modelNames, type ModelSpec } from './models/zoo.ts';

export const profileNames = ['full', 'quick'] as const;
export type ProfileName = (typeof profileNames)[number];

/** Experiments in the order they run; each writes its own artifacts. */
export const experimentNames = ['models', 'laplace', 'ensemble', 'landscape'] as const;
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
  laplace: LaplaceSettings;
  landscape: { models: string[]; subset: number; points1d: number; points2d: number; range: number; seed: number };
  /** Deep ensemble baseline: `members` networks of one architecture (the zoo model is member 0). */
  ensemble: { model: string; members: number };
}

/** One way of using a posterior: a predictive and the objective that tunes N and τ for it. */
export interface Variant {
  predictive: PredictiveType;
  objective: SearchObjective;
}

export interface LaplaceSettings {
  /** Models that get the Laplace treatment and the baselines. */
  models: string[];
  structures: Structure[];
  /** Variants for every model; the first is the one summary.json reports. */
  variants: Variant[];
  /** Models that also get every predictive × objective combination (and the 2×2 covariance artifact). */
  fullTreatment: string[];
  fit: { fisher: FisherType; mcSamples: number; trainSubset: number | null; seed: number };
  search: { validationSubset: number; samples: number; gridSize: number; logNRange: [number, number]; logTauRange: [number, number]; seed: number };
  evaluation: {
    samples: number;
    seed: number;
    /** Test images for calibration, detection (as known) and the attacks; null = all. */
    testSubset: number | null;
    /** Images of each unknown set. */
    unknownSubset: number;
    /** Test images attacked and rotated (the first of the test subset). */
    perturbedSubset: number;
    derivedSets: string[];
    fgsmEpsilons: number[];
    /** Rotation angles of the test subset (MNIST only), degrees. */
    shiftAngles: number[];
  };
}

const primaryVariant: Variant = { predictive: 'linearised', objective: 'nll' };
const allVariants: Variant[] = [
  primaryVariant,
  { predictive: 'linearised', objective: 'error+ece' },
  { predictive: 'sampled', objective: 'nll' },
  { predictive: 'sampled', objective: 'error+ece' },
];

export const profiles: Record<ProfileName, Profile> = {
  full: {
    name: 'full',
    datasets: ['mnist', 'fashion-mnist'],
    models: [...modelNames],
    split: { validationSize: 5000, splitSeed: 0 },
    subsets: { train: null, validation: null, test: null },
    epochs: (spec, dataset) => epochsFor(spec, dataset),
    trainingSeed: 1000,
    defaultOut: 'results',
    landscape: { models: ['lenet5', 'cnn-3'], subset: 500, points1d: 101, points2d: 41, range: 1, seed: 17 },
    // Five MLP-1s: training four more LeNet-5s (6 and 16 epochs) costs more than the 2-core budget allows.
    ensemble: { model: 'mlp-1', members: 5 },
    laplace: {
      // Both families by depth, LeNet-5 and the overconfident MLP-2; the last two get every variant.
      models: ['mlp-1', 'mlp-2', 'mlp-3', 'lenet5', 'cnn-1', 'cnn-2', 'cnn-3', 'mlp-2-overconfident'],
      structures: ['diag', 'kfac', 'efb', 'last-layer'],
      variants: [primaryVariant],
      fullTreatment: ['lenet5', 'mlp-2-overconfident'],
      fit: { fisher: 'mc', mcSamples: 1, trainSubset: 20000, seed: 7 },
      search: { validationSubset: 1000, samples: 8, gridSize: 6, logNRange: [2, 8], logTauRange: [-2, 4], seed: 11 },
      evaluation: {
        samples: 30,
        seed: 13,
        testSubset: 2000,
        unknownSubset: 1000,
        perturbedSubset: 500,
        derivedSets: ['rotated-90', 'inverted', 'noise'],
        fgsmEpsilons: [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
        shiftAngles: [0, 15, 30, 45, 60, 90, 120, 180],
      },
    },
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
    landscape: { models: ['lenet5'], subset: 50, points1d: 11, points2d: 5, range: 1, seed: 17 },
    ensemble: { model: 'mlp-1', members: 3 },
    laplace: {
      // One model, fully treated, exercises every artifact kind.
      models: ['lenet5'],
      structures: ['diag', 'kfac', 'efb', 'last-layer'],
      variants: [primaryVariant],
      fullTreatment: ['lenet5'],
      fit: { fisher: 'mc', mcSamples: 1, trainSubset: 500, seed: 7 },
      search: { validationSubset: 100, samples: 2, gridSize: 2, logNRange: [2, 6], logTauRange: [-1, 3], seed: 11 },
      evaluation: {
        samples: 4,
        seed: 13,
        testSubset: 200,
        unknownSubset: 100,
        perturbedSubset: 100,
        derivedSets: ['rotated-90', 'noise'],
        fgsmEpsilons: [0, 0.1],
        shiftAngles: [0, 90],
      },
    },
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

/** Every variant a model gets: the profile's, plus all combinations for the fully treated models (probit only for last-layer). */
export function variantsFor(profile: Profile, model: string, structure: Structure): Variant[] {
  const full = profile.laplace.fullTreatment.includes(model);
  const base = full ? allVariants : profile.laplace.variants;
  const extra: Variant[] =
    structure === 'last-layer' && full
      ? [
          { predictive: 'probit', objective: 'nll' },
          { predictive: 'probit', objective: 'error+ece' },
        ]
      : [];
  const seen = new Set<string>();
  return [...profile.laplace.variants, ...base, ...extra].filter((variant) => {
    const key = `${variant.predictive}/${variant.objective}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Seed for training one model: the profile's base plus the model's place in the zoo. */
export function trainingSeedFor(profile: Profile, modelName: string): number {
  getModelSpec(modelName);
  return profile.trainingSeed + modelNames.indexOf(modelName);
}
