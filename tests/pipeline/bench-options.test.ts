/** `npm run bench` checks its options before it measures anything, and says what it can run. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { benchParts } from '../bench/parts.ts';

const run = promisify(execFile);

async function bench(args: string[]) {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'tests/bench/index.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('npm run bench options', () => {
  it('prints its options and parts for --help, and every part it names exists', async () => {
    const help = await bench(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run bench -- \[options\]/);
    for (const part of benchParts) {
      expect(help.stdout).toContain(`  ${part.name} `);
      expect(existsSync(`tests/bench/${part.file}`), part.file).toBe(true);
    }
  });

  it('refuses unknown options, parts and backends in one sentence, exit code 2, before measuring', async () => {
    const cases: [string[], RegExp][] = [
      [['--frobnicate'], /^error: Unknown option '--frobnicate'; run with --help to see the options\.$/],
      [['--only', 'nope'], /^error: Unknown part "nope"; choose from /],
      [['--backend', 'tpu'], /^error: Unknown backend "tpu"; choose one of /],
      [['--torch-python', '/nonexistent/python'], /^error: --torch-python \/nonexistent\/python does not exist; give a Python that has torch\.$/],
    ];
    for (const [args, message] of cases) {
      const result = await bench(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim()).toMatch(message);
      expect(result.stdout).not.toMatch(/########/);
    }
  });
});
