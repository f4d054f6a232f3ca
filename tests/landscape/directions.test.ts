/**
 * Filter-normalised random directions: every filter (column of W̄) of a conv and a dense layer
 * has the norm of the same filter of W*, read from the tfjs kernel by explicit index loops;
 * bias entries are zero in the default mode and join their filter in the 'filter' mode; the
 * filters are the seeded Gaussian draws rescaled; same seed same bytes, other seed other direction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { Network } from '../../compute/laplace/index.ts';
import { LandscapeError, directionCosine, randomDirection } from '../../compute/landscape/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { buildTinyCnn } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

const model = () => buildTinyCnn(5, '_dir');

function setup() {
  const m = model();
  const network = new Network(m);
  const weights = network.matricesFromModel(m);
  const kernels = m.layers.filter((layer) => ['Dense', 'Conv2D'].includes(layer.getClassName())).map((layer) => layer.getWeights());
  return { network, weights, kernels, dispose: () => tf.dispose(weights) };
}

/** Norm of output channel o of a [kh, kw, cin, cout] kernel, and the same filter of a W̄-layout direction. */
function convFilterNorms(kernel: tf.Tensor, direction: Float32Array, o: number): { weight: number; direction: number } {
  const [kh, kw, cin, cout] = kernel.shape;
  const k = kernel.arraySync() as number[][][][];
  let weight = 0;
  let dir = 0;
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++) {
        weight += k[i][j][c][o] ** 2;
        dir += direction[((i * kw + j) * cin + c) * cout + o] ** 2;
      }
  return { weight: Math.sqrt(weight), direction: Math.sqrt(dir) };
}

function denseFilterNorms(kernel: tf.Tensor, direction: Float32Array, o: number): { weight: number; direction: number } {
  const k = kernel.arraySync() as number[][];
  const units = kernel.shape[1]!;
  let weight = 0;
  let dir = 0;
  for (let i = 0; i < k.length; i++) {
    weight += k[i][o] ** 2;
    dir += direction[i * units + o] ** 2;
  }
  return { weight: Math.sqrt(weight), direction: Math.sqrt(dir) };
}

describe('randomDirection', () => {
  it('gives every conv and dense filter the norm of the weight filter and zero biases (default)', () => {
    const { network, weights, kernels, dispose } = setup();
    const direction = randomDirection(network, weights, 17);
    expect(direction.length).toBe(4);
    // Layer 0: conv with bias; layer 1: conv without bias; layers 2, 3: dense with bias.
    const checked: number[] = [];
    for (const [layer, kind] of [
      [0, 'conv'],
      [1, 'conv'],
      [2, 'dense'],
      [3, 'dense'],
    ] as const) {
      const kernel = kernels[layer][0];
      const cout = kernel.shape[kernel.shape.length - 1]!;
      for (let o = 0; o < cout; o++) {
        const norms = kind === 'conv' ? convFilterNorms(kernel, direction[layer], o) : denseFilterNorms(kernel, direction[layer], o);
        expect(norms.weight).toBeGreaterThan(0);
        expect(Math.abs(norms.direction - norms.weight) / norms.weight).toBeLessThan(1e-5);
        checked.push(o);
      }
      const kernelSize = kernel.size;
      const hasBias = kernels[layer].length > 1;
      expect(direction[layer].length).toBe(kernelSize + (hasBias ? cout : 0));
      // The bias row is the last cout entries; every one is zero.
      for (let i = kernelSize; i < direction[layer].length; i++) expect(direction[layer][i]).toBe(0);
    }
    expect(checked.length).toBe(3 + 4 + 5 + 10);
    dispose();
  });

  it("'filter' mode: the whole W̄ column (kernel and bias) gets the norm of W*'s column", () => {
    const { network, weights, kernels, dispose } = setup();
    const direction = randomDirection(network, weights, 17, { biases: 'filter' });
    for (const layer of [0, 2, 3]) {
      const [kernel, bias] = kernels[layer];
      const cout = kernel.shape[kernel.shape.length - 1]!;
      const kernelValues = kernel.dataSync();
      const biasValues = bias.dataSync();
      const rows = kernel.size / cout;
      for (let o = 0; o < cout; o++) {
        let weight = biasValues[o] ** 2;
        let dir = direction[layer][rows * cout + o] ** 2;
        for (let r = 0; r < rows; r++) {
          weight += kernelValues[r * cout + o] ** 2;
          dir += direction[layer][r * cout + o] ** 2;
        }
        expect(Math.abs(Math.sqrt(dir) - Math.sqrt(weight)) / Math.sqrt(weight)).toBeLessThan(1e-5);
        expect(direction[layer][rows * cout + o]).not.toBe(0);
      }
    }
    dispose();
  });

  it('is the seeded Gaussian draw rescaled per filter (one Random(seed), W̄ row-major, layer by layer)', () => {
    const { network, weights, dispose } = setup();
    const seed = 23;
    const direction = randomDirection(network, weights, seed);
    const random = new Random(seed);
    direction.forEach((values, layer) => {
      const spec = network.layers[layer];
      const draws = random.normals(values.length);
      for (let o = 0; o < spec.fanOut; o++) {
        const ratio = values[o] / draws[o];
        expect(ratio).toBeGreaterThan(0);
        for (let r = 0; r < spec.fanIn; r++) {
          const at = r * spec.fanOut + o;
          expect(Math.abs(values[at] - ratio * draws[at])).toBeLessThan(1e-6 * Math.abs(ratio) * (1 + Math.abs(draws[at])));
        }
      }
    });
    dispose();
  });

  it('is reproducible from the seed and differs across seeds', () => {
    const { network, weights, dispose } = setup();
    const a = randomDirection(network, weights, 3);
    const again = randomDirection(network, weights, 3);
    const b = randomDirection(network, weights, 4);
    a.forEach((values, layer) => {
      expect(Buffer.from(values.buffer).equals(Buffer.from(again[layer].buffer))).toBe(true);
      expect(Buffer.from(values.buffer).equals(Buffer.from(b[layer].buffer))).toBe(false);
    });
    expect(directionCosine(a, again)).toBeCloseTo(1, 12);
    // ~300 entries: independent directions are near-orthogonal (|cos| ~ 1/√300 ≈ 0.06).
    expect(Math.abs(directionCosine(a, b))).toBeLessThan(0.3);
    dispose();
  });

  it('refuses weights of another shape, a bad seed and an unknown bias mode', () => {
    const { network, weights, dispose } = setup();
    expect(() => randomDirection(network, weights.slice(1), 1)).toThrow(LandscapeError);
    expect(() => randomDirection(network, weights, 1.5)).toThrow(LandscapeError);
    expect(() => randomDirection(network, weights, 1, { biases: 'keep' as 'zero' })).toThrow(LandscapeError);
    dispose();
  });
});
