/**
 * The one JSON writer for everything in results/: sorted keys, numbers rounded
 * to a fixed number of significant digits, 2-space indent, final newline,
 * written to a temp file and renamed so a reader never sees half a file.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Significant digits kept for every number in an artifact. */
export const significantDigits = 6;

export class ArtifactError extends Error {
  override name = 'ArtifactError';
}

/** Round to `digits` significant digits; integers of up to 15 digits stay exact. */
export function roundSignificant(value: number, digits = significantDigits): number {
  if (value === 0) return 0; // also turns -0 into 0
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return value;
  const rounded = Number(value.toPrecision(digits));
  return Object.is(rounded, -0) ? 0 : rounded;
}

/** Canonical form of a value: keys sorted, numbers rounded, typed arrays as lists. */
export function canonicalize(value: unknown, path = '$'): unknown {
  if (value === null) return null;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new ArtifactError(`Artifact value at ${path} is ${value}; artifacts hold finite numbers only (use null for "not defined").`);
    }
    return roundSignificant(value);
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>, (item, index) => canonicalize(item, `${path}[${index}]`));
  }
  if (Array.isArray(value)) return value.map((item, index) => canonicalize(item, `${path}[${index}]`));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      out[key] = canonicalize(item, `${path}.${key}`);
    }
    return out;
  }
  throw new ArtifactError(`Artifact value at ${path} has type ${typeof value}, which JSON cannot hold.`);
}

/** The exact text an artifact is written as. */
export function stableStringify(value: unknown): string {
  return `${JSON.stringify(canonicalize(value), null, 2)}\n`;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Write bytes atomically: temp file beside the target, then rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
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

/** Write an artifact; returns its sha256 for the manifest. */
export function writeJsonArtifact(path: string, value: unknown): string {
  const text = stableStringify(value);
  writeFileAtomic(path, text);
  return sha256(text);
}
