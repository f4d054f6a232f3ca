import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesUnder } from '../../compute/artifacts/files.ts';

const root = mkdtempSync(join(tmpdir(), 'files-under-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('filesUnder', () => {
  it('lists matching files depth first, each folder sorted, relative with /', () => {
    for (const path of ['b.json', 'a/z.json', 'a/y.txt', 'a/c/x.json', 'A.json']) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), '{}');
    }
    // Sorted by code unit: 'A' < 'a' < 'b'; inside a/: 'c' (folder) < 'y.txt' < 'z.json'.
    expect(filesUnder(root, (name) => name.endsWith('.json'))).toEqual(['A.json', 'a/c/x.json', 'a/z.json', 'b.json']);
    expect(filesUnder(root, (name) => name.endsWith('.txt'))).toEqual(['a/y.txt']);
  });

  it('finds nothing in a folder that does not exist', () => {
    expect(filesUnder(join(root, 'missing'), () => true)).toEqual([]);
  });
});
