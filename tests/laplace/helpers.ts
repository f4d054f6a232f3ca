/**
 * Reference computations for the Laplace tests. Everything here goes through
 * tfjs-layers' own forward pass (model.apply / layer.apply) and tf's gradients
 * of it, or through plain float64 loops, never through compute/laplace, so the
 * library is checked against code that shares nothing with it.
 *
 * Layouts follow the library's documented W̄ convention (network.ts): per
 * Dense/Conv2D layer a matrix with one row per kernel input (for a Conv2D the
 * (kh, kw, cin) entries in that row-major order, which is the tfjs kernel
 * [kh, kw, cin, cout] flattened row-major) plus a last row for the bias, and one
 * column per output; vectors are W̄ flattened row-major.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { CurvatureFit, KfacDamping, Posterior, Structure } from '../../compute/laplace/index.ts';
import type { Matrix } from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';

export type Model = tfl.Sequential;
export type Activation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';

// ---------------------------------------------------------------------------
// Tiny models with seeded weights

/** Sets every weight from seeded normals: kernels scaled by gain/√fanIn, biases by 0.3. */
export function seedWeights(model: tfl.LayersModel, seed: number, gain = 1.2): void {
  const random = new Random(seed);
  const weights = model.getWeights().map((w) => {
    const fanIn = w.shape.length > 1 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
    const scale = w.shape.length > 1 ? gain / Math.sqrt(fanIn) : 0.3;
    return tf.tensor(Float32Array.from(random.normals(w.size), (v) => v * scale), w.shape);
  });
  model.setWeights(weights);
  tf.dispose(weights);
}

/** Dense in → hidden (activation) → classes (softmax by default, which the library strips; or linear logits). */
export function buildMlp(inputs: number, hidden: number, classes: number, seed: number, activation: Activation = 'relu', output: 'softmax' | 'linear' = 'softmax'): Model {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [inputs], units: hidden, activation, name: `mlp_hidden_${seed}` }),
      tfl.layers.dense({ units: classes, activation: output, name: `mlp_out_${seed}` }),
    ],
  });
  seedWeights(model, seed);
  return model;
}

/**
 * CNN A, 8×8×2 input: conv k3 'same' stride 2 (TF pads 0 top/left, 1 bottom/right: (4−1)·2+3−8 = 1)
 * relu → conv k2 'valid' stride 1 tanh → max-pool 2 stride 1 → flatten → dense 3 (linear logits).
 */
export function buildCnnA(seed: number): Model {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: `cnnA_conv1_${seed}` }),
      tfl.layers.conv2d({ filters: 2, kernelSize: 2, strides: 1, padding: 'valid', activation: 'tanh', name: `cnnA_conv2_${seed}` }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 1 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'linear', name: `cnnA_dense_${seed}` }),
    ],
  });
  seedWeights(model, seed);
  return model;
}

/**
 * CNN B, 5×5×1 input: conv k2 'same' stride 1 (pad 0 top/left, 1 bottom/right) with a separate
 * sigmoid Activation layer → conv k3 'valid' stride 2 relu → max-pool 2 → flatten → dense 3 (softmax).
 */
export function buildCnnB(seed: number): Model {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [5, 5, 1], filters: 2, kernelSize: 2, strides: 1, padding: 'same', name: `cnnB_conv1_${seed}` }),
      tfl.layers.activation({ activation: 'sigmoid' }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu', name: `cnnB_conv2_${seed}` }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'softmax', name: `cnnB_dense_${seed}` }),
    ],
  });
  seedWeights(model, seed, 2);
  return model;
}

/**
 * CNN C, 6×5×2 input, the less common pieces: conv WITHOUT bias, kernel [3, 2], strides [2, 1],
 * 'same' (pads 0/1 on both axes) relu → average-pool [1, 2] → dropout → reshape to [12] →
 * dense without bias, sigmoid → dense 3 (linear logits).
 */
