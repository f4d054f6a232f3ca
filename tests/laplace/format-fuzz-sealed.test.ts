/**
 * The posterior file's reader past its checksum. format-fuzz.test.ts shows that any
 * changed byte of a file is refused by the SHA-256; here the checksum is made right
 * again after each change (a file whose writer had a bug, or one edited by hand), so
 * every damaged header reaches the parser and must still come out as one
 * PosteriorFileError sentence, never a TypeError, a tfjs-layers error or a message
 * that leaks one. A header that parses and loads must give a posterior that predicts
 * finite probabilities. Four kinds of file: the KFAC reference CNN, last-layer KFAC
 * on a residual graph with BatchNormalization (its model weights stored), diag on the
 * whole of a network with BatchNormalization (its moving statistics stored), and a
 * regression with σ and EFB.
 *
 * Also: mutations that change no byte (a byte written with its own value, a bit
 * flipped twice) load to the same predictions, bit for bit.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, LaplaceDataError, loadLaplaceFromBytes, PosteriorFileError, regressionData, tensorData, type LaplaceModel } from '../../compute/laplace/index.ts';
import { buildMlp, randomInputs, randomLabels } from './helpers.ts';
import { buildResidual, buildSequential } from './modern-helpers.ts';

/** mulberry32, as in format-fuzz.test.ts: seeded and independent of the library. */
function uniforms(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Parsed {
  header: Record<string, unknown>;
  data: Uint8Array;
}

/** The file's parts by its documented layout (magic, uint32 header length, JSON, float32 data, 32-byte SHA-256). */
function parse(bytes: Uint8Array): Parsed {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Record<string, unknown>;
  return { header, data: bytes.slice(12 + headerLength, bytes.length - 32) };
}

/** A file from a header and data, padded and sealed with a correct SHA-256 (node:crypto's). */
function seal(header: unknown, data: Uint8Array): Uint8Array {
  let text = JSON.stringify(header) ?? 'null';
  text += ' '.repeat((4 - (Buffer.byteLength(text) % 4)) % 4);
  const headerBytes = Buffer.from(text, 'utf8');
  const body = Buffer.alloc(12 + headerBytes.length + data.length);
  body.write('LAPLACE1', 0, 'latin1');
  body.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(body, 12);
  Buffer.from(data).copy(body, 12 + headerBytes.length);
  return new Uint8Array(Buffer.concat([body, createHash('sha256').update(body).digest()]));
}

type Path = (string | number)[];

/** Every place in the header a value sits, the root's children first, modelTopology's deep ones too. */
function paths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, index) => index) : Object.keys(value);
  return keys.flatMap((key) => [[...prefix, key], ...paths((value as Record<string | number, unknown>)[key], [...prefix, key])]);
}

/** Replacements a damaged or hand-edited header might hold; `old` is the value being replaced. */
function replacement(old: unknown, next: () => number): unknown {
  const choices: (() => unknown)[] = [
    () => null,
    () => undefined, // dropped by JSON.stringify: a missing field
    () => -1,
    () => 0,
    () => 0.5,
    () => 1e9,
    () => 'x',
    () => '',
    () => [],
    () => ({}),
    () => true,
    () => [1, 2],
    () => (typeof old === 'number' ? old + 1 : typeof old === 'string' ? `${old}x` : [old]),
    () => (typeof old === 'number' ? -old : Array.isArray(old) ? old.slice(1) : null),
    () => (Array.isArray(old) ? [...old, ...old] : typeof old === 'number' ? old * 2 : { value: old }),
  ];
  return choices[Math.floor(next() * choices.length)]();
}

function mutateHeader(header: Record<string, unknown>, next: () => number): Record<string, unknown> {
  const copy = structuredClone(header);
  const all = paths(copy);
  // Half the mutations hit the top level and its arrays (the reader's own fields), half anywhere.
  const shallow = all.filter((path) => path.length <= 3 && path[0] !== 'modelTopology');
  const candidates = next() < 0.5 ? shallow : all;
  const path = candidates[Math.floor(next() * candidates.length)];
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const key = path.at(-1)!;
  if (!Array.isArray(parent) && next() < 0.15) delete parent[key];
  else parent[key] = replacement(parent[key], next);
  return copy;
}

/** Signs of a JavaScript runtime error passed through as the reason (a damaged value named in the sentence, such as `structure null`, is fine). */
const leaked = /Cannot read|Cannot set|Cannot convert|is not a function|is not iterable|is not defined|of undefined|of null|Assertion failed|Maximum call stack/;

interface Subject {
  name: string;
  bytes: Uint8Array;
  inputs: tf.Tensor;
}
const subjects: Subject[] = [];
const originals: LaplaceModel[] = [];

