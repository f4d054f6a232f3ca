/**
 * KFAC factors and the last-layer Fisher against brute force:
 *  - one example, dense layers: A ⊗ G equals the exact Fisher block built from per-class
 *    gradient outer products (KFAC is exact there);
 *  - dense A and G for a batch from layer inputs and pre-activation gradients;
 *  - conv A and G from patches unfolded by hand (explicit loops, TF 'same' padding);
 *  - last-layer exact Fisher in closed form, and from per-example gradient outer products.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, tensorData, type FisherType } from '../../compute/laplace/index.ts';
import { kronecker } from '../../compute/laplace/linalg/index.ts';
import {
  addOuter,
  buildCnnA,
  buildCnnB,
  buildCnnC,
  buildMlp,
  example,
  exampleGradients,
  parameterLayerInputs,
  parameterLayers,
  preActivationGradients,
  probabilities,
  randomInputs,
  randomLabels,
  relativeError,
  unfoldByHand,
  zeros,
  type Dense,
  type Model,
} from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

async function fit(model: Model, x: tf.Tensor, labels: Int32Array, kinds: ('kfac' | 'last-layer')[], fisher: FisherType, batchSize = 3) {
  const network = new Network(model);
  const weights = network.matricesFromModel(model);
  const result = await fitCurvature(network, weights, tensorData(x, labels), { kinds, fisher, batchSize, seed: 3 });
  tf.dispose(weights);
  return result;
}

/** Class weights of each Fisher type for example i: exact Σ_c p_c, empirical the data's label. */
function classWeights(fisher: 'exact' | 'empirical', p: Float32Array, classes: number, i: number, label: number): [number, number][] {
  if (fisher === 'empirical') return [[label, 1]];
  return Array.from({ length: classes }, (_, c) => [c, p[i * classes + c]] as [number, number]);
}

function withOne(values: ArrayLike<number>): number[] {
  return [...Array.from(values), 1];
}

describe('KFAC, one example, dense layers', () => {
  it('A ⊗ G equals the exact Fisher block Σ_c p_c vec(∇W̄_c) vec(∇W̄_c)ᵀ', async () => {
    for (const [model, shape] of [
      [buildMlp(4, 5, 3, 41), [4]],
      [buildCnnA(42), [8, 8, 2]],
    ] as [Model, number[]][]) {
      const x = randomInputs([1, ...shape], 46);
      const labels = randomLabels(1, 3, 44);
      const result = await fit(model, x, labels, ['kfac'], 'exact');
      const p = probabilities(model, x);
      const perClass = Array.from({ length: 3 }, (_, c) => exampleGradients(model, x, c));
      parameterLayers(model).forEach((layer, index) => {
        if (layer.getClassName() !== 'Dense') return;
        const d = perClass[0][index].length;
        const block = zeros(d);
        for (let c = 0; c < 3; c++) addOuter(block, perClass[c][index], perClass[c][index], p[c]);
        expect(Math.max(...block.data.map(Math.abs))).toBeGreaterThan(1e-3); // not a dead layer
        const { a, g } = result.kfac![index];
        const implied = kronecker(a, g);
        expect(implied.rows).toBe(d);
        const error = relativeError(implied.data, block.data);
        console.log(`one example, ${layer.name}: |A⊗G − F_block| / |F_block| = ${error.toExponential(1)} (d = ${d})`);
        expect(error).toBeLessThanOrEqual(1e-4);
      });
      x.dispose();
      model.dispose();
    }
  });
});

describe('KFAC factors of dense layers over a batch', () => {
  it.each(['exact', 'empirical'] as const)('A = mean ā āᵀ and G = mean of Σ_c w_c g_c g_cᵀ (%s Fisher)', async (fisher) => {
    const model = buildMlp(4, 5, 3, 51);
    const count = 7;
    const x = randomInputs([count, 4], 52);
    const labels = randomLabels(count, 3, 53);
    const result = await fit(model, x, labels, ['kfac'], fisher);
    const p = probabilities(model, x);
    const inputs = parameterLayerInputs(model, x);
    const layers = parameterLayers(model);
    const aRef = layers.map((_, l) => zeros(inputs[l].shape[1]! + 1));
    const gRef = layers.map((layer) => zeros((layer.getConfig() as { units: number }).units));
    for (let i = 0; i < count; i++) {
      layers.forEach((_, l) => {
        const row = withOne(inputs[l].dataSync().subarray(i * inputs[l].shape[1]!, (i + 1) * inputs[l].shape[1]!));
        addOuter(aRef[l], row, row, 1 / count);
      });
      const xi = example(x, i);
      for (const [c, w] of classWeights(fisher, p, 3, i, labels[i])) {
        const g = preActivationGradients(model, xi, c);
        layers.forEach((_, l) => addOuter(gRef[l], g[l], g[l], w / count));
      }
      xi.dispose();
    }
    layers.forEach((layer, l) => {
      const errorA = relativeError(result.kfac![l].a.data, aRef[l].data);
      const errorG = relativeError(result.kfac![l].g.data, gRef[l].data);
      console.log(`dense ${fisher} ${layer.name}: A error ${errorA.toExponential(1)}, G error ${errorG.toExponential(1)}`);
      expect(errorA).toBeLessThanOrEqual(1e-5);
      expect(errorG).toBeLessThanOrEqual(1e-4);
    });
    tf.dispose(inputs);
    x.dispose();
    model.dispose();
  });
});