export function buildCnnC(seed: number): Model {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 5, 2], filters: 2, kernelSize: [3, 2], strides: [2, 1], padding: 'same', useBias: false, activation: 'relu', name: `cnnC_conv_${seed}` }),
      tfl.layers.averagePooling2d({ poolSize: [1, 2], strides: [1, 2] }),
      tfl.layers.dropout({ rate: 0.5 }),
      tfl.layers.reshape({ targetShape: [12] }),
      tfl.layers.dense({ units: 4, activation: 'sigmoid', useBias: false, name: `cnnC_hidden_${seed}` }),
      tfl.layers.dense({ units: 3, name: `cnnC_out_${seed}` }),
    ],
  });
  seedWeights(model, seed, 2);
  return model;
}

/**
 * A functional model with the layers people use: conv → BatchNormalization → swish →
 * depthwise conv → BatchNormalization, a residual Add back to the first swish, swish,
 * GlobalAveragePooling2D, Dense softmax. BatchNormalization's moving statistics are set away
 * from 0 and 1, so a body run in training mode (batch statistics) would give other features.
 */
export function buildResidualModel(seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 6, 2] });
  const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: `res_conv_${seed}` }).apply(input) as tfl.SymbolicTensor;
  const first = tfl.layers.activation({ activation: 'swish' }).apply(tfl.layers.batchNormalization({ name: `res_bn1_${seed}` }).apply(conv)) as tfl.SymbolicTensor;
  const depthwise = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: `res_depthwise_${seed}` }).apply(first) as tfl.SymbolicTensor;
  const normalised = tfl.layers.batchNormalization({ name: `res_bn2_${seed}` }).apply(depthwise) as tfl.SymbolicTensor;
  const residual = tfl.layers.activation({ activation: 'swish' }).apply(tfl.layers.add().apply([normalised, first])) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(residual) as tfl.SymbolicTensor;
  const output = tfl.layers.dense({ units: 3, activation: 'softmax', name: `res_out_${seed}` }).apply(pooled) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: output });
  seedWeights(model, seed, 1.5);
  for (const layer of model.layers.filter((candidate) => candidate.getClassName() === 'BatchNormalization')) {
    // [gamma, beta, moving mean, moving variance]: a positive variance, the rest as seeded.
    const [gamma, beta, mean, variance] = layer.getWeights();
    const positive = tf.add(tf.abs(variance), 0.5);
    layer.setWeights([gamma, beta, mean, positive]);
    positive.dispose();
  }
  return model;
}

export function randomInputs(shape: number[], seed: number, scale = 1): tf.Tensor {
  const random = new Random(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from(random.normals(size), (v) => v * scale), shape);
}

export function randomLabels(count: number, classes: number, seed: number): Int32Array {
  const random = new Random(seed);
  return Int32Array.from({ length: count }, () => random.integer(classes));
}

// ---------------------------------------------------------------------------
// Brute force through tfjs-layers

/** The model's layers without the input layer, in order. */
export function modelLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
}

/** The Dense and Conv2D layers, the ones that carry parameters. */
export function parameterLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return modelLayers(model).filter((layer) => ['Dense', 'Conv2D'].includes(layer.getClassName()));
}

function endsInSoftmax(model: tfl.LayersModel): boolean {
  const layers = modelLayers(model);
  const config = layers[layers.length - 1].getConfig() as { activation?: string };
  return config.activation === 'softmax';
}

/** log p(·|x) through tfjs-layers' own forward pass. */
export function logProbabilities(model: tfl.LayersModel, x: tf.Tensor): tf.Tensor2D {
  const out = model.apply(x, { training: false }) as tf.Tensor2D;
  return (endsInSoftmax(model) ? tf.log(out) : tf.logSoftmax(out)) as tf.Tensor2D;
}

export function probabilities(model: tfl.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.exp(logProbabilities(model, x)).dataSync() as Float32Array);
}

/**
 * W̄ gradients (kernel rows, then bias row, row-major) of a scalar function of the model's
 * variables, for every parameter layer, by tf.variableGrads (tf's own gradients of tfjs-layers).
 */
