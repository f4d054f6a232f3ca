/**
 * Global setup: one cold quick-profile run through the command line, shared
 * by the pipeline test (as the first of its two runs) and the site tests (as
 * the artifacts to chart and build). Set QUICK_RESULTS to an existing quick
 * output folder to skip the run while working on the site.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    quickResults: { out: string; cache: string; stdout: string; stderr: string; code: number; reused: boolean };
  }
}

/** Said last, after vitest's summary, so a run without a browser cannot pass for a full one. */
function browserWarning() {
  if (existsSync('/usr/bin/chromium')) return;
  const line = '='.repeat(78);
  console.warn(`\n${line}\nThe browser tests were SKIPPED: /usr/bin/chromium is missing. Install it with\n  npm run setup -- --browser\n(as root, or with sudo) and run npm test again.\n${line}\n`);
}

export default async function setup(project: TestProject) {
  const given = process.env.QUICK_RESULTS;
  if (given) {
    project.provide('quickResults', { out: given, cache: '', stdout: '', stderr: '', code: 0, reused: true });
    return browserWarning;
  }
  const root = mkdtempSync(join(tmpdir(), 'quick-shared-'));
  const [out, cache] = [join(root, 'out'), join(root, 'cache')];
  try {
    const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', 'compute/cli.ts', 'run', '--profile', 'quick', '--out', out, '--cache', cache], { maxBuffer: 1 << 24 });
    project.provide('quickResults', { out, cache, stdout, stderr, code: 0, reused: false });
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    project.provide('quickResults', { out, cache, stdout: failure.stdout, stderr: failure.stderr, code: failure.code ?? 1, reused: false });
  }
  return browserWarning;
}
