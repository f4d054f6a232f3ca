// A user's script in a project of its own, on the models people have: built and trained here with
// the installed @tensorflow/tfjs, known to tfjs-laplace only as an installed package.
//  - a functional CNN: conv → BatchNormalization → swish, a DepthwiseConv2D → BatchNormalization
//    added back to its input (a residual Add), GlobalAveragePooling2D, a softmax Dense: last-layer
//    Laplace on the body as tfjs-layers runs it, and whole-network diag;
//  - a regression MLP (one linear unit): σ and τ by the marginal likelihood, mean and variance;
//  - a binary classifier (one sigmoid unit).
// Each fits (at τ = 1, σ = 1), tunes by the marginal likelihood (the CNN also by a validation
// grid), predicts, saves, loads and predicts again; one JSON line for the test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fitLaplace, loadLaplace, logMarginalLikelihood, regressionData, saveLaplace, tensorData } from 'tfjs-laplace';
import { loadLaplaceFromBytes } from 'tfjs-laplace/browser';

await tf.setBackend('cpu');
const folder = process.argv[2];

// One seeded stream for every draw, so the run is the same each time.
let state = 12345;
const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
const seeded = (seed) => tf.initializers.glorotUniform({ seed });

const same = (a, b) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const argmax = (row) => row.indexOf(Math.max(...row));

function accuracy(probabilities, labels, classes) {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (argmax(Array.from(probabilities.subarray(i * classes, (i + 1) * classes))) === labels[i]) correct++;
  return correct / labels.length;
}

function rowSums(probabilities, classes) {
  return Array.from({ length: probabilities.length / classes }, (_, row) => probabilities.subarray(row * classes, (row + 1) * classes).reduce((a, b) => a + b, 0));
}

/** Save, load from the path and from the bytes; every prediction again, compared bit for bit. */
async function reload(laplace, name, predictions) {
  const path = join(folder, `${name}.laplace`);
  await saveLaplace(laplace, path);
  const loaded = await loadLaplace(path);
  const fromBytes = await loadLaplaceFromBytes(readFileSync(path), path);
  const identical = {};
  for (const [key, { values, run }] of Object.entries(predictions)) {
    identical[key] = same(values, await run(loaded));
    identical[`${key} (from bytes)`] = same(values, await run(fromBytes));
  }
  const reloaded = { n: loaded.n, tau: loaded.tau, sigma: loaded.sigma, structure: loaded.posterior.structure, subset: loaded.posterior.network.subset, fileBytes: readFileSync(path).length };
  loaded.dispose();
  fromBytes.dispose();
  return { identical, reloaded };
}

// ---------------------------------------------------------------------------
// 1. A functional CNN with BatchNormalization, a depthwise convolution, a residual Add and global pooling.

const [side, classes] = [8, 3];
// Class 0 a horizontal bar, 1 a vertical bar, 2 none, at a random place over noise: global pooling
// keeps what the filters see, not where.
function bars(count) {
  const pixels = new Float32Array(count * side * side);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    labels[i] = label;
    for (let p = 0; p < side * side; p++) pixels[i * side * side + p] = 0.5 * uniform();
    const at = 1 + Math.floor(uniform() * (side - 2));
    for (let k = 1; k < side - 1; k++) {
      if (label === 0) pixels[i * side * side + at * side + k] += 0.8;
      if (label === 1) pixels[i * side * side + k * side + at] += 0.8;
    }
  }
  return { x: tf.tensor4d(pixels, [count, side, side, 1]), labels };
}

const input = tf.input({ shape: [side, side, 1] });
const features = tf.layers.activation({ activation: 'swish' }).apply(
  tf.layers.batchNormalization({ momentum: 0.5, name: 'bn1' }).apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: seeded(1), name: 'conv' }).apply(input)),
);
const depthwise = tf.layers.batchNormalization({ momentum: 0.5, name: 'bn2' }).apply(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: seeded(2), name: 'depthwise' }).apply(features));
const residual = tf.layers.activation({ activation: 'relu' }).apply(tf.layers.add({ name: 'residual' }).apply([features, depthwise]));
const pooled = tf.layers.globalAveragePooling2d({}).apply(residual);
const output = tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: seeded(3), name: 'out' }).apply(pooled);
const cnn = tf.model({ inputs: input, outputs: output });
cnn.compile({ optimizer: tf.train.adam(0.03), loss: 'categoricalCrossentropy' });
const cnnTrain = bars(48);
const cnnTest = bars(24);
const cnnOneHot = tf.oneHot(tf.tensor1d(cnnTrain.labels, 'int32'), classes);
// Training moves BatchNormalization's statistics off 0 and 1, so the posterior must carry them (a low
// momentum lets them catch up with the last batches, so the model in inference mode is the trained one).
await cnn.fit(cnnTrain.x, cnnOneHot, { epochs: 25, batchSize: 16, shuffle: false, verbose: 0 });
const movingVariance = Array.from(cnn.getLayer('bn2').getWeights()[3].dataSync());

