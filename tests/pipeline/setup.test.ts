/**
 * Setup and reproduce check their options before they install anything, and
 * a held dpkg lock costs one sentence, not the native backend: run as a user
 * runs them, with Fashion-MNIST pointed at an empty folder so that setup
 * wants to install it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const noFashion = mkdtempSync(join(tmpdir(), 'no-fashion-'));

async function script(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run('npx', args, { env: { ...process.env, FASHION_MNIST_DIR: noFashion, ...env }, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('options before setup', () => {
  it('refuses a bad option of reproduce in one sentence before installing anything', async () => {
    const cases: [string[], RegExp][] = [
      [['--profile', 'typo'], /^error: Unknown profile "typo"; choose one of full, quick\.$/],
      [['--frobnicate'], /^error: Unknown option '--frobnicate'; run with --help to see the options\.$/],
      [['--profile', 'quick', '--out', '/etc/hostname/results'], /^error: --out \/etc\/hostname\/results cannot be made: \/etc\/hostname is a file, not a folder; choose another --out\.$/],
      [['--backend', 'tpu'], /^error: Unknown backend "tpu"/],
    ];
    for (const [args, message] of cases) {
      const result = await script(['zx', 'scripts/reproduce.mjs', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr.trim()).toMatch(message);
      // Setup never started: it would have said it installs Fashion-MNIST (absent here).
      expect(result.stdout).not.toMatch(/installing/);
    }
  });

  it('refuses a bad option of setup in one sentence', async () => {
    const result = await script(['zx', 'scripts/setup.mjs', '--natve']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^error: unknown option --natve; setup takes --native/);
    expect(result.stdout).not.toMatch(/installing/);
  });
});

// Needs root and apt-get (CI has both), and the native backend's build cached by an earlier `npm run setup -- --native`.
const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && existsSync('.cache/native');

describe.skipIf(!canInstall)('a held dpkg lock', () => {
  it('waits (here 2 s), then says in one sentence what to run, and still builds the native backend', async () => {
    // apt takes its locks with fcntl, so the holder must too (flock(1) would not block it).
    const holder = spawn('python3', ['-c', "import fcntl,sys,time\nf=open('/var/lib/dpkg/lock-frontend','w')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('held',flush=True)\ntime.sleep(120)"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const result = await script(['zx', 'scripts/setup.mjs', '--native'], { SETUP_APT_LOCK_WAIT: '2' });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr.trim()).toMatch(/^error: Fashion-MNIST: could not install dataset-fashion-mnist \(another package manager held dpkg's lock for over 2 s\); run `(sudo )?apt-get install -y dataset-fashion-mnist` once it is free, then run this again\.$/);
      expect(result.stdout).toMatch(/native backend (ready|built)/);
    } finally {
      holder.kill('SIGKILL');
    }
  }, 300_000);
});
