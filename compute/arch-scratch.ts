import { startBackend } from '/work/main/compute/backend/index.ts';
import { loadDataset } from '/work/main/compute/data/index.ts';
import { initializeWeights, trainModel } from '/work/main/compute/models/train.ts';
import { evaluateModel } from '/work/main/compute/models/trained.ts';
import { buildModel, getModelSpec, type LayerSpec } from '/work/main/compute/models/zoo.ts';
await startBackend('wasm');
const [widthArg, epochsArg, dataset] = process.argv.slice(2);
const base = Number(widthArg);
const layers: LayerSpec[] = [];
for (let b = 0; b < 3; b++) { layers.push({ type: 'conv2d', filters: base * 2 ** b, kernelSize: 3, padding: 'same', activation: 'relu' }); layers.push({ type: 'maxPool2d', poolSize: 2 }); }
layers.push({ type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10, activation: 'linear' });
const spec = { ...getModelSpec('cnn-3'), layers };
const data = loadDataset(dataset as 'fashion-mnist');
const model = buildModel(spec); initializeWeights(model, 1);
const t0 = Date.now();
await trainModel(model, data.train, spec.recipe, Number(epochsArg), 2, 'x');
console.log(JSON.stringify({ base, epochs: epochsArg, dataset, seconds: (Date.now() - t0) / 1000, test: await evaluateModel(model, data.test), val: await evaluateModel(model, data.validation) }));
