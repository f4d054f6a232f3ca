/**
 * The reference posterior file's stored predictions (fixtures/reference.json), checked
 * against a computation that shares nothing with the library: the file is parsed here
 * from its documented layout (magic, header length, JSON header, float32 data), the CNN
 * is run by a float64 forward pass written below (no tfjs), its Jacobian taken by central
 * differences, and the KFAC posterior built as the dense matrix it stands for,
 * H = N·(A ⊗ G) + τ·I per layer ('exact' damping), solved by Cholesky. The MAP
 * predictive is softmax(f(x, W*)); the GLM predictive with the probit link is
 * softmax(μ / √(1 + π/8 · diag(J H⁻¹ Jᵀ))).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const fixtures = join(import.meta.dirname, 'fixtures');
const reference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as { n: number; tau: number; inputShape: number[]; inputs: number[]; map: number[]; glm: number[] };

interface LayerHeader {
  kind: string;
  fanIn: number;
  fanOut: number;
  hasBias: boolean;
  kernelShape: number[];
  activation: string;
  conv: { kernelSize: [number, number]; strides: [number, number]; padding: 'same' | 'valid' } | null;
}

interface FileHeader {
  n: number;
  tau: number;
  structure: string;
  kfacDamping: string;
  layers: LayerHeader[];
  arrays: { name: string; shape: number[]; offset: number; length: number }[];
}

function readFile(name: string): { header: FileHeader; arrays: Map<string, Float64Array> } {
  const bytes = readFileSync(join(fixtures, name));
  expect(bytes.subarray(0, 8).toString('latin1')).toBe('LAPLACE1');
  const headerLength = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as FileHeader;
  const dataStart = 12 + headerLength;
  const arrays = new Map<string, Float64Array>();
  for (const entry of header.arrays) {
    arrays.set(entry.name, Float64Array.from({ length: entry.length }, (_, i) => bytes.readFloatLE(dataStart + 4 * (entry.offset + i))));
  }
  return { header, arrays };
}

const activations: Record<string, (v: number) => number> = { relu: (v) => Math.max(0, v), tanh: Math.tanh, linear: (v) => v };

/** Output size and the leading padding of TensorFlow's 'same' (the extra cell goes after) or 'valid'. */
function geometry(size: number, kernel: number, stride: number, padding: 'same' | 'valid'): { out: number; before: number } {
  if (padding === 'valid') return { out: Math.floor((size - kernel) / stride) + 1, before: 0 };
  const out = Math.ceil(size / stride);
  return { out, before: Math.floor(Math.max((out - 1) * stride + kernel - size, 0) / 2) };
}

/**
 * The fixture's network (conv → conv → max-pool 2 stride 1 → flatten → dense), float64, on one
 * HWC image; weights as the file's W̄ per layer: [fanIn + 1, fanOut], rows (kh, kw, cin), bias last.
 */
function logits(layers: LayerHeader[], weights: Float64Array[], image: Float64Array, [height, width, channels]: number[]): Float64Array {
  let values = image;
  let shape = [height, width, channels];
  for (const [index, layer] of layers.entries()) {
    const w = weights[index];
    const act = activations[layer.activation];
    if (layer.kind === 'conv2d') {
      const [kh, kw] = layer.conv!.kernelSize;
      const [sh, sw] = layer.conv!.strides;
      const rows = geometry(shape[0], kh, sh, layer.conv!.padding);
      const cols = geometry(shape[1], kw, sw, layer.conv!.padding);
      const cin = shape[2];
      const cout = layer.fanOut;
      const out = new Float64Array(rows.out * cols.out * cout);
      for (let r = 0; r < rows.out; r++) {
        for (let c = 0; c < cols.out; c++) {
          for (let o = 0; o < cout; o++) {
            let sum = w[layer.fanIn * cout + o];
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const y = r * sh + i - rows.before;
                const x = c * sw + j - cols.before;
                if (y < 0 || y >= shape[0] || x < 0 || x >= shape[1]) continue;
                for (let k = 0; k < cin; k++) sum += values[(y * shape[1] + x) * cin + k] * w[((i * kw + j) * cin + k) * cout + o];
              }
            }
            out[(r * cols.out + c) * cout + o] = act(sum);
          }
        }
      }
      values = out;
      shape = [rows.out, cols.out, cout];
      if (index === 1) {
        // The max-pool (2×2, stride 1, valid) after the second convolution.
        const pooled = new Float64Array((shape[0] - 1) * (shape[1] - 1) * shape[2]);
        for (let r = 0; r < shape[0] - 1; r++) {
          for (let c = 0; c < shape[1] - 1; c++) {
            for (let k = 0; k < shape[2]; k++) {
              const at = (y: number, x: number) => values[(y * shape[1] + x) * shape[2] + k];
              pooled[(r * (shape[1] - 1) + c) * shape[2] + k] = Math.max(at(r, c), at(r, c + 1), at(r + 1, c), at(r + 1, c + 1));
            }
          }
        }
        values = pooled;
        shape = [shape[0] - 1, shape[1] - 1, shape[2]];
      }
    } else {
      const out = new Float64Array(layer.fanOut);
      for (let o = 0; o < layer.fanOut; o++) {
        let sum = w[layer.fanIn * layer.fanOut + o];
        for (let i = 0; i < layer.fanIn; i++) sum += values[i] * w[i * layer.fanOut + o];
        out[o] = act(sum);
      }
      values = out;
    }
  }
  return values;
}

