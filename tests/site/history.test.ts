/** The "Updates and corrections" list: git's history of the results where git can answer, the committed list where it cannot (a tarball). */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { committedHistory, gitHistory, parseLog, resultsHistory } from '../../site/lib/history.ts';

describe('parseLog', () => {
  it('reads hash, date and subject, keeping tabs inside the subject', () => {
    expect(parseLog('abc\t2026-12-01\tResults: regenerated\n\ndef\t2026-11-29\tA\tB\n')).toEqual([
      { commit: 'abc', date: '2026-12-01', subject: 'Results: regenerated' },
      { commit: 'def', date: '2026-11-29', subject: 'A\tB' },
    ]);
  });
});

describe('resultsHistory', () => {
  it('reads the history of results/summary.json from git in this checkout, and the committed list is part of it', () => {
    const fromGit = gitHistory('results');
    expect(fromGit).not.toBeNull();
    expect(fromGit!.length).toBeGreaterThan(0);
    for (const change of fromGit!) expect(change.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const commits = new Set(fromGit!.map((change) => change.commit));
    // Every committed entry is a real change of the summary (the list may lag behind git, never disagree with it).
    for (const change of committedHistory()) expect(commits.has(change.commit), change.subject).toBe(true);
    expect(resultsHistory('results').source).toBe('git');
  });
  it('falls back to the committed list in a copy without git, and to nothing for results from elsewhere', () => {
    const tarball = mkdtempSync(join(tmpdir(), 'no-git-'));
    mkdirSync(join(tarball, 'results'));
    writeFileSync(join(tarball, 'results', 'summary.json'), '{}');
    const list = join(tarball, 'history.json');
    cpSync('site/lib/results-history.json', list);
    const copy = resultsHistory(join(tarball, 'results'), tarball, list);
    expect(copy.source).toBe('file');
    expect(copy.changes).toEqual(committedHistory());
    expect(resultsHistory(join(tarball, 'elsewhere'), tarball, list)).toEqual({ changes: [], source: 'none' });
    // Inside a repository, results outside it have no history either.
    expect(resultsHistory(tarball).source).toBe('none');
  });
});
