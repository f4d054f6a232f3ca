/**
 * Derived "unknown" sets for out-of-distribution tests: transformations of a
 * real set, and pure noise. Each is marked in `derived`, so no figure can pass
 * one off as real data.
 */
import { Random } from '../laplace/random.ts';
import { applyRotation, rotationSampling } from './rotation.ts';
import { DataError } from './errors.ts';
import { describeSet, type ImageSet } from './sets.ts';

/**
 * Rotates every image counter-clockwise (as displayed, rows running down) by
 * `degrees` about the image centre. Each output pixel samples the input at the
 * inversely rotated position by bilinear interpolation; positions outside the
 * image read as 0.
 */
export function rotate(set: ImageSet, degrees: number): ImageSet {
  if (!Number.isFinite(degrees)) throw new DataError(`A rotation angle must be a finite number of degrees, got ${degrees}.`);
  const { height, width, count } = set;
  const pixels = height * width;
  const sampling = rotationSampling(height, width, degrees);
  const images = new Float32Array(count * pixels);
  for (let n = 0; n < count; n++) applyRotation(sampling, set.images, images, n * pixels, pixels);
  return {
    name: `${set.name}-rot${degrees}`,
    images,
    labels: set.labels.slice(),
    count,
    height,
    width,
    derived: `${describeSet(set)} rotated by ${degrees}°`,
  };
}

/** Photographic negative: every pixel becomes 1 − pixel. */
export function invert(set: ImageSet): ImageSet {
  const images = new Float32Array(set.images.length);
  for (let i = 0; i < images.length; i++) images[i] = 1 - set.images[i];
  return { ...set, name: `${set.name}-inverted`, images, labels: set.labels.slice(), derived: `${describeSet(set)} inverted` };
}

/** Images of independent uniform pixels in [0, 1), all labelled 0 (their labels mean nothing). */
export function uniformNoise(count: number, seed: number, height = 28, width = 28): ImageSet {
  if (!Number.isInteger(count) || count < 0) throw new DataError(`A noise set needs a whole number of images, got ${count}.`);
  if (!Number.isInteger(seed)) throw new DataError(`A noise seed must be an integer, got ${seed}.`);
  const random = new Random(seed);
  const images = new Float32Array(count * height * width);
  for (let i = 0; i < images.length; i++) images[i] = random.uniform();
  return {
    name: `uniform-noise-seed${seed}`,
    images,
    labels: new Uint8Array(count),
    count,
    height,
    width,
    derived: `Uniform noise (${count} images, pixels uniform in [0, 1], seed ${seed})`,
  };
}

export type DerivedSetName = 'rotated-45' | 'rotated-90' | 'rotated-180' | 'inverted' | 'noise';

export const derivedSetNames: readonly DerivedSetName[] = ['rotated-45', 'rotated-90', 'rotated-180', 'inverted', 'noise'];

/** One line per derived set, for listings and help texts. */
export const derivedSetDescriptions: Readonly<Record<DerivedSetName, string>> = {
  'rotated-45': 'the base images rotated by 45° (bilinear, zero fill)',
  'rotated-90': 'the base images rotated by 90°',
  'rotated-180': 'the base images rotated by 180°',
  inverted: 'the base images inverted (1 − pixel)',
  noise: 'uniform noise images, as many as the base set and of the same size',
};

export function isDerivedSetName(value: unknown): value is DerivedSetName {
  return typeof value === 'string' && (derivedSetNames as readonly string[]).includes(value);
}

/** Builds a derived set from a base set by name; `seed` is used by "noise" only. */
export function makeDerivedSet(name: string, base: ImageSet, seed = 0): ImageSet {
  if (!isDerivedSetName(name)) {
    throw new DataError(`Unknown derived set "${name}"; the derived sets are ${derivedSetNames.map((n) => `"${n}"`).join(', ')}.`);
  }
  switch (name) {
    case 'rotated-45':
      return rotate(base, 45);
    case 'rotated-90':
      return rotate(base, 90);
    case 'rotated-180':
      return rotate(base, 180);
    case 'inverted':
      return invert(base);
    case 'noise':
      return uniformNoise(base.count, seed, base.height, base.width);
  }
}
