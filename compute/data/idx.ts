/**
 * Reader for the idx format of LeCun's MNIST files (also used by Fashion-MNIST):
 * two zero bytes, a type byte, a dimension count, big-endian uint32 sizes, then
 * the data in row-major order. Only unsigned bytes occur in our data sets, so
 * the other types are rejected rather than half-supported.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.ts';

export type IdxArray = { dims: number[]; data: Uint8Array };

const UNSIGNED_BYTE = 0x08;

const typeNames: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

function hexByte(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}

/**
 * Parses idx bytes. The returned data is a view into `bytes`, not a copy.
 * `source` only names the input in error messages (a file path, say).
 */
export function readIdx(bytes: Uint8Array, source = 'idx data'): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(`${source} is truncated: it has ${bytes.length} bytes, fewer than the 4-byte idx magic number.`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(
      `${source} is not an idx file: it starts with ${hexByte(bytes[0])} ${hexByte(bytes[1])} where idx has 0x00 0x00.`,
    );
  }
  const type = bytes[2];
  if (type !== UNSIGNED_BYTE) {
    const typeName = typeNames[type] ?? 'unknown';
    throw new DataError(
      `${source} has idx data type ${hexByte(type)} (${typeName}); only ${hexByte(UNSIGNED_BYTE)} (unsigned byte) is supported.`,
    );
  }
  const dimCount = bytes[3];
  const headerLength = 4 + 4 * dimCount;
  if (bytes.length < headerLength) {
    throw new DataError(
      `${source} is truncated: its header declares ${dimCount} dimensions and needs ${headerLength} bytes, but there are ${bytes.length}.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < dimCount; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = dims.reduce((product, size) => product * size, 1);
  const found = bytes.length - headerLength;
  if (found < expected) {
    throw new DataError(
      `${source} is truncated: dims [${dims.join(', ')}] need ${expected} data bytes, but only ${found} follow the header.`,
    );
  }
  if (found > expected) {
    throw new DataError(
      `${source} is malformed: dims [${dims.join(', ')}] need ${expected} data bytes, but ${found} follow the header.`,
    );
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerLength, expected) };
}

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Unpacks gzip bytes, or returns the bytes as they are when they are not gzip. */
export function maybeGunzip(bytes: Uint8Array, source: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const unpacked = gunzipSync(bytes);
    return new Uint8Array(unpacked.buffer, unpacked.byteOffset, unpacked.byteLength);
  } catch (error) {
    throw new DataError(`${source} starts like gzip but cannot be unpacked (${(error as Error).message}).`);
  }
}

/** Reads an idx file, gunzipping it first when it starts with the gzip magic number. */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new DataError(`Cannot read idx file ${path} (${(error as Error).message}).`);
  }
  return readIdx(maybeGunzip(bytes, path), path);
}
