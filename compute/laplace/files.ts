/**
 * Posterior files on disk, for Node: the one module of the library that touches
 * the file system. The format itself (bytes ↔ posterior) is format.ts, shared
 * with the browser.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { posteriorFromBytes, posteriorToBytes, PosteriorFileError, type ReadOptions } from './format.ts';
import { LaplaceModel } from './model.ts';

/** Write the posterior file atomically (temp file beside it, then rename), so a reader never sees half a file. */
export async function saveLaplace(laplace: LaplaceModel, path: string): Promise<void> {
  writeFileAtomic(path, await posteriorToBytes(laplace.posterior, laplace.modelTopology));
}

/** Load a posterior file written by `saveLaplace` (or by `LaplaceModel.toBytes`, saved by any means); `options` as for loadLaplaceFromBytes. */
export async function loadLaplace(path: string, options?: ReadOptions): Promise<LaplaceModel> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new PosteriorFileError(`Posterior file ${path} cannot be read; check the path (posterior files are written by saveLaplace or the CLI's fit command).`);
  }
  const { posterior, modelTopology } = await posteriorFromBytes(bytes, path, options);
  return new LaplaceModel(posterior, modelTopology);
}

/** Temp file beside the target, then rename: the same steps as the study's artifact writer, kept here so the library does not depend on the study. */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temp, data);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
