import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactError, roundSignificant, sha256, stableStringify, writeJsonArtifact } from '../../compute/artifacts/json.ts';

describe('stable JSON writer', () => {
  it('sorts keys at every depth, rounds to 6 significant digits, indents by 2 and ends with a newline', () => {
    const text = stableStringify({ b: 1, a: { d: [0.123456789, 2], c: 1 / 3 }, e: undefined });
    expect(text).toBe('{\n  "a": {\n    "c": 0.333333,\n    "d": [\n      0.123457,\n      2\n    ]\n  },\n  "b": 1\n}\n');
  });

  it('gives the same bytes whatever the key order of the input', () => {
    expect(stableStringify({ x: 1, y: [{ q: 2, p: 3 }] })).toBe(stableStringify({ y: [{ p: 3, q: 2 }], x: 1 }));
  });

  it('keeps integers exact, rounds large and tiny numbers by significant digits, and writes -0 as 0', () => {
    expect(roundSignificant(55000)).toBe(55000);
    expect(roundSignificant(123456789.123)).toBe(123457000);
    expect(roundSignificant(0.000012345678)).toBe(0.0000123457);
    expect(Object.is(roundSignificant(-0), 0)).toBe(true);
    expect(stableStringify([-0])).toBe('[\n  0\n]\n');
  });

  it('writes typed arrays as lists', () => {
    expect(JSON.parse(stableStringify({ v: new Float32Array([0.5, 1.5]) }))).toEqual({ v: [0.5, 1.5] });
  });

  it('refuses NaN and infinities, naming where they are', () => {
    expect(() => stableStringify({ a: [1, Number.NaN] })).toThrow(ArtifactError);
    expect(() => stableStringify({ a: [1, Number.NaN] })).toThrow(/\$\.a\[1\] is NaN/);
    expect(() => stableStringify({ b: Infinity })).toThrow(/\$\.b is Infinity/);
  });

  it('writes atomically and returns the sha256 of the bytes written, leaving no temp file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'writer-'));
    const path = join(dir, 'nested', 'artifact.json');
    const hash = writeJsonArtifact(path, { z: 1, a: 2 });
    const bytes = readFileSync(path);
    expect(hash).toBe(sha256(bytes));
    expect(bytes.toString()).toBe('{\n  "a": 2,\n  "z": 1\n}\n');
    expect(readdirSync(join(dir, 'nested'))).toEqual(['artifact.json']);
  });

  it('leaves the old file intact when the new value cannot be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'writer-'));
    const path = join(dir, 'artifact.json');
    writeJsonArtifact(path, { ok: true });
    expect(() => writeJsonArtifact(path, { bad: Number.NaN })).toThrow(ArtifactError);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ ok: true });
    expect(readdirSync(dir)).toEqual(['artifact.json']);
  });
});