const cnnTrainData = tensorData(cnnTrain.x, cnnTrain.labels);
const cnnTestData = tensorData(cnnTest.x, cnnTest.labels);
const cnnNetwork = cnn.predict(cnnTest.x).dataSync();

async function cnnCase(name, options) {
  const fitted = await fitLaplace(cnn, cnnTrainData, { ...options, tau: 1 });
  const { model: tuned, optimum } = fitted.tuneMarginalLikelihood();
  const { model: gridTuned, search } = await fitted.tune(cnnTestData, 'nll', { method: 'grid', gridSize: 5 });
  const glm = await tuned.predict(cnnTestData);
  const sampled = await tuned.predict(cnnTestData, { predictive: 'sampled', samples: 4, seed: 5 });
  const map = await tuned.predict(cnnTestData, { predictive: 'map' });
  const result = {
    name,
    likelihood: tuned.posterior.likelihood.kind,
    structure: tuned.posterior.structure,
    subset: tuned.posterior.network.subset,
    layers: tuned.posterior.network.layers.map((layer) => layer.kind),
    n: tuned.n,
    tau: [fitted.tau, tuned.tau],
    logEvidence: [logMarginalLikelihood(fitted.posterior), optimum.logEvidence],
    gridPoints: search.points.length,
    gridTau: gridTuned.tau,
    classes,
    probabilities: Array.from(glm),
    rowSums: [...rowSums(glm, classes), ...rowSums(sampled, classes)],
    // The posterior's network is the model as tfjs-layers runs it in inference mode.
    mapVersusNetwork: Math.max(...Array.from(cnnNetwork, (p, i) => Math.abs(map[i] - p))),
    accuracy: { network: accuracy(cnnNetwork, cnnTest.labels, classes), map: accuracy(map, cnnTest.labels, classes), glm: accuracy(glm, cnnTest.labels, classes) },
    ...(await reload(tuned, `cnn-${name}`, {
      glm: { values: glm, run: (loaded) => loaded.predict(cnnTestData) },
      sampled: { values: sampled, run: (loaded) => loaded.predict(cnnTestData, { predictive: 'sampled', samples: 4, seed: 5 }) },
    })),
  };
  [fitted, tuned, gridTuned].forEach((laplace) => laplace.dispose());
  return result;
}

const results = [];
results.push(await cnnCase('last-layer', { curvature: 'last-layer', subset: 'last-layer' }));
results.push(await cnnCase('diag', { curvature: 'diag' }));

// ---------------------------------------------------------------------------
// 2. A regression MLP: y = sin(2 x₀) + x₁/2 + noise of scale 0.1.

