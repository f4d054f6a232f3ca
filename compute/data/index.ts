/**
 * Data: the idx reader, the registry of shipped data sets with their checksums,
 * seeded train/validation splits, and derived "unknown" sets. No TensorFlow here.
 */
export { DataError } from './errors.ts';
export { readIdx, readIdxFile, isGzip, type IdxArray } from './idx.ts';
export {
  datasetNames,
  datasets,
  datasetInfo,
  datasetDirectory,
  isDatasetName,
  fashionMnistDefaultDirectory,
  type DatasetName,
  type DatasetInfo,
  type DatasetDirectory,
  type DataFileSpec,
  type DataFileRole,
  type DataProblem,
} from './registry.ts';
export { verifyDataFiles, clearFileCache, sha256Hex, type VerifiedFile } from './files.ts';
export { loadDataset, splitIndices, clearLoadCache, type LoadOptions, type LoadedDataset, type SplitIndices } from './load.ts';
export { subset, labelCounts, describeSet, type ImageSet } from './sets.ts';
export {
  rotate,
  invert,
  uniformNoise,
  makeDerivedSet,
  derivedSetNames,
  derivedSetDescriptions,
  isDerivedSetName,
  type DerivedSetName,
} from './derived.ts';
