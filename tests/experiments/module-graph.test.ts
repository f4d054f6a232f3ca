import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedEntryModules, taskCodeHash, taskEntryModules } from '../../compute/experiments/finished.ts';
import { moduleGraph, moduleGraphHash, moduleReferences } from '../../compute/experiments/module-graph.ts';

/** Writes `files` (path relative to a new temp folder → text) and returns the folder. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'module-graph-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const fakeTree = {
  'src/entry.ts': [
    "import { a } from './a.ts';",
    "import type { Shape } from './types.ts';",
    "import { type Mixed, mixedValue } from './mixed.ts';",
    "export { b } from './b.js';",
    "export type { OnlyType } from './exported-type.ts';",
    "import './side-effect.ts';",
    "import * as tf from '@tensorflow/tfjs-core';",
    "import { readFileSync } from 'node:fs';",
    "// import './in-a-comment.ts';",
    "const text = \"import './in-a-string.ts'\";",
    "type Lazy = typeof import('./type-query.ts');",
    "export async function load() { return import('./lazy.ts'); }",
    "export const asset = new URL('./kernel.wasm', import.meta.url);",
    "export const absolute = new URL('https://example.org/x', import.meta.url);",
    'export const all = [a, mixedValue, tf, readFileSync, text];',
  ].join('\n'),
  // A cycle back to the entry, and a folder import through its index.
  'src/a.ts': "import { load } from './entry.ts';\nimport { helper } from './util';\nexport const a = [load, helper];\n",
  'src/util/index.ts': "import { a } from '../a.ts';\nexport const helper = () => a;\n",
  'src/b.ts': "import { z } from 'zod/v4';\nexport const b = z;\n",
  'src/types.ts': 'export interface Shape { size: number }\n',
  'src/mixed.ts': 'export type Mixed = number;\nexport const mixedValue = 1;\n',
  'src/exported-type.ts': 'export type OnlyType = string;\n',
  'src/side-effect.ts': 'globalThis.touched = true;\n',
  'src/type-query.ts': 'export const unused = 1;\n',
  'src/lazy.ts': 'export const lazy = 1;\n',
  'src/kernel.wasm': 'not really wasm',
  'src/unrelated.ts': "import { a } from './a.ts';\nexport const unrelated = a;\n",
  'node_modules/@tensorflow/tfjs-core/package.json': '{"name": "@tensorflow/tfjs-core", "version": "4.22.0"}',
};

const files = (root: string, entries: string[], options = {}) => moduleGraph(entries.map((entry) => join(root, entry)), options).files.map(({ path }) => relative(root, path));

describe('module graph', () => {
  it('follows static, re-exported, side-effect and literal dynamic imports and module-relative URLs, but not types, comments or strings', () => {
    const root = tree(fakeTree);
    expect(files(root, ['src/entry.ts'])).toEqual(
      ['src/a.ts', 'src/b.ts', 'src/entry.ts', 'src/kernel.wasm', 'src/lazy.ts', 'src/mixed.ts', 'src/side-effect.ts', 'src/util/index.ts'].sort(),
    );
    // With type-only imports followed, the two files reached only through types join.
    expect(files(root, ['src/entry.ts'], { followTypeOnly: true })).toEqual(
      expect.arrayContaining(['src/types.ts', 'src/exported-type.ts']),
    );
    expect(moduleGraph([join(root, 'src/entry.ts')]).packages).toEqual(['@tensorflow/tfjs-core', 'zod']);
  });

  it('reads every import form TypeScript has, and marks only whole-declaration type imports as type-only', () => {
    const references = moduleReferences(
      [
        "import x = require('./equals.ts');",
        "import type * as T from './star-type.ts';",
        "export * from './star.ts';",
        "const cjs = require('./cjs.cjs');",
        'const later = import(`./template.ts`);',
        'const computed = import(name);',
      ].join('\n'),
      'file.ts',
    );
    expect(references).toEqual([
      { specifier: './equals.ts', typeOnly: false },
      { specifier: './star-type.ts', typeOnly: true },
      { specifier: './star.ts', typeOnly: false },
      { specifier: './cjs.cjs', typeOnly: false },
      { specifier: './template.ts', typeOnly: false },
    ]);
  });

  it('keeps the hash when a file the entry does not load changes, and changes it when one it loads does', () => {
    const root = tree(fakeTree);
    const hash = () => moduleGraphHash(root, ['src/entry.ts']).hash;
    const original = hash();
    for (const untouched of ['src/unrelated.ts', 'src/types.ts', 'src/exported-type.ts', 'src/type-query.ts']) {
      appendFileSync(join(root, untouched), '\n// edited\n');
      expect(hash(), untouched).toBe(original);
    }
    let previous = original;
    for (const loaded of ['src/a.ts', 'src/util/index.ts', 'src/lazy.ts', 'src/kernel.wasm', 'src/side-effect.ts', 'src/mixed.ts']) {
      appendFileSync(join(root, loaded), '\n// edited\n');
      const next = hash();
      expect(next, loaded).not.toBe(previous);
      previous = next;
    }
    // A new version of an imported package counts as a change of code.
    writeFileSync(join(root, 'node_modules/@tensorflow/tfjs-core/package.json'), '{"version": "4.23.0"}');
    expect(hash()).not.toBe(previous);
  });

  it('terminates on cycles, including a module that imports itself', () => {
    const root = tree({
      'self.ts': "import './self.ts';\nimport './ring-1.ts';\n",
      'ring-1.ts': "import './ring-2.ts';\n",
      'ring-2.ts': "export * from './ring-1.ts';\nexport * from './self.ts';\n",
    });
    expect(files(root, ['self.ts'])).toEqual(['ring-1.ts', 'ring-2.ts', 'self.ts']);
  });

  it('says which file imports a missing module, and names a missing entry', () => {
    const root = tree({ 'entry.ts': "import './present.ts';\n", 'present.ts': "export { gone } from './gone.ts';\n" });
    expect(() => moduleGraph([join(root, 'entry.ts')])).toThrow(`${join(root, 'present.ts')} imports "./gone.ts", which is not a file; fix the import or restore the file.`);
    expect(() => moduleGraph([join(root, 'nowhere.ts')])).toThrow(/Entry module .*nowhere\.ts does not exist/);
  });
});

describe('task keys by module graph', () => {
  const computeRoot = fileURLToPath(new URL('../../compute', import.meta.url));
  const kinds = Object.keys(taskEntryModules);

  it('names, for every task kind the workers run, the module that defines its function', async () => {
    const { taskFunctions } = await import('../../compute/experiments/tasks.ts');
    expect(kinds.sort()).toEqual(Object.keys(taskFunctions).sort());
    for (const kind of kinds) {
      const entry = (await import(join(computeRoot, taskEntryModules[kind]))) as Record<string, unknown>;
      expect(Object.values(entry), kind).toContain(taskFunctions[kind]);
    }
    expect(sharedEntryModules).toContain('workers/serve.ts');
  });

  it('in a copy of compute/, keeps a task kind\'s key across edits to files it does not load and changes it for files it does', () => {
    // A copy, since others may be editing compute/ itself.
    const root = join(mkdtempSync(join(tmpdir(), 'compute-copy-')), 'compute');
    cpSync(computeRoot, root, { recursive: true });
    try {
      const hashes = () => Object.fromEntries(kinds.map((kind) => [kind, taskCodeHash(kind, root)]));
      let before = hashes();
      /** Kinds whose hash changed after appending a comment to `path`. */
      const invalidated = (path: string) => {
        appendFileSync(join(root, path), '\n// an edit\n');
        const after = hashes();
        const changed = kinds.filter((kind) => after[kind] !== before[kind]).sort();
        before = after;
        return changed;
      };
      // Orchestration, the command lines and type-only modules run no task code.
      for (const path of ['laplace-cli.ts', 'cli.ts', 'experiments/run-laplace.ts', 'experiments/run-models.ts', 'experiments/tasks.ts', 'workers/pool.ts', 'workers/protocol.ts', 'progress/index.ts']) {
        expect(invalidated(path), path).toEqual([]);
      }
      expect(invalidated('landscape/grid.ts')).toEqual(['landscape']);
      expect(invalidated('experiments/ensemble.ts')).toEqual(['ensemble']);
      expect(invalidated('laplace/search.ts')).toEqual(['ensemble', 'landscape', 'laplace']);
      for (const path of ['models/train.ts', 'backend/wasm-kernels.ts', 'workers/serve.ts', 'experiments/finished.ts', 'study.ts']) {
        expect(invalidated(path), path).toEqual([...kinds].sort());
      }
    } finally {
      rmSync(dirname(root), { recursive: true, force: true });
    }
  });
});
