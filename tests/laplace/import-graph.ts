/**
 * A module's static import graph, by TypeScript's own import scanner (static, dynamic and
 * type-only imports, re-exports): the files reached through relative specifiers, and every
 * other specifier with the file that imports it.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportGraph {
  /** Paths relative to `base`, sorted. */
  files: string[];
  /** "importer → specifier" for every import that is not a relative file. */
  external: string[];
}

export function importGraph(entry: string, base: string): ImportGraph {
  const seen = new Set<string>();
  const external: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else external.push(`${relative(base, file)} → ${specifier}`);
    }
  };
  visit(resolve(base, entry));
  return { files: [...seen].map((file) => relative(base, file)).sort(), external };
}
