import { describe, expect, it } from 'vitest';
import {
  DataError,
  derivedSetNames,
  invert,
  isDerivedSetName,
  loadDataset,
  makeDerivedSet,
  rotate,
  subset,
  uniformNoise,
  type ImageSet,
} from '../../compute/data/index.ts';

function handMade(name: string, height: number, width: number, pixels: number[][]): ImageSet {
  return {
    name,
    images: Float32Array.from(pixels.flat()),
    labels: Uint8Array.from(pixels.map((_, i) => i % 10)),
    count: pixels.length,
    height,
    width,
    derived: null,
  };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

// 4 × 4, rows top to bottom:  a b c d / e f g h / i j k l / m n o p
const letters = Array.from({ length: 16 }, (_, i) => (i + 1) / 16);
const square = handMade('square', 4, 4, [letters]);
const at = (row: number, column: number) => letters[row * 4 + column];

const mnistSample = subset(loadDataset('mnist').test, 200);
const noisy = uniformNoise(20, 11);

describe('rotate', () => {
  it('leaves images unchanged at 0° and 360°', () => {
    expect(maxDifference(rotate(mnistSample, 0).images, mnistSample.images)).toBe(0);
    expect(maxDifference(rotate(noisy, 360).images, noisy.images)).toBe(0);
  });

  it('turns a 4 × 4 image a quarter turn counter-clockwise as drawn by hand', () => {
    // The right column d h l p becomes the top row.
    const byHand = [
      [at(0, 3), at(1, 3), at(2, 3), at(3, 3)],
      [at(0, 2), at(1, 2), at(2, 2), at(3, 2)],
      [at(0, 1), at(1, 1), at(2, 1), at(3, 1)],
      [at(0, 0), at(1, 0), at(2, 0), at(3, 0)],
    ].flat();
    expect(maxDifference(rotate(square, 90).images, Float32Array.from(byHand))).toBeLessThan(1e-7);
    expect(maxDifference(rotate(square, 180).images, Float32Array.from([...letters].reverse()))).toBeLessThan(1e-7);
    expect(maxDifference(rotate(square, -90).images, rotate(square, 270).images)).toBe(0);
  });

  it('returns the images after four quarter turns', () => {
    let turned = mnistSample;
    for (let turn = 0; turn < 4; turn++) turned = rotate(turned, 90);
    expect(maxDifference(turned.images, mnistSample.images)).toBeLessThan(1e-6);
    expect(Array.from(turned.labels)).toEqual(Array.from(mnistSample.labels));
    let noiseTurned = noisy;
    for (let turn = 0; turn < 4; turn++) noiseTurned = rotate(noiseTurned, 90);
    expect(maxDifference(noiseTurned.images, noisy.images)).toBeLessThan(1e-6);
  });

  it('interpolates bilinearly at 45°, as worked by hand', () => {
    // 5 × 5, one lit pixel two to the right of the centre. Output pixel (x 3, y 1)
    // samples the input at (2 + √2, 2): weight √2 − 1 on the lit pixel (4, 2).
    const pixels = new Array(25).fill(0);
    pixels[2 * 5 + 4] = 1;
    const turned = rotate(handMade('dot', 5, 5, [pixels]), 45).images;
    expect(turned[1 * 5 + 3]).toBeCloseTo(Math.SQRT2 - 1, 6);
    // Output (x 4, y 1) samples (2 + 3/√2, 2 + 1/√2): bilinear weights worked out directly.
    const sx = 2 + 3 / Math.SQRT2 - 4;
    const sy = 2 + 1 / Math.SQRT2 - 2;
    expect(turned[1 * 5 + 4]).toBeCloseTo((1 - sy) * (1 - sx), 6);
  });

  it('keeps the centre of an odd-sized image and fills the outside with zeros', () => {
    const ones = handMade('ones', 28, 28, [new Array(784).fill(1)]);
    const turned = rotate(ones, 45).images;
    expect(turned[0]).toBe(0); // the top-left corner comes from outside the image
    expect(turned[14 * 28 + 14]).toBeCloseTo(1, 6);
    const dot = new Array(49).fill(0);
    dot[24] = 0.75;
    const spun = rotate(handMade('dot', 7, 7, [dot]), 30).images;
    expect(spun[24]).toBeCloseTo(0.75, 6);
    expect(Math.max(...spun)).toBeLessThanOrEqual(0.75 + 1e-6);
  });

  it('labels the result as derived', () => {
    const turned = rotate(mnistSample, 90);
    expect(turned.name).toBe('mnist-test:first-200-rot90');
    expect(turned.derived).toBe('MNIST test:first-200 rotated by 90°');
    const test = loadDataset('mnist').test;
    const small = { ...test, count: 2, images: test.images.subarray(0, 2 * 784), labels: test.labels.subarray(0, 2) };
    expect(rotate(small, 90).derived).toBe('MNIST test rotated by 90°');
    expect(rotate(small, 90).name).toBe('mnist-test-rot90');
  });
});

describe('invert', () => {
  it('maps each pixel to 1 − pixel and back', () => {
    const once = invert(mnistSample);
    expect(once.images[0]).toBe(1 - mnistSample.images[0]);
    expect(Math.min(...once.images.subarray(0, 784))).toBeGreaterThanOrEqual(0);
    expect(maxDifference(invert(once).images, mnistSample.images)).toBeLessThan(1e-7);
    expect(once.derived).toBe('MNIST test:first-200 inverted');
    expect(once.name).toBe('mnist-test:first-200-inverted');
  });
});

describe('uniformNoise', () => {
  it('is reproducible by seed, in [0, 1), labelled 0 and marked derived', () => {
    const noise = uniformNoise(100, 3);
    expect(maxDifference(noise.images, uniformNoise(100, 3).images)).toBe(0);
    expect(maxDifference(noise.images, uniformNoise(100, 4).images)).toBeGreaterThan(0.5);
    expect(noise.images.length).toBe(100 * 784);
    expect(noise.images.every((value) => value >= 0 && value < 1)).toBe(true);
    const mean = noise.images.reduce((sum, value) => sum + value, 0) / noise.images.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01); // standard error ≈ 0.001
    expect(noise.labels.every((label) => label === 0)).toBe(true);
    expect(noise.derived).toMatch(/uniform/i);
  });
});

describe('makeDerivedSet', () => {
  it('builds every listed set from a base, same size and marked derived', () => {
    expect(derivedSetNames).toEqual(['rotated-45', 'rotated-90', 'rotated-180', 'inverted', 'noise']);
    for (const name of derivedSetNames) {
      const set = makeDerivedSet(name, mnistSample);
      expect(isDerivedSetName(name)).toBe(true);
      expect(set.count).toBe(mnistSample.count);
      expect(set.images.length).toBe(mnistSample.images.length);
      expect(set.derived).not.toBeNull();
    }
    expect(makeDerivedSet('rotated-180', square).images).toEqual(rotate(square, 180).images);
    expect(maxDifference(makeDerivedSet('noise', mnistSample, 9).images, uniformNoise(200, 9).images)).toBe(0);
  });

  it('rejects an unknown name, listing the known ones', () => {
    expect(() => makeDerivedSet('blurred', square)).toThrow(DataError);
    expect(() => makeDerivedSet('blurred', square)).toThrow(
      'Unknown derived set "blurred"; the derived sets are "rotated-45", "rotated-90", "rotated-180", "inverted", "noise".',
    );
  });
});
