import { describe, expect, it } from 'vitest';
import { DataError, describeSet, labelCounts, subset, type ImageSet } from '../../compute/data/index.ts';

// Ten 2 × 2 images whose pixels all equal their index / 10, so every example can be identified.
const numbered: ImageSet = {
  name: 'mnist-validation',
  images: Float32Array.from({ length: 40 }, (_, i) => Math.floor(i / 4) / 10),
  labels: Uint8Array.from({ length: 10 }, (_, i) => i % 3),
  count: 10,
  height: 2,
  width: 2,
  derived: null,
};

const indexOf = (set: ImageSet, k: number) => Math.round(set.images[k * 4] * 10);

describe('subset', () => {
  it('takes the first examples in order', () => {
    const first = subset(numbered, 4);
    expect(first.count).toBe(4);
    expect(Array.from({ length: 4 }, (_, k) => indexOf(first, k))).toEqual([0, 1, 2, 3]);
    expect(Array.from(first.labels)).toEqual([0, 1, 2, 0]);
    expect(first.name).toBe('mnist-validation:first-4');
    expect(first.images.length).toBe(16);
  });

  it('samples distinct examples by seed, reproducibly, in ascending order', () => {
    const sample = subset(numbered, 5, 42);
    const indices = Array.from({ length: 5 }, (_, k) => indexOf(sample, k));
    expect(new Set(indices).size).toBe(5);
    expect([...indices].sort((a, b) => a - b)).toEqual(indices);
    indices.forEach((index, k) => expect(sample.labels[k]).toBe(index % 3));
    expect(subset(numbered, 5, 42).images).toEqual(sample.images);
    expect(sample.name).toBe('mnist-validation:sample-5-seed-42');
    const seeds = Array.from({ length: 10 }, (_, seed) => subset(numbered, 5, seed).images.join());
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it('copies, so changing the subset leaves the set alone', () => {
    const whole = subset(numbered, 10);
    expect(whole.name).toBe('mnist-validation');
    whole.images[0] = 5;
    expect(numbered.images[0]).toBe(0);
  });

  it('refuses more examples than the set has', () => {
    expect(() => subset(numbered, 11)).toThrow(DataError);
    expect(() => subset(numbered, 11)).toThrow(/from mnist-validation, which has 10/);
    expect(() => subset(numbered, 2, 1.5)).toThrow(/seed must be an integer/);
  });
});

describe('labelCounts and describeSet', () => {
  it('counts labels and describes real and derived sets', () => {
    expect(labelCounts(numbered, 3)).toEqual([4, 3, 3]);
    expect(() => labelCounts(numbered, 2)).toThrow(/label 2, outside 0..1/);
    expect(describeSet(numbered)).toBe('MNIST validation');
    expect(describeSet({ ...numbered, name: 'fashion-mnist-test' })).toBe('Fashion-MNIST test');
    expect(describeSet({ ...numbered, derived: 'Something made' })).toBe('Something made');
  });
});
