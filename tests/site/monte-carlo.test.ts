/**
 * The sampled recipe's rows are one Monte Carlo draw: how far another draw
 * moved them is measured between two regenerations of the results, on a
 * hand-made pair of summaries and on the two commits in git the committed
 * record names; the page states it and never counts such a row.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { drawComparison, drawMovements, singleDraw, singleDrawCaveat } from '../../site/lib/monte-carlo.ts';
import { compareCommits } from '../../site/lib/monte-carlo-write.ts';
import type { SummaryArtifact } from '../../site/lib/results.ts';

const d = (estimate: number, low: number, high: number) => ({ estimate, low, high });
const metrics = (auroc: ReturnType<typeof d>) => ({ accuracy: d(0, 0, 0), ece: d(0, 0, 0), nll: d(0, 0, 0), auroc, aurocMsp: d(0, 0, 0), fpr95: d(0, 0, 0) });
const row = (model: string, posterior: string, predictive: string, auroc: number, versusAuroc: ReturnType<typeof d>) =>
  ({ dataset: 'mnist', model, method: 'kfac', posterior, predictive, auroc, ece: 0, nll: 0, accuracy: 0, aurocMsp: 0, fpr95: 0, versus: { sgd: metrics(versusAuroc), temperature: metrics(d(0, 0, 0)) } }) as unknown as SummaryArtifact['rows'][number];
const summary = (rows: SummaryArtifact['rows']) => ({ profile: 'full', notes: [], rows }) as unknown as SummaryArtifact;

describe('drawMovements', () => {
  it('measures each paired difference’s move in widths of its earlier interval, single draws apart from the rest', () => {
    const before = summary([row('a', 'original', 'sampled', 0.68, d(0.02, 0.0195, 0.0205)), row('a', 'tuned', 'glm', 0.9, d(0.1, 0.09, 0.11)), row('b', 'tuned', 'glm', 0.8, d(0, 0, 0))]);
    const after = summary([row('a', 'original', 'sampled', 0.75, d(0.09, 0.088, 0.092)), row('a', 'tuned', 'glm', 0.9, d(0.1001, 0.0901, 0.1101)), row('b', 'tuned', 'glm', 0.8, d(0, 0, 0)), row('c', 'tuned', 'glm', 0.7, d(1, 0, 2))]);
    const { sampled, others } = drawMovements(before, after);
    // 0.07 moved over a width of 0.001: 70 widths; 0.0001 over 0.02: 0.005 widths; the identical row and the new one add nothing.
    expect(sampled!.widths).toBeCloseTo(70, 9);
    expect(sampled).toMatchObject({ model: 'a', posterior: 'original', baseline: 'sgd', metric: 'auroc', before: 0.68, after: 0.75 });
    expect(others!.widths).toBeCloseTo(0.005, 9);
    expect(others).toMatchObject({ model: 'a', posterior: 'tuned' });
  });

  it('calls only the sampled predictive one draw', () => {
    expect(['sampled', 'glm', 'map', 'linearised', 'probit'].map((predictive) => singleDraw({ predictive }))).toEqual([true, false, false, false, false]);
  });
});

describe('the committed record', () => {
  it('is what the two regenerations in git give', () => {
    let inGit = true;
    try {
      execFileSync('git', ['cat-file', '-e', `${drawComparison.before}:results/summary.json`], { stdio: 'ignore' });
    } catch {
      inGit = false;
    }
    // A copy without the history (a tarball) has only the record to go by.
    if (!inGit) return;
    expect(compareCommits(drawComparison.before, drawComparison.after)).toEqual(drawComparison);
  });

  it('says the issue’s numbers: up to 79 widths, KFAC on LeNet-5 for Fashion-MNIST from 0.682 to 0.750, every other row under 0.001 of its width', () => {
    expect(Math.floor(drawComparison.sampled.widths)).toBe(79);
    expect(drawComparison.others.widths).toBeLessThan(0.001);
    expect(singleDrawCaveat()).toContain('by up to 79 widths of their 95% intervals (KFAC on LeNet-5 for Fashion-MNIST: AUROC 0.682 in one draw, 0.750 in the other), while every other row moved by under 0.001 of its width.');
  });
});
