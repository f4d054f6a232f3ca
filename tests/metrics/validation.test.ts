import { describe, expect, it } from 'vitest';
import {
  accuracy,
  auroc,
  brierScore,
  calibration,
  calibrationCurve,
  confidences,
  entropy,
  fprAtTpr,
  fractionAboveKnownQuantile,
  meanConfidence,
  negativeLogLikelihood,
  predictedClasses,
} from '../../compute/metrics/index.ts';

const probs = new Float64Array([0.7, 0.3, 0.4, 0.6]);

const withLabels = {
  accuracy,
  negativeLogLikelihood,
  brierScore,
  calibration: (p: Float64Array, y: number[], c: number) => calibration(p, y, c),
  calibrationCurve: (p: Float64Array, y: number[], c: number) => calibrationCurve(p, y, c),
};
const withoutLabels = { confidences, predictedClasses, meanConfidence, entropy };

/** Asserts that fn throws an Error whose message is one sentence matching pattern. */
function expectOneSentence(fn: () => unknown, pattern: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(Error);
  const message = (error as Error).message;
  expect(message).toMatch(pattern);
  expect(message).toMatch(/^[A-Z].*[.?)]$/);
}

describe('input validation', () => {
  for (const [name, fn] of Object.entries(withLabels)) {
    it(`${name} rejects malformed probabilities and labels`, () => {
      expectOneSentence(() => fn(probs, [0], 2), /1 labels but 2 rows/);
      expectOneSentence(() => fn(probs, [0, 1, 1], 2), /3 labels but 2 rows/);
      expectOneSentence(() => fn(new Float64Array(0), [], 2), /empty/);
      expectOneSentence(() => fn(new Float64Array([0.7, NaN, 0.4, 0.6]), [0, 1], 2), /row 0, class 1 is NaN/);
      expectOneSentence(() => fn(probs, [0, 2], 2), /Label 1 is 2/);
      expectOneSentence(() => fn(probs, [0, -1], 2), /Label 1 is -1/);
      expectOneSentence(() => fn(probs, [0, 0.5], 2), /Label 1 is 0.5/);
      expectOneSentence(() => fn(probs, [0, 1], 3), /not a multiple of classes = 3/);
      expectOneSentence(() => fn(probs, [0, 1], 1), /at least 2/);
      expectOneSentence(() => fn(new Float64Array([2.5, -1.5]), [0], 2), /outside \[0, 1\]/);
      expectOneSentence(() => fn(new Float64Array([0.5, 0.6]), [0], 2), /sum to .* not 1/);
    });
  }

  for (const [name, fn] of Object.entries(withoutLabels)) {
    it(`${name} rejects malformed probabilities`, () => {
      expectOneSentence(() => fn(new Float32Array(0), 2), /empty/);
      expectOneSentence(() => fn(new Float32Array([NaN, 1]), 2), /row 0, class 0 is NaN/);
      expectOneSentence(() => fn(new Float32Array([1, 0, 1]), 2), /not a multiple/);
      expectOneSentence(() => fn(new Float32Array([3, -2]), 2), /outside/);
    });
  }

  it('accepts Float32 rows that sum to 1 only up to rounding', () => {
    const rows = new Float32Array([0.1, 0.2, 0.7, 1 / 3, 1 / 3, 1 / 3]);
    expect(() => entropy(rows, 3)).not.toThrow();
    expect(accuracy(rows, new Uint8Array([2, 0]), 3)).toBe(1);
  });

  it('detection scores reject empty sets and NaN', () => {
    expectOneSentence(() => auroc([], [1]), /known scores are empty/);
    expectOneSentence(() => auroc([1], []), /unknown scores are empty/);
    expectOneSentence(() => auroc([1, NaN], [1]), /known scores contain NaN at index 1/);
    expectOneSentence(() => fprAtTpr([1], [NaN]), /unknown scores contain NaN/);
    expectOneSentence(() => fractionAboveKnownQuantile([], [1]), /empty/);
    expectOneSentence(() => fractionAboveKnownQuantile([1], [1], 0), /quantile level/);
  });
});
