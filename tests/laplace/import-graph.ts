/**
 * A module's import graph with its external imports named, on the study's own walker
 * (compute/experiments/module-graph.ts: static and dynamic imports, re-exports, require,
 * `new URL('…', import.meta.url)`), here following type-only imports too, to be strict.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { moduleGraph, moduleReferences } from '../../compute/experiments/module-graph.ts';

export interface ImportGraph {
  /** Paths relative to `base`, '/'-separated, sorted. */
  files: string[];
  /** "importer → specifier" for every import that is not a relative file (node: builtins included). */
  external: string[];
}

export function importGraph(entry: string, base: string): ImportGraph {
  const paths = moduleGraph([resolve(base, entry)], { followTypeOnly: true }).files.map(({ path }) => path);
  const name = (path: string) => relative(base, path).split(sep).join('/');
  const external = paths.flatMap((path) =>
    moduleReferences(readFileSync(path, 'utf8'), path)
      .filter(({ specifier }) => !specifier.startsWith('.') && !specifier.startsWith('/'))
      .map(({ specifier }) => `${name(path)} → ${specifier}`),
  );
  return { files: paths.map(name).sort(), external };
}
