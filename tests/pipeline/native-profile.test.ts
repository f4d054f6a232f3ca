/**
 * Same seed, same backend, same bytes, on the native backend too: the quick
 * profile twice from empty caches with `--backend node`, through the command
 * line, into two folders; every artifact must be byte for byte the same, and
 * the manifest must say node. (The wasm runs are quick-profile.test.ts.)
 * Skipped, saying so, where `npm run setup -- --native` has not built the binding.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkResults } from '../../compute/artifacts/check.ts';
import { listArtifacts, manifestFile, type Manifest } from '../../compute/artifacts/manifest.ts';
import { nativeBinding } from '../../compute/backend/native.ts';

const built = 'path' in nativeBinding('@tensorflow/tfjs-node');

/** A failed run's stderr with the error lines of its stdout, where the task failures name their cause. */
const why = (run: { stdout: string; stderr: string }) => [run.stderr, ...run.stdout.split('\n').filter((line) => /^error:|failed/.test(line))].join('\n');

async function quickRun(out: string, cache: string) {
  try {
    const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', 'compute/cli.ts', 'run', '--profile', 'quick', '--backend', 'node', '--out', out, '--cache', cache], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code ?? 1, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe.runIf(built)('quick profile on the native backend', () => {
  it('runs from empty caches twice and gives byte-identical artifacts', async () => {
    const root = mkdtempSync(join(tmpdir(), 'quick-node-'));
    const [outA, outB] = [join(root, 'out-a'), join(root, 'out-b')];
    // One after the other: the two runs must not share a cache or the machine's cores.
    const first = await quickRun(outA, join(root, 'cache-a'));
    expect(first.code, why(first)).toBe(0);
    const second = await quickRun(outB, join(root, 'cache-b'));
    expect(second.code, why(second)).toBe(0);
    expect(first.stdout).toMatch(/^backend node \(TensorFlow\.js tensorflow 4\.22\.0, core 4\.22\.0\)/m);
    expect(first.stdout).not.toMatch(/reusing finished/);

    const artifacts = listArtifacts(outA);
    expect(artifacts).toContain('summary.json');
    expect(artifacts).toContain('mnist/lenet5/kfac.json');
    expect(checkResults(outA)).toEqual([]);
    expect(listArtifacts(outB)).toEqual(artifacts);
    for (const path of artifacts) expect(readFileSync(join(outB, path)).equals(readFileSync(join(outA, path))), path).toBe(true);
    const manifest = JSON.parse(readFileSync(join(outA, manifestFile), 'utf8')) as Manifest;
    expect(manifest.backend.name).toBe('node');
  }, 900_000);
});

// Where it is not built, one skipped test says why (vitest prints its name).
if (!built) describe('quick profile on the native backend', () => {
  it.skip('skipped: the native backend is not built here (`npm run setup -- --native` builds it)', () => {});
});
