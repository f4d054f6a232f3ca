import * as tf from '@tensorflow/tfjs-core';
import { startBackend } from './backend/index.ts';
import { loadDataset, subset } from './data/index.ts';
import { fitCurvature, imageData, Network, unfoldPatches } from './laplace/index.ts';
import { buildModel, getModelSpec } from './models/zoo.ts';
import { initializeWeights, trainModel } from './models/train.ts';
await startBackend('wasm');
const spec = getModelSpec(process.argv[2] ?? 'lenet5');
const model = buildModel(spec); initializeWeights(model, 1);
const { train } = loadDataset('mnist');
const set = subset(train, 1024);
const time = async (label: string, f: () => Promise<unknown>) => { const t = performance.now(); await f(); console.log(label, ((performance.now() - t) / 1000).toFixed(2), 's'); };
await trainModel(model, subset(train, 256), spec.recipe, 1, 1, 'w');
await time('train epoch 1024', () => trainModel(model, set, spec.recipe, 1, 1, 'x'));
const network = new Network(model);
const weights = network.matricesFromModel(model);
for (const kinds of [['kfac'], ['diag'], ['efb'], ['last-layer']] as const) {
  await time(`fit ${kinds}`, () => fitCurvature(network, weights, imageData(set), { kinds: [...kinds] }));
}
const x = imageData(set).inputs(0, 128);
await time('forward x8', async () => { for (let i = 0; i < 8; i++) { const y = tf.tidy(() => network.forward(x, weights)); await y.data(); y.dispose(); } });
const shapes = network.preActivationShapes(128);
await time('grads x8', async () => { for (let i = 0; i < 8; i++) { const offsets = shapes.map((s) => tf.zeros(s)); const g = tf.grads((...o: tf.Tensor[]) => tf.sum(network.forward(x, weights, { offsets: o })))(offsets); await g[0].data(); tf.dispose([...g, ...offsets]); } });
await time('unfold conv1 x8', async () => { for (let i = 0; i < 8; i++) { const p = unfoldPatches(x as tf.Tensor4D, network.layers[0].conv!); await p.data(); p.dispose(); } });
