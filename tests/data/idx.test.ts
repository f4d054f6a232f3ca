import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, readIdx, readIdxFile } from '../../compute/data/index.ts';

// Headers written out byte by byte, as the idx format describes them.
const imageBytes = Uint8Array.from([
  0x00, 0x00, 0x08, 0x03, // magic: unsigned byte, 3 dims
  0x00, 0x00, 0x00, 0x03, // 3 images
  0x00, 0x00, 0x00, 0x02, // 2 rows
  0x00, 0x00, 0x00, 0x04, // 4 columns
  ...Array.from({ length: 24 }, (_, i) => i * 10),
]);

// 300 labels: a size above 255 checks that the dims are read big-endian.
const labelValues = Array.from({ length: 300 }, (_, i) => i % 10);
const labelBytes = Uint8Array.from([0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x01, 0x2c, ...labelValues]);

const folder = mkdtempSync(join(tmpdir(), 'idx-test-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const path = join(folder, name);
  writeFileSync(path, bytes);
  return path;
}

describe('readIdx', () => {
  it('reads a 3-D image array', () => {
    const { dims, data } = readIdx(imageBytes);
    expect(dims).toEqual([3, 2, 4]);
    expect(Array.from(data)).toEqual(Array.from({ length: 24 }, (_, i) => i * 10));
  });

  it('reads 1-D labels with a size above 255', () => {
    const { dims, data } = readIdx(labelBytes);
    expect(dims).toEqual([300]);
    expect(Array.from(data)).toEqual(labelValues);
  });

  it('reads data that sits at an offset inside a larger buffer', () => {
    const padded = new Uint8Array(imageBytes.length + 7);
    padded.set(imageBytes, 5);
    const { dims, data } = readIdx(padded.subarray(5, 5 + imageBytes.length));
    expect(dims).toEqual([3, 2, 4]);
    expect(data[23]).toBe(230);
  });

  it('rejects a wrong magic number', () => {
    const bad = imageBytes.slice();
    bad[0] = 0x1f;
    expect(() => readIdx(bad)).toThrow(DataError);
    expect(() => readIdx(bad)).toThrow(/not an idx file: it starts with 0x1f 0x00/);
  });

  it('rejects data types other than unsigned byte, naming the type', () => {
    const floats = imageBytes.slice();
    floats[2] = 0x0d;
    expect(() => readIdx(floats)).toThrow(/data type 0x0d \(float32\); only 0x08 \(unsigned byte\) is supported/);
  });

  it('rejects truncated data, saying how much is missing', () => {
    expect(() => readIdx(imageBytes.subarray(0, imageBytes.length - 1))).toThrow(
      /truncated: dims \[3, 2, 4\] need 24 data bytes, but only 23 follow the header/,
    );
  });

  it('rejects a truncated header and a file shorter than the magic number', () => {
    expect(() => readIdx(imageBytes.subarray(0, 10))).toThrow(/truncated: its header declares 3 dimensions and needs 16 bytes/);
    expect(() => readIdx(Uint8Array.from([0, 0]))).toThrow(/truncated/);
  });

  it('rejects bytes beyond the declared data', () => {
    const long = Uint8Array.from([...labelBytes, 1]);
    expect(() => readIdx(long)).toThrow(/need 300 data bytes, but 301 follow/);
  });
});

describe('readIdxFile', () => {
  it('reads a plain file', () => {
    const path = write('images-idx3-ubyte', imageBytes);
    expect(readIdxFile(path).dims).toEqual([3, 2, 4]);
  });

  it('gunzips a gzipped file transparently, whatever its name', () => {
    const images = readIdxFile(write('images.gz', gzipSync(imageBytes)));
    expect(images.dims).toEqual([3, 2, 4]);
    expect(Array.from(images.data)).toEqual(Array.from(imageBytes.subarray(16)));
    const labels = readIdxFile(write('labels-no-extension', gzipSync(labelBytes)));
    expect(Array.from(labels.data)).toEqual(labelValues);
  });

  it('names the file when it is truncated, plain or gzipped', () => {
    const plain = write('short-idx1-ubyte', labelBytes.subarray(0, 100));
    expect(() => readIdxFile(plain)).toThrow(new RegExp(`^${plain} is truncated`));
    const zipped = write('short-idx1-ubyte.gz', gzipSync(labelBytes.subarray(0, 100)));
    expect(() => readIdxFile(zipped)).toThrow(new RegExp(`^${zipped} is truncated`));
  });

  it('reports a damaged gzip stream and a missing file as DataErrors', () => {
    const zipped = gzipSync(labelBytes);
    const broken = write('broken.gz', zipped.subarray(0, zipped.length - 20));
    expect(() => readIdxFile(broken)).toThrow(DataError);
    expect(() => readIdxFile(broken)).toThrow(/cannot be unpacked/);
    expect(() => readIdxFile(join(folder, 'absent'))).toThrow(/Cannot read idx file .*absent/);
  });

  it('reads a wrong magic number in a file as an error naming the file', () => {
    const path = write('text.txt', new TextEncoder().encode('hello, world'));
    expect(() => readIdxFile(path)).toThrow(`${path} is not an idx file`);
  });
});
