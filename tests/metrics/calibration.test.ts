import { describe, expect, it } from 'vitest';
import { CURVE_MAX_CONFIDENCE, calibration, calibrationCurve, logitBinEdges } from '../../compute/metrics/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { argmax, randomLabels, randomProbabilities, row } from './helpers.ts';

describe('calibration over equal-width bins', () => {
  it('works out a hand example', () => {
    // Six examples, three classes, ten bins; bin i holds (i/10, (i+1)/10].
    //   [0.9, 0.05, 0.05] y=0: conf 0.9,  correct → bin 8 (0.8, 0.9]  (0.9 on the upper edge)
    //   [0.85, 0.1, 0.05] y=1: conf 0.85, wrong   → bin 8
    //   [0.2, 0.6, 0.2]   y=1: conf 0.6,  correct → bin 5 (0.5, 0.6]  (0.6 on the upper edge)
    //   [0.3, 0.3, 0.4]   y=0: conf 0.4,  wrong   → bin 3 (0.3, 0.4]
    //   [0.55, 0.45, 0]   y=0: conf 0.55, correct → bin 5
    //   [1, 0, 0]         y=0: conf 1,    correct → bin 9 (0.9, 1]
    // Per bin (gap = confidence − accuracy):
    //   bin 3: n=1, acc 0,   conf 0.4,                  gap  0.4
    //   bin 5: n=2, acc 1,   conf (0.6+0.55)/2 = 0.575, gap −0.425
    //   bin 8: n=2, acc 0.5, conf (0.9+0.85)/2 = 0.875, gap  0.375
    //   bin 9: n=1, acc 1,   conf 1,                    gap  0
    // ECE    = (1·0.4 + 2·0.425 + 2·0.375 + 1·0) / 6 = 2.0 / 6 = 0.333333
    // MCE    = 0.425
    // signed = (0.4 − 0.85 + 0.75 + 0) / 6 = 0.3 / 6 = 0.05
    //        = mean confidence 4.3/6 − accuracy 4/6 ✓
    const probs = new Float64Array([
      0.9, 0.05, 0.05, 0.85, 0.1, 0.05, 0.2, 0.6, 0.2, 0.3, 0.3, 0.4, 0.55, 0.45, 0, 1, 0, 0,
    ]);
    const labels = [0, 1, 1, 0, 0, 0];
    const result = calibration(probs, labels, 3);
    expect(result.ece).toBeCloseTo(2 / 6, 14);
    expect(result.mce).toBeCloseTo(0.425, 14);
    expect(result.signedError).toBeCloseTo(0.05, 14);
    expect(result.bins).toHaveLength(10);
    expect(result.bins.map((b) => b.count)).toEqual([0, 0, 0, 1, 0, 2, 0, 0, 2, 1]);
    const bin5 = result.bins[5];
    expect(bin5.lower).toBeCloseTo(0.5, 15);
    expect(bin5.upper).toBeCloseTo(0.6, 15);
    expect(bin5.accuracy).toBe(1);
    expect(bin5.confidence).toBeCloseTo(0.575, 14);
    expect(bin5.gap).toBeCloseTo(-0.425, 14);
    expect(result.bins[8].accuracy).toBe(0.5);
    expect(result.bins[8].gap).toBeCloseTo(0.375, 14);
    expect(result.bins[9]).toMatchObject({ lower: 0.9, upper: 1, count: 1, accuracy: 1, confidence: 1, gap: 0 });
    expect(result.bins[0]).toEqual({ lower: 0, upper: 0.1, count: 0, accuracy: null, confidence: null, gap: null });
    // Empty bins are null, never NaN, so the result survives JSON.
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('is 0 on a perfectly calibrated constructed case (Float64 and Float32)', () => {
    // conf 0.75: four examples, three correct → acc 0.75
    // conf 0.5 (a tie, predicted class 0): two examples, one correct → acc 0.5
    // conf 1: one example, correct → acc 1
    const values = [0.75, 0.25, 0.75, 0.25, 0.25, 0.75, 0.75, 0.25, 0.5, 0.5, 0.5, 0.5, 0, 1];
    const labels = [0, 0, 1, 1, 0, 1, 1];
    for (const probs of [new Float64Array(values), new Float32Array(values)]) {
      const result = calibration(probs, labels, 2);
      expect(result.ece).toBe(0);
      expect(result.mce).toBe(0);
      expect(result.signedError).toBe(0);
      // 0.5 and 0.75 sit on bin edges: (0.4, 0.5] and (0.7, 0.8].
      expect(result.bins[4].count).toBe(2);
      expect(result.bins[7].count).toBe(4);
      expect(result.bins[9].count).toBe(1);
    }
  });

  it('puts a confidence on an edge in the bin below it, and 1 in the last bin', () => {
    for (const [conf, bin] of [
      [0.5, 4],
      [0.5000001, 5],
      [0.8, 7],
      [1, 9],
    ] as const) {
      const result = calibration(new Float64Array([conf, 1 - conf]), [0], 2);
      expect(result.bins.findIndex((b) => b.count === 1)).toBe(bin);
    }
    // With 4 bins: edges 0, 0.25, 0.5, 0.75, 1.
    const four = calibration(new Float64Array([0.75, 0.25, 0.5, 0.5]), [0, 1], 2, { bins: 4 });
    expect(four.bins.map((b) => b.count)).toEqual([0, 1, 1, 0]);
    expect(four.bins.map((b) => b.upper)).toEqual([0.25, 0.5, 0.75, 1]);
    // conf 0.5 wrong in bin 1 (gap 0.5), conf 0.75 correct in bin 2 (gap −0.25):
    // ECE = (0.5 + 0.25)/2 = 0.375, MCE = 0.5, signed = (0.5 − 0.25)/2 = 0.125
    expect(four.ece).toBeCloseTo(0.375, 15);
    expect(four.mce).toBeCloseTo(0.5, 15);
    expect(four.signedError).toBeCloseTo(0.125, 15);
  });

  it('matches a brute-force binning on random data', () => {
    const random = new Random(21);
    const classes = 10;
    const count = 2000;
    for (const bins of [10, 15, 3]) {
      const probs = randomProbabilities(random, count, classes, 2);
      const labels = randomLabels(random, count, classes);
      // Make the labels agree with the prediction more often, so accuracy is not ~10%.
      for (let i = 0; i < count; i++) if (random.uniform() < 0.6) labels[i] = argmax(row(probs, classes, i));
      const result = calibration(probs, labels, classes, { bins });
      let ece = 0;
      let mce = 0;
      let signed = 0;
      for (let b = 0; b < bins; b++) {
        let n = 0;
        let correct = 0;
        let confSum = 0;
        for (let i = 0; i < count; i++) {
          const r = row(probs, classes, i);
          const conf = Math.max(...r);
          const inBin = (conf > b / bins || b === 0) && (conf <= (b + 1) / bins || b === bins - 1);
          if (!inBin) continue;
          n++;
          confSum += conf;
          if (argmax(r) === labels[i]) correct++;
        }
        expect(result.bins[b].count).toBe(n);
        if (n === 0) {
          expect(result.bins[b].accuracy).toBeNull();
          continue;
        }
        const gap = confSum / n - correct / n;
        expect(result.bins[b].gap).toBeCloseTo(gap, 12);
        ece += (n / count) * Math.abs(gap);
        signed += (n / count) * gap;
        mce = Math.max(mce, Math.abs(gap));
      }
      expect(result.ece).toBeCloseTo(ece, 12);
      expect(result.mce).toBeCloseTo(mce, 12);
      expect(result.signedError).toBeCloseTo(signed, 12);
      expect(result.ece).toBeGreaterThanOrEqual(Math.abs(result.signedError) - 1e-15);
      expect(result.mce).toBeGreaterThanOrEqual(result.ece - 1e-15);
    }
  });

  it('rejects a bad number of bins', () => {
    const probs = new Float64Array([0.5, 0.5]);
    expect(() => calibration(probs, [0], 2, { bins: 0 })).toThrow(/number of bins/);
    expect(() => calibration(probs, [0], 2, { bins: 2.5 })).toThrow(/number of bins/);
  });
});

describe('calibration curve on logit-spaced bins', () => {
  it('spaces the edges equally in logit from 1/classes to 1 − 1e-6 by default', () => {
    const { edges, logits } = logitBinEdges(0.1, CURVE_MAX_CONFIDENCE, 10);
    expect(edges[0]).toBe(0.1);
    expect(edges[10]).toBe(1 - 1e-6);
    expect(logits[0]).toBeCloseTo(Math.log(0.1 / 0.9), 12);
    expect(logits[10]).toBeCloseTo(Math.log(999999), 8);
    const step = (logits[10] - logits[0]) / 10;
    for (let b = 0; b < 10; b++) {
      expect(logits[b + 1] - logits[b]).toBeCloseTo(step, 12);
      expect(edges[b + 1]).toBeGreaterThan(edges[b]);
      expect(Math.log(edges[b] / (1 - edges[b]))).toBeCloseTo(logits[b], 6);
    }
  });

  it('works out a hand example', () => {
    // Two classes, two bins over logit ∈ [0, ln 999999]: middle edge at logit ½ ln 999999,
    // confidence √999999 / (1 + √999999) ≈ 0.99900.
    //   conf 0.6 correct, conf 0.9 wrong    → bin 0: conf 0.75,    acc 0.5, error  0.25
    //   conf 1 correct, conf 0.9999 correct → bin 1: conf 0.99995, acc 1,   error −0.00005
    const probs = new Float64Array([0.6, 0.4, 0.1, 0.9, 1, 0, 0.0001, 0.9999]);
    const points = calibrationCurve(probs, [0, 0, 0, 1], 2, { bins: 2 });
    expect(points).toHaveLength(2);
    const middle = Math.sqrt(999999) / (1 + Math.sqrt(999999));
    expect(points[0].lowerEdge).toBe(0.5);
    expect(points[0].upperEdge).toBeCloseTo(middle, 12);
    expect(points[0].lowerLogit).toBe(0);
    // 1 − 1e-6 is not exact in binary, so logit(1 − 1e-6) differs from ln 999999 by ~1e-11.
    expect(points[0].upperLogit).toBeCloseTo(Math.log(999999) / 2, 9);
    expect(points[0]).toMatchObject({ accuracy: 0.5, count: 2 });
    expect(points[0].confidence).toBeCloseTo(0.75, 15);
    expect(points[0].error).toBeCloseTo(0.25, 15);
    expect(points[1]).toMatchObject({ accuracy: 1, count: 2, upperEdge: 1 - 1e-6 });
    expect(points[1].confidence).toBeCloseTo(0.99995, 15);
    expect(points[1].error).toBeCloseTo(-0.00005, 15);
  });

  it('omits empty bins and honours a custom range', () => {
    // Everything at confidence 0.75: one point only.
    const probs = new Float64Array([0.75, 0.25, 0.25, 0.75]);
    const points = calibrationCurve(probs, [0, 0], 2, { bins: 5 });
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ count: 2, accuracy: 0.5, confidence: 0.75, error: 0.25 });
    const custom = calibrationCurve(probs, [0, 0], 2, { bins: 2, minConfidence: 0.7, maxConfidence: 0.8 });
    // logit(0.7) = 0.847298, logit(0.8) = 1.386294, middle 1.116796 → 0.75339; 0.75 falls in bin 0.
    expect(custom).toHaveLength(1);
    expect(custom[0].lowerEdge).toBe(0.7);
    expect(custom[0].upperEdge).toBeCloseTo(0.75339, 5);
    expect(() => calibrationCurve(probs, [0, 0], 2, { minConfidence: 0.9, maxConfidence: 0.8 })).toThrow(
      /confidence range/,
    );
    expect(() => calibrationCurve(probs, [0, 0], 2, { maxConfidence: 1 })).toThrow(/confidence range/);
  });

  it('matches a brute-force logit binning on random data', () => {
    const random = new Random(22);
    const classes = 10;
    const count = 3000;
    const probs = randomProbabilities(random, count, classes, 4);
    const labels = randomLabels(random, count, classes);
    for (let i = 0; i < count; i++) if (random.uniform() < 0.8) labels[i] = argmax(row(probs, classes, i));
    const bins = 12;
    const points = calibrationCurve(probs, labels, classes, { bins });
    const low = Math.log(0.1 / 0.9);
    const high = Math.log((1 - 1e-6) / 1e-6);
    const n = new Array<number>(bins).fill(0);
    const correct = new Array<number>(bins).fill(0);
    const confSum = new Array<number>(bins).fill(0);
    for (let i = 0; i < count; i++) {
      const r = row(probs, classes, i);
      const conf = Math.max(...r);
      const z = Math.log(conf) - Math.log1p(-conf); // Infinity at conf = 1
      const b = Math.min(bins - 1, Math.max(0, Math.ceil(((z - low) / (high - low)) * bins) - 1));
      n[b]++;
      confSum[b] += conf;
      if (argmax(r) === labels[i]) correct[b]++;
    }
    const expected = n.flatMap((count_, b) =>
      count_ === 0 ? [] : [{ b, count: count_, confidence: confSum[b] / count_, accuracy: correct[b] / count_ }],
    );
    expect(points).toHaveLength(expected.length);
    expect(points.length).toBeGreaterThan(5);
    points.forEach((p, k) => {
      expect(p.count).toBe(expected[k].count);
      expect(p.confidence).toBeCloseTo(expected[k].confidence, 12);
      expect(p.accuracy).toBeCloseTo(expected[k].accuracy, 12);
      expect(p.error).toBeCloseTo(expected[k].confidence - expected[k].accuracy, 12);
      expect(p.confidence).toBeGreaterThanOrEqual(p.lowerEdge);
      if (k < points.length - 1 || expected[k].b < bins - 1) expect(p.confidence).toBeLessThanOrEqual(p.upperEdge);
    });
    expect(points.reduce((s, p) => s + p.count, 0)).toBe(count);
  });
});
