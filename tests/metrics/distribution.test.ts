import { describe, expect, it } from 'vitest';
import { entropy, histogram, inverseEcdf } from '../../compute/metrics/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { randomIntegerScores, randomProbabilities } from './helpers.ts';

describe('entropy', () => {
  it('is ln C for a uniform row and 0 for a one-hot row', () => {
    const classes = 10;
    const probs = new Float32Array(3 * classes);
    probs.fill(0.1, 0, classes); // uniform
    probs[classes + 3] = 1; // one-hot
    probs[2 * classes] = 0.5; // two classes at ½: ln 2
    probs[2 * classes + 9] = 0.5;
    const h = entropy(probs, classes);
    expect(h).toBeInstanceOf(Float64Array);
    expect(h[0]).toBeCloseTo(Math.log(10), 6); // Float32 0.1 is not exact
    expect(h[1]).toBe(0);
    expect(h[2]).toBeCloseTo(Math.log(2), 15);
    expect(entropy(new Float64Array([0.25, 0.25, 0.25, 0.25]), 4)[0]).toBeCloseTo(Math.log(4), 15);
  });

  it('works out a hand example', () => {
    // −(0.5 ln 0.5 + 0.25 ln 0.25 + 0.25 ln 0.25) = 0.5 ln 2 + 0.5 ln 4 = 1.5 ln 2 = 1.039721
    expect(entropy(new Float64Array([0.5, 0.25, 0.25]), 3)[0]).toBeCloseTo(1.5 * Math.log(2), 15);
  });

  it('matches brute force and stays within [0, ln C] on random data', () => {
    const random = new Random(31);
    const probs = randomProbabilities(random, 400, 6, 2);
    const h = entropy(probs, 6);
    for (let i = 0; i < 400; i++) {
      let sum = 0;
      for (let c = 0; c < 6; c++) sum += -probs[i * 6 + c] * Math.log(probs[i * 6 + c]);
      expect(h[i]).toBeCloseTo(sum, 12);
      expect(h[i]).toBeGreaterThanOrEqual(0);
      expect(h[i]).toBeLessThanOrEqual(Math.log(6) + 1e-12);
    }
  });
});

describe('histogram', () => {
  it('handles edges: left-closed bins, max in the last bin, outside values clipped into the end bins', () => {
    // Edges 0, 0.25, 0.5, 0.75, 1.
    //   -1 → bin 0 (clipped below), 0 → bin 0, 0.25 → bin 1 (on an edge: the bin above),
    //   0.5 → bin 2, 0.74 → bin 2, 1 → bin 3 (max: last bin), 2 → bin 3 (clipped above)
    const result = histogram([-1, 0, 0.25, 0.5, 0.74, 1, 2], { min: 0, max: 1, bins: 4 });
    expect(result.edges).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(result.counts).toEqual([2, 1, 2, 2]);
    expect(result.total).toBe(7);
    expect(result.clippedBelow).toBe(1);
    expect(result.clippedAbove).toBe(1);
    expect(result.fractions).toEqual([2 / 7, 1 / 7, 2 / 7, 2 / 7]);
    result.densities.forEach((d, b) => expect(d).toBeCloseTo(result.fractions[b] / 0.25, 15));
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('puts ±Infinity in the end bins and handles a single bin', () => {
    const result = histogram(new Float64Array([-Infinity, Infinity, 3]), { min: 0, max: 1, bins: 2 });
    expect(result.counts).toEqual([1, 2]);
    expect(result.clippedAbove).toBe(2);
    const one = histogram([0, 0.5, 1, 7], { min: 0, max: 1, bins: 1 });
    expect(one.counts).toEqual([4]);
    expect(one.densities).toEqual([1]);
  });

  it('matches a brute-force count on random data, with entropy on [0, ln 10]', () => {
    const random = new Random(32);
    const h = entropy(randomProbabilities(random, 1000, 10, 2), 10);
    const max = Math.log(10);
    const bins = 25;
    const result = histogram(h, { min: 0, max, bins });
    const expected = new Array<number>(bins).fill(0);
    for (const v of h) {
      let b = 0;
      while (b < bins - 1 && v >= result.edges[b + 1]) b++;
      expected[b]++;
    }
    expect(result.counts).toEqual(expected);
    expect(result.counts.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(result.fractions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(result.densities.reduce((a, d) => a + d * (max / bins), 0)).toBeCloseTo(1, 12);
    expect(result.edges[bins]).toBe(max);
  });

  it('rejects a bad range or bin count', () => {
    expect(() => histogram([1], { min: 1, max: 1 })).toThrow(/min < max/);
    expect(() => histogram([1], { min: 0, max: Infinity })).toThrow(/min < max/);
    expect(() => histogram([1], { min: 0, max: 1, bins: 0 })).toThrow(/number of bins/);
    expect(() => histogram([], { min: 0, max: 1 })).toThrow(/empty/);
    expect(() => histogram([0.5, NaN], { min: 0, max: 1 })).toThrow(/NaN at index 1/);
  });
});

describe('inverse ECDF', () => {
  it('counts values strictly above each grid point', () => {
    // values 1, 2, 2, 3: above 0 → 4/4, above 1 → 3/4, above 1.5 → 3/4, above 2 → 1/4, above 3 → 0
    expect(inverseEcdf([2, 1, 3, 2], [0, 1, 1.5, 2, 3])).toEqual([1, 0.75, 0.75, 0.25, 0]);
  });

  it('matches a brute-force count on random integer data with many ties', () => {
    const random = new Random(33);
    const values = randomIntegerScores(random, 500, 12);
    const grid = Array.from({ length: 60 }, (_, k) => -1 + k * 0.25); // hits every integer exactly
    const result = inverseEcdf(new Float32Array(values), grid);
    grid.forEach((h, j) => {
      const above = values.filter((v) => v > h).length;
      expect(result[j]).toBe(above / values.length);
    });
  });

  it('rejects empty values and NaN', () => {
    expect(() => inverseEcdf([], [0])).toThrow(/empty/);
    expect(() => inverseEcdf([1], [NaN])).toThrow(/grid contains NaN/);
  });
});