export function parameterGradients(model: tfl.LayersModel, f: () => tf.Scalar): Float64Array[] {
  const layers = parameterLayers(model);
  const variables = layers.flatMap((layer) => layer.trainableWeights.map((w) => w.read() as tf.Variable));
  const { value, grads } = tf.variableGrads(f, variables);
  const out = layers.map((layer) => {
    const parts = layer.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name].dataSync());
    const result = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      result.set(part, at);
      at += part.length;
    }
    return result;
  });
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/** W̄ gradients of the loss −log p(y = c | x) of ONE example x ([1, ...shape]), per parameter layer. */
export function exampleGradients(model: tfl.LayersModel, x: tf.Tensor, c: number): Float64Array[] {
  return parameterGradients(model, () => tf.neg(tf.sum(tf.slice(logProbabilities(model, x), [0, c], [1, 1]))) as tf.Scalar);
}

/** Rows of the Jacobian of output k of a linear-output model at ONE example x, per parameter layer. */
export function outputGradients(model: tfl.LayersModel, x: tf.Tensor, k: number): Float64Array[] {
  return parameterGradients(model, () => tf.sum(tf.slice(model.apply(x, { training: false }) as tf.Tensor2D, [0, k], [1, 1])) as tf.Scalar);
}

/** Each parameter layer's input (the output of the layer before it), through layer.apply. */
export function parameterLayerInputs(model: tfl.LayersModel, x: tf.Tensor): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  let h = x;
  for (const layer of modelLayers(model)) {
    if (['Dense', 'Conv2D'].includes(layer.getClassName())) out.push(tf.clone(h));
    const next = layer.apply(h) as tf.Tensor;
    if (h !== x) h.dispose();
    h = next;
  }
  h.dispose();
  return out;
}

/**
 * Gradients of −log p(c|x) with respect to each parameter layer's pre-activations, for ONE
 * example: ∂ℓ/∂h (the layer's output, by tf.grad of the remaining layers) times the activation's
 * derivative written from the output (relu: [h > 0], tanh: 1 − h², sigmoid: h(1 − h)); for a
 * final softmax layer, the closed form p − e_c. Shapes [1, ...preActivationShape].
 */
export function preActivationGradients(model: tfl.LayersModel, x: tf.Tensor, c: number): Float64Array[] {
  const layers = modelLayers(model);
  const out: Float64Array[] = [];
  let h = x;
  const owned: tf.Tensor[] = [];
  for (let index = 0; index < layers.length; index++) {
    const layer = layers[index];
    h = layer.apply(h) as tf.Tensor;
    owned.push(h);
    if (!['Dense', 'Conv2D'].includes(layer.getClassName())) continue;
    const activation = (layer.getConfig() as { activation?: string }).activation ?? 'linear';
    const rest = layers.slice(index + 1);
    const isLast = rest.length === 0;
    if (isLast && activation === 'softmax') {
      const p = h.dataSync();
      out.push(Float64Array.from(p, (value, k) => value - (k === c ? 1 : 0)));
      continue;
    }
    const loss = (output: tf.Tensor) => {
      let y = output;
      for (const after of rest) y = after.apply(y) as tf.Tensor;
      const logp = endsInSoftmax(model) ? tf.log(y) : tf.logSoftmax(y);
      return tf.neg(tf.sum(tf.slice(logp, [0, c], [1, 1])));
    };
    const dh = tf.grad(loss)(h);
    const dhValues = dh.dataSync();
    dh.dispose();
    const hValues = h.dataSync();
    const derivative = (value: number) => {
      switch (activation) {
        case 'relu':
          return value > 0 ? 1 : 0;
        case 'tanh':
          return 1 - value * value;
        case 'sigmoid':
          return value * (1 - value);
        case 'linear':
          return 1;
        default:
          throw new Error(`no derivative for ${activation}`);
      }
    };
    // A linear layer followed by a separate Activation layer: h is the pre-activation itself,
    // and the Activation layer is among the `rest` that tf.grad differentiates through.
    out.push(Float64Array.from(dhValues, (value, i) => value * derivative(hValues[i])));
  }
  tf.dispose(owned);
  return out;
}

