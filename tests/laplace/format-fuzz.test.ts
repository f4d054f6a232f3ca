/**
 * The posterior file's integrity: seeded mutations of a small reference file
 * (tests/laplace/fixtures) must never escape as anything but a PosteriorFileError.
 *  - With the SHA-256 checksum (files written today), every mutation is refused:
 *    header bits flipped, magic damaged, NaN written into the data, a data byte or a
 *    checksum byte changed, the file truncated, bytes appended.
 *  - Without it (files written before the checksum), a mutation is either refused
 *    or loads: a header digit changed into another valid value (a τ of 6.29 read as
 *    6.39) or a data byte changed into another finite float cannot be detected without
 *    a checksum, which is what the warning on loading such a file says. NaN or
 *    infinity written into the data is always refused (the reader checks every value).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { loadLaplaceFromBytes, PosteriorFileError } from '../../compute/laplace/index.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const checked = new Uint8Array(readFileSync(join(fixtures, 'reference.kfac.laplace')));
const unchecked = new Uint8Array(readFileSync(join(fixtures, 'reference-unchecked.kfac.laplace')));

/** mulberry32: a seeded stream of uniform numbers in [0, 1), independent of the library's own generator. */
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

const mutations = ['header bit', 'magic', 'NaN in data', 'data byte', 'checksum byte', 'truncation', 'appended bytes'] as const;
type Mutation = (typeof mutations)[number];

function dataStartOf(bytes: Uint8Array): number {
  return 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
}

function mutate(original: Uint8Array, mutation: Mutation, next: () => number, hasChecksum: boolean): Uint8Array {
  const bytes = original.slice();
  const pick = (from: number, to: number) => from + Math.floor(next() * (to - from));
  const dataStart = dataStartOf(original);
  const dataEnd = original.length - (hasChecksum ? 32 : 0);
  switch (mutation) {
    case 'header bit':
      bytes[pick(8, dataStart)] ^= 1 << pick(0, 8);
      return bytes;
    case 'magic': {
      const at = pick(0, 8);
      bytes[at] = (bytes[at] + pick(1, 256)) % 256;
      return bytes;
    }
    case 'NaN in data': {
      const at = dataStart + 4 * pick(0, (dataEnd - dataStart) / 4);
      new DataView(bytes.buffer).setFloat32(at, next() < 0.5 ? NaN : Infinity, true);
      return bytes;
    }
    case 'data byte': {
      const at = pick(dataStart, dataEnd);
      bytes[at] = (bytes[at] + pick(1, 256)) % 256;
      return bytes;
    }
    case 'checksum byte': {
      const at = pick(dataEnd, original.length);
      bytes[at] = (bytes[at] + pick(1, 256)) % 256;
      return bytes;
    }
    case 'truncation':
      return bytes.slice(0, pick(0, original.length));
    case 'appended bytes': {
      const extra = Uint8Array.from({ length: pick(1, 64) }, () => pick(0, 256));
      const longer = new Uint8Array(bytes.length + extra.length);
      longer.set(bytes);
      longer.set(extra, bytes.length);
      return longer;
    }
  }
}

type Outcome = 'refused' | 'loaded';

async function outcomeOf(bytes: Uint8Array, what: string): Promise<Outcome> {
  try {
    const laplace = await loadLaplaceFromBytes(bytes, 'mutated.laplace', { onWarning: () => {} });
    laplace.dispose();
    return 'loaded';
  } catch (error) {
    // Anything else (tfjs-layers' "Improper config format", a TypeError) is the bug this test exists for.
    expect(error, `${what}: ${(error as Error).stack}`).toBeInstanceOf(PosteriorFileError);
    expect((error as Error).message, what).toMatch(/mutated\.laplace.*\.$/s);
    return 'refused';
  }
}

beforeAll(async () => {
  await startBackend('wasm');
});

describe('posterior file fuzzing', () => {
  it('the unmutated files load (the one without a checksum with a warning)', async () => {
    expect(await outcomeOf(checked, 'checked')).toBe('loaded');
    const warnings: string[] = [];
    (await loadLaplaceFromBytes(unchecked, 'old.laplace', { onWarning: (message) => warnings.push(message) })).dispose();
    expect(warnings).toEqual([expect.stringMatching(/^warning: posterior file old\.laplace was written before posterior files carried a checksum/)]);
    (await loadLaplaceFromBytes(checked, 'new.laplace', { onWarning: (message) => warnings.push(message) })).dispose();
    expect(warnings).toHaveLength(1);
  });

  it('with a checksum: every one of 3,500 seeded mutations is refused with a PosteriorFileError', async () => {
    const next = uniforms(26);
    const counts = Object.fromEntries(mutations.map((mutation) => [mutation, 0]));
    for (const mutation of mutations) {
      for (let trial = 0; trial < 500; trial++) {
        const bytes = mutate(checked, mutation, next, true);
        expect(await outcomeOf(bytes, `${mutation} #${trial}`), `${mutation} #${trial}`).toBe('refused');
        counts[mutation]++;
      }
    }
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(3500);
  }, 120_000);

  it('without a checksum: 1,400 mutations are refused or load, never another error; NaN, magic, truncation and appended bytes are always refused', async () => {
    const next = uniforms(27);
    const loaded: Record<string, number> = {};
    for (const mutation of mutations.filter((name) => name !== 'checksum byte')) {
      loaded[mutation] = 0;
      for (let trial = 0; trial < 200; trial++) {
        if ((await outcomeOf(mutate(unchecked, mutation, next, false), `${mutation} #${trial}`)) === 'loaded') loaded[mutation]++;
      }
    }
    expect(loaded['NaN in data']).toBe(0);
    expect(loaded.magic).toBe(0);
    expect(loaded.truncation).toBe(0);
    expect(loaded['appended bytes']).toBe(0);
    // Undetectable without a checksum, and the reason files carry one now: most changed data bytes are still finite floats.
    expect(loaded['data byte']).toBeGreaterThan(100);
    console.log(`without a checksum, mutations that loaded (of 200 each): ${JSON.stringify(loaded)}`);
  }, 120_000);
});
