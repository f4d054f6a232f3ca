/**
 * The README's stage times come from the manifest, and only from a cold run:
 * hand-worked manifests, each rendered and checked.
 */
import { describe, expect, it } from 'vitest';
import { carriedColdRun, isColdRun, type Manifest, type StageRecord } from '../../compute/artifacts/manifest.ts';
import { checkStageTimes, replaceStageTimes, stageTimesEnd, stageTimesStart, stageTimesText } from '../../compute/artifacts/stage-times.ts';

const stage = (seconds: number, ran: number, reused: number, extra: Partial<StageRecord> = {}): StageRecord => ({ seconds, ran, reused, workers: 2, ...extra });
const manifestWith = (stages: Manifest['run']['stages']): Pick<Manifest, 'run' | 'backend' | 'profile'> => ({
  profile: 'full',
  backend: { name: 'node', version: '4.22.0', core: '4.22.0' },
  run: { stages, node: 'v20.20.2', platform: 'linux-x64', machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 24 }, finishedAt: '2026-12-07T12:00:00.000Z' },
});
const readme = (block: string) => `# Title\n\nTime.\n\n${stageTimesStart}\n${block}\n${stageTimesEnd}\n\nMore.\n`;

describe('stage times in the README', () => {
  const cold = manifestWith({ models: stage(1500, 38, 0), laplace: stage(1800, 52, 0), demo: stage(1, 0, 0) });

  it('states the times, task counts, total and machine of a cold run', () => {
    expect(isColdRun(cold.run)).toBe(true);
    const text = stageTimesText(cold);
    expect(text).toContain('| models | 25m00s | 38 |');
    expect(text).toContain('| laplace | 30m00s | 52 |');
    // 1500 + 1800 + 1 s = 55 min 1 s.
    expect(text).toContain('| total | 55m01s | 90 |');
    expect(text).toContain('Test CPU, 2 cores, 24 GiB; backend node, 2 workers');
  });

  it('states no time for a run that restored tasks, kept stages from another run, or predates the counts', () => {
    const cases: [Manifest['run']['stages'], RegExp][] = [
      [{ models: stage(2, 0, 38), laplace: stage(4000, 52, 0) }, /models: 38 of 38 tasks restored, wholly or partly, from the cache/],
      [{ models: stage(1500, 38, 0, { carriedOver: true }), landscape: stage(360, 4, 0) }, /models: kept from an earlier run by a partial \(--only\) run/],
      [{ models: 2.3, laplace: 4018 }, /models, laplace: recorded before the manifest counted reused tasks/],
    ];
    for (const [stages, reason] of cases) {
      const manifest = manifestWith(stages);
      expect(isColdRun(manifest.run)).toBe(false);
      const text = stageTimesText(manifest);
      expect(text).toMatch(reason);
      expect(text).toMatch(/none is stated here/);
      // No duration of any form.
      expect(text).not.toMatch(/\d+m\d\ds|\d+h\d\dm|\| total/);
    }
  });

  it('carries the last cold run through warm runs, states its times with its commit, and says why the newer run is not stated', () => {
    const coldAtCommit = { ...cold, run: { ...cold.run, commit: 'abc123def456' } };
    const warmStages = { models: stage(3, 0, 38), laplace: stage(600, 10, 42), demo: stage(1, 0, 0) };
    // A warm run after the cold one carries it; a second warm run carries it on; a cold run carries nothing.
    const carried = carriedColdRun({ stages: warmStages }, coldAtCommit, 'full');
    expect(carried).toEqual({ stages: cold.run.stages, node: 'v20.20.2', machine: cold.run.machine, backend: 'node', finishedAt: cold.run.finishedAt, commit: 'abc123def456' });
    const warm = { ...manifestWith(warmStages), run: { ...manifestWith(warmStages).run, finishedAt: '2026-12-09T08:00:00.000Z', commit: 'fedcba654321', lastColdRun: carried } };
    expect(carriedColdRun({ stages: warmStages }, warm, 'full')).toBe(carried);
    expect(carriedColdRun(cold.run, warm, 'full')).toBeUndefined();
    // Another profile's cold run says nothing of this one's cost.
    expect(carriedColdRun({ stages: warmStages }, coldAtCommit, 'quick')).toBeUndefined();
    const text = stageTimesText(warm);
    expect(text).toContain('Measured by the last cold run of the full profile (finished 2026-12-07 at commit abc123def456)');
    expect(text).toContain('| total | 55m01s | 90 |');
    expect(text).toMatch(/since \(finished 2026-12-09 at commit fedcba654321\) was not cold \(models: 38 of 38 tasks restored, wholly or partly, from the cache; laplace: 42 of 52 tasks restored, wholly or partly, from the cache\)/);
    // The warm run's own times appear nowhere.
    expect(text).not.toContain('10m00s');
  });

  it('passes the check only when the block is what the manifest says', () => {
    const good = replaceStageTimes(readme('old text'), stageTimesText(cold));
    expect(checkStageTimes(good, cold)).toBeNull();
    // A time typed by hand in the block.
    expect(checkStageTimes(good.replace('| total | 55m01s |', '| total | 45m00s |'), cold)).toMatch(/do not match results\/manifest\.json/);
    // The same README against a manifest of a warm run: the times it states are no longer backed.
    expect(checkStageTimes(good, manifestWith({ models: stage(2, 0, 38), laplace: stage(4000, 52, 0) }))).toMatch(/do not match/);
    expect(checkStageTimes('# no markers\n', cold)).toMatch(/lacks the stage-time markers/);
  });
});

describe('the committed README', () => {
  it('states what the committed manifest backs, and nothing else', async () => {
    const { readFileSync } = await import('node:fs');
    const manifest = JSON.parse(readFileSync('results/manifest.json', 'utf8')) as Manifest;
    expect(checkStageTimes(readFileSync('README.md', 'utf8'), manifest)).toBeNull();
  });
});