// ---------------------------------------------------------------------------
// Hand unfolding of convolution patches

export interface Geometry {
  kernel: [number, number];
  stride: [number, number];
  padding: 'same' | 'valid';
}

/**
 * Patches of ONE example's input [H, W, C] (row-major values), with explicit loops over output
 * positions; 'same' padding puts floor(total/2) above/left and the rest (the extra one)
 * below/right, as TensorFlow does. Each patch is (kh, kw, cin) row-major, then a 1 if `bias`.
 */
export function unfoldByHand(values: ArrayLike<number>, height: number, width: number, channels: number, geometry: Geometry, bias = true): number[][] {
  const [kh, kw] = geometry.kernel;
  const [sh, sw] = geometry.stride;
  let outH: number;
  let outW: number;
  let top = 0;
  let left = 0;
  if (geometry.padding === 'same') {
    outH = Math.ceil(height / sh);
    outW = Math.ceil(width / sw);
    const padH = Math.max((outH - 1) * sh + kh - height, 0);
    const padW = Math.max((outW - 1) * sw + kw - width, 0);
    top = Math.floor(padH / 2);
    left = Math.floor(padW / 2);
  } else {
    outH = Math.floor((height - kh) / sh) + 1;
    outW = Math.floor((width - kw) / sw) + 1;
  }
  const patches: number[][] = [];
  for (let oi = 0; oi < outH; oi++) {
    for (let oj = 0; oj < outW; oj++) {
      const patch: number[] = [];
      for (let di = 0; di < kh; di++) {
        for (let dj = 0; dj < kw; dj++) {
          for (let ci = 0; ci < channels; ci++) {
            const r = oi * sh + di - top;
            const q = oj * sw + dj - left;
            patch.push(r >= 0 && r < height && q >= 0 && q < width ? values[(r * width + q) * channels + ci] : 0);
          }
        }
      }
      if (bias) patch.push(1);
      patches.push(patch);
    }
  }
  return patches;
}

// ---------------------------------------------------------------------------
// Float64 matrices as flat row-major arrays

export interface Dense {
  n: number;
  data: Float64Array;
}

export function zeros(n: number): Dense {
  return { n, data: new Float64Array(n * n) };
}

/** out += w · u vᵀ (square, n = u.length = v.length). */
export function addOuter(out: Dense, u: ArrayLike<number>, v: ArrayLike<number>, w = 1): void {
  const n = out.n;
  for (let i = 0; i < n; i++) {
    const ui = w * u[i];
    if (ui === 0) continue;
    for (let j = 0; j < n; j++) out.data[i * n + j] += ui * v[j];
  }
}

export function kron(a: Dense, b: Dense): Dense {
  const n = a.n * b.n;
  const out = zeros(n);
  for (let i = 0; i < a.n; i++)
    for (let j = 0; j < a.n; j++)
      for (let k = 0; k < b.n; k++)
        for (let l = 0; l < b.n; l++) out.data[(i * b.n + k) * n + j * b.n + l] = a.data[i * a.n + j] * b.data[k * b.n + l];
  return out;
}

export function matmulDense(a: Dense, b: Dense): Dense {
  const n = a.n;
  const out = zeros(n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a.data[i * n + k];
      for (let j = 0; j < n; j++) out.data[i * n + j] += aik * b.data[k * n + j];
    }
  return out;
}

export function transposeDense(a: Dense): Dense {
  const out = zeros(a.n);
  for (let i = 0; i < a.n; i++) for (let j = 0; j < a.n; j++) out.data[j * a.n + i] = a.data[i * a.n + j];
  return out;
}

/** s·a + t·I. */
export function scaleAddIdentity(a: Dense, s: number, t: number): Dense {
  const out = { n: a.n, data: a.data.map((v) => s * v) };
  for (let i = 0; i < a.n; i++) out.data[i * a.n + i] += t;
  return out;
}

