/**
 * The last-layer Fisher against explicit per-example gradients of the last layer's W̄, taken one
 * example at a time with tf.variableGrads through tfjs-layers' own forward pass (helpers.ts):
 *  - exact: (1/n) Σ_i Σ_c p_ic ∇W̄_ic ∇W̄_icᵀ, where the library uses a closed form in the
 *    layer's input and p without a backward pass (linear Dense output), or the stacked backward
 *    pass (an output with a nonlinearity, or fitted together with other structures);
 *  - mc with fixed draws: (1/n) Σ_i (1/M) Σ_m ∇W̄_{i,y_im} ∇W̄_{i,y_im}ᵀ at the labels the library
 *    draws (its stream replicated here), M = 1 (the default) and M = 2;
 *  - empirical: at the data's labels;
 *  - the same from any body (last-layer.ts): a functional model with BatchNormalization, a
 *    depthwise convolution, a residual Add, global average pooling and swish.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, tensorData, UnsupportedModelError, type CurvatureKind, type FisherType } from '../../compute/laplace/index.ts';
import { fitLastLayerFromModel } from '../../compute/laplace/last-layer.ts';
import { Random } from '../../compute/laplace/random.ts';
import { addOuter, buildCnnA, buildResidualModel, buildCnnB, buildCnnC, buildMlp, example, exampleGradients, probabilities, randomInputs, randomLabels, relativeError, seedWeights, zeros, type Model } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

/** Dense relu → dense tanh → dense tanh: logits that are not the last layer's pre-activations, so no closed form applies. */
function buildTanhOutput(seed: number): Model {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [4], units: 5, activation: 'relu', name: `tanh_hidden_${seed}` }),
      tfl.layers.dense({ units: 3, activation: 'tanh', name: `tanh_out_${seed}` }),
    ],
  });
  seedWeights(model, seed);
  return model;
}

interface Case {
  name: string;
  model: () => Model;
  shape: number[];
  closedForm: boolean;
}

const cases: Case[] = [
  { name: 'MLP (linear logits from softmax)', model: () => buildMlp(4, 5, 3, 301), shape: [4], closedForm: true },
  { name: 'CNN A (linear logits)', model: () => buildCnnA(302), shape: [8, 8, 2], closedForm: true },
  { name: 'CNN B (softmax output)', model: () => buildCnnB(303), shape: [5, 5, 1], closedForm: true },
  { name: 'CNN C (dense without bias before the output)', model: () => buildCnnC(304), shape: [6, 5, 2], closedForm: true },
  { name: 'MLP with a tanh output layer', model: () => buildTanhOutput(305), shape: [4], closedForm: false },
];

/** The mc labels as curvature.ts draws them: one Random(seed) per sweep; per batch, per draw, per example, the first class whose cumulative p exceeds u. */
function drawnLabels(p: Float32Array, count: number, classes: number, batchSize: number, mcSamples: number, seed: number): number[][] {
  const random = new Random(seed);
  const labels: number[][] = Array.from({ length: count }, () => []);
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    for (let m = 0; m < mcSamples; m++) {
      for (let i = start; i < end; i++) {
        let u = random.uniform();
        let c = 0;
        for (; c < classes - 1; c++) {
          u -= p[i * classes + c];
          if (u < 0) break;
        }
        labels[i].push(c);
      }
    }
  }
  return labels;
}

