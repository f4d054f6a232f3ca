/**
 * The arithmetic a bench compares its times with: FLOPs of the work (2 per
 * multiply-add) over the rate of a large matrix product on the same backend,
 * measured in the same process. A phase can only approach that bound, so
 * time ÷ bound says how far from its arithmetic it runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Network, ParameterLayer } from '../../compute/laplace/index.ts';

/** CPU seconds of `work` (all threads of the process). */
export async function cpuSeconds(work: () => Promise<unknown> | unknown): Promise<number> {
  const started = process.cpuUsage();
  await work();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1e6;
}

/** Rate of the backend's 1024 × 1024 matrix product, FLOP per CPU second (best of five). */
export async function matmulRate(): Promise<number> {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  tf.matMul(a, b).dispose();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    best = Math.min(
      best,
      await cpuSeconds(() => {
        const product = tf.matMul(a, b);
        product.dataSync();
        product.dispose();
      }),
    );
  }
  tf.dispose([a, b]);
  return (2 * 1024 ** 3) / best;
}

/** Output positions of each parameter layer for one image (1 for Dense). */
function positionsPerLayer(network: Network): number[] {
  const shapes = network.preActivationShapes(1);
  return network.layers.map((spec, index) => (spec.kind === 'conv2d' ? shapes[index][1] * shapes[index][2] : 1));
}

/** Rows of a layer's input factor: its fan-in, plus one for the bias. */
const inputRows = (spec: ParameterLayer) => spec.fanIn + (spec.hasBias ? 1 : 0);

/** FLOPs of one forward pass of one image: 2 × multiply-adds of every Dense and Conv2D layer. */
export function forwardFlops(network: Network): number {
  const positions = positionsPerLayer(network);
  return network.layers.reduce((sum, spec, index) => sum + 2 * positions[index] * spec.fanIn * spec.fanOut, 0);
}

/** (4/3)·n³ per symmetric n × n matrix: the tridiagonal reduction alone, less than any eigendecomposition does. */
const eigenFlops = (n: number) => (4 / 3) * n ** 3;

/**
 * FLOPs of a Monte Carlo Fisher fit (one label per image) of diag, kfac, efb and last-layer: per
 * training image, and once per fit. A layer with p output positions (1 for Dense), a input rows
 * (fan-in + bias) and g outputs, per image:
 *  - each of the two sweeps (the second in EFB's eigenbasis): a forward and a backward pass (3 forward passes' worth);
 *  - the Kronecker factors A = Σ patches patchesᵀ (2pa²) and G (2pg²);
 *  - diag: the per-example gradient (2pag) and its square;
 *  - EFB: the patches and output gradients rotated into the eigenbasis (2pa² + 2pg²), the rotated gradient (2pag);
 *  - the last layer's Fisher (a·C)² from its closed form;
 * per fit, the tridiagonal reduction (4/3 n³) of every A and G and of the last layer's a·C × a·C Fisher.
 */
export function fitFlops(network: Network): { perImage: number; perFit: number } {
  const positions = positionsPerLayer(network);
  let perImage = 2 * 3 * forwardFlops(network);
  let perFit = 0;
  network.layers.forEach((spec, index) => {
    const a = inputRows(spec);
    const g = spec.fanOut;
    const p = positions[index];
    perImage += 2 * p * (a * a + g * g) + 2 * p * a * g + 2 * a * g + 2 * p * (a * a + g * g) + 2 * p * a * g;
    perFit += eigenFlops(a) + eigenFlops(g);
  });
  const last = network.layers[network.layers.length - 1];
  const lastRows = inputRows(last) * network.classes;
  perImage += 2 * lastRows * lastRows;
  perFit += eigenFlops(lastRows);
  return { perImage, perFit };
}

/**
 * FLOPs per image of the statistics (GLM Jacobian) pass serving diag, kfac, efb and last-layer:
 * one forward pass and one backward pass per class (2 forward passes' worth each); per layer the
 * patches rotated into the Kronecker eigenbasis once (2pa²), and per class the output gradient
 * rotated (2pg²), the Jacobian formed plainly for diag and rotated for kfac and efb (2pag each) and
 * squared against the variances; and the last layer's C × C block Jᵀ Σ J, whose Jacobian rows are
 * φ in one class's block (2a²C²).
 */
export function statisticsFlops(network: Network): number {
  const positions = positionsPerLayer(network);
  const classes = network.classes;
  let flops = forwardFlops(network) * (1 + 2 * classes);
  network.layers.forEach((spec, index) => {
    const a = inputRows(spec);
    const g = spec.fanOut;
    const p = positions[index];
    flops += 2 * p * a * a + classes * (2 * p * g * g + 2 * 2 * p * a * g + 2 * 2 * a * g);
  });
  const last = network.layers[network.layers.length - 1];
  flops += 2 * inputRows(last) ** 2 * classes ** 2;
  return flops;
}