describe('KFAC factors of convolutions from hand-unfolded patches', () => {
  const cnns: [string, () => Model, number[]][] = [
    ['CNN A: k3 same stride 2 (pad 0/1), k2 valid stride 1', () => buildCnnA(61), [8, 8, 2]],
    ['CNN B: k2 same stride 1 (pad 0/1) + Activation layer, k3 valid stride 2', () => buildCnnB(62), [5, 5, 1]],
    ['CNN C: k3×2 same stride 2×1 (pad 0/1 both axes) without bias, avg-pool, dense without bias', () => buildCnnC(65), [6, 5, 2]],
  ];
  it.each(cnns)('%s: A = mean over examples and positions of ā āᵀ, G = mean over examples of Σ_positions g gᵀ', async (_, build, shape) => {
    const model = build();
    const count = 3;
    const x = randomInputs([count, ...shape], 63);
    const labels = randomLabels(count, 3, 64);
    const result = await fit(model, x, labels, ['kfac'], 'exact', 2);
    const p = probabilities(model, x);
    const inputs = parameterLayerInputs(model, x);
    const layers = parameterLayers(model);
    const aRef: Dense[] = [];
    const gRef: Dense[] = [];
    const patchesPerLayer: number[][][][] = []; // [layer][example][position][feature]
    layers.forEach((layer, l) => {
      const config = layer.getConfig() as { kernelSize?: number[]; strides?: number[]; padding?: 'same' | 'valid'; filters?: number; units?: number; activation: string; useBias: boolean };
      const input = inputs[l];
      const perExample = input.shape.slice(1).reduce((a, b) => a * b!, 1) as number;
      const values = input.dataSync();
      let patches: number[][][];
      if (layer.getClassName() === 'Conv2D') {
        const [, height, width, channels] = input.shape as number[];
        const geometry = { kernel: config.kernelSize as [number, number], stride: config.strides as [number, number], padding: config.padding! };
        patches = Array.from({ length: count }, (_, i) => unfoldByHand(values.subarray(i * perExample, (i + 1) * perExample), height, width, channels, geometry, config.useBias));
        // The hand unfolding must reproduce TensorFlow's own convolution: act(patch · W̄) = layer output.
        const [kernel, bias] = layer.getWeights().map((w) => w.dataSync());
        const features = patches[0][0].length - (config.useBias ? 1 : 0);
        const output = (layer.apply(input) as tf.Tensor).dataSync();
        const cout = config.filters!;
        const act = (z: number) => (config.activation === 'relu' ? Math.max(z, 0) : config.activation === 'tanh' ? Math.tanh(z) : z);
        const rebuilt: number[] = [];
        for (const perPosition of patches) {
          for (const patch of perPosition) {
            for (let o = 0; o < cout; o++) {
              let z = config.useBias ? bias[o] : 0;
              for (let f = 0; f < features; f++) z += patch[f] * kernel[f * cout + o];
              rebuilt.push(act(z));
            }
          }
        }
        expect(relativeError(rebuilt, output)).toBeLessThan(1e-5);
      } else {
        patches = Array.from({ length: count }, (_, i) => {
          const row = Array.from(values.subarray(i * perExample, (i + 1) * perExample));
          return [config.useBias ? withOne(row) : row];
        });
      }
      patchesPerLayer.push(patches);
      const positions = patches[0].length;
      const a = zeros(patches[0][0].length);
      for (const perPosition of patches) for (const patch of perPosition) addOuter(a, patch, patch, 1 / (count * positions));
      aRef.push(a);
      gRef.push(zeros(config.filters ?? config.units!));
    });
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      for (let c = 0; c < 3; c++) {
        const g = preActivationGradients(model, xi, c);
        layers.forEach((_, l) => {
          const cout = gRef[l].n;
          const positions = g[l].length / cout;
          expect(positions).toBe(patchesPerLayer[l][i].length);
          // Summed over positions, averaged over examples (the library's documented KFC scaling).
          for (let t = 0; t < positions; t++) {
            const gt = g[l].subarray(t * cout, (t + 1) * cout);
            addOuter(gRef[l], gt, gt, p[i * 3 + c] / count);
          }
        });
      }
      xi.dispose();
    }
    layers.forEach((layer, l) => {
      const errorA = relativeError(result.kfac![l].a.data, aRef[l].data);
      const errorG = relativeError(result.kfac![l].g.data, gRef[l].data);
      console.log(`conv ${layer.name} (${patchesPerLayer[l][0].length} positions): A error ${errorA.toExponential(1)}, G error ${errorG.toExponential(1)}`);
      expect(errorA).toBeLessThanOrEqual(1e-5);
      expect(errorG).toBeLessThanOrEqual(1e-4);
    });
    tf.dispose(inputs);
    x.dispose();
    model.dispose();
  });
});

