/**
 * The package README's backend table: a KFAC fit and a GLM prediction of a
 * small CNN (conv 8 → pool → conv 16 → pool → dense 10, 5,258 parameters, on
 * 28×28×1 inputs) through the library's public API, on the cpu, wasm and node
 * backends, each in a child process of its own (a process holds one backend),
 * alternating rounds so that a busy machine slows every side alike.
 *
 *   npx tsx tests/bench/laplace-backends.ts [--rounds 2] [--fit 1000] [--predict 500]
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { startBackend } from '../../compute/backend/index.ts';
import { fitLaplace, tensorData } from '../../compute/laplace/index.ts';

const { values } = parseArgs({ options: { child: { type: 'string' }, rounds: { type: 'string' }, fit: { type: 'string' }, predict: { type: 'string' } } });
const fitExamples = Number(values.fit ?? 1000);
const predictExamples = Number(values.predict ?? 500);

function smallCnn(): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  return model;
}

async function child(backend: string): Promise<{ fit: number; predict: number; parameters: number }> {
  await startBackend(backend);
  const model = smallCnn();
  const x = tf.randomUniform([Math.max(fitExamples, predictExamples), 28, 28, 1], 0, 1, 'float32', 7);
  const labels = Int32Array.from({ length: x.shape[0] }, (_, i) => i % 10);
  const train = tensorData(tf.slice(x, 0, fitExamples), labels.subarray(0, fitExamples));
  const test = tf.slice(x, 0, predictExamples);
  let started = performance.now();
  const laplace = await fitLaplace(model, train, { curvature: 'kfac' });
  const fit = (performance.now() - started) / 1000;
  started = performance.now();
  await laplace.predict(test);
  const predict = (performance.now() - started) / 1000;
  return { fit, predict, parameters: model.countParams() };
}

if (values.child !== undefined) {
  console.log(JSON.stringify(await child(values.child)));
} else {
  const backends = ['cpu', 'wasm', 'node'];
  const rounds = Number(values.rounds ?? 2);
  const times: Record<string, { fit: number[]; predict: number[] }> = Object.fromEntries(backends.map((name) => [name, { fit: [], predict: [] }]));
  let parameters = 0;
  for (let round = 0; round < rounds; round++) {
    for (const backend of round % 2 === 0 ? backends : [...backends].reverse()) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', backend, '--fit', String(fitExamples), '--predict', String(predictExamples)], {
        env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
        maxBuffer: 1 << 24,
      });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { fit: number; predict: number; parameters: number };
      times[backend].fit.push(result.fit);
      times[backend].predict.push(result.predict);
      parameters = result.parameters;
      console.error(`round ${round + 1} ${backend}: kfac fit ${result.fit.toFixed(1)} s, glm predict ${result.predict.toFixed(1)} s`);
    }
  }
  const range = (values: number[]) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)} s`;
  const ratio = (a: number[], b: number[]) => {
    const ratios = a.map((value, i) => value / b[i]);
    return `${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)}×`;
  };
  console.log(`small CNN (${parameters} parameters): kfac fit on ${fitExamples} examples, glm prediction of ${predictExamples}; ${rounds} rounds`);
  for (const backend of backends) {
    console.log(`${backend.padEnd(5)} fit ${range(times[backend].fit)} (${ratio(times[backend].fit, times.node.fit)} node)   predict ${range(times[backend].predict)} (${ratio(times[backend].predict, times.node.predict)} node)`);
  }
}
