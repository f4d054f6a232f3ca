/**
 * The page's "Updates and corrections": every commit that changed the
 * results' summary, newest first, with its date and subject, read from
 * `git log` at build time. A build from a tarball (no git, or no repository)
 * falls back to site/lib/results-history.json, the same list committed;
 * `npx tsx site/lib/history.ts --write` refreshes it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
// Imported, not read from disk: the build bundles this module, and a path beside it would point into the bundle.
import committed from './results-history.json' with { type: 'json' };

export interface ResultsChange {
  commit: string;
  /** YYYY-MM-DD, the author date. */
  date: string;
  subject: string;
}

export interface ResultsHistory {
  changes: ResultsChange[];
  /** Where the list came from: git, the committed file, or nowhere (results outside the repository). */
  source: 'git' | 'file' | 'none';
}

/** The committed list, relative to the repository's top folder (where `--write` runs). */
export const historyFile = 'site/lib/results-history.json';

const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 });

/** The repository's top folder, or null where git is missing or cwd is in no repository. */
function repositoryRoot(cwd: string): string | null {
  try {
    return git(['rev-parse', '--show-toplevel'], cwd).trim() || null;
  } catch {
    return null;
  }
}

/** Parses `git log --format=%H%x09%ad%x09%s --date=short` output. */
export function parseLog(log: string): ResultsChange[] {
  return log
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [commit, date, ...subject] = line.split('\t');
      return { commit, date, subject: subject.join('\t') };
    });
}

/** The commits that changed <resultsDir>/summary.json, from git; null where git cannot say (no git, no repository). */
export function gitHistory(resultsDir: string, cwd = process.cwd()): ResultsChange[] | null {
  const root = repositoryRoot(cwd);
  if (!root) return null;
  const summary = resolve(resultsDir, 'summary.json');
  const inside = relative(root, summary);
  if (inside.startsWith('..') || isAbsolute(inside)) return [];
  try {
    return parseLog(git(['log', '--format=%H%x09%ad%x09%s', '--date=short', '--', inside], root));
  } catch {
    return null;
  }
}

/** The committed list as bundled, or as read from `file`. */
export function committedHistory(file?: string): ResultsChange[] {
  return file === undefined ? (committed as ResultsChange[]) : (JSON.parse(readFileSync(file, 'utf8')) as ResultsChange[]);
}

/** The history the page shows: git where it can answer, else the committed list (only for the repository's own results). */
export function resultsHistory(resultsDir: string, cwd = process.cwd(), file?: string): ResultsHistory {
  const fromGit = gitHistory(resultsDir, cwd);
  if (fromGit !== null) return { changes: fromGit, source: fromGit.length > 0 ? 'git' : 'none' };
  const ownResults = resolve(resultsDir) === resolve(cwd, 'results');
  return ownResults ? { changes: committedHistory(file), source: 'file' } : { changes: [], source: 'none' };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href && process.argv.includes('--write')) {
  const changes = gitHistory(join(process.cwd(), 'results'));
  if (!changes) throw new Error('git cannot read the results history here; run this in a checkout of the repository.');
  writeFileSync(join(process.cwd(), historyFile), `${JSON.stringify(changes, null, 2)}\n`);
  console.log(`${historyFile}: ${changes.length} changes`);
}
