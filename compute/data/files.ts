/**
 * Reading a data set's files from disk with their checksums checked first.
 * Parsed files stay in memory for the life of the process; a file that changes
 * on disk (size, mtime or inode) is read and checked again.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors.ts';
import { readIdx, maybeGunzip, type IdxArray } from './idx.ts';
import {
  datasetDirectory,
  datasetInfo,
  type DataFileSpec,
  type DataProblem,
  type DatasetDirectory,
  type DatasetInfo,
  type DatasetName,
} from './registry.ts';

export type VerifiedFile = {
  /** Stable name, the same on every machine: "<data set>/<file>". */
  name: string;
  /** Where the file was read from on this machine. */
  path: string;
  sha256: string;
};

type CacheEntry = { stamp: string; sha256: string; idx: IdxArray | null };

const fileCache = new Map<string, CacheEntry>();

/** Forgets parsed files (for tests and for freeing memory). */
export function clearFileCache(): void {
  fileCache.clear();
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function problemMessage(
  info: DatasetInfo,
  directory: DatasetDirectory,
  path: string,
  what: string,
  problem: DataProblem,
): string {
  const override = directory.overriddenBy
    ? `, or unset ${directory.overriddenBy}, which points the loader at ${directory.path}`
    : '';
  return `${info.displayName} file ${path} ${what}; ${info.fix(problem)}${override}.`;
}

function fileStamp(info: DatasetInfo, directory: DatasetDirectory, path: string): string {
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw new DataError(problemMessage(info, directory, path, 'is not a regular file', 'file-missing'));
    return `${stats.size}:${stats.mtimeMs}:${stats.ino}`;
  } catch (error) {
    if (error instanceof DataError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const problem: DataProblem = existsSync(directory.path) ? 'file-missing' : 'folder-missing';
      throw new DataError(problemMessage(info, directory, path, 'is missing', problem));
    }
    throw new DataError(problemMessage(info, directory, path, `cannot be read (${code ?? (error as Error).message})`, 'corrupt'));
  }
}

/**
 * Checks one file's hash and, when `parse` is set, parses it. Hashes the bytes
 * exactly as stored (the .gz bytes for gzipped files).
 */
function loadFile(
  info: DatasetInfo,
  directory: DatasetDirectory,
  spec: DataFileSpec,
  parse: boolean,
): { path: string; sha256: string; idx: IdxArray | null } {
  const path = join(directory.path, spec.file);
  const stamp = fileStamp(info, directory, path);
  const cached = fileCache.get(path);
  if (cached && cached.stamp === stamp && cached.sha256 === spec.sha256 && (cached.idx || !parse)) {
    return { path, sha256: cached.sha256, idx: cached.idx };
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(problemMessage(info, directory, path, `cannot be read (${code ?? (error as Error).message})`, 'corrupt'));
  }
  const sha256 = sha256Hex(bytes);
  if (sha256 !== spec.sha256) {
    fileCache.delete(path);
    throw new DataError(
      problemMessage(info, directory, path, `has sha256 ${sha256}, expected ${spec.sha256}: the file is corrupt`, 'corrupt'),
    );
  }
  const idx = parse ? readIdx(maybeGunzip(bytes, path), path) : null;
  fileCache.set(path, { stamp, sha256, idx: idx ?? cached?.idx ?? null });
  return { path, sha256, idx };
}

/** Checks every file of a data set and lists them with their hashes, for the manifest. */
export function verifyDataFiles(name: string): VerifiedFile[] {
  const info = datasetInfo(name);
  const directory = datasetDirectory(info.name);
  return info.files.map((spec) => {
    const { path, sha256 } = loadFile(info, directory, spec, false);
    return { name: `${info.name}/${spec.file}`, path, sha256 };
  });
}

export type DatasetFiles = {
  info: DatasetInfo;
  files: VerifiedFile[];
  /** Identifies the bytes behind this load, so derived results can be cached by it. */
  key: string;
  trainImages: IdxArray;
  trainLabels: IdxArray;
  testImages: IdxArray;
  testLabels: IdxArray;
};

/** Checks and parses all four files of a data set (from the in-memory cache when unchanged). */
export function readDatasetFiles(name: DatasetName): DatasetFiles {
  const info = datasetInfo(name);
  const directory = datasetDirectory(info.name);
  const parsed = new Map<string, IdxArray>();
  const files: VerifiedFile[] = [];
  const stamps: string[] = [];
  for (const spec of info.files) {
    const { path, sha256, idx } = loadFile(info, directory, spec, true);
    parsed.set(spec.role, idx as IdxArray);
    files.push({ name: `${info.name}/${spec.file}`, path, sha256 });
    stamps.push(`${path}@${fileCache.get(path)?.stamp}`);
  }
  const get = (role: string) => parsed.get(role) as IdxArray;
  return {
    info,
    files,
    key: `${info.name}|${stamps.join('|')}`,
    trainImages: get('train-images'),
    trainLabels: get('train-labels'),
    testImages: get('test-images'),
    testLabels: get('test-labels'),
  };
}
