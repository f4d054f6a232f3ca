/**
 * The package as a stranger gets it: `npm pack` (whose prepack builds dist/ with tsc) gives a
 * tarball; a scratch project in the system's temp folder, outside the repository, installs it
 * with the TensorFlow.js peers, type-checks a TypeScript user of it, and runs a plain .mjs script
 * that trains a Conv2D + Dense network of its own and fits, tunes (marginal likelihood), predicts,
 * saves, loads and predicts again; and a second script that, with the @tensorflow/tfjs a user
 * installs, builds and trains the models people have (a functional CNN with BatchNormalization, a
 * depthwise convolution, a residual Add and global pooling; a regression MLP; a binary sigmoid
 * classifier) and takes each through the same round trip.
 *
 * The peers come from the repository's own lock file: the scratch project gets a lock with the
 * same versions and integrities, so `npm ci --prefer-offline` takes them from npm's cache (which
 * the repository's `npm ci` filled) and needs no network here, while a machine with a cold cache
 * still fetches them from the registry.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importGraph } from '../laplace/import-graph.ts';

const repository = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('scratch/', import.meta.url));
const packageFolder = join(repository, 'compute/laplace');
const peers = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu'];
// What a user most often installs: the umbrella package, which brings the same core and layers (deduplicated) and the cpu backend.
const installed = [...peers, '@tensorflow/tfjs'];

// npm tells scripts it runs where their project is (npm_config_local_prefix); a child npm must find the scratch project instead.
const childEnvironment = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_(config_local_prefix|config_call|config_workspaces?|lifecycle_|package_|command)/i.test(name)),
);

function run(command: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env: childEnvironment, encoding: 'utf8', timeout });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} in ${cwd} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

interface LockEntry {
  version?: string;
  integrity?: string;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** The lock entries the named packages need, found as Node would find them from each package's folder. */
function lockClosure(packages: Record<string, LockEntry>, names: string[]): Record<string, LockEntry> {
  const found: Record<string, LockEntry> = {};
  const locate = (from: string, name: string): string => {
    for (let folder = from; ; folder = folder.slice(0, Math.max(0, folder.lastIndexOf('/node_modules/')))) {
      const candidate = `${folder === '' ? '' : `${folder}/`}node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (folder === '') throw new Error(`The repository's package-lock.json has no entry for ${name} (needed from ${from || 'the root'}); run npm install there.`);
    }
  };
  const visit = (path: string) => {
    if (found[path]) return;
    found[path] = packages[path];
    for (const dependency of Object.keys({ ...packages[path].dependencies, ...packages[path].optionalDependencies })) {
      const dependencyPath = (() => {
        try {
          return locate(path, dependency);
        } catch (error) {
          // An optional dependency may be absent from the lock (another platform's build).
          if (packages[path].optionalDependencies?.[dependency]) return null;
          throw error;
        }
      })();
      if (dependencyPath) visit(dependencyPath);
    }
  };
  for (const name of names) visit(locate('', name));
  // Locks written with omit-lockfile-registry-resolved lack tarball URLs, and npm would fetch packuments to find them;
  // with the URL (npm swaps in the configured registry) and the integrity, the cached tarball is all it needs.
  for (const [path, entry] of Object.entries(found)) {
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    // The repository's flags say how it reaches a package (@tensorflow/tfjs only through the optional tfjs-node); the scratch project needs each.
    const { optional: _optional, dev: _dev, devOptional: _devOptional, peer: _peer, ...needed } = entry;
    found[path] = needed.resolved ? needed : { ...needed, resolved: `https://registry.npmjs.org/${name}/-/${name.split('/').at(-1)}-${entry.version}.tgz` };
  }
  return found;
}

let temp: string;
let scratch: string;
let tarball: { filename: string; size: number; entryCount: number; files: { path: string }[] };

