/**
 * What the layers beyond Dense/Conv2D cost, as ratios to one tfjs-layers forward pass over the
 * same data (model.predict), on a residual CNN (conv → BatchNormalization → swish, depthwise conv
 * → BatchNormalization, Add, GlobalAveragePooling2D, Dense): last-layer Laplace on the opaque body
 * (subset 'last-layer') against diag on the whole network (tf.grads through every layer), each
 * fit (mc Fisher) and GLM prediction. Rounds interleaved; prints ratios, asserts nothing.
 *   npx tsx tests/bench/laplace-any-body.ts [--backend node|wasm|cpu] [--rounds 2]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseArgs } from 'node:util';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, tensorData } from '../../compute/laplace/index.ts';
import { Random } from '../../compute/laplace/random.ts';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'node' }, rounds: { type: 'string', default: '2' } } });
await startBackend(values.backend as 'node');
const count = 512;
const classes = 10;
const input = tfl.input({ shape: [16, 16, 3] });
const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => layer.apply(x) as tfl.SymbolicTensor;
const x1 = apply(tfl.layers.activation({ activation: 'swish' }), apply(tfl.layers.batchNormalization({}), apply(tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same' }), input)));
const main = apply(tfl.layers.batchNormalization({}), apply(tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), x1));
const pooled = apply(tfl.layers.globalAveragePooling2d({}), apply(tfl.layers.activation({ activation: 'swish' }), apply(tfl.layers.add(), [main, x1])));
const model = tfl.model({ inputs: input, outputs: apply(tfl.layers.dense({ units: classes, activation: 'softmax' }), pooled) });
const random = new Random(1);
const x = tf.tensor4d(Float32Array.from(random.normals(count * 16 * 16 * 3)), [count, 16, 16, 3]);
const labels = Int32Array.from({ length: count }, () => random.integer(classes));
const data = tensorData(x, labels);

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

const rows: Record<string, number[]> = {};
for (let round = 0; round < Number(values.rounds); round++) {
  const forward = await seconds(async () => (model.predict(x, { batchSize: 128 }) as tf.Tensor).data());
  for (const [name, options] of [
    ['last-layer (opaque body)', { curvature: 'last-layer', subset: 'last-layer' }],
    ['diag, whole network', { curvature: 'diag' }],
  ] as const) {
    let laplace: Awaited<ReturnType<typeof fitLaplace>> | null = null;
    const fit = await seconds(async () => (laplace = await fitLaplace(model, data, { ...options, tau: 1 })));
    const predict = await seconds(() => laplace!.predict(x));
    (laplace as unknown as { dispose(): void }).dispose();
    (rows[`${name}: fit / forward`] ??= []).push(fit / forward);
    (rows[`${name}: GLM prediction / forward`] ??= []).push(predict / forward);
  }
}
console.log(`${count} examples, 16×16×3, backend ${values.backend}, ${tf.memory().numTensors} tensors left`);
for (const [name, ratios] of Object.entries(rows)) console.log(`${name}: ${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)}×`);
