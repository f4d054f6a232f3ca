/**
 * An image set as the rest of the project sees it: plain typed arrays, pixels
 * scaled to [0, 1], one byte per label. The models layer turns it into tensors.
 */
import { Random } from '../laplace/random.ts';
import { DataError } from './errors.ts';
import { datasets, datasetNames } from './registry.ts';

export type ImageSet = {
  /** Identifier, e.g. "mnist-test", "mnist-test-rot90", "mnist-test:first-1000". */
  name: string;
  /** count × height × width, row-major, pixel / 255 in [0, 1]. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  /** null for real data; otherwise what was done to it, e.g. "MNIST test rotated by 90°". */
  derived: string | null;
};

/** Converts the images at `indices` (or all of them) from bytes to scaled floats. */
export function bytesToImages(bytes: Uint8Array, pixelsPerImage: number, indices?: ArrayLike<number>): Float32Array {
  if (!indices) {
    const out = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
    return out;
  }
  const out = new Float32Array(indices.length * pixelsPerImage);
  for (let k = 0; k < indices.length; k++) {
    const from = indices[k] * pixelsPerImage;
    const to = k * pixelsPerImage;
    for (let p = 0; p < pixelsPerImage; p++) out[to + p] = bytes[from + p] / 255;
  }
  return out;
}

function gatherImages(set: ImageSet, indices: ArrayLike<number>): { images: Float32Array; labels: Uint8Array } {
  const pixels = set.height * set.width;
  const images = new Float32Array(indices.length * pixels);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const index = indices[k];
    images.set(set.images.subarray(index * pixels, (index + 1) * pixels), k * pixels);
    labels[k] = set.labels[index];
  }
  return { images, labels };
}

/**
 * A smaller copy of a set: its first `count` examples, or, when `seed` is given,
 * a seeded sample without replacement (kept in ascending index order).
 */
export function subset(set: ImageSet, count: number, seed?: number): ImageSet {
  if (!Number.isInteger(count) || count < 0 || count > set.count) {
    throw new DataError(`Cannot take a subset of ${count} examples from ${set.name}, which has ${set.count}; ask for a whole number from 0 to ${set.count}.`);
  }
  if (seed !== undefined && !Number.isInteger(seed)) {
    throw new DataError(`A subset seed must be an integer, got ${seed}.`);
  }
  let indices: Int32Array;
  if (seed === undefined) {
    indices = Int32Array.from({ length: count }, (_, i) => i);
  } else {
    indices = new Random(seed).permutation(set.count).slice(0, count).sort();
  }
  const whole = seed === undefined && count === set.count;
  const suffix = whole ? '' : seed === undefined ? `:first-${count}` : `:sample-${count}-seed-${seed}`;
  return { ...set, ...gatherImages(set, indices), name: `${set.name}${suffix}`, count };
}

/** Number of examples per label value, for labels 0..classCount-1. */
export function labelCounts(set: ImageSet, classCount = 10): number[] {
  const counts = new Array<number>(classCount).fill(0);
  for (const label of set.labels) {
    if (label >= classCount) throw new DataError(`${set.name} has label ${label}, outside 0..${classCount - 1}.`);
    counts[label]++;
  }
  return counts;
}

/** A human description of a set: its `derived` text, or e.g. "MNIST test" for "mnist-test". */
export function describeSet(set: ImageSet): string {
  if (set.derived) return set.derived;
  for (const name of [...datasetNames].sort((a, b) => b.length - a.length)) {
    if (set.name.startsWith(`${name}-`)) return `${datasets[name].displayName} ${set.name.slice(name.length + 1)}`;
  }
  return set.name;
}
