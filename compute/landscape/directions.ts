/**
 * Random directions in weight space, filter-normalised (Li et al. 2018).
 *
 * A direction has the structure of the weights: one Float32Array per Dense or
 * Conv2D layer, in the W̄ layout of network.ts (kernel rows, then the bias row
 * when the layer has a bias; one column per output unit or channel; row-major).
 * A "filter" is a column of W̄: a dense neuron's incoming weights, or a conv
 * output channel's kh·kw·cin kernel entries.
 *
 * Filter normalisation removes the scale invariance of ReLU networks from the
 * picture: each filter of the direction gets the norm of the same filter of W*,
 * so a step α = 1 moves every filter by as much as it is long.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../laplace/random.ts';
import type { LayerMatrix, Network } from '../laplace/index.ts';

/** One Float32Array per parameter layer, W̄ layout ([rows × fanOut] row-major). */
export type Direction = Float32Array[];

/**
 * What the direction does to the bias row:
 *  - 'zero' (default, Li et al.'s "ignore biases"): the direction's bias entries are 0, so the
 *    biases stay at W* everywhere on the line or plane; filters are the kernel columns only;
 *  - 'filter': the bias entry belongs to its filter; the whole W̄ column (kernel and bias) is
 *    scaled to the norm of the whole W̄ column of W*.
 * Layers without a bias have no bias row, and both modes agree there.
 */
export type BiasMode = 'zero' | 'filter';
export const biasModes: readonly BiasMode[] = ['zero', 'filter'];

export interface DirectionOptions {
  biases?: BiasMode;
}

export class LandscapeError extends Error {
  override name = 'LandscapeError';
}

/** Rows of layer `layer`'s W̄: kernel rows plus one bias row when it has a bias. */
export function layerRows(network: Network, layer: number): number {
  const spec = network.layers[layer];
  return spec.fanIn + (spec.hasBias ? 1 : 0);
}

/** Throws when `weights` does not have one W̄ matrix of the right shape per parameter layer. */
export function checkWeights(network: Network, weights: readonly LayerMatrix[]): void {
  if (weights.length !== network.layers.length) {
    throw new LandscapeError(`Expected one weight matrix per parameter layer (${network.layers.length}), got ${weights.length}; pass network.matricesFromModel(model).`);
  }
  weights.forEach((matrix, layer) => {
    const rows = layerRows(network, layer);
    const cols = network.layers[layer].fanOut;
    if (matrix.shape[0] !== rows || matrix.shape[1] !== cols) {
      throw new LandscapeError(`Weight matrix ${layer} (${network.layers[layer].name}) has shape [${matrix.shape.join(', ')}], expected [${rows}, ${cols}] in the W̄ layout.`);
    }
  });
}

/** Throws when `direction` does not have the structure of the network's weights. */
export function checkDirection(network: Network, direction: Direction, label = 'direction'): void {
  if (direction.length !== network.layers.length) {
    throw new LandscapeError(`The ${label} has ${direction.length} layers but the network has ${network.layers.length} parameter layers; make it with randomDirection for this network.`);
  }
  direction.forEach((values, layer) => {
    const expected = layerRows(network, layer) * network.layers[layer].fanOut;
    if (values.length !== expected) {
      throw new LandscapeError(`Layer ${layer} (${network.layers[layer].name}) of the ${label} has ${values.length} entries, expected ${expected}.`);
    }
  });
}

/**
 * A seeded Gaussian direction, filter-normalised against the weights W*.
 * The draws: one `Random(seed)`, standard normals for every entry of every W̄ (bias row
 * included, so the kernel part does not depend on the bias mode), layer by layer, row-major.
 * Then for every column j: d[:, j] ← d[:, j] · ‖W*[:, j]‖ / ‖d[:, j]‖ over the filter's
 * rows (see BiasMode), in float64. A filter of W* with norm 0 gives a direction filter of 0.
 */
export function randomDirection(network: Network, weights: readonly LayerMatrix[], seed: number, options: DirectionOptions = {}): Direction {
  const biases = options.biases ?? 'zero';
  if (!biasModes.includes(biases)) throw new LandscapeError(`Unknown bias mode "${biases}"; choose one of ${biasModes.join(', ')}.`);
  if (!Number.isInteger(seed)) throw new LandscapeError(`A direction seed must be an integer, got ${seed}.`);
  checkWeights(network, weights);
  const random = new Random(seed);
  return network.layers.map((spec, layer) => {
    const rows = layerRows(network, layer);
    const cols = spec.fanOut;
    const direction = random.normals(rows * cols);
    const reference = weights[layer].dataSync() as Float32Array;
    const filterRows = spec.hasBias && biases === 'zero' ? spec.fanIn : rows;
    for (let col = 0; col < cols; col++) {
      let weightSquares = 0;
      let directionSquares = 0;
      for (let row = 0; row < filterRows; row++) {
        const at = row * cols + col;
        weightSquares += reference[at] * reference[at];
        directionSquares += direction[at] * direction[at];
      }
      const scale = directionSquares > 0 ? Math.sqrt(weightSquares / directionSquares) : 0;
      for (let row = 0; row < filterRows; row++) direction[row * cols + col] *= scale;
    }
    if (filterRows < rows) direction.fill(0, spec.fanIn * cols);
    return direction;
  });
}

/** Cosine of the angle between two directions over all their entries (near 0 for independent seeds). */
export function directionCosine(a: Direction, b: Direction): number {
  if (a.length !== b.length) throw new LandscapeError(`Directions with ${a.length} and ${b.length} layers cannot be compared.`);
  let dot = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((values, layer) => {
    const other = b[layer];
    if (other.length !== values.length) throw new LandscapeError(`Layer ${layer} has ${values.length} entries in one direction and ${other.length} in the other.`);
    for (let i = 0; i < values.length; i++) {
      dot += values[i] * other[i];
      aa += values[i] * values[i];
      bb += other[i] * other[i];
    }
  });
  return aa > 0 && bb > 0 ? dot / Math.sqrt(aa * bb) : 0;
}

/** The direction as W̄ tensors, [rows, fanOut] per layer; the caller disposes them. */
export function directionTensors(network: Network, direction: Direction): tf.Tensor2D[] {
  checkDirection(network, direction);
  return direction.map((values, layer) => tf.tensor2d(values, [layerRows(network, layer), network.layers[layer].fanOut]));
}
