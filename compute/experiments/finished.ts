/**
 * Finished tasks, remembered so an interrupted run resumes: when a task
 * completes, its result and the artifacts it wrote are stored in the cache
 * under a key of everything that determines them (task kind, parameters
 * with the backend, and the code the task runs: the source files it imports,
 * see module-graph.ts). A rerun with the same key restores the artifacts
 * and returns the result without running the task; a record whose hashes do
 * not match is reported, deleted and recomputed.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256, stableStringify, writeFileAtomic } from '../artifacts/json.ts';
import { filesUnder } from '../artifacts/files.ts';
import { listArtifacts } from '../artifacts/manifest.ts';
import { moduleGraphHash } from './module-graph.ts';

/** Which artifact paths (relative to the results folder, with /) a task owns. */
export type ArtifactScope = (path: string) => boolean;

export const scopes = {
  none: (): ArtifactScope => () => false,
  /** Everything of a (data, model) folder but the files other experiments and the other training seeds write there. */
  laplace: (dataset: string, model: string): ArtifactScope => (path) =>
    path.startsWith(`${dataset}/${model}/`) && !/\/(landscape|ensemble)\.json$/.test(path) && !path.startsWith(`${dataset}/${model}/seed-`),
  file: (path: string): ArtifactScope => (candidate) => candidate === path,
  folder: (prefix: string): ArtifactScope => (candidate) => candidate.startsWith(`${prefix}/`),
};

export interface TaskRunner {
  run<Result>(kind: string, params: unknown, label: string): Promise<Result>;
}

/**
 * How many tasks of this process ran and how many were restored from the cache:
 * the run reads it before and after each stage, so the manifest can say whether
 * a stage's time is a cold one. A task whose result says `reused` (a training
 * that found its checkpoint cached) counts as reused too.
 */
export const taskTally = { ran: 0, reused: 0 };

export interface FinishedOptions {
  cacheDir: string;
  outDir: string;
  log(line: string): void;
}

interface FinishedRecord {
  format: 'finished-task/1';
  key: string;
  label: string;
  result: unknown;
  artifacts: Record<string, { sha256: string; text: string }>;
}

const computeRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The module each task kind runs, relative to compute/: the one that defines
 * the function compute/experiments/tasks.ts maps the kind to (a test checks
 * the two agree).
 */
export const taskEntryModules: Readonly<Record<string, string>> = {
  train: 'experiments/models.ts',
  laplace: 'experiments/laplace.ts',
  landscape: 'experiments/landscape.ts',
  ensemble: 'experiments/ensemble.ts',
};

/**
 * What runs every task besides its own module: the worker's loop, which
 * starts the backend and registers the kernels wasm lacks (workers/worker.ts
 * without tasks.ts, which would pull in every other task), and this file,
 * which decides what a record holds.
 */
export const sharedEntryModules: readonly string[] = ['workers/serve.ts', 'experiments/finished.ts'];

/** sha256 of the source files (and package versions) task `kind` runs, under a compute/ folder at `root`. */
export function taskCodeHash(kind: string, root: string = computeRoot): string {
  const entry = taskEntryModules[kind];
  if (!entry) throw new Error(`Task kind "${kind}" has no entry module; add it to taskEntryModules in compute/experiments/finished.ts.`);
  return moduleGraphHash(root, [entry, ...sharedEntryModules]).hash;
}

const fingerprints = new Map<string, string>();

/**
 * taskCodeHash for this checkout, once per kind and process: the workers load
 * their modules once at start, so later edits do not change what this run
 * executes either.
 */
export function codeFingerprint(kind: string): string {
  let fingerprint = fingerprints.get(kind);
  if (!fingerprint) fingerprints.set(kind, (fingerprint = taskCodeHash(kind)));
  return fingerprint;
}

