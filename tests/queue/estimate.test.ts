/** The enqueuer's time-left estimate against sums worked by hand (no Redis). */
import { describe, expect, it } from 'vitest';
import { estimateSecondsLeft, type TaskLeft } from '../../compute/queue/estimate.ts';

describe('estimateSecondsLeft', () => {
  // Finished so far: two trainings (10 s, 20 s: mean 15) and one laplace task (4 s); over all three, 34/3 s.
  const secondsByKind = new Map([
    ['train', [10, 20]],
    ['laplace', [4]],
  ]);
  const left: TaskLeft[] = [
    { kind: 'train', fractionDone: 0 }, // 15
    { kind: 'train', fractionDone: 0.6 }, // 15 × 0.4 = 6
    { kind: 'laplace', fractionDone: 0 }, // 4
    { kind: 'laplace', fractionDone: 0.25 }, // 4 × 0.75 = 3
    { kind: 'landscape', fractionDone: 0 }, // none finished yet: the mean over all, 34/3
  ];
  // Work left: 15 + 6 + 4 + 3 + 34/3 = 118/3 s.

  it('prices each task left at its own kind\'s mean and shares the work among the slots', () => {
    expect(estimateSecondsLeft({ secondsByKind, left, slots: 2 })).toBeCloseTo(118 / 6, 12);
    expect(estimateSecondsLeft({ secondsByKind, left, slots: 1 })).toBeCloseTo(118 / 3, 12);
  });

  it('is never less than the longest single task left', () => {
    // 118/12 ≈ 9.8 s of work per slot, but the waiting training alone takes 15 s.
    expect(estimateSecondsLeft({ secondsByKind, left, slots: 4 })).toBe(15);
    expect(estimateSecondsLeft({ secondsByKind, left: [{ kind: 'train', fractionDone: 0.5 }], slots: 3 })).toBe(7.5);
  });

  it('counts no slots seen yet as one', () => {
    expect(estimateSecondsLeft({ secondsByKind, left, slots: 0 })).toBeCloseTo(118 / 3, 12);
  });

  it('is unknown before any task has finished, and zero with none left', () => {
    expect(estimateSecondsLeft({ secondsByKind: new Map(), left, slots: 2 })).toBeNaN();
    expect(estimateSecondsLeft({ secondsByKind, left: [], slots: 2 })).toBe(0);
  });
});