const noise = 0.1;
function curve(count) {
  const x = Float32Array.from({ length: count * 2 }, () => 4 * uniform() - 2);
  const y = Float32Array.from({ length: count }, (_, i) => Math.sin(2 * x[2 * i]) + 0.5 * x[2 * i + 1] + noise * normal());
  return { x: tf.tensor2d(x, [count, 2]), y };
}
const regression = tf.sequential({
  layers: [tf.layers.dense({ inputShape: [2], units: 12, activation: 'tanh', kernelInitializer: seeded(4) }), tf.layers.dense({ units: 1, kernelInitializer: seeded(5) })],
});
regression.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
const regressionTrain = curve(48);
const regressionTest = curve(24);
await regression.fit(regressionTrain.x, tf.tensor2d(regressionTrain.y, [48, 1]), { epochs: 300, batchSize: 48, shuffle: false, verbose: 0 });
{
  const trainData = regressionData(regressionTrain.x, regressionTrain.y);
  const testData = regressionData(regressionTest.x, regressionTest.y);
  const fitted = await fitLaplace(regression, trainData, { curvature: 'kfac', likelihood: 'regression', sigma: 1, tau: 1 });
  const { model: tuned, optimum } = fitted.tuneMarginalLikelihood({ optimizeSigma: true });
  // fitLaplace's default does the same search from the same curvature.
  const byDefault = await fitLaplace(regression, trainData, { curvature: 'kfac', likelihood: 'regression' });
  const { mean, variance } = await tuned.predictRegression(testData);
  const network = regression.predict(regressionTest.x).dataSync();
  let squares = 0;
  for (let i = 0; i < mean.length; i++) squares += (mean[i] - regressionTest.y[i]) ** 2;
  results.push({
    name: 'regression',
    likelihood: tuned.posterior.likelihood.kind,
    structure: tuned.posterior.structure,
    subset: tuned.posterior.network.subset,
    n: tuned.n,
    tau: [fitted.tau, tuned.tau],
    sigma: [fitted.sigma, tuned.sigma],
    byDefault: { tau: byDefault.tau, sigma: byDefault.sigma },
    logEvidence: [logMarginalLikelihood(fitted.posterior), optimum.logEvidence],
    rmse: Math.sqrt(squares / mean.length),
    meanVersusNetwork: Math.max(...Array.from(mean, (value, i) => Math.abs(value - network[i]))),
    minVariance: Math.min(...variance),
    maxVariance: Math.max(...variance),
    ...(await reload(tuned, 'regression', {
      mean: { values: mean, run: async (loaded) => (await loaded.predictRegression(testData)).mean },
      variance: { values: variance, run: async (loaded) => (await loaded.predictRegression(testData)).variance },
    })),
  });
  [fitted, tuned, byDefault].forEach((laplace) => laplace.dispose());
}

// ---------------------------------------------------------------------------
// 3. A binary classifier: one sigmoid unit on two Gaussian blobs.

function blobs(count) {
  const labels = Int32Array.from({ length: count }, (_, i) => i % 2);
  const x = Float32Array.from({ length: count * 2 }, (_, j) => (labels[j >> 1] === 1 ? 1 : -1) + 0.9 * normal());
  return { x: tf.tensor2d(x, [count, 2]), labels };
}
const binary = tf.sequential({
  layers: [tf.layers.dense({ inputShape: [2], units: 6, activation: 'relu', kernelInitializer: seeded(6) }), tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: seeded(7) })],
});
binary.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy' });
const binaryTrain = blobs(48);
const binaryTest = blobs(24);
await binary.fit(binaryTrain.x, tf.tensor2d(Float32Array.from(binaryTrain.labels), [48, 1]), { epochs: 60, batchSize: 16, shuffle: false, verbose: 0 });
{
  const trainData = tensorData(binaryTrain.x, binaryTrain.labels);
  const testData = tensorData(binaryTest.x, binaryTest.labels);
  const fitted = await fitLaplace(binary, trainData, { curvature: 'kfac', tau: 1 });
  const { model: tuned, optimum } = fitted.tuneMarginalLikelihood();
  const glm = await tuned.predict(testData);
  const sampled = await tuned.predict(testData, { predictive: 'sampled', samples: 6, seed: 2 });
  const map = await tuned.predict(testData, { predictive: 'map' });
  // The network's own P(y = 1), against which the posterior's map prediction is read.
  const network = binary.predict(binaryTest.x).dataSync();
  results.push({
    name: 'binary',
    likelihood: tuned.posterior.likelihood.kind,
    structure: tuned.posterior.structure,
    subset: tuned.posterior.network.subset,
    n: tuned.n,
    tau: [fitted.tau, tuned.tau],
    logEvidence: [logMarginalLikelihood(fitted.posterior), optimum.logEvidence],
    classes: 2,
    probabilities: Array.from(glm),
    rowSums: [...rowSums(glm, 2), ...rowSums(sampled, 2)],
    mapVersusNetwork: Math.max(...Array.from(network, (p, i) => Math.abs(map[2 * i + 1] - p))),
    accuracy: { map: accuracy(map, binaryTest.labels, 2), glm: accuracy(glm, binaryTest.labels, 2) },
    ...(await reload(tuned, 'binary', {
      glm: { values: glm, run: (loaded) => loaded.predict(testData) },
      sampled: { values: sampled, run: (loaded) => loaded.predict(testData, { predictive: 'sampled', samples: 6, seed: 2 }) },
    })),
  });
  [fitted, tuned].forEach((laplace) => laplace.dispose());
}

console.log(JSON.stringify({ library: import.meta.resolve('tfjs-laplace'), tfjs: tf.version.tfjs, backend: tf.getBackend(), movingVariance, results }));