describe('last-layer Fisher', () => {
  /*
   * Ordering. The library flattens the last layer's W̄ [d_in + 1, C] ROW-MAJOR: entry (j, c) sits at
   * j·C + c, the input feature is the slow index and the class the fast one. With logits
   * f_c = Σ_j ā_j W̄[j, c], ∂f/∂vec(W̄) = ā ⊗ I_C, so the exact Fisher of one example is
   * (ā ⊗ I)(diag p − p pᵀ)(ā ⊗ I)ᵀ = (ā āᵀ) ⊗ (diag p − p pᵀ): the activation factor first.
   * The issue writes Σ (diag p − p pᵀ) ⊗ a aᵀ, which is the same matrix for the column-major
   * (class-slow) flattening of PyTorch's [out, in] weights; in our layout that order would put
   * the class in the slow index and be a permutation of the right answer, not the answer.
   */
  const models: [string, () => Model, number[]][] = [
    ['MLP', () => buildMlp(4, 5, 3, 71), [4]],
    ['CNN A', () => buildCnnA(72), [8, 8, 2]],
  ];
  it.each(models)('%s: exact Fisher = (1/n) Σ_i (ā_i ā_iᵀ) ⊗ (diag p_i − p_i p_iᵀ) = (1/n) Σ_i Σ_c p_ic vec(∇W̄) vec(∇W̄)ᵀ', async (name, build, shape) => {
    const model = build();
    const count = 5;
    const x = randomInputs([count, ...shape], 73);
    const labels = randomLabels(count, 3, 74);
    const result = await fit(model, x, labels, ['last-layer'], 'exact', 2);
    const p = probabilities(model, x);
    const inputs = parameterLayerInputs(model, x);
    const last = inputs.length - 1;
    const features = inputs[last].shape[1]!;
    const values = inputs[last].dataSync();
    const classes = 3;
    const rows = features + 1;
    const d = rows * classes;
    const closedForm = zeros(d);
    const fromGradients = zeros(d);
    for (let i = 0; i < count; i++) {
      const a = withOne(values.subarray(i * features, (i + 1) * features));
      const pi = Array.from(p.subarray(i * classes, (i + 1) * classes));
      for (let j = 0; j < rows; j++)
        for (let k = 0; k < rows; k++)
          for (let c = 0; c < classes; c++)
            for (let e = 0; e < classes; e++) closedForm.data[(j * classes + c) * d + k * classes + e] += (a[j] * a[k] * ((c === e ? pi[c] : 0) - pi[c] * pi[e])) / count;
      const xi = example(x, i);
      for (let c = 0; c < classes; c++) {
        const g = exampleGradients(model, xi, c)[last];
        addOuter(fromGradients, g, g, pi[c] / count);
      }
      xi.dispose();
    }
    expect(result.lastLayer!.rows).toBe(d);
    const error = relativeError(result.lastLayer!.data, closedForm.data);
    const crossCheck = relativeError(fromGradients.data, closedForm.data);
    console.log(`last-layer exact Fisher (${name}) d = ${d}: error vs closed form ${error.toExponential(1)}; closed form vs gradient outer products ${crossCheck.toExponential(1)}`);
    expect(crossCheck).toBeLessThanOrEqual(1e-4);
    expect(error).toBeLessThanOrEqual(1e-4);
    tf.dispose(inputs);
    x.dispose();
    model.dispose();
  });
});
