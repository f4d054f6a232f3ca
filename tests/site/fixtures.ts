/** The quick-profile artifacts the site tests chart and build (made once by tests/quick-results.setup.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

export function quickResultsDir(): string {
  const quick = inject('quickResults');
  if (quick.code !== 0) throw new Error(`The shared quick-profile run failed (exit ${quick.code}): ${quick.stderr.trim().split('\n').pop()}`);
  return quick.out;
}

export function readQuick<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(join(quickResultsDir(), path), 'utf8')) as T;
}
