/**
 * One reader for every source of a posterior file: bytes (from any offset of a larger buffer),
 * a path (Node) and a URL (fetch, as a page does) give the same posterior, whose predictions are
 * bit-identical to the fitted one's; a URL that fails says so in one sentence.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, loadLaplace, loadLaplaceFromBytes, loadLaplaceFromUrl, saveLaplace, tensorData, type LaplaceData, type LaplaceModel } from '../../compute/laplace/index.ts';
import { buildCnnA, randomInputs, randomLabels, type Model } from './helpers.ts';

let directory: string;
let server: Server;
let base: string;
let model: Model;
let inputs: tf.Tensor;
let data: LaplaceData;
let fitted: LaplaceModel;
let file: string;

const bits = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex');

beforeAll(async () => {
  await startBackend('wasm');
  directory = mkdtempSync(join(tmpdir(), 'laplace-url-'));
  model = buildCnnA(401);
  inputs = randomInputs([5, 8, 8, 2], 402);
  data = tensorData(inputs, randomLabels(5, 3, 403));
  fitted = await fitLaplace(model, data, { curvature: 'efb', n: 50 });
  file = join(directory, 'cnn.efb.laplace');
  await saveLaplace(fitted, file);
  // A static file server: the posterior at /cnn.efb.laplace, 404 for anything else.
  server = createServer((request, response) => {
    if (request.url === '/cnn.efb.laplace') response.end(readFileSync(file));
    else response.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  fitted?.dispose();
  inputs?.dispose();
  model?.dispose();
  await new Promise((done) => server?.close(done));
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('posterior files from bytes, paths and URLs', () => {
  it('toBytes is the file saveLaplace writes', async () => {
    expect(Buffer.from(await fitted.toBytes()).equals(readFileSync(file))).toBe(true);
  });

  it('bytes at an odd offset of a larger buffer, the path and the URL all give the fitted predictions, bit for bit', async () => {
    const bytes = readFileSync(file);
    // Three bytes in: float data no longer on a 4-byte boundary of the underlying buffer.
    const padded = new Uint8Array(bytes.length + 5);
    padded.set(bytes, 3);
    const expected = bits(await fitted.predict(data));
    const sources = [await loadLaplaceFromBytes(padded.subarray(3, 3 + bytes.length)), await loadLaplace(file), await loadLaplaceFromUrl(`${base}/cnn.efb.laplace`)];
    for (const loaded of sources) {
      expect(loaded.posterior.spec).toEqual(fitted.posterior.spec);
      expect(bits(await loaded.predict(data))).toBe(expected);
      loaded.dispose();
    }
  });

  it('a missing URL and a server that is not there are one sentence each, naming the URL', async () => {
    await expect(loadLaplaceFromUrl(`${base}/missing.laplace`)).rejects.toThrow(/^Posterior file http:\/\/127\.0\.0\.1:\d+\/missing\.laplace cannot be fetched \(HTTP 404\); check the URL\.$/);
    await expect(loadLaplaceFromUrl('http://127.0.0.1:9/none.laplace')).rejects.toThrow(/^Posterior file http:\/\/127\.0\.0\.1:9\/none\.laplace cannot be fetched \(.+\); check the URL and that its server is reachable\.$/);
  });

  it('bytes that are not a posterior file name their source', async () => {
    await expect(loadLaplaceFromBytes(new TextEncoder().encode('<!doctype html>'), 'https://example.org/x.laplace')).rejects.toThrow(/^https:\/\/example\.org\/x\.laplace is not a posterior file \(it does not start with "LAPLACE1"\)/);
  });
});
