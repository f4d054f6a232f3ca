import { describe, expect, it } from 'vitest';
import { datasets, labelCounts, loadDataset, type ImageSet } from '../../compute/data/index.ts';

function pixelStats(sets: ImageSet[]): { min: number; max: number; mean: number; std: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSquares = 0;
  let count = 0;
  for (const set of sets) {
    for (const value of set.images) {
      if (value < min) min = value;
      if (value > max) max = value;
      sum += value;
      sumSquares += value * value;
    }
    count += set.images.length;
  }
  const mean = sum / count;
  return { min, max, mean, std: Math.sqrt(sumSquares / count - mean * mean) };
}

function addCounts(a: number[], b: number[]): number[] {
  return a.map((value, i) => value + b[i]);
}

// Label counts and pixel statistics as published for the original files
// (the MNIST mean 0.1307 / std 0.3081 is the familiar normalisation constant).
describe('MNIST', () => {
  const mnist = loadDataset('mnist');

  it('has 60k training and 10k test images of 28 × 28, as real data', () => {
    for (const set of [mnist.train, mnist.validation, mnist.test]) {
      expect([set.height, set.width]).toEqual([28, 28]);
      expect(set.images.length).toBe(set.count * 784);
      expect(set.labels.length).toBe(set.count);
      expect(set.derived).toBeNull();
    }
    expect(mnist.train.count + mnist.validation.count).toBe(60000);
    expect(mnist.test.count).toBe(10000);
    expect([mnist.train.name, mnist.validation.name, mnist.test.name]).toEqual(['mnist-train', 'mnist-validation', 'mnist-test']);
  });

  it('has the published label histograms', () => {
    const training = addCounts(labelCounts(mnist.train), labelCounts(mnist.validation));
    expect(training).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(labelCounts(mnist.test)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // A random 5k validation draw keeps every class near its share.
    labelCounts(mnist.validation).forEach((count, label) => expect(Math.abs(count - (training[label] * 5000) / 60000)).toBeLessThan(100));
  });

  it('has pixels in [0, 1] with the known mean and spread', () => {
    const training = pixelStats([mnist.train, mnist.validation]);
    expect(training.min).toBe(0);
    expect(training.max).toBe(1);
    expect(training.mean).toBeCloseTo(0.1307, 3);
    expect(training.std).toBeCloseTo(0.3081, 3);
    const test = pixelStats([mnist.test]);
    expect([test.min, test.max]).toEqual([0, 1]);
    expect(test.mean).toBeCloseTo(0.1325, 3);
  });

  it('lists its files with hashes for the manifest', () => {
    expect(mnist.files.map((file) => file.sha256)).toEqual(datasets.mnist.files.map((spec) => spec.sha256));
  });
});

describe('Fashion-MNIST', () => {
  const fashion = loadDataset('fashion-mnist');

  it('has 60k training and 10k test images of 28 × 28 with balanced classes', () => {
    expect(fashion.train.count).toBe(55000);
    expect(fashion.validation.count).toBe(5000);
    expect(fashion.test.count).toBe(10000);
    expect([fashion.test.height, fashion.test.width]).toEqual([28, 28]);
    expect(addCounts(labelCounts(fashion.train), labelCounts(fashion.validation))).toEqual(new Array(10).fill(6000));
    expect(labelCounts(fashion.test)).toEqual(new Array(10).fill(1000));
  });

  it('has pixels in [0, 1] with the known mean and spread', () => {
    const training = pixelStats([fashion.train, fashion.validation]);
    expect([training.min, training.max]).toEqual([0, 1]);
    expect(training.mean).toBeCloseTo(0.286, 3);
    expect(training.std).toBeCloseTo(0.353, 3);
  });

  it('names its classes', () => {
    expect(datasets['fashion-mnist'].classNames).toEqual([
      'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
    ]);
    expect(datasets['fashion-mnist'].displayName).toBe('Fashion-MNIST');
    expect(datasets.mnist.classNames).toHaveLength(10);
  });
});