/** Gauss–Jordan inverse with partial pivoting (float64). */
export function invert(a: Dense): Dense {
  const n = a.n;
  const m = a.data.slice();
  const inv = zeros(n);
  for (let i = 0; i < n; i++) inv.data[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]) > Math.abs(m[pivot * n + col])) pivot = r;
    if (pivot !== col) {
      for (let j = 0; j < n; j++) {
        [m[col * n + j], m[pivot * n + j]] = [m[pivot * n + j], m[col * n + j]];
        [inv.data[col * n + j], inv.data[pivot * n + j]] = [inv.data[pivot * n + j], inv.data[col * n + j]];
      }
    }
    const d = m[col * n + col];
    for (let j = 0; j < n; j++) {
      m[col * n + j] /= d;
      inv.data[col * n + j] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r * n + col];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[r * n + j] -= f * m[col * n + j];
        inv.data[r * n + j] -= f * inv.data[col * n + j];
      }
    }
  }
  return inv;
}

/** Block-diagonal matrix of the given blocks. */
export function blockDiagonal(blocks: Dense[]): Dense {
  const n = blocks.reduce((s, b) => s + b.n, 0);
  const out = zeros(n);
  let at = 0;
  for (const b of blocks) {
    for (let i = 0; i < b.n; i++) for (let j = 0; j < b.n; j++) out.data[(at + i) * n + at + j] = b.data[i * b.n + j];
    at += b.n;
  }
  return out;
}

/** max |a − b| / max |b|: the error relative to the reference's scale. */
export function relativeError(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length) throw new Error(`length ${actual.length} ≠ ${reference.length}`);
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(actual[i] - reference[i]);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    difference = Math.max(difference, d);
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return difference / Math.max(scale, 1e-30);
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    m = Math.max(m, d);
  }
  return m;
}

/** The kth example of a batch tensor as a batch of one. */
export function example(x: tf.Tensor, k: number): tf.Tensor {
  return tf.slice(x, k, 1);
}

/**
 * The explicit posterior covariance of one layer's vec(W̄) (row-major) under each
 * structure, built from the fitted curvature by dense inversion.
 */
export function denseLayerCovariance(fit: CurvatureFit, structure: Structure, damping: KfacDamping, layer: number, n: number, tau: number): Dense {
  const toDense = (m: Matrix): Dense => ({ n: m.rows, data: Float64Array.from(m.data) });
  switch (structure) {
    case 'diag': {
      const d = fit.diag![layer];
      const out = zeros(d.length);
      d.forEach((value, i) => (out.data[i * d.length + i] = 1 / (n * value + tau)));
      return out;
    }
    case 'kfac': {
      const a = toDense(fit.kfac![layer].a);
      const g = toDense(fit.kfac![layer].g);
      if (damping === 'exact') return invert(scaleAddIdentity(kron(a, g), n, tau)); // (N·A⊗G + τI)⁻¹
      return kron(invert(scaleAddIdentity(a, Math.sqrt(n), Math.sqrt(tau))), invert(scaleAddIdentity(g, Math.sqrt(n), Math.sqrt(tau))));
    }
    case 'efb': {
      const { a, g, diagonal } = fit.efb![layer];
      const q = kron(toDense(a.vectors), toDense(g.vectors));
      const d = q.n;
      const scaled = { n: d, data: q.data.map((v, index) => v / (n * Math.max(diagonal[index % d], 0) + tau)) };
      return matmulDense(scaled, transposeDense(q)); // Q diag(1/(NΛ + τ)) Qᵀ
    }
    case 'last-layer':
      return invert(scaleAddIdentity(toDense(fit.lastLayer!), n, tau)); // (N·F + τI)⁻¹
    case 'full':
      return invert(scaleAddIdentity(toDense(fit.full!), n, tau)); // every parameter at once, whatever `layer`
    case 'lowrank':
      return invert(scaleAddIdentity(lowrankMatrix(fit), n, tau)); // every parameter at once, whatever `layer`
    case 'inf':
      return invert(scaleAddIdentity(infMatrix(fit, layer), n, tau)); // (N·(U Λ Uᵀ + D) + τI)⁻¹
    case 'subnetwork': {
      // Every parameter at once, whatever `layer`: (N·F_S + τI)⁻¹ at the chosen rows and columns, 0 elsewhere.
      const { indices, fisher } = fit.subnetwork!;
      const inner = invert(scaleAddIdentity(toDense(fisher), n, tau));
      const total = fit.diag ? fit.diag.reduce((sum, d) => sum + d.length, 0) : Math.max(...indices) + 1;
      const out = zeros(total);
      indices.forEach((i, a) => indices.forEach((j, b) => (out.data[i * total + j] = inner.data[a * indices.length + b])));
      return out;
    }
  }
}