const softmax = (v: ArrayLike<number>) => {
  const top = Math.max(...Array.from(v));
  const e = Array.from(v, (x) => Math.exp(x - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
};

/** x = M⁻¹ b for symmetric positive definite M (row-major, size n), by Cholesky. */
function solveSpd(m: Float64Array, n: number, b: Float64Array): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let pivot = m[j * n + j];
    for (let k = 0; k < j; k++) pivot -= l[j * n + k] ** 2;
    expect(pivot).toBeGreaterThan(0);
    l[j * n + j] = Math.sqrt(pivot);
    for (let i = j + 1; i < n; i++) {
      let value = m[i * n + j];
      for (let k = 0; k < j; k++) value -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = value / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let value = b[i];
    for (let k = 0; k < i; k++) value -= l[i * n + k] * y[k];
    y[i] = value / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let value = y[i];
    for (let k = i + 1; k < n; k++) value -= l[k * n + i] * x[k];
    x[i] = value / l[i * n + i];
  }
  return x;
}

describe('the reference posterior file against a dense float64 computation', () => {
  it.each(['reference.kfac.laplace', 'reference-unchecked.kfac.laplace'])('%s: MAP and GLM (probit) predictions equal the stored ones', (file) => {
    const { header, arrays } = readFile(file);
    expect([header.structure, header.kfacDamping, header.n, header.tau]).toEqual(['kfac', 'exact', reference.n, reference.tau]);
    const weights = header.layers.map((_, layer) => arrays.get(`map/${layer}`)!);
    const [count, ...imageShape] = reference.inputShape;
    const imageSize = imageShape.reduce((a, b) => a * b, 1);
    const classes = header.layers.at(-1)!.fanOut;
    // Per layer, the dense precision N·(A ⊗ G) + τ·I on row-major vec(W̄).
    const precisions = header.layers.map((_, layer) => {
      const a = arrays.get(`kfac/${layer}/A`)!;
      const g = arrays.get(`kfac/${layer}/G`)!;
      const rows = Math.sqrt(a.length);
      const cols = Math.sqrt(g.length);
      const size = rows * cols;
      const h = new Float64Array(size * size);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          for (let k = 0; k < rows; k++) {
            for (let l = 0; l < cols; l++) h[(i * cols + j) * size + k * cols + l] = header.n * a[i * rows + k] * g[j * cols + l];
          }
        }
      }
      for (let d = 0; d < size; d++) h[d * size + d] += header.tau;
      expect(size).toBe(weights[layer].length);
      return { h, size };
    });
    for (let example = 0; example < count; example++) {
      const image = Float64Array.from(reference.inputs.slice(example * imageSize, (example + 1) * imageSize));
      const mean = logits(header.layers, weights, image, imageShape);
      const variances = new Float64Array(classes);
      for (const [layer, { h, size }] of precisions.entries()) {
        // Jacobian of the logits with respect to this layer's W̄, by central differences (step 1e-6 in float64).
        const jacobian = Array.from({ length: classes }, () => new Float64Array(size));
        for (let p = 0; p < size; p++) {
          const step = 1e-6;
          const shifted = (delta: number) => {
            const copy = weights.map((w) => Float64Array.from(w));
            copy[layer][p] += delta;
            return logits(header.layers, copy, image, imageShape);
          };
          const [up, down] = [shifted(step), shifted(-step)];
          for (let c = 0; c < classes; c++) jacobian[c][p] = (up[c] - down[c]) / (2 * step);
        }
        for (let c = 0; c < classes; c++) {
          const solved = solveSpd(h, size, jacobian[c]);
          variances[c] += jacobian[c].reduce((sum, value, p) => sum + value * solved[p], 0);
        }
      }
      const map = softmax(mean);
      const glm = softmax(Array.from(mean, (m, c) => m / Math.sqrt(1 + (Math.PI / 8) * variances[c])));
      for (let c = 0; c < classes; c++) {
        // The stored numbers come from float32 kernels: they agree to 1e-7 here, and a τ 1% off moves the GLM ones by 1.5e-4.
        expect(Math.abs(map[c] - reference.map[example * classes + c]), `${file} map ${example},${c}`).toBeLessThan(1e-6);
        expect(Math.abs(glm[c] - reference.glm[example * classes + c]), `${file} glm ${example},${c}`).toBeLessThan(1e-6);
      }
      // And the posterior matters here: the GLM predictive is not the MAP one.
      expect(Math.max(...map.map((p, c) => Math.abs(p - glm[c])))).toBeGreaterThan(1e-2);
    }
  });
});