beforeAll(() => {
  temp = mkdtempSync(join(tmpdir(), 'tfjs-laplace-pack-'));
  // prepack builds dist/ (tsc -p tsconfig.build.json) before packing.
  const packed = run('npm', ['pack', '--json', '--pack-destination', temp], packageFolder);
  tarball = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0];
  scratch = join(temp, 'scratch-project');
  mkdirSync(scratch);
  copyFileSync(join(temp, tarball.filename), join(scratch, tarball.filename));
  const repositoryLock = JSON.parse(readFileSync(join(repository, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const versions = Object.fromEntries(installed.map((name) => [name, repositoryLock.packages[`node_modules/${name}`].version!]));
  const manifest = { name: 'scratch-project', version: '1.0.0', private: true, type: 'module', dependencies: { ...versions, 'tfjs-laplace': `file:${tarball.filename}` } };
  const packageJson = JSON.parse(readFileSync(join(packageFolder, 'package.json'), 'utf8')) as Record<string, unknown>;
  // What npm itself records of a package in a lock; without peerDependenciesMeta the optional peers (backends) would count as missing.
  const packageEntry = Object.fromEntries(['version', 'bin', 'engines', 'peerDependencies', 'peerDependenciesMeta'].map((field) => [field, packageJson[field]]));
  const lock = {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies },
      'node_modules/tfjs-laplace': { ...packageEntry, resolved: `file:${tarball.filename}` },
      ...lockClosure(repositoryLock.packages, installed),
    },
  };
  writeFileSync(join(scratch, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(scratch, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], scratch);
  for (const file of ['use-laplace.mjs', 'modern-models.mjs', 'consumer.ts']) copyFileSync(join(fixtures, file), join(scratch, file));
}, 180_000);

afterAll(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('packs dist/ (JavaScript and declarations of the library folder: its entries, structures/, likelihoods/ and what it ships of its own, linalg/, metrics/, backend/ and random), the README, the licence and package.json, nothing of the study', () => {
    const paths = tarball.files.map((file) => file.path).sort();
    expect(paths).toContain('README.md');
    expect(paths).toContain('package.json');
    expect(paths).toContain('LICENSE');
    for (const entry of ['index', 'browser', 'cli', 'random']) {
      expect(paths).toContain(`dist/${entry}.js`);
      expect(paths).toContain(`dist/${entry}.d.ts`);
    }
    // The build's root is the package folder (tsc refuses a file outside it), so dist/ mirrors that folder and holds only built modules.
    const outside = paths.filter((path) => !/^dist\/([\w-]+\/)*[\w-]+\.(js|d\.ts)$/.test(path) && !['README.md', 'package.json', 'LICENSE'].includes(path));
    expect(outside).toEqual([]);
    // Of the study's metrics and backend, the package holds only what it uses: the metrics the search scores with (and their checks), the pooling-gradient fix and the native float64 eigendecomposition.
    const built = (folder: string, names: string[]) => names.flatMap((name) => [`dist/${folder}/${name}.d.ts`, `dist/${folder}/${name}.js`]);
    expect(paths.filter((path) => path.startsWith('dist/metrics/'))).toEqual(built('metrics', ['calibration', 'classification', 'validate']));
    expect(paths.filter((path) => path.startsWith('dist/backend/'))).toEqual(built('backend', ['gradients', 'native-eigen']));
    expect(paths.filter((path) => path.startsWith('dist/linalg/'))).toEqual(built('linalg', ['cholesky', 'eigen', 'index', 'kronecker', 'matrix']));
    console.log(`${tarball.filename}: ${tarball.size} bytes, ${tarball.entryCount} files`);
  });

  it('installs outside the repository with its peers, and a script there fits, tunes, predicts, saves and loads with identical probabilities', () => {
    expect(relative(repository, scratch).startsWith('..')).toBe(true);
    expect(existsSync(join(scratch, 'node_modules/tfjs-laplace/dist/index.js'))).toBe(true);
    const output = run(process.execPath, ['use-laplace.mjs', temp], scratch).stdout.trim().split('\n').at(-1)!;
    const result = JSON.parse(output) as {
      library: string;
      structure: string;
      count: number;
      classes: number;
      accuracy: number;
      n: [number, number];
      tau: [number, number];
      logEvidenceAtOne: number;
      logEvidence: number;
      fileBytes: number;
      probabilities: number[];
      identical: boolean;
      identicalSampled: boolean;
      identicalFromBytes: boolean;
    };
    // The installed copy ran, not the repository's source.
    expect(fileURLToPath(result.library)).toBe(join(scratch, 'node_modules/tfjs-laplace/dist/index.js'));
    expect(result.structure).toBe('kfac');
    expect(result.identical).toBe(true);
    expect(result.identicalSampled).toBe(true);
    expect(result.identicalFromBytes).toBe(true);
    expect(result.n).toEqual([120, 120]);
    expect(result.tau[1]).toBe(result.tau[0]);
    // Tuning moved τ off the starting 1 and did not lower the evidence.
    expect(result.tau[0]).not.toBe(1);
    expect(result.logEvidence).toBeGreaterThanOrEqual(result.logEvidenceAtOne);
    expect(result.probabilities).toHaveLength(result.count * result.classes);
    for (let row = 0; row < result.count; row++) {
      const sum = result.probabilities.slice(row * result.classes, (row + 1) * result.classes).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    // The classes are easy; a trained network that the posterior left intact gets most right.
    expect(result.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(result.fileBytes).toBeGreaterThan(0);
  });

  it('with the @tensorflow/tfjs installed there, a functional CNN (BatchNormalization, depthwise, residual Add, global pooling; last-layer and whole-network diag), a regression MLP and a binary classifier each fit, tune, predict, save and load to the same bits', () => {
    const output = run(process.execPath, ['modern-models.mjs', temp], scratch).stdout.trim().split('\n').at(-1)!;
    interface Case {
      name: string;
      likelihood: string;
      structure: string;
      subset: string;
      layers?: string[];
      n: number;
      tau: [number, number];
      sigma?: [number, number];
      byDefault?: { tau: number; sigma: number };
      logEvidence: [number, number];
      classes?: number;
      probabilities?: number[];
      rowSums?: number[];
      gridPoints?: number;
      mapVersusNetwork?: number;
      meanVersusNetwork?: number;
      accuracy?: { network?: number; map: number; glm: number };
      rmse?: number;
      minVariance?: number;
      identical: Record<string, boolean>;
      reloaded: { n: number; tau: number; sigma?: number; structure: string; subset: string; fileBytes: number };
    }
    const result = JSON.parse(output) as { library: string; tfjs: string; backend: string; movingVariance: number[]; results: Case[] };
    expect(fileURLToPath(result.library)).toBe(join(scratch, 'node_modules/tfjs-laplace/dist/index.js'));
    // One copy of tfjs-core serves the user's tfjs and the library, on the backend the script chose.
    expect(existsSync(join(scratch, 'node_modules/@tensorflow/tfjs/node_modules/@tensorflow/tfjs-core'))).toBe(false);
    expect(result.backend).toBe('cpu');
    // Training moved the BatchNormalization statistics away from their initial 1, so the files had them to carry.
    expect(result.movingVariance.some((value) => Math.abs(value - 1) > 0.1)).toBe(true);
    const byName = Object.fromEntries(result.results.map((entry) => [entry.name, entry]));
    expect(Object.keys(byName)).toEqual(['last-layer', 'diag', 'regression', 'binary']);
    const summary: string[] = [];
    for (const entry of result.results) {
      // Bit for bit after save and load, from the path and from the bytes, for every predictive asked.
      expect(Object.keys(entry.identical).length).toBeGreaterThanOrEqual(4);
      expect(entry.identical, entry.name).toEqual(Object.fromEntries(Object.keys(entry.identical).map((key) => [key, true])));
      expect([entry.reloaded.n, entry.reloaded.tau, entry.reloaded.structure, entry.reloaded.subset]).toEqual([entry.n, entry.tau[1], entry.structure, entry.subset]);
      expect(entry.n).toBe(48);
      // Fitted at τ = 1 (and σ = 1), tuned by the marginal likelihood: τ moved, and the evidence did not fall.
      expect(entry.tau[0]).toBe(1);
      expect(entry.tau[1]).not.toBe(1);
      expect(entry.logEvidence[1]).toBeGreaterThanOrEqual(entry.logEvidence[0]);
      if (entry.rowSums) for (const sum of entry.rowSums) expect(sum).toBeCloseTo(1, 5);
      if (entry.probabilities) expect(entry.probabilities).toHaveLength(24 * entry.classes!);
      summary.push(`${entry.name}: ${entry.structure}/${entry.subset}, τ ${entry.tau[1].toPrecision(3)}${entry.sigma ? `, σ ${entry.sigma[1].toPrecision(3)}` : ''}, ${entry.reloaded.fileBytes} bytes`);
    }
    const [lastLayer, diag, regression, binary] = [byName['last-layer'], byName.diag, byName.regression, byName.binary];
    // The CNN: last-layer on the body as tfjs-layers runs it, and every layer's weights under diag.
    expect([lastLayer.likelihood, lastLayer.structure, lastLayer.subset, lastLayer.layers]).toEqual(['classification', 'last-layer', 'last-layer', ['dense']]);
    expect([diag.structure, diag.subset, diag.layers]).toEqual(['diag', 'all', ['conv2d', 'batchNorm', 'depthwise', 'batchNorm', 'dense']]);
    for (const cnn of [lastLayer, diag]) {
      // The posterior's network is the model in inference mode, and the trained model separates the bars.
      expect(cnn.mapVersusNetwork!).toBeLessThan(1e-5);
      expect(cnn.accuracy!.network).toBeGreaterThanOrEqual(0.8);
      expect(cnn.accuracy!.glm).toBeGreaterThanOrEqual(cnn.accuracy!.network! - 0.1);
      expect(cnn.gridPoints).toBe(25);
    }
    // The regression: σ and τ together by the evidence, the same as fitLaplace's default; σ of the order of the test error.
    expect([regression.likelihood, regression.structure]).toEqual(['regression', 'kfac']);
    expect(regression.sigma![0]).toBe(1);
    expect(regression.reloaded.sigma).toBe(regression.sigma![1]);
    expect(regression.byDefault).toEqual({ tau: regression.tau[1], sigma: regression.sigma![1] });
    expect(regression.sigma![1] / regression.rmse!).toBeGreaterThan(0.5);
    expect(regression.sigma![1] / regression.rmse!).toBeLessThan(2);
    expect(regression.meanVersusNetwork!).toBeLessThan(1e-5);
    // The predictive variance is the functional variance plus σ², never below σ² (float32 rounding aside).
    expect(regression.minVariance!).toBeGreaterThanOrEqual(regression.sigma![1] ** 2 * (1 - 1e-6));
    // The binary classifier: two probabilities per input, its map prediction the network's sigmoid.
    expect([binary.likelihood, binary.structure, binary.classes]).toEqual(['classification', 'kfac', 2]);
    expect(binary.mapVersusNetwork!).toBeLessThan(1e-6);
    expect(binary.accuracy!.map).toBeGreaterThanOrEqual(0.7);
    expect(binary.accuracy!.glm).toBeGreaterThanOrEqual(binary.accuracy!.map - 0.1);
    console.log(`scratch project, tfjs ${result.tfjs}: ${summary.join('; ')}`);
  });

  it("type-checks a TypeScript user of the package's declarations (Node entry and browser subpath)", () => {
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2022', 'DOM'], types: [] }, files: ['consumer.ts'] }),
    );
    run(process.execPath, [join(repository, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], scratch);
  });

  it("installed, its browser entry's JavaScript reaches no Node module", () => {
    const installed = join(scratch, 'node_modules/tfjs-laplace');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
    const graph = importGraph(manifest.exports['./browser'].default, installed);
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    expect(graph.external.filter((edge) => builtins.has(edge.split(' → ')[1]))).toEqual([]);
    expect(graph.files).toContain('dist/format.js');
    expect(graph.files).not.toContain('dist/files.js');
  });

  it('installs a command, tfjs-laplace, that reads the saved posterior file', () => {
    const path = join(temp, 'small-cnn.kfac.laplace');
    const info = run(join(scratch, 'node_modules/.bin/tfjs-laplace'), ['info', path], scratch).stdout;
    expect(info).toMatch(/^kfac posterior/m);
    expect(info).toMatch(/N = 120/);
    // The regression the second script saved: the installed command reads its likelihood and σ.
    const regression = run(join(scratch, 'node_modules/.bin/tfjs-laplace'), ['info', join(temp, 'regression.laplace')], scratch).stdout;
    expect(regression).toMatch(/^input shape \[2\], regression with 1 output, noise σ = [\d.]+$/m);
  });
});
