/**
 * Temperature scaling against independent computations: synthetic logits that
 * are the true logits times a known factor (labels drawn from softmax of the
 * true logits with a seeded generator), a brute-force NLL scan over a fine grid
 * of T written here in plain loops, and the plain softmax at T = 1.
 */
import { describe, expect, it } from 'vitest';
import { applyTemperature, fitTemperature, fitTemperatureDetailed, temperatureNll } from '../../compute/baselines/index.ts';
import { Random } from '../../compute/laplace/random.ts';

const classes = 10;

/** True logits (normals × scale), labels drawn from their softmax, observed logits = factor × true. */
function synthetic(count: number, factor: number, seed: number, scale = 2.5): { logits: Float64Array; labels: Uint8Array } {
  const random = new Random(seed);
  const logits = new Float64Array(count * classes);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const z = Array.from({ length: classes }, () => scale * random.normal());
    const weights = z.map((v) => Math.exp(v));
    const total = weights.reduce((a, b) => a + b, 0);
    let u = random.uniform() * total;
    let label = classes - 1;
    for (let c = 0; c < classes; c++) {
      u -= weights[c];
      if (u < 0) {
        label = c;
        break;
      }
    }
    labels[i] = label;
    z.forEach((v, c) => (logits[i * classes + c] = factor * v));
  }
  return { logits, labels };
}

/** Mean NLL of softmax(logits / T), written independently: log Σ exp(z/T − max) per row. */
function referenceNll(logits: ArrayLike<number>, labels: ArrayLike<number>, temperature: number): number {
  const count = labels.length;
  let total = 0;
  for (let i = 0; i < count; i++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[i * classes + c] / temperature);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[i * classes + c] / temperature - max);
    total += Math.log(sum) + max - logits[i * classes + labels[i]] / temperature;
  }
  return total / count;
}

describe('fitTemperature', () => {
  const factor = 3;
  const { logits, labels } = synthetic(20000, factor, 7);

  it('recovers T ≈ 3 from logits that are 3 × the true ones (tolerance ±0.1 at 20,000 examples)', () => {
    const fit = fitTemperatureDetailed(logits, labels, classes);
    expect(fit.atBoundary).toBeNull();
    expect(Math.abs(fit.temperature - factor)).toBeLessThan(0.1);
    expect(fit.nll).toBeLessThan(fit.nllAtOne);
    expect(fit.evaluations).toBeLessThan(40);
    // The same from float32 logits, and from the short form.
    expect(fitTemperature(Float32Array.from(logits), labels, classes)).toBeCloseTo(fit.temperature, 4);
    // And a factor below 1: T ≈ 0.5.
    const soft = synthetic(20000, 0.5, 8);
    expect(Math.abs(fitTemperature(soft.logits, soft.labels, classes) - 0.5)).toBeLessThan(0.02);
  });

  it('is a minimum: NLL at the fitted T ≤ NLL at T = 1, at T ± 1%, and at every point of a fine brute-force grid', () => {
    const small = synthetic(3000, factor, 9);
    const t = fitTemperature(small.logits, small.labels, classes);
    const at = (temperature: number) => referenceNll(small.logits, small.labels, temperature);
    const best = at(t);
    expect(best).toBeLessThanOrEqual(at(1));
    expect(best).toBeLessThanOrEqual(at(t * 1.01));
    expect(best).toBeLessThanOrEqual(at(t * 0.99));
    // Grid of step 0.001 over [t − 0.5, t + 0.5]: the grid's best is no better and lies within one step.
    let gridBest = Infinity;
    let gridArgmin = 0;
    for (let k = -500; k <= 500; k++) {
      const temperature = t + k * 0.001;
      const value = at(temperature);
      if (value < gridBest) {
        gridBest = value;
        gridArgmin = temperature;
      }
    }
    expect(best).toBeLessThanOrEqual(gridBest + 1e-12);
    expect(Math.abs(gridArgmin - t)).toBeLessThanOrEqual(0.001 + 1e-9);
    // temperatureNll agrees with the independent NLL.
    expect(temperatureNll(small.logits, small.labels, classes, t)).toBeCloseTo(best, 10);
  });

  it('returns an end of the range, and says so, when the data do not pin T down', () => {
    // Every example right by a margin: the NLL keeps falling as T → 0.
    const logits = new Float64Array([3, 0, 0, 0, 2, 1, 1, 0, 4]);
    const labels = [0, 1, 2];
    const low = fitTemperatureDetailed(logits, labels, 3);
    expect(low.atBoundary).toBe('lower');
    expect(low.temperature).toBeCloseTo(0.01, 12);
    // Every example wrong: the NLL keeps falling as T → ∞ (towards uniform).
    const high = fitTemperatureDetailed(logits, [1, 2, 0], 3);
    expect(high.atBoundary).toBe('upper');
    expect(high.temperature).toBeCloseTo(100, 9);
    expect(fitTemperatureDetailed(logits, [1, 2, 0], 3, { maxTemperature: 10 }).temperature).toBeCloseTo(10, 9);
  });

  it('refuses malformed input with one sentence', () => {
    expect(() => fitTemperature(new Float64Array([1, 2, 3]), [0], 2)).toThrow(/not a multiple of classes = 2/);
    expect(() => fitTemperature(new Float64Array([1, 2]), [2], 2)).toThrow(/Label 0 is 2/);
    expect(() => fitTemperature(new Float64Array([1, Number.NaN]), [0], 2)).toThrow(/not a finite number/);
    expect(() => fitTemperature(new Float64Array([1, 2]), [0, 1], 2)).toThrow(/2 labels but 1 rows/);
    expect(() => fitTemperature(new Float64Array([1, 2]), [0], 2, { minTemperature: 5, maxTemperature: 1 })).toThrow(/minTemperature < maxTemperature/);
    expect(() => applyTemperature(new Float64Array([1, 2]), 2, 0)).toThrow(/positive finite number, got 0/);
    expect(() => applyTemperature(new Float64Array([1, 2]), 2, Number.NaN)).toThrow(/positive finite number/);
  });
});

describe('applyTemperature', () => {
  const { logits } = synthetic(200, 1, 11);

  it('at T = 1 is the plain softmax', () => {
    const p = applyTemperature(logits, classes, 1);
    for (let i = 0; i < 200; i++) {
      const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
      const e = row.map((v) => Math.exp(v));
      const s = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < classes; c++) expect(Math.abs(p[i * classes + c] - e[c] / s)).toBeLessThan(1e-7);
    }
  });

  it('keeps the argmax, sums rows to 1, and softens (T > 1) or sharpens (T < 1) the confidence', () => {
    const base = applyTemperature(logits, classes, 1);
    const soft = applyTemperature(logits, classes, 2);
    const sharp = applyTemperature(logits, classes, 0.5);
    const argmax = (p: Float32Array, i: number) => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (p[i * classes + c] > p[i * classes + best]) best = c;
      return best;
    };
    for (let i = 0; i < 200; i++) {
      const k = argmax(base, i);
      expect(argmax(soft, i)).toBe(k);
      expect(argmax(sharp, i)).toBe(k);
      expect(soft[i * classes + k]).toBeLessThanOrEqual(base[i * classes + k]);
      expect(sharp[i * classes + k]).toBeGreaterThanOrEqual(base[i * classes + k]);
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += soft[i * classes + c];
      expect(sum).toBeCloseTo(1, 6);
    }
    // Huge logits stay finite.
    const extreme = applyTemperature(new Float64Array([1e4, -1e4, 0]), 3, 0.01);
    expect(Array.from(extreme)).toEqual([1, 0, 0]);
  });
});
