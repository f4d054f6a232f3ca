/**
 * Writes site/lib/monte-carlo-draws.json from git: how far two versions of
 * results/summary.json moved, single-draw rows apart from the rest
 * (site/lib/monte-carlo.ts). `npx tsx site/lib/monte-carlo-write.ts BEFORE AFTER`
 * in a checkout, BEFORE and AFTER two commits that regenerated the results.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { drawMovements, type DrawComparison } from './monte-carlo.ts';
import type { SummaryArtifact } from './results.ts';

const git = (args: string[]) => execFileSync('git', args, { encoding: 'utf8', maxBuffer: 1 << 26 });

/** The comparison of two commits' summaries, as the committed record holds it. */
export function compareCommits(before: string, after: string): DrawComparison {
  const summary = (commit: string) => JSON.parse(git(['show', `${commit}:results/summary.json`])) as SummaryArtifact;
  const { sampled, others } = drawMovements(summary(before), summary(after));
  if (!sampled || !others) throw new Error('These two summaries share no single-draw row and another row to compare.');
  const full = (commit: string) => git(['rev-parse', commit]).trim();
  return { before: full(before), after: full(after), date: git(['log', '-1', '--format=%ad', '--date=short', after]).trim(), sampled, others };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [before, after] = process.argv.slice(2);
  if (!before || !after) throw new Error('Give the two commits whose results/summary.json to compare: BEFORE AFTER.');
  const record = compareCommits(before, after);
  writeFileSync('site/lib/monte-carlo-draws.json', `${JSON.stringify(record, null, 2)}\n`);
  console.log(`single-draw rows moved by up to ${record.sampled.widths.toFixed(1)} interval widths, the others by up to ${record.others.widths.toExponential(1)}`);
}