/** U diag(Λ) Uᵀ + D from a fit's inf factors of one layer, P_l × P_l: the dense information matrix it stands for. */
export function infMatrix(fit: CurvatureFit, layer: number): Dense {
  const { values, vectors, correction } = fit.inf![layer];
  const [p, k] = [vectors.rows, vectors.cols];
  const out = zeros(p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      let sum = 0;
      for (let r = 0; r < k; r++) sum += vectors.data[i * k + r] * values[r] * vectors.data[j * k + r];
      out.data[i * p + j] = sum;
    }
    out.data[i * p + i] += correction[i];
  }
  return out;
}

/** U diag(λ) Uᵀ from a fit's lowrank eigenpairs, P × P. */
export function lowrankMatrix(fit: CurvatureFit): Dense {
  const { values, vectors } = fit.lowrank!;
  const [p, k] = [vectors.rows, vectors.cols];
  const out = zeros(p);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) {
    let sum = 0;
    for (let r = 0; r < k; r++) sum += vectors.data[i * k + r] * values[r] * vectors.data[j * k + r];
    out.data[i * p + j] = sum;
  }
  return out;
}

/** Per-layer vectors concatenated in layer order: a vector over every parameter. */
export const concat = (parts: Float64Array[]): Float64Array => {
  const out = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};


/** log det of a symmetric positive definite matrix by Cholesky (float64). */
export function logDetSpd(a: Dense): number {
  const n = a.n;
  const l = new Float64Array(n * n);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    let pivot = a.data[j * n + j];
    for (let k = 0; k < j; k++) pivot -= l[j * n + k] ** 2;
    const root = Math.sqrt(pivot);
    l[j * n + j] = root;
    sum += 2 * Math.log(root);
    for (let i = j + 1; i < n; i++) {
      let value = a.data[i * n + j];
      for (let k = 0; k < j; k++) value -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = value / root;
    }
  }
  return sum;
}

/** J Σ Jᵀ for one example: J [C, P] row-major. */
export function sandwich(j: Float64Array[], sigma: Dense): Float64Array {
  const classes = j.length;
  const p = sigma.n;
  const out = new Float64Array(classes * classes);
  for (let a = 0; a < classes; a++) {
    const left = new Float64Array(p);
    for (let r = 0; r < p; r++) {
      let sum = 0;
      for (let k = 0; k < p; k++) sum += j[a][k] * sigma.data[k * p + r];
      left[r] = sum;
    }
    for (let b = 0; b < classes; b++) {
      let sum = 0;
      for (let r = 0; r < p; r++) sum += left[r] * j[b][r];
      out[a * classes + b] = sum;
    }
  }
  return out;
}


/** The covariance of `draws` weight deviations sampled from `posterior` (seed `seed`), over every parameter in layer order: Σ to the Monte Carlo error. */
export function sampleCovariance(posterior: Posterior, draws: number, seed: number): Dense {
  const samples = posterior.sampleDeviations(draws, seed);
  const size = samples[0].reduce((sum, t) => sum + t.size, 0);
  const out = zeros(size);
  for (const perLayer of samples) {
    const delta = concat(perLayer.map((t) => Float64Array.from(t.dataSync())));
    addOuter(out, delta, delta, 1 / draws);
  }
  tf.dispose(samples.flat());
  return out;
}
