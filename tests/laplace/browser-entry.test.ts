/**
 * The browser entry (compute/laplace/browser.ts, the package's `browser` condition and its
 * `./browser` subpath) reaches no Node module: its import graph, walked statically with the
 * study's module-graph walker (static, dynamic and type-only imports, re-exports, worker and asset
 * URLs), holds no node: builtin or bare builtin name, and no file that uses Node's globals. The Node entry is
 * walked too, so a walker that finds nothing cannot pass for a clean graph; the package's own
 * `browser` targets are checked to be this file's build. (tests/package/pack.test.ts walks the
 * built JavaScript of the installed package the same way.)
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { importGraph } from './import-graph.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
/** Packages the library may import in a browser: the TensorFlow.js peers (browser builds of their own). */
const browserPackages = new Set(['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers']);

describe('the browser entry', () => {
  const browser = importGraph('compute/laplace/browser.ts', root);

  it('imports no node: builtin (nor fs, path, worker_threads by their bare names), directly or through any file', () => {
    const nodeImports = browser.external.filter((edge) => builtins.has(edge.split(' → ')[1]));
    expect(nodeImports).toEqual([]);
  });

  it('imports no package but the TensorFlow.js peers, and no file of the Node side (files.ts, cli.ts)', () => {
    expect(browser.external.filter((edge) => !browserPackages.has(edge.split(' → ')[1]))).toEqual([]);
    expect(browser.files).not.toContain('compute/laplace/files.ts');
    expect(browser.files).not.toContain('compute/laplace/cli.ts');
    expect(browser.files).toContain('compute/laplace/format.ts');
    expect(browser.files.every((file) => file.startsWith('compute/laplace/'))).toBe(true);
  });

  it("uses none of Node's globals (Buffer, process, require, __dirname, setImmediate) in the files it reaches", () => {
    const users = browser.files.filter((file) => {
      const code = ts.createSourceFile(file, readFileSync(resolve(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
      let found = false;
      // A bare name is a use of the global; `globalThis.setImmediate` behind a typeof check is a feature test.
      const bare = (node: ts.Identifier) => !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node);
      const walk = (node: ts.Node) => {
        if (ts.isIdentifier(node) && ['Buffer', 'process', 'require', '__dirname', '__filename', 'setImmediate'].includes(node.text) && bare(node)) found = true;
        else ts.forEachChild(node, walk);
      };
      walk(code);
      return found;
    });
    expect(users).toEqual([]);
  });

  it("is what the package's browser condition and ./browser subpath export (as built to dist/)", () => {
    const manifest = JSON.parse(readFileSync(resolve(root, 'compute/laplace/package.json'), 'utf8')) as { exports: Record<string, Record<string, unknown>> };
    const built = './dist/browser.js';
    expect((manifest.exports['.'].browser as Record<string, string>).default).toBe(built);
    expect(manifest.exports['./browser'].default).toBe(built);
    expect(manifest.exports['.'].default).toBe(built);
  });

  it('is what the Node entry adds files.ts to, which does import node:fs (the walk sees Node imports where there are some)', () => {
    const node = importGraph('compute/laplace/index.ts', root);
    expect(node.external).toContain('compute/laplace/files.ts → node:fs');
    expect(node.files.filter((file) => !browser.files.includes(file))).toEqual(['compute/laplace/files.ts', 'compute/laplace/index.ts']);
  });
});
