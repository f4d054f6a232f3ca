// A user's script in a project of its own: it knows tfjs-laplace only as an installed package.
// Builds and trains a small Conv2D + Dense network on synthetic images, then fits, tunes τ by the
// marginal likelihood, predicts, saves, loads and predicts again; prints one JSON line for the test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { fitLaplace, loadLaplace, logMarginalLikelihood, saveLaplace, tensorData } from 'tfjs-laplace';
import { loadLaplaceFromBytes } from 'tfjs-laplace/browser';

await tf.setBackend('cpu');
const [height, width, classes] = [8, 8, 3];

// Class k is a brighter 3 × 3 patch at one of three places, over uniform noise.
function images(count, seed) {
  let state = seed;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pixels = new Float32Array(count * height * width);
  const labels = new Int32Array(count);
  const corners = [[0, 0], [0, 5], [5, 2]];
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    labels[i] = label;
    for (let p = 0; p < height * width; p++) pixels[i * height * width + p] = 0.8 * uniform();
    const [row, col] = corners[label];
    for (let r = row; r < row + 3; r++) for (let c = col; c < col + 3; c++) pixels[i * height * width + r * width + c] += 0.3;
  }
  return { x: tf.tensor4d(pixels, [count, height, width, 1]), labels };
}

const seeded = (seed) => tfl.initializers.glorotUniform({ seed });
const model = tfl.sequential({
  layers: [
    tfl.layers.conv2d({ inputShape: [height, width, 1], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(1) }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: seeded(2) }),
    tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: seeded(3) }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
const train = images(120, 7);
const test = images(30, 8);
const oneHot = tf.oneHot(tf.tensor1d(train.labels, 'int32'), classes);
await model.fit(train.x, oneHot, { epochs: 10, batchSize: 30, shuffle: false, verbose: 0 });

const trainData = tensorData(train.x, train.labels);
const testData = tensorData(test.x, test.labels);

// Fit KFAC at a fixed τ, then let the marginal likelihood choose τ (N stays the 120 examples).
const fitted = await fitLaplace(model, trainData, { curvature: 'kfac', tau: 1 });
const { model: tuned, optimum } = fitted.tuneMarginalLikelihood();
const probabilities = await tuned.predict(testData); // GLM predictive, probit link
const sampled = await tuned.predict(testData, { predictive: 'sampled', samples: 5, seed: 3 });

const path = join(process.argv[2], 'small-cnn.kfac.laplace');
await saveLaplace(tuned, path);
const loaded = await loadLaplace(path);
const again = await loaded.predict(testData);
const sampledAgain = await loaded.predict(testData, { predictive: 'sampled', samples: 5, seed: 3 });
const fromBytes = await loadLaplaceFromBytes(readFileSync(path), path);
const fromBytesProbabilities = await fromBytes.predict(testData);

const same = (a, b) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
let correct = 0;
for (let i = 0; i < test.labels.length; i++) {
  const row = Array.from(probabilities.subarray(i * classes, (i + 1) * classes));
  if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
}
console.log(
  JSON.stringify({
    library: import.meta.resolve('tfjs-laplace'),
    structure: loaded.posterior.structure,
    count: test.labels.length,
    classes,
    accuracy: correct / test.labels.length,
    n: [tuned.n, loaded.n],
    tau: [tuned.tau, loaded.tau],
    logEvidenceAtOne: logMarginalLikelihood(fitted.posterior),
    logEvidence: optimum.logEvidence,
    fileBytes: readFileSync(path).length,
    probabilities: Array.from(probabilities),
    identical: same(probabilities, again),
    identicalSampled: same(sampled, sampledAgain),
    identicalFromBytes: same(probabilities, fromBytesProbabilities),
  }),
);
