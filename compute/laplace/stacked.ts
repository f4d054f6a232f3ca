/**
 * The forward pass of many weight samples at once, for the sampled predictive:
 * one wider op per layer for a group of G samples instead of G narrow ones.
 *  - a layer whose input is the same for every sample (the first perturbed one)
 *    runs once with the samples' kernels side by side: a convolution with
 *    G·cout filters, a Dense layer with G·out columns;
 *  - a convolution after it keeps the samples side by side in its channels
 *    ([B, H, W, G·c], sample g at channels g·c…) and runs one convolution per
 *    sample (TensorFlow.js has no grouped convolution), but biases, activations
 *    and pooling run once for the group;
 *  - Flatten turns that into [G, B, H·W·c], and every Dense layer from there is
 *    one batched product [G, B, in] × [G, in, out];
 *  - a convolution's bias and ReLU run after its max-pool (see poolFirst).
 * Each sample's logits are the numbers of its own forward pass (a wider product
 * computes each column as the narrow one did: bit for bit on the native backend,
 * checked to float32 rounding on every backend in tests/laplace/stacked.test.ts). Networks this does not cover (a Reshape after
 * the first perturbed layer) get `null` from `plan` and run sample by sample.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activate, type Activation, type LayerMatrix, type Network, type NetworkOperation } from './network.ts';

/** How the samples of a group are laid out: one shared tensor, side by side in the channels, or stacked in front. */
type Layout = 'shared' | 'channels' | 'samples';

type Step =
  | { kind: 'conv-shared' | 'conv-channels' | 'dense-shared' | 'dense-samples'; layer: number }
  /** A convolution's bias, a step of its own so that it can follow a max-pool. */
  | { kind: 'conv-bias'; layer: number }
  | { kind: 'activation'; activation: Activation }
  | { kind: 'pool'; operation: Extract<NetworkOperation, { kind: 'maxPool' | 'avgPool' }> }
  | { kind: 'flatten'; from: Layout }
  | { kind: 'reshape'; shape: number[] };

/** The steps from parameter layer `fromLayer` to the logits with the samples stacked, or null where a step has no stacked form. */
export function stackedPlan(network: Network, fromLayer: number): Step[] | null {
  if (!network.classic) return null; // layers beyond Dense, Conv2D and pooling run sample by sample
  const operations = network.operationList;
  const start = operations.findIndex((operation) => operation.kind === 'parameter' && operation.layer === fromLayer);
  if (start < 0) throw new RangeError(`The network has no parameter layer ${fromLayer}.`);
  const steps: Step[] = [];
  let layout: Layout = 'shared';
  for (const operation of operations.slice(start)) {
    switch (operation.kind) {
      case 'parameter': {
        const spec = network.layers[operation.layer];
        if (spec.kind === 'conv2d') {
          if (layout === 'samples') return null;
          steps.push({ kind: layout === 'shared' ? 'conv-shared' : 'conv-channels', layer: operation.layer });
          if (spec.hasBias) steps.push({ kind: 'conv-bias', layer: operation.layer });
          layout = 'channels';
        } else {
          if (layout === 'channels') return null; // a Dense layer takes rank-2 inputs only
          steps.push({ kind: layout === 'shared' ? 'dense-shared' : 'dense-samples', layer: operation.layer });
          layout = 'samples';
        }
        if (spec.activation !== 'linear') steps.push({ kind: 'activation', activation: spec.activation });
        break;
      }
      case 'activation':
        steps.push({ kind: 'activation', activation: operation.activation });
        break;
      case 'maxPool':
      case 'avgPool':
        if (layout === 'samples') return null;
        steps.push({ kind: 'pool', operation });
        break;
      case 'flatten':
        steps.push({ kind: 'flatten', from: layout });
        if (layout === 'channels') layout = 'samples';
        break;
      case 'reshape':
        if (layout !== 'shared') return null;
        steps.push({ kind: 'reshape', shape: operation.shape });
        break;
    }
  }
  return layout === 'samples' ? poolFirst(steps) : null;
}

/**
 * Convolution, bias, ReLU (or none), max-pool → convolution, max-pool, bias, ReLU: the same
 * numbers, since adding a per-channel constant and ReLU are non-decreasing maps that commute
 * with a maximum exactly, also in floating point; the bias and ReLU then touch a quarter of
 * the values, and on LeNet-5 those element-wise passes cost more than the convolution.
 */
function poolFirst(steps: Step[]): Step[] {
  const out = [...steps];
  for (let i = 0; i < out.length; i++) {
    if (out[i].kind !== 'conv-bias') continue;
    const relu = out[i + 1]?.kind === 'activation' && (out[i + 1] as { activation: Activation }).activation === 'relu' ? 1 : 0;
    const pool = out[i + 1 + relu];
    if (pool?.kind !== 'pool' || pool.operation.kind !== 'maxPool') continue;
    out.splice(i, 2 + relu, pool, ...out.slice(i, i + 1 + relu));
    i += 1 + relu;
  }
  return out;
}

/** One group's weights per parameter layer, laid out for its step. */
interface GroupLayer {
  /** conv-shared: [kh, kw, cin, G·cout]; dense-shared: [in, G·out]; dense-samples: [G, in, out]; conv-channels: one filter per sample. */
  kernel: tf.Tensor | tf.Tensor4D[];
  /** conv: [G·cout]; dense-shared: [G·out]; dense-samples: [G, 1, out]; null without a bias. */
  bias: tf.Tensor | null;
}