beforeAll(async () => {
  await startBackend('wasm');
  const fixture = new Uint8Array(readFileSync(join(import.meta.dirname, 'fixtures', 'reference.kfac.laplace')));
  subjects.push({ name: 'kfac CNN (reference file)', bytes: fixture, inputs: randomInputs([3, 8, 8, 2], 401) });
  const fits: [string, () => Promise<{ laplace: LaplaceModel; inputs: tf.Tensor }>][] = [
    [
      'last-layer kfac on a residual graph',
      async () => {
        const model = buildResidual(402);
        const x = randomInputs([6, 6, 6, 2], 403);
        const laplace = await fitLaplace(model, tensorData(x, randomLabels(6, 3, 404)), { curvature: 'kfac', subset: 'last-layer', tau: 1, n: 50 });
        model.dispose();
        return { laplace, inputs: x };
      },
    ],
    [
      'whole-network diag with BatchNormalization',
      async () => {
        const model = buildSequential(405);
        const x = randomInputs([6, 6, 6, 2], 406);
        const laplace = await fitLaplace(model, tensorData(x, randomLabels(6, 3, 407)), { curvature: 'diag', tau: 1, n: 50 });
        model.dispose();
        return { laplace, inputs: x };
      },
    ],
    [
      'regression efb',
      async () => {
        const model = buildMlp(3, 4, 1, 408, 'tanh', 'linear');
        const x = randomInputs([8, 3], 409);
        const laplace = await fitLaplace(model, regressionData(x, Array.from({ length: 8 }, (_, i) => Math.sin(i))), { curvature: 'efb', likelihood: 'regression', sigma: 0.5, tau: 2, n: 8 });
        model.dispose();
        return { laplace, inputs: x };
      },
    ],
  ];
  for (const [name, fit] of fits) {
    const { laplace, inputs } = await fit();
    subjects.push({ name, bytes: await laplace.toBytes(), inputs });
    originals.push(laplace);
  }
});

afterAll(() => {
  originals.forEach((laplace) => laplace.dispose());
  subjects.forEach((subject) => subject.inputs.dispose());
});

async function predictions(laplace: LaplaceModel, inputs: tf.Tensor): Promise<Float32Array> {
  if (laplace.posterior.likelihood.kind === 'regression') {
    const { mean, variance } = await laplace.predictRegression(inputs);
    return Float32Array.from([...mean, ...variance]);
  }
  return laplace.predict(inputs);
}

describe('posterior files damaged behind a correct checksum', () => {
  it('the four unmutated files load through parse and seal unchanged', async () => {
    for (const subject of subjects) {
      const { header, data } = parse(subject.bytes);
      expect(Buffer.from(seal(header, data)).equals(Buffer.from(subject.bytes)), subject.name).toBe(true);
    }
  });

  it('4 × 600 seeded header mutations: each is one PosteriorFileError sentence, or loads and predicts finite numbers', async () => {
    const next = uniforms(2626);
    const tally: Record<string, { refused: number; loaded: number }> = {};
    const problems: string[] = [];
    for (const subject of subjects) {
      const { header, data } = parse(subject.bytes);
      const counts = (tally[subject.name] = { refused: 0, loaded: 0 });
      for (let trial = 0; trial < 600; trial++) {
        const mutated = mutateHeader(header, next);
        const what = `${subject.name} #${trial}`;
        let laplace: LaplaceModel;
        try {
          laplace = await loadLaplaceFromBytes(seal(mutated, data), 'mutated.laplace');
        } catch (error) {
          const message = (error as Error).message;
          if (!(error instanceof PosteriorFileError)) problems.push(`${what}: ${(error as Error).stack}`);
          else if (!/^Posterior file mutated\.laplace [^\n]*\.$/.test(message) || leaked.test(message)) problems.push(`${what}: ${message}`);
          counts.refused++;
          continue;
        }
        try {
          const values = await predictions(laplace, subject.inputs);
          if (!values.every(Number.isFinite)) problems.push(`${what} loads and predicts non-finite numbers`);
        } catch (error) {
          // A header that changed the model's input shape consistently loads, and then refuses these inputs in one sentence.
          if (!(error instanceof LaplaceDataError) || !/^The inputs have shape /.test(error.message)) problems.push(`${what} loads, then predict throws ${(error as Error).stack}`);
        } finally {
          laplace.dispose();
        }
        counts.loaded++;
      }
    }
    console.log(`header mutations behind a correct checksum: ${JSON.stringify(tally)}`);
    expect(problems.length, problems.slice(0, 12).join('\n')).toBe(0);
  });

  it('mutations that change no byte load to the same predictions, bit for bit', async () => {
    const next = uniforms(2627);
    for (const subject of subjects) {
      const original = await loadLaplaceFromBytes(subject.bytes, 'original.laplace');
      const expected = Buffer.from((await predictions(original, subject.inputs)).buffer).toString('hex');
      original.dispose();
      for (let trial = 0; trial < 20; trial++) {
        const bytes = subject.bytes.slice();
        const at = Math.floor(next() * bytes.length);
        if (trial % 2 === 0) bytes[at] = subject.bytes[at];
        else {
          const bit = 1 << Math.floor(next() * 8);
          bytes[at] ^= bit;
          bytes[at] ^= bit;
        }
        const laplace = await loadLaplaceFromBytes(bytes, 'same.laplace');
        expect(Buffer.from((await predictions(laplace, subject.inputs)).buffer).toString('hex'), `${subject.name} #${trial}`).toBe(expected);
        laplace.dispose();
      }
    }
  });
});