export function taskKey(kind: string, params: Record<string, unknown>): string {
  // Where the artifacts go and where the cache lives do not change what they are.
  const { outDir: _outDir, ...determining } = params;
  const settings = determining.settings as Record<string, unknown> | undefined;
  // The backend moves the last digits of every number, so a key without it could restore another backend's results.
  if (typeof settings?.backend !== 'string' || settings.backend === '') {
    throw new Error(`Task ${kind} was given no settings.backend; pass the run's settings (RunSettings) so its key records the backend.`);
  }
  const { cacheDir: _cacheDir, ...keyedSettings } = settings;
  determining.settings = keyedSettings;
  return sha256(stableStringify({ kind, params: determining, code: codeFingerprint(kind) }));
}

function recordPath(cacheDir: string, kind: string, label: string, key: string): string {
  const slug = label.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
  return join(cacheDir, 'finished', kind, `${slug}-${key.slice(0, 16)}.json`);
}

/** A stored record, or null (with a line saying why) when it is missing or corrupt. */
function readRecord(path: string, key: string, log: (line: string) => void): FinishedRecord | null {
  if (!existsSync(path)) return null;
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as FinishedRecord;
    if (record.format !== 'finished-task/1' || record.key !== key) throw new Error('wrong format or key');
    for (const [artifact, entry] of Object.entries(record.artifacts)) {
      if (sha256(entry.text) !== entry.sha256) throw new Error(`${artifact} does not match its hash`);
    }
    return record;
  } catch (error) {
    log(`cache entry ${path} is corrupt (${(error as Error).message}); deleting it and recomputing`);
    rmSync(path, { force: true });
    return null;
  }
}

/** Run a task unless the same task already finished; either way its artifacts end up in outDir. */
export async function runOnce<Result>(runner: TaskRunner, kind: string, params: Record<string, unknown>, label: string, scope: ArtifactScope, options: FinishedOptions): Promise<Result> {
  return (await runOnceDetailed<Result>(runner, kind, params, label, scope, options)).result;
}

/** runOnce, also saying whether the result was restored from an earlier run. */
export async function runOnceDetailed<Result>(
  runner: TaskRunner,
  kind: string,
  params: Record<string, unknown>,
  label: string,
  scope: ArtifactScope,
  options: FinishedOptions,
): Promise<{ result: Result; restored: boolean }> {
  const key = taskKey(kind, params);
  const path = recordPath(options.cacheDir, kind, label, key);
  const owned = () => listArtifacts(options.outDir).filter(scope);
  const record = readRecord(path, key, options.log);
  if (record) {
    for (const stale of owned().filter((artifact) => !(artifact in record.artifacts))) rmSync(join(options.outDir, stale));
    for (const [artifact, entry] of Object.entries(record.artifacts)) {
      const target = join(options.outDir, artifact);
      if (!existsSync(target) || sha256(readFileSync(target)) !== entry.sha256) writeFileAtomic(target, entry.text);
    }
    options.log(`reusing finished ${label}`);
    taskTally.reused += 1;
    return { result: record.result as Result, restored: true };
  }
  // Whatever the task owned from an earlier, different run is removed so it cannot outlive its inputs.
  for (const stale of owned()) rmSync(join(options.outDir, stale));
  const result = await runner.run<Result>(kind, params, label);
  if ((result as { reused?: unknown } | null)?.reused === true) taskTally.reused += 1;
  else taskTally.ran += 1;
  const artifacts: FinishedRecord['artifacts'] = {};
  for (const artifact of owned()) {
    const text = readFileSync(join(options.outDir, artifact), 'utf8');
    artifacts[artifact] = { sha256: sha256(text), text };
  }
  const stored: FinishedRecord = { format: 'finished-task/1', key, label, result, artifacts };
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, JSON.stringify(stored));
  return { result, restored: false };
}

/** Remove temp files an interrupted write left behind (they never replace an artifact). */
export function removeStaleTemps(dir: string): number {
  const temps = filesUnder(dir, (name) => name.endsWith('.tmp'));
  for (const path of temps) rmSync(join(dir, path), { force: true });
  return temps.length;
}
