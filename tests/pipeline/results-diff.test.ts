/**
 * `npm run results:diff`: in a throwaway git repository, an old results/ is
 * committed and a new one written over it; the report must sort each moved
 * summary metric by whether it left the 95% interval, list rows added and
 * removed, and pair rows written before the posterior field with new ones.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

const base = { dataset: 'mnist', model: 'lenet5', predictive: 'glm', objective: 'nll', oodSet: 'fashion-mnist', nll: 0.04, auroc: 0.95, fpr95: 0.3 };
const interval = (low: number, high: number) => ({ low, high });

// Old rows: two with intervals (kfac tuned, diag tuned), two from before posterior and intervals existed.
const oldRows = [
  { ...base, method: 'kfac', posterior: 'tuned', accuracy: 0.987, ece: 0.007, logN: 6, logTau: 2, intervals: { accuracy: interval(0.985, 0.989), ece: interval(0.006, 0.008) } },
  { ...base, method: 'diag', posterior: 'tuned', accuracy: 0.98, ece: 0.01, logN: 5, logTau: 1, intervals: { accuracy: interval(0.978, 0.982) } },
  { ...base, dataset: 'fashion-mnist', model: 'mlp-1', method: 'kfac', accuracy: 0.88, ece: 0.015, nll: 0.3, auroc: 0.9, logN: 4, logTau: 0 },
  { ...base, model: 'mlp-1', method: 'sgd', accuracy: 0.96, ece: 0.025, fpr95: 0.4, logN: null, logTau: null },
];
const newRows = [
  // ece leaves the old interval (beyond); accuracy moves inside both (within); logN has no interval (other).
  { ...base, method: 'kfac', posterior: 'tuned', accuracy: 0.9875, ece: 0.0095, logN: 7, logTau: 2, intervals: { accuracy: interval(0.9855, 0.9895), ece: interval(0.008, 0.011) } },
  { ...base, method: 'kfac', posterior: 'marglik', accuracy: 0.986, ece: 0.012, logN: 8, logTau: 3, intervals: { accuracy: interval(0.984, 0.988) } },
  // The old row had no posterior: a Laplace method's is "tuned". Only the new row has intervals:
  // the old nll lies outside the new one (beyond), the old auroc inside (within).
  { ...base, dataset: 'fashion-mnist', model: 'mlp-1', method: 'kfac', posterior: 'tuned', accuracy: 0.88, ece: 0.015, nll: 0.35, auroc: 0.905, logN: 4, logTau: 0, intervals: { nll: interval(0.33, 0.37), auroc: interval(0.89, 0.92) } },
  // The old sgd row had no posterior: "map". Neither row has intervals, so fpr95's move is "no interval".
  { ...base, model: 'mlp-1', method: 'sgd', posterior: 'map', accuracy: 0.96, ece: 0.025, fpr95: 0.45, logN: null, logTau: null },
];

function writeResults(dir: string, rows: unknown[], artifacts: Record<string, string>): void {
  mkdirSync(join(dir, 'results'), { recursive: true });
  writeFileSync(join(dir, 'results', 'summary.json'), `${JSON.stringify({ rows }, null, 2)}\n`);
  writeFileSync(join(dir, 'results', 'manifest.json'), `${JSON.stringify({ artifacts }, null, 2)}\n`);
}

/** The lines of the report between the heading starting with `title` and the next heading. */
function section(report: string, title: string): string[] {
  const lines = report.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`##### ${title}`));
  if (start < 0) return [];
  const end = lines.findIndex((line, i) => i > start && line.startsWith('#'));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((line) => line.startsWith('| ') && !line.startsWith('| row') && !line.startsWith('| ---'));
}

describe('results:diff', () => {
  it('puts moves beyond the 95% interval first, then within, then the rest, and lists added and removed rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'results-diff-'));
    const git = (...args: string[]) => run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: dir });
    await git('init', '-q');
    writeResults(dir, oldRows, { 'summary.json': 'a', 'mnist/lenet5/kfac.json': 'b' });
    await git('add', 'results');
    await git('commit', '-q', '-m', 'old results');
    writeResults(dir, newRows, { 'summary.json': 'c', 'mnist/lenet5/kfac.json': 'b', 'mnist/lenet5/marglik.json': 'd' });

    const { stdout: report } = await run(join(root, 'node_modules', '.bin', 'zx'), [join(root, 'scripts', 'results-diff.mjs'), 'HEAD'], { cwd: dir });

    expect(report).toContain('2 moved beyond their 95% interval, 2 within it, 2 other moves (no interval, or logN / logTau); 1 row added, 1 removed.');
    const headings = report.split('\n').filter((line) => line.startsWith('#####'));
    expect(headings).toEqual([
      '##### Moved beyond their 95% interval (2)',
      '##### Moved within their 95% interval (2)',
      '##### Other moves: no interval, or logN / logTau (2)',
      '##### Rows added or removed (2)',
    ]);
    expect(section(report, 'Moved beyond')).toEqual([
      '| mnist / lenet5 / kfac / tuned | ece | 0.007 | 0.0095 | 0.0025 | [0.006, 0.008] | [0.008, 0.011] |',
      '| fashion-mnist / mlp-1 / kfac / tuned | nll | 0.3 | 0.35 | 0.05 | – | [0.33, 0.37] |',
    ]);
    expect(section(report, 'Moved within')).toEqual([
      '| mnist / lenet5 / kfac / tuned | accuracy | 0.987 | 0.9875 | 0.0005 | [0.985, 0.989] | [0.9855, 0.9895] |',
      '| fashion-mnist / mlp-1 / kfac / tuned | auroc | 0.9 | 0.905 | 0.005 | – | [0.89, 0.92] |',
    ]);
    expect(section(report, 'Other moves')).toEqual([
      '| mnist / lenet5 / kfac / tuned | logN | 6 | 7 | 1 |',
      '| mnist / mlp-1 / sgd / map | fpr95 | 0.4 | 0.45 | 0.05 |',
    ]);
    expect(section(report, 'Rows added or removed')).toEqual([
      '| mnist / lenet5 / kfac / marglik | added | 0.986 | 0.012 | 0.04 | 0.95 | 0.3 |',
      '| mnist / lenet5 / diag / tuned | removed | 0.98 | 0.01 | 0.04 | 0.95 | 0.3 |',
    ]);
    // models.json is in neither commit; the artifacts section is as before.
    expect(report).toMatch(/#### models\.json\n\nNo metric moved\./);
    expect(report).toContain('1 added, 0 removed, 1 changed.');
  });
});