/** Weight samples grouped for the stacked forward pass; dispose when done. */
export class StackedSamples {
  /** Per group, per parameter layer of the plan. */
  private readonly groups: Map<number, GroupLayer>[] = [];
  readonly groupSizes: number[] = [];

  /** `weightSets[t]` are sample t's W̄ matrices (all layers); groups of `samplesPerPass` in order. */
  constructor(
    private readonly network: Network,
    private readonly steps: Step[],
    weightSets: LayerMatrix[][],
    samplesPerPass: number,
  ) {
    for (let first = 0; first < weightSets.length; first += samplesPerPass) {
      const members = weightSets.slice(first, first + samplesPerPass);
      this.groupSizes.push(members.length);
      this.groups.push(this.groupWeights(members));
    }
  }

  private groupWeights(members: LayerMatrix[][]): Map<number, GroupLayer> {
    const out = new Map<number, GroupLayer>();
    for (const step of this.steps) {
      if (step.kind === 'conv-bias' || step.kind === 'activation' || step.kind === 'pool' || step.kind === 'flatten' || step.kind === 'reshape') continue;
      const spec = this.network.layers[step.layer];
      // The slices are freed by the tidy; what the pass needs is returned from it.
      const [kernel, bias] = tf.tidy(() => {
        const kernels = members.map((weights) => tf.slice(weights[step.layer], [0, 0], [spec.fanIn, spec.fanOut]));
        const biases = members.map((weights) => tf.reshape(tf.slice(weights[step.layer], [spec.fanIn, 0], [1, spec.fanOut]), [spec.fanOut]));
        const filters = () => kernels.map((kernel) => tf.reshape(kernel, spec.kernelShape as [number, number, number, number]));
        const biasOf = (joined: () => tf.Tensor) => (spec.hasBias ? [joined()] : []);
        switch (step.kind) {
          case 'conv-shared':
            return [tf.concat(filters(), 3), ...biasOf(() => tf.concat(biases, 0))];
          case 'conv-channels':
            return [filters(), ...biasOf(() => tf.concat(biases, 0))];
          case 'dense-shared':
            return [tf.concat(kernels, 1), ...biasOf(() => tf.concat(biases, 0))];
          case 'dense-samples':
            return [tf.stack(kernels), ...biasOf(() => tf.reshape(tf.stack(biases), [members.length, 1, spec.fanOut]))];
        }
      });
      out.set(step.layer, { kernel: kernel as tf.Tensor | tf.Tensor4D[], bias: (bias as tf.Tensor | undefined) ?? null });
    }
    return out;
  }

  /**
   * Logits of every sample of group `group` on the shared input `h` (the
   * head's output), [B, C] each, in sample order. Call inside a tidy.
   */
  groupLogits(group: number, h: tf.Tensor): tf.Tensor2D[] {
    const weights = this.groups[group];
    const size = this.groupSizes[group];
    let x = h;
    for (const step of this.steps) {
      switch (step.kind) {
        case 'conv-shared':
        case 'conv-channels': {
          const { kernel } = weights.get(step.layer)!;
          const conv = this.network.layers[step.layer].conv!;
          const z =
            step.kind === 'conv-shared'
              ? tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, conv.strides, conv.padding)
              : tf.concat(
                  tf.split(x, size, 3).map((part, index) => tf.conv2d(part as tf.Tensor4D, (kernel as tf.Tensor4D[])[index], conv.strides, conv.padding)),
                  3,
                );
          x = z;
          break;
        }
        case 'conv-bias':
          x = tf.add(x, weights.get(step.layer)!.bias!);
          break;
        case 'dense-shared': {
          const { kernel, bias } = weights.get(step.layer)!;
          const out = this.network.layers[step.layer].fanOut;
          const z = tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
          const biased = bias ? tf.add(z, bias) : z;
          x = tf.transpose(tf.reshape(biased, [x.shape[0], size, out]), [1, 0, 2]);
          break;
        }
        case 'dense-samples': {
          const { kernel, bias } = weights.get(step.layer)!;
          const z = tf.matMul(x as tf.Tensor3D, kernel as tf.Tensor3D);
          x = bias ? tf.add(z, bias) : z;
          break;
        }
        case 'activation':
          x = activate(x, step.activation);
          break;
        case 'pool': {
          const { kind, poolSize, strides, padding } = step.operation;
          x = kind === 'maxPool' ? tf.maxPool(x as tf.Tensor4D, poolSize, strides, padding) : tf.avgPool(x as tf.Tensor4D, poolSize, strides, padding);
          break;
        }
        case 'flatten':
          if (step.from === 'shared') x = tf.reshape(x, [x.shape[0], -1]);
          else if (step.from === 'channels') {
            // [B, H, W, G·c] → [G, B, H·W·c], each sample's features in its own (h, w, c) order.
            const [batch, height, width, channels] = x.shape as [number, number, number, number];
            x = tf.reshape(tf.transpose(tf.reshape(x, [batch, height, width, size, channels / size]), [3, 0, 1, 2, 4]), [size, batch, -1]);
          } // [G, B, F] is flat already
          break;
        case 'reshape':
          x = tf.reshape(x, [x.shape[0], ...step.shape]);
          break;
      }
    }
    return tf.unstack(x) as tf.Tensor2D[];
  }

  dispose(): void {
    for (const group of this.groups) group.forEach((entry) => tf.dispose([entry.kernel, entry.bias].flat().filter((t): t is tf.Tensor => !!t)));
    this.groups.length = 0;
  }
}
