/**
 * A fixed reference: posterior files written on 2026-12-07 (tests/laplace/fixtures,
 * made by make-reference.ts) must read, in every later version, to the predictions
 * stored beside them when they were written. Two copies of one posterior: one with
 * the SHA-256 checksum, one written by the library before the checksum existed
 * (commit 4a492df), which must keep loading, with a warning.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { loadLaplace, posteriorFromBytes, tensorData } from '../../compute/laplace/index.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const reference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as {
  n: number;
  tau: number;
  inputShape: number[];
  inputs: number[];
  map: number[];
  glm: number[];
  sampled: number[];
};
let inputs: tf.Tensor;

beforeAll(async () => {
  await startBackend('wasm');
  inputs = tf.tensor(reference.inputs, reference.inputShape);
});

afterAll(() => inputs?.dispose());

/** Written and read on wasm the predictions agree to the bit; 1e-6 leaves room for kernels that round differently. */
function expectClose(actual: Float32Array, expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const worst = Math.max(...expected.map((value, index) => Math.abs(actual[index] - value)));
  expect(worst, what).toBeLessThan(1e-6);
}

describe('the reference posterior file', () => {
  it.each([
    ['with a checksum', 'reference.kfac.laplace', 0],
    ['without a checksum (written before it existed)', 'reference-unchecked.kfac.laplace', 1],
  ])('%s reads to the stored N, τ and predictions', async (_, file, expectedWarnings) => {
    const warnings: string[] = [];
    const laplace = await loadLaplace(join(fixtures, file), { onWarning: (message) => warnings.push(message) });
    expect(warnings).toHaveLength(expectedWarnings);
    expect(laplace.posterior.structure).toBe('kfac');
    expect(laplace.n).toBe(reference.n);
    expect(laplace.tau).toBe(reference.tau);
    const data = tensorData(inputs, [0, 0, 0, 0]);
    expectClose(await laplace.predict(data, { predictive: 'map' }), reference.map, `${file} map`);
    expectClose(await laplace.predict(data), reference.glm, `${file} glm`);
    expectClose(await laplace.predict(data, { predictive: 'sampled', samples: 20, seed: 5 }), reference.sampled, `${file} sampled`);
    laplace.dispose();
  });

  it('the two files differ only by the checksum: its header field and the 32 bytes after the data', async () => {
    const checked = new Uint8Array(readFileSync(join(fixtures, 'reference.kfac.laplace')));
    const unchecked = new Uint8Array(readFileSync(join(fixtures, 'reference-unchecked.kfac.laplace')));
    const header = (bytes: Uint8Array) => {
      const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
      return { json: JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as Record<string, unknown>, dataStart: 12 + length };
    };
    const [a, b] = [header(checked), header(unchecked)];
    expect(a.json.checksum).toBe('sha256');
    const { checksum: _, ...rest } = a.json;
    expect(rest).toEqual(b.json);
    expect(Buffer.from(checked.subarray(a.dataStart, checked.length - 32)).equals(Buffer.from(unchecked.subarray(b.dataStart)))).toBe(true);
    // The trailer is the SHA-256 of everything before it, by node:crypto, not the library's own implementation.
    const { createHash } = await import('node:crypto');
    expect(Buffer.from(checked.subarray(checked.length - 32)).toString('hex')).toBe(createHash('sha256').update(checked.subarray(0, checked.length - 32)).digest('hex'));
    const loaded = await posteriorFromBytes(checked);
    expect(loaded.checksum).toBe('sha256');
    loaded.posterior.dispose();
  });
});
