/** What a queued task carries, what it returns, and which cache files belong to it: the contract between enqueuer and worker. */
import { filesUnder } from '../artifacts/files.ts';
import { getProfile } from '../study.ts';
import type { FileRef } from './store.ts';

export interface QueueJobData {
  format: 'queue-task/1';
  kind: string;
  label: string;
  /** The task's parameters without outDir and settings.cacheDir: each worker supplies its own folders. */
  params: Record<string, unknown>;
  /** Whether the task takes an outDir (it writes artifacts); the worker gives it a fresh folder. */
  withOutDir: boolean;
  /** Cache files the task reads (checkpoints, fitted curvatures), relative to a cache folder. */
  inputs: FileRef[];
  /** sha256 of each data file, by data set: a worker whose copy differs refuses the task. */
  dataHashes: Record<string, string[]>;
}

export interface QueueJobResult {
  result: unknown;
  /** Files the task wrote under its results folder. */
  artifacts: FileRef[];
  /** Files of the task's (data set, model) in the worker's cache after it ran: checkpoints and fits later tasks read. */
  cacheFiles: FileRef[];
  worker: string;
}

/** What a worker reports while a task runs (job.progress). */
export interface QueueJobProgress {
  worker: string;
  done: number;
  total: number;
  unit: string;
}

/**
 * The cache folders' prefixes of the (data set, model) a task works on: its
 * checkpoints under models/ and its fits under laplace/ (the only two caches
 * tasks write, see models/trained.ts and experiments/laplace.ts). Every seed
 * of the model shares the prefix; sending a few more files than needed is
 * cheaper than a task that retrains because one was missing.
 */
export function cachePrefixes(kind: string, params: Record<string, unknown>): string[] {
  const dataset = params.dataset as string;
  const settings = params.settings as { profile: string };
  const model = typeof params.model === 'string' ? params.model : kind === 'ensemble' ? getProfile(settings.profile).ensemble.model : null;
  if (typeof dataset !== 'string' || model === null) throw new Error(`A ${kind} task names no data set and model; the queue cannot tell which cache files it needs.`);
  return [`models/${dataset}/${model}-`, `laplace/${dataset}/${model}-`];
}

/** The files under a cache folder that belong to a task (relative paths, with /). */
export function cacheFilesOf(cacheDir: string, prefixes: string[]): string[] {
  return ['models', 'laplace'].flatMap((top) =>
    filesUnder(`${cacheDir}/${top}`, (name) => !name.endsWith('.tmp'))
      .map((path) => `${top}/${path}`)
      .filter((path) => prefixes.some((prefix) => path.startsWith(prefix))),
  );
}
