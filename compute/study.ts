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

/** Experiments in the order they run; each writes its own artifacts (demo exports the playground's files from laplace's). */
export const experimentNames = ['models', 'laplace', 'ensemble', 'landscape', 'demo'] as const;
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
  /** Seed of model initialisation and data order; model i of the zoo adds i, training seed k adds 7919·k. */
  trainingSeed: number;
  /** Models trained from `count` seeds (seed 0 is the zoo model); the others get a shorter evaluation, for the spread across seeds. */
  seeds: { models: string[]; count: number };
  /** Where results go when --out is not given. */
  defaultOut: string;
  laplace: LaplaceSettings;
  /**
   * Figures 1–3: `points1d` and `points2d` per axis on the line and plane over ±`range`. Figure 2's
   * likelihood plane has `likelihoodPoints` per axis over ±`likelihoodSigmas` Laplace standard deviations.
   */
  landscape: { models: string[]; subset: number; points1d: number; points2d: number; range: number; likelihoodPoints: number; likelihoodSigmas: number; seed: number };
  /** Deep ensemble baseline: `members` networks of one architecture, training seeds 0 … members − 1. */
  ensemble: { model: string; members: number };
}

/**
 * Which posterior of a fit a row reports. `tuned`: N and τ chosen on validation
 * data by the variant's objective; `marglik`: τ maximising the marginal
 * likelihood at N = the training-set size; `textbook`: that N and τ = N·λ,
 * untuned; `original`: the original study's recipe (sampled predictive, error + ECE).
 */
export const posteriorLabels = ['tuned', 'marglik', 'textbook', 'original'] as const;
export type PosteriorLabel = (typeof posteriorLabels)[number];

/** One way of using a posterior: a predictive and how N and τ are chosen for it. */
export interface Variant {
  predictive: PredictiveType;
  objective: SearchObjective | 'marglik' | null;
  posterior: PosteriorLabel;
}

export interface LaplaceSettings {
  /** Models that get the Laplace treatment and the baselines. */
  models: string[];
  structures: Structure[];
  /** Models that also get the error + ECE objective, the original's sampled recipe and the width sweep. */
  fullTreatment: string[];
  /** Structures that get the original's sampled recipe on the fully treated models (each costs `samples` passes per image). */
  sampledStructures: Structure[];
  fit: { fisher: FisherType; mcSamples: number; trainSubset: number | null; seed: number };
  /** The cached GLM search (probit link) and the direct search of the sampled predictive. */
  search: {
    validationSubset: number;
    gridSize: number;
    logNRange: [number, number];
    logTauRange: [number, number];
    sampled: { validationSubset: number; samples: number; gridSize: number; logNRange: [number, number]; logTauRange: [number, number] };
    seed: number;
  };
  /** Prior precision per training example for the textbook point when a network was trained without weight decay. */
  textbookWeightDecay: number;
  /** Width sweep of the focus networks: the textbook covariance divided by 10^k for each k (k → large is the collapse onto W*). */
  sweep: { exponents: number[]; fgsmEpsilon: number };
  /** Percentile bootstrap over test images behind every interval. */
  bootstrap: { resamples: number; seed: number; eceFloorDraws: number };
  evaluation: {
    /** Weight samples of the sampled predictive. */
    samples: number;
    seed: number;
    /** Test images for calibration and detection (as known); null = all. */
    testSubset: number | null;
    /** Images of the other data set's test set (unknown); null = all. */
    unknownSubset: number | null;
    /** Test images behind each derived unknown set. */
    derivedSubset: number;
    /** Test images attacked and rotated (the first of the test subset). */
    perturbedSubset: number;
    derivedSets: string[];
    fgsmEpsilons: number[];
    /** Rotation angles of the test subset (MNIST only), degrees. */
    shiftAngles: number[];
  };
}

const halfSteps = (from: number, to: number) => Array.from({ length: Math.round((to - from) * 2) + 1 }, (_, i) => from + i / 2);

