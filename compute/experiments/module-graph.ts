/**
 * The static module graph of an entry: every source file it can load,
 * followed transitively through relative specifiers, and the packages it
 * imports by name. A finished task's key hashes this graph, so an edit to a
 * file the task never loads leaves its record valid.
 *
 * Followed: `import … from`, side-effect `import '…'`, `export … from`,
 * `import x = require('…')`, `import('…')` and `require('…')` with a literal
 * specifier, and `new URL('…', import.meta.url)` (how workers and assets are
 * located). Not followed: whole-declaration `import type` / `export type`,
 * because with isolatedModules and verbatimModuleSyntax (tsconfig) they emit
 * nothing and each file's JavaScript depends on its own text only, so a file
 * reached only through types cannot change what a task computes. Mixed
 * `import { type A, b }` counts (it stays a runtime import). A computed
 * specifier (`import(name)`) cannot be followed; compute/ uses one only for
 * optional packages, whose choice enters keys as the backend name.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type * as TypeScript from 'typescript';
import { sha256 } from '../artifacts/json.ts';

let typescript: typeof TypeScript | null = null;

/** TypeScript's parser, loaded on first use: it costs about a second, and only key computation needs it. */
function typescriptParser(): typeof TypeScript {
  if (typescript) return typescript;
  try {
    typescript = createRequire(import.meta.url)('typescript') as typeof TypeScript;
  } catch {
    throw new ModuleGraphError('Finished-task keys parse imports with the typescript package, which is not installed; run npm ci (without --omit=dev).');
  }
  return typescript;
}

export class ModuleGraphError extends Error {
  override name = 'ModuleGraphError';
}

export interface ModuleGraph {
  /** The files reached (absolute paths, sorted) and the sha256 of each one's bytes. */
  files: { path: string; sha256: string }[];
  /** Bare specifiers' package names (node: builtins left out), sorted. */
  packages: string[];
}

export interface ModuleReference {
  specifier: string;
  /** Whether it only brings in types (erased at run time). */
  typeOnly: boolean;
}

const scriptKinds: Record<string, 'TS' | 'TSX' | 'JS' | 'JSX'> = { '.ts': 'TS', '.mts': 'TS', '.cts': 'TS', '.tsx': 'TSX', '.js': 'JS', '.mjs': 'JS', '.cjs': 'JS', '.jsx': 'JSX' };

function extensionOf(path: string): string {
  const match = /\.[^./\\]+$/.exec(path);
  return match ? match[0] : '';
}

/** Whether a file is source whose own imports are followed (others, such as JSON or wasm, are hashed as bytes). */
export function isSourceFile(path: string): boolean {
  return extensionOf(path) in scriptKinds;
}

/** The module specifiers a source text refers to, in order of appearance. */
export function moduleReferences(text: string, fileName: string): ModuleReference[] {
  const ts = typescriptParser();
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind[scriptKinds[extensionOf(fileName)] ?? 'TS']);
  const references: ModuleReference[] = [];
  const literalText = (node: TypeScript.Node | undefined): string | null =>
    node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null;
  const add = (node: TypeScript.Node | undefined, typeOnly: boolean) => {
    const specifier = literalText(node);
    if (specifier !== null) references.push({ specifier, typeOnly });
  };
  const visit = (node: TypeScript.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression, node.isTypeOnly);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) add(node.arguments[0], false);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' && node.arguments?.length === 2) {
      const base = node.arguments[1];
      const relativeUrl = literalText(node.arguments[0]);
      // Only a relative URL against this module is a file of the graph; absolute URLs are not.
      if (relativeUrl?.startsWith('.') && ts.isPropertyAccessExpression(base) && ts.isMetaProperty(base.expression) && base.name.text === 'url') add(node.arguments[0], false);
    }
    // Types (including `typeof import('./x')`) never load anything; skipping them keeps type-only references out.
    if (!ts.isTypeNode(node)) ts.forEachChild(node, visit);
  };
  visit(source);
  return references;
}

/** The file a relative specifier names: as written, then the TypeScript conventions (.js for .ts, no extension, a folder's index). */
function resolveRelative(specifier: string, importer: string): string | null {
  const base = resolve(dirname(importer), specifier.split(/[?#]/)[0]);
  const candidates = [base];
  const jsToTs: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts', '.jsx': '.tsx' };
  const extension = extensionOf(base);
  if (extension in jsToTs) candidates.push(base.slice(0, -extension.length) + jsToTs[extension]);
  candidates.push(...['.ts', '.mts', '.js', '.mjs'].map((suffix) => base + suffix), ...['index.ts', 'index.mjs', 'index.js'].map((name) => join(base, name)));
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile()) ?? null;
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; null for node: builtins. */
function packageName(specifier: string): string | null {
  if (specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** References by the sha256 of a file's text: parsing is most of a graph's cost, and identical text parses the same. */
const referenceCache = new Map<string, ModuleReference[]>();

/**
 * Every file reachable from `entries` (absolute paths), with the sha256 of
 * its bytes. Each file is visited once, so import cycles terminate. A
 * relative specifier that names no file is an error naming the importer,
 * since a key that silently skipped it would miss changes.
 */
export function moduleGraph(entries: string[], options: { followTypeOnly?: boolean } = {}): ModuleGraph {
  const files = new Map<string, string>();
  const packages = new Set<string>();
  const pending = entries.map((entry) => resolve(entry));
  for (const entry of pending) {
    if (!existsSync(entry)) throw new ModuleGraphError(`Entry module ${entry} does not exist; the task's entry list names a file that was moved or deleted.`);
  }
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    const bytes = readFileSync(file);
    const hash = sha256(bytes);
    files.set(file, hash);
    if (!isSourceFile(file)) continue;
    let references = referenceCache.get(hash);
    if (!references) referenceCache.set(hash, (references = moduleReferences(bytes.toString('utf8'), file)));
    for (const { specifier, typeOnly } of references) {
      if (typeOnly && !options.followTypeOnly) continue;
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const target = resolveRelative(specifier, file);
        if (!target) throw new ModuleGraphError(`${file} imports "${specifier}", which is not a file; fix the import or restore the file.`);
        if (!files.has(target)) pending.push(target);
      } else {
        const name = packageName(specifier);
        if (name) packages.add(name);
      }
    }
  }
  const paths = [...files.keys()].sort();
  return { files: paths.map((path) => ({ path, sha256: files.get(path)! })), packages: [...packages].sort() };
}

/** The installed version of a package, found from `from` upward (null when it is not installed). */
function installedVersion(name: string, from: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? null;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * sha256 of the graph of `entries` (relative to `root`): each file's path
 * relative to `root` with the hash of its bytes, and each imported package
 * with its installed version (a new TensorFlow.js can move numbers as much
 * as an edit can).
 */
export function moduleGraphHash(root: string, entries: string[]): { hash: string; graph: ModuleGraph } {
  const graph = moduleGraph(entries.map((entry) => resolve(root, entry)));
  const lines = graph.files.map(({ path, sha256: hash }) => `${relative(root, path).split(sep).join('/')}:${hash}`);
  for (const name of graph.packages) lines.push(`package ${name}@${installedVersion(name, root) ?? 'absent'}`);
  return { hash: sha256(lines.join('\n')), graph };
}
