import * as tf from '@tensorflow/tfjs-core';
import { startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';
import { initializeWeights, crossEntropy } from '../../compute/models/train.ts';
import { imageBatch, labelBatch } from '../../compute/models/tensors.ts';
async function time(label: string, n: number, fn: () => Promise<void> | void) {
  await fn();
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn();
  console.log(label, ((performance.now() - t) / n).toFixed(2), 'ms');
}
async function main() {
  await startBackend('wasm');
  const spec = getModelSpec(process.argv[2] ?? 'mlp-1');
  const model = buildModel(spec);
  initializeWeights(model, 1);
  const { train } = loadDataset('mnist');
  const data = subset(train, 128);
  const idx = new Int32Array(128).map((_, i) => i);
  const images = imageBatch(data, idx);
  const labels = tf.tensor1d(labelBatch(data, idx), 'int32');
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  await time('imageBatch', 20, () => { tf.dispose(imageBatch(data, idx)); });
  await time('forward', 20, async () => { const y = model.apply(images, { training: true }) as tf.Tensor; await y.data(); y.dispose(); });
  await time('forward predict', 20, async () => { const y = model.predict(images) as tf.Tensor; await y.data(); y.dispose(); });
  await time('grads', 20, async () => {
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(images, { training: true }) as tf.Tensor, labels), variables);
    await value.data(); tf.dispose(value); tf.dispose(Object.values(grads));
  });
  const opt = tf.train.adam(1e-3);
  await time('minimize', 20, async () => {
    const v = opt.minimize(() => crossEntropy(model.apply(images, { training: true }) as tf.Tensor, labels), true, variables)!;
    await v.data(); v.dispose();
  });
  const prof = await tf.profile(async () => {
    const v = opt.minimize(() => crossEntropy(model.apply(images, { training: true }) as tf.Tensor, labels), true, variables)!;
    await v.data(); v.dispose();
  });
  const byName = new Map<string, number>();
  for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  console.log([...byName].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([n, t]) => `${n}:${t.toFixed(2)}`).join(' '), 'kernels', prof.kernels.length);
}
void main();