describe.each(cases)('last-layer Fisher on $name', ({ model: build, shape, closedForm }) => {
  const count = 7;
  const batchSize = 3; // several batches, the last one short
  const seed = 41;
  let model: Model;
  let x: tf.Tensor;
  let labels: Int32Array;
  let p: Float32Array;
  let classes: number;
  /** [example][class]: the last layer's W̄ gradient of −log p_c. */
  let gradients: Float64Array[][];

  beforeAll(() => {
    model = build();
    x = randomInputs([count, ...shape], 310);
    p = probabilities(model, x);
    classes = p.length / count;
    labels = randomLabels(count, classes, 311);
    gradients = Array.from({ length: count }, (_, i) => {
      const xi = example(x, i);
      const perClass = Array.from({ length: classes }, (_, c) => exampleGradients(model, xi, c).at(-1)!);
      xi.dispose();
      return perClass;
    });
    return () => {
      x.dispose();
      model.dispose();
    };
  });

  /** (1/n) Σ_i Σ_(c, w) w ∇W̄_ic ∇W̄_icᵀ. */
  function reference(weights: (i: number) => [number, number][]) {
    const d = gradients[0][0].length;
    const out = zeros(d);
    for (let i = 0; i < count; i++) for (const [c, w] of weights(i)) addOuter(out, gradients[i][c], gradients[i][c], w / count);
    return out.data;
  }

  async function fitted(fisher: FisherType, kinds: CurvatureKind[], mcSamples = 1) {
    const network = new Network(model);
    expect(network.logitsAreLastLayerOutput).toBe(closedForm);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds, fisher, batchSize, seed, mcSamples });
    tf.dispose(weights);
    return fit.lastLayer!.data;
  }

  const exactWeights = (i: number) => Array.from({ length: classes }, (_, c) => [c, p[i * classes + c]] as [number, number]);

  it.each([[['last-layer']], [['diag', 'last-layer']]] as CurvatureKind[][][])('exact Fisher, kinds %j, equals Σ_c p_c ∇W̄_c ∇W̄_cᵀ', async (kinds) => {
    const error = relativeError(await fitted('exact', kinds), reference(exactWeights));
    console.log(`last-layer exact [${kinds.join(', ')}]: relative error ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-5);
  });

  it.each([1, 2])('mc Fisher with %i draw(s) equals the gradient outer products at the drawn labels', async (mcSamples) => {
    const draws = drawnLabels(p, count, classes, batchSize, mcSamples, seed);
    const expected = reference((i) => draws[i].map((c) => [c, 1 / mcSamples] as [number, number]));
    const alone = await fitted('mc', ['last-layer'], mcSamples);
    const together = await fitted('mc', ['diag', 'last-layer'], mcSamples);
    const errors = [relativeError(alone, expected), relativeError(together, expected)];
    console.log(`last-layer mc M = ${mcSamples}: relative error alone ${errors[0].toExponential(1)}, with diag ${errors[1].toExponential(1)}`);
    expect(Math.max(...errors)).toBeLessThanOrEqual(1e-5);
    // One draw (the study's setting): the forward-only route gives the backward pass's numbers bit for bit.
    if (mcSamples === 1) expect(Array.from(alone)).toEqual(Array.from(together));
    // The draws matter: the exact Fisher is far from a few-draw mc estimate.
    expect(relativeError(alone, reference(exactWeights))).toBeGreaterThan(1e-2);
  });

  it('empirical Fisher equals the gradient outer products at the data labels', async () => {
    const error = relativeError(await fitted('empirical', ['last-layer']), reference((i) => [[labels[i], 1]]));
    expect(error).toBeLessThanOrEqual(1e-5);
  });
});

/** W̄ gradient (kernel rows, then the bias row) of −log p_c for ONE example, by tf.variableGrads through model.apply in inference mode, over the output layer's weights alone. */
function outputLayerGradient(model: tfl.LayersModel, xi: tf.Tensor, c: number): Float64Array {
  const output = model.layers[model.layers.length - 1];
  const variables = output.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => tf.neg(tf.sum(tf.slice(tf.log(model.apply(xi, { training: false }) as tf.Tensor2D), [0, c], [1, 1]))) as tf.Scalar, variables);
  const parts = variables.map((variable) => grads[variable.name].dataSync());
  const out = Float64Array.from([...parts[0], ...parts[1]]);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe('last-layer Fisher of any body (fitLastLayerFromModel)', () => {
  const count = 7;
  const batchSize = 3;
  const seed = 53;
  let model: tfl.LayersModel;
  let x: tf.Tensor;
  let labels: Int32Array;
  let p: Float32Array;
  const classes = 3;
  let gradients: Float64Array[][];

  beforeAll(() => {
    model = buildResidualModel(351);
    x = randomInputs([count, 6, 6, 2], 352);
    labels = randomLabels(count, classes, 353);
    p = probabilities(model, x);
    gradients = Array.from({ length: count }, (_, i) => {
      const xi = example(x, i);
      const perClass = Array.from({ length: classes }, (_, c) => outputLayerGradient(model, xi, c));
      xi.dispose();
      return perClass;
    });
    return () => {
      x.dispose();
      model.dispose();
    };
  });

  function reference(weights: (i: number) => [number, number][]) {
    const d = gradients[0][0].length;
    const out = zeros(d);
    for (let i = 0; i < count; i++) for (const [c, w] of weights(i)) addOuter(out, gradients[i][c], gradients[i][c], w / count);
    return out.data;
  }

  it('the whole-network code reads the body only through tf.grads (not its hand-written backward passes)', () => {
    const network = new Network(model);
    expect(network.classic).toBe(false);
    network.dispose();
  });

  it('exact Fisher equals Σ_c p_c ∇W̄_c ∇W̄_cᵀ through tfjs-layers in inference mode', async () => {
    const fit = await fitLastLayerFromModel(model, tensorData(x, labels), { fisher: 'exact', batchSize });
    expect(fit.lastLayer!.rows).toBe((4 + 1) * classes);
    const error = relativeError(fit.lastLayer!.data, reference((i) => Array.from({ length: classes }, (_, c) => [c, p[i * classes + c]] as [number, number])));
    console.log(`any-body last-layer exact: relative error ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-5);
    // The data term of the evidence: the mean cross-entropy at the data's labels.
    const meanLoss = Array.from(labels, (y, i) => -Math.log(p[i * classes + y])).reduce((a, b) => a + b, 0) / count;
    expect(Math.abs(fit.meanLoss! - meanLoss) / meanLoss).toBeLessThanOrEqual(1e-5);
  });

  it.each([1, 2])('mc Fisher with %i draw(s) equals the gradient outer products at the drawn labels', async (mcSamples) => {
    const fit = await fitLastLayerFromModel(model, tensorData(x, labels), { fisher: 'mc', mcSamples, batchSize, seed });
    const draws = drawnLabels(p, count, classes, batchSize, mcSamples, seed);
    const error = relativeError(fit.lastLayer!.data, reference((i) => draws[i].map((c) => [c, 1 / mcSamples] as [number, number])));
    console.log(`any-body last-layer mc M = ${mcSamples}: relative error ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-5);
  });

  it('refuses an output that is not a Dense layer', async () => {
    const input = tfl.input({ shape: [4] });
    const other = tfl.model({ inputs: input, outputs: tfl.layers.activation({ activation: 'softmax' }).apply(tfl.layers.dense({ units: 3 }).apply(input)) as tfl.SymbolicTensor });
    await expect(fitLastLayerFromModel(other, tensorData(tf.zeros([2, 4]), [0, 1]))).rejects.toThrow(UnsupportedModelError);
    other.dispose();
  });
});
