/** The data and trained models an experiment works on, as a profile defines them. */
import { loadDataset, subset, verifyDataFiles, type DatasetName, type ImageSet } from '../data/index.ts';
import { obtainTrainedModel, type TrainedModel } from '../models/trained.ts';
import { getModelSpec } from '../models/zoo.ts';
import { getProfile, trainingSeedFor, type Profile } from '../study.ts';
import type { TaskContext } from '../workers/protocol.ts';

export interface ProfileData {
  train: ImageSet;
  validation: ImageSet;
  test: ImageSet;
  dataHashes: string[];
}

/** The splits of `dataset`, cut to the profile's subsets (the first n of each split). */
export function profileData(profile: Profile, dataset: DatasetName): ProfileData {
  const splits = loadDataset(dataset, profile.split);
  const cut = (set: ImageSet, count: number | null) => (count === null || count >= set.count ? set : subset(set, count));
  return {
    train: cut(splits.train, profile.subsets.train),
    validation: cut(splits.validation, profile.subsets.validation),
    test: cut(splits.test, profile.subsets.test),
    dataHashes: verifyDataFiles(dataset).map((file) => file.sha256),
  };
}

/** Where checkpoints and other caches live. */
export interface RunSettings {
  profile: string;
  backend: string;
  cacheDir: string;
}

/**
 * The trained (or cached) model of the zoo for a data set under a profile.
 * Member (training seed) k > 0 is the same recipe from another seed: a seed replica or an ensemble member.
 */
export async function trainedZooModel(
  settings: RunSettings,
  dataset: DatasetName,
  modelName: string,
  context: TaskContext,
  member = 0,
): Promise<{ trained: TrainedModel; data: ProfileData; train: ImageSet }> {
  const profile = getProfile(settings.profile);
  const spec = getModelSpec(modelName);
  const data = profileData(profile, dataset);
  const train = spec.recipe.trainSubset && spec.recipe.trainSubset < data.train.count ? subset(data.train, spec.recipe.trainSubset) : data.train;
  const trained = await obtainTrainedModel(
    {
      dataset,
      spec,
      recipe: spec.recipe,
      epochs: profile.epochs(spec, dataset),
      seed: trainingSeedFor(profile, modelName, member),
      dataHashes: data.dataHashes,
      // The recipe (in the key too) says when a model uses less than the profile's training split.
      split: { ...profile.split, trainSubset: profile.subsets.train },
      backend: settings.backend,
    },
    train,
    settings.cacheDir,
    context.log,
    (progress) => context.progress(progress.step, progress.totalSteps, `steps (epoch ${progress.epoch})`),
  );
  return { trained, data, train };
}
