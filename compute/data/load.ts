/**
 * Loading a data set as train / validation / test image sets. The validation
 * set is cut from the 60k training images by a seeded permutation, so the split
 * is a pure function of (validationSize, splitSeed) and never touches the test set.
 */
import { Random } from '../laplace/random.ts';
import { DataError } from './errors.ts';
import { readDatasetFiles, type VerifiedFile } from './files.ts';
import type { IdxArray } from './idx.ts';
import { datasetInfo, type DatasetInfo } from './registry.ts';
import { bytesToImages, type ImageSet } from './sets.ts';

export type LoadOptions = { validationSize?: number; splitSeed?: number };

export type LoadedDataset = {
  train: ImageSet;
  validation: ImageSet;
  test: ImageSet;
  files: VerifiedFile[];
};

export type SplitIndices = { train: Int32Array; validation: Int32Array };

/**
 * Which of `total` training examples go to validation: the first
 * `validationSize` entries of `new Random(seed).permutation(total)`; the rest
 * are train. Both lists ascending.
 */
export function splitIndices(total: number, validationSize: number, seed: number): SplitIndices {
  if (!Number.isInteger(validationSize) || validationSize < 0 || validationSize >= total) {
    throw new DataError(`validationSize must be a whole number from 0 to ${total - 1}, got ${validationSize}.`);
  }
  if (!Number.isInteger(seed)) throw new DataError(`splitSeed must be an integer, got ${seed}.`);
  const order = new Random(seed).permutation(total);
  const validation = order.slice(0, validationSize).sort();
  const inValidation = new Uint8Array(total);
  for (const index of validation) inValidation[index] = 1;
  const train = new Int32Array(total - validationSize);
  let next = 0;
  for (let index = 0; index < total; index++) if (!inValidation[index]) train[next++] = index;
  return { train, validation };
}

function checkShapes(info: DatasetInfo, part: string, images: IdxArray, labels: IdxArray): { count: number; height: number; width: number } {
  const [count, height, width] = images.dims;
  const labelCount = labels.dims[0];
  if (images.dims.length !== 3 || labels.dims.length !== 1 || count !== labelCount) {
    throw new DataError(
      `${info.displayName} ${part} files do not fit together: images have dims [${images.dims.join(', ')}] and labels [${labels.dims.join(', ')}].`,
    );
  }
  const classCount = info.classNames.length;
  for (const label of labels.data) {
    if (label >= classCount) throw new DataError(`${info.displayName} ${part} labels contain ${label}, outside 0..${classCount - 1}.`);
  }
  return { count, height, width };
}

function makeSet(
  name: string,
  images: IdxArray,
  labels: IdxArray,
  shape: { height: number; width: number },
  indices?: Int32Array,
): ImageSet {
  const pixels = shape.height * shape.width;
  const chosenLabels = indices ? Uint8Array.from(indices, (index) => labels.data[index]) : labels.data.slice();
  return {
    name,
    images: bytesToImages(images.data, pixels, indices),
    labels: chosenLabels,
    count: chosenLabels.length,
    height: shape.height,
    width: shape.width,
    derived: null,
  };
}

// A few recent loads are kept whole, so every experiment in a run shares one copy.
const resultCacheLimit = 4;
const resultCache = new Map<string, LoadedDataset>();

/** Forgets cached loads (the parsed files stay cached; see clearFileCache). */
export function clearLoadCache(): void {
  resultCache.clear();
}

/**
 * Loads a data set after checking its files' hashes. Loading again with the
 * same options returns the same cached objects: treat their arrays as read-only
 * (subset, rotate and the other helpers copy).
 */
export function loadDataset(name: string, options: LoadOptions = {}): LoadedDataset {
  const { validationSize = 5000, splitSeed = 0 } = options;
  const info = datasetInfo(name);
  const raw = readDatasetFiles(info.name);
  const key = `${raw.key}|${validationSize}|${splitSeed}`;
  const cached = resultCache.get(key);
  if (cached) {
    resultCache.delete(key);
    resultCache.set(key, cached);
    return cached;
  }
  const trainShape = checkShapes(info, 'training', raw.trainImages, raw.trainLabels);
  const testShape = checkShapes(info, 'test', raw.testImages, raw.testLabels);
  const split = splitIndices(trainShape.count, validationSize, splitSeed);
  const loaded: LoadedDataset = {
    train: makeSet(`${info.name}-train`, raw.trainImages, raw.trainLabels, trainShape, split.train),
    validation: makeSet(`${info.name}-validation`, raw.trainImages, raw.trainLabels, trainShape, split.validation),
    test: makeSet(`${info.name}-test`, raw.testImages, raw.testLabels, testShape),
    files: raw.files,
  };
  resultCache.set(key, loaded);
  while (resultCache.size > resultCacheLimit) resultCache.delete(resultCache.keys().next().value as string);
  return loaded;
}