export const profiles: Record<ProfileName, Profile> = {
  full: {
    name: 'full',
    datasets: ['mnist', 'fashion-mnist'],
    models: [...modelNames],
    split: { validationSize: 5000, splitSeed: 0 },
    subsets: { train: null, validation: null, test: null },
    epochs: (spec, dataset) => epochsFor(spec, dataset),
    trainingSeed: 1000,
    seeds: { models: ['lenet5', 'cnn-3', 'mlp-2-overconfident', 'lenet5-overconfident'], count: 3 },
    defaultOut: 'results',
    landscape: { models: ['lenet5', 'cnn-3'], subset: 500, points1d: 101, points2d: 41, range: 1, likelihoodPoints: 31, likelihoodSigmas: 3, seed: 17 },
    ensemble: { model: 'lenet5', members: 5 },
    laplace: {
      // Both families by depth, LeNet-5 and the two overconfident networks; the last three get every variant.
      models: ['mlp-1', 'mlp-2', 'mlp-3', 'lenet5', 'cnn-1', 'cnn-2', 'cnn-3', 'mlp-2-overconfident', 'lenet5-overconfident'],
      structures: ['diag', 'kfac', 'efb', 'last-layer'],
      fullTreatment: ['lenet5', 'mlp-2-overconfident', 'lenet5-overconfident'],
      sampledStructures: ['diag', 'kfac'],
      fit: { fisher: 'mc', mcSamples: 1, trainSubset: 20000, seed: 7 },
      search: {
        validationSubset: 2000,
        gridSize: 29,
        logNRange: [0, 14],
        logTauRange: [-4, 10],
        sampled: { validationSubset: 1000, samples: 8, gridSize: 9, logNRange: [2, 10], logTauRange: [-2, 6] },
        seed: 11,
      },
      textbookWeightDecay: 5e-4,
      sweep: { exponents: halfSteps(-2, 8), fgsmEpsilon: 0.1 },
      bootstrap: { resamples: 1000, seed: 23, eceFloorDraws: 200 },
      evaluation: {
        samples: 30,
        seed: 13,
        testSubset: null,
        unknownSubset: null,
        derivedSubset: 2000,
        perturbedSubset: 2000,
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
    seeds: { models: ['lenet5'], count: 2 },
    defaultOut: '.cache/out/quick',
    landscape: { models: ['lenet5'], subset: 50, points1d: 11, points2d: 5, range: 1, likelihoodPoints: 7, likelihoodSigmas: 3, seed: 17 },
    ensemble: { model: 'lenet5', members: 2 },
    laplace: {
      // One model, fully treated, exercises every artifact kind.
      models: ['lenet5'],
      structures: ['diag', 'kfac', 'efb', 'last-layer'],
      fullTreatment: ['lenet5'],
      sampledStructures: ['kfac'],
      fit: { fisher: 'mc', mcSamples: 1, trainSubset: 500, seed: 7 },
      search: {
        validationSubset: 100,
        gridSize: 9,
        logNRange: [0, 12],
        logTauRange: [-3, 9],
        sampled: { validationSubset: 100, samples: 2, gridSize: 2, logNRange: [2, 6], logTauRange: [-1, 3] },
        seed: 11,
      },
      textbookWeightDecay: 5e-4,
      sweep: { exponents: [-2, 0, 2, 8], fgsmEpsilon: 0.1 },
      bootstrap: { resamples: 200, seed: 23, eceFloorDraws: 20 },
      evaluation: {
        samples: 4,
        seed: 13,
        testSubset: 200,
        unknownSubset: 100,
        derivedSubset: 100,
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

/** Every variant of one structure's fit, in artifact order; the first is the primary row. */
export function variantsFor(profile: Profile, model: string, structure: Structure): Variant[] {
  const full = profile.laplace.fullTreatment.includes(model);
  return [
    { predictive: 'glm', objective: 'nll', posterior: 'tuned' },
    { predictive: 'glm', objective: 'marglik', posterior: 'marglik' },
    { predictive: 'glm', objective: null, posterior: 'textbook' },
    ...(full ? ([{ predictive: 'glm', objective: 'error+ece', posterior: 'tuned' }] as Variant[]) : []),
    ...(full && profile.laplace.sampledStructures.includes(structure) ? ([{ predictive: 'sampled', objective: 'error+ece', posterior: 'original' }] as Variant[]) : []),
  ];
}

/** Training seeds (0 is the zoo model) a model is evaluated from. */
export function seedsFor(profile: Profile, model: string): number[] {
  const count = profile.seeds.models.includes(model) ? profile.seeds.count : 1;
  return Array.from({ length: count }, (_, k) => k);
}

/** Every (model, member) the study trains: each model's seeds, then the ensemble's other members. */
export function trainedMembers(profile: Profile): { model: string; member: number }[] {
  const members = profile.models.flatMap((model) => seedsFor(profile, model).map((member) => ({ model, member })));
  for (let member = 1; member < profile.ensemble.members; member++) {
    if (!members.some((entry) => entry.model === profile.ensemble.model && entry.member === member)) members.push({ model: profile.ensemble.model, member });
  }
  return members;
}

/** Seed for training one model: the profile's base, plus the model's place in the zoo, plus 7919 per training seed. */
export function trainingSeedFor(profile: Profile, modelName: string, member = 0): number {
  getModelSpec(modelName);
  return profile.trainingSeed + modelNames.indexOf(modelName) + 7919 * member;
}
