/**
 * The package is one folder: no file under compute/laplace imports a path outside it, so what
 * `npm pack` ships (tsc's build of that folder) is all the library needs, and the study imports
 * the package, never the reverse. Every module reference of every .ts file there is read with
 * TypeScript's parser, type positions included (`import('…').T`, `import type`, since a
 * declaration file that names a path outside the package breaks a user's type-check just as a
 * missing module breaks its run), along with `require`, `new URL('…', import.meta.url)` and
 * triple-slash references. Relative references must stay inside the folder; bare ones must be a
 * peer dependency of the package (TensorFlow.js) or a Node builtin.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const packageFolder = fileURLToPath(new URL('../../compute/laplace/', import.meta.url));
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const manifest = JSON.parse(readFileSync(join(packageFolder, 'package.json'), 'utf8')) as { peerDependencies?: Record<string, string>; dependencies?: Record<string, string> };
const allowedPackages = new Set([...Object.keys(manifest.peerDependencies ?? {}), ...Object.keys(manifest.dependencies ?? {})]);

/** Every module specifier in a TypeScript source text, types included. */
function moduleSpecifiers(text: string, fileName: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = source.referencedFiles.map((reference) => reference.fileName);
  const literal = (node: ts.Node | undefined) => {
    if (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) found.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) literal(node.arguments[0]);
    else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' && node.arguments?.length === 2) {
      const base = node.arguments[1];
      if (ts.isPropertyAccessExpression(base) && ts.isMetaProperty(base.expression)) literal(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** "file → specifier" for each reference of `text` (at `file`, inside `folder`) that leaves the folder or names a package it does not declare. */
function escapes(text: string, file: string, folder: string): string[] {
  return moduleSpecifiers(text, file).flatMap((specifier) => {
    const name = relative(folder, file).split(sep).join('/');
    // An absolute path or URL ties the package to one machine's layout: always an escape.
    if (specifier.startsWith('/') || /^[a-z]+:\/\//i.test(specifier)) return [`${name} → ${specifier}`];
    if (specifier.startsWith('.')) {
      const inside = relative(folder, resolve(dirname(file), specifier));
      return inside.startsWith('..') || isAbsolute(inside) ? [`${name} → ${specifier}`] : [];
    }
    const packageName = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
    return builtins.has(specifier) || allowedPackages.has(packageName) ? [] : [`${name} → ${specifier}`];
  });
}

/** The package's TypeScript sources: every .ts file under the folder but its build output and installed modules. */
function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return ['dist', 'node_modules'].includes(entry.name) ? [] : sources(path);
    return entry.isFile() && entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the package folder compute/laplace', () => {
  it('finds a reference that leaves the folder in every form a file can write it (the check is not blind)', () => {
    const file = join(packageFolder, 'structures', 'example.ts');
    const text = [
      "/// <reference path='../../linalg/types.d.ts' />",
      "import { symmetricEigen } from '../../linalg/index.ts';",
      "import type { Random } from '../../random/index.ts';",
      "export { calibration } from '../../metrics/calibration.ts';",
      "type Gradients = typeof import('../../backend/gradients.ts');",
      "const later = () => import('../../study.ts');",
      "const data = new URL('../../data/mnist.bin', import.meta.url);",
      "const required = require('../../models/zoo.ts');",
      "import * as tf from '@tensorflow/tfjs-core';",
      "import { readFileSync } from 'node:fs';",
      "import { matrix } from '../linalg/index.ts';",
      "import { Posterior } from '../posterior.ts';",
      "import { astro } from 'astro';",
    ].join('\n');
    expect(escapes(text, file, packageFolder)).toEqual([
      'structures/example.ts → ../../linalg/types.d.ts',
      'structures/example.ts → ../../linalg/index.ts',
      'structures/example.ts → ../../random/index.ts',
      'structures/example.ts → ../../metrics/calibration.ts',
      'structures/example.ts → ../../backend/gradients.ts',
      'structures/example.ts → ../../study.ts',
      'structures/example.ts → ../../data/mnist.bin',
      'structures/example.ts → ../../models/zoo.ts',
      'structures/example.ts → astro',
    ]);
  });

  it('imports nothing outside itself: every relative reference stays in the folder, every bare one is a declared peer or a Node builtin', () => {
    const files = sources(packageFolder);
    // The library's entries, its structures and its linear algebra are all there to be read.
    for (const name of ['index.ts', 'browser.ts', 'cli.ts', 'structures/kfac.ts', 'linalg/eigen.ts', 'random.ts']) expect(files).toContain(join(packageFolder, name));
    const references = files.flatMap((file) => moduleSpecifiers(readFileSync(file, 'utf8'), file));
    expect(references.length).toBeGreaterThan(files.length);
    expect(files.flatMap((file) => escapes(readFileSync(file, 'utf8'), file, packageFolder))).toEqual([]);
  });
});
