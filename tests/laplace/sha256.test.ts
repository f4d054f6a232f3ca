/** The library's pure SHA-256 (for the browser) against node:crypto's, on lengths around every padding boundary and at odd offsets. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../compute/laplace/sha256.ts';

describe('sha256', () => {
  it('matches the FIPS 180-4 example and node:crypto on 0 … 300 bytes and 100 kB', () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    for (const length of [...Array.from({ length: 301 }, (_, i) => i), 100_003]) {
      const buffer = new Uint8Array(length + 3);
      for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 131 + length) & 255;
      const bytes = buffer.subarray(3);
      expect(sha256Hex(bytes), `${length} bytes`).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });
});
