import * as tf from '@tensorflow/tfjs-core';
import { startBackend } from '../../compute/backend/index.ts';
async function time(label: string, n: number, fn: () => tf.Tensor) {
  tf.tidy(fn).dispose();
  const t = performance.now();
  for (let i = 0; i < n; i++) { const y = fn(); await y.data(); y.dispose(); }
  console.log(label, ((performance.now() - t) / n).toFixed(2), 'ms');
}
async function main() {
  await startBackend('wasm');
  const x = tf.randomNormal([128, 784]);
  const w = tf.randomNormal([784, 256]);
  const dy = tf.randomNormal([128, 256]);
  await time('fwd x·w', 20, () => tf.matMul(x, w));
  await time('dW xT·dy (transposeA)', 20, () => tf.matMul(x, dy, true, false));
  await time('dW transpose(x)·dy', 20, () => tf.tidy(() => tf.matMul(tf.transpose(x), dy)));
  await time('dX dy·wT (transposeB)', 20, () => tf.matMul(dy, w, false, true));
  await time('dX dy·transpose(w)', 20, () => tf.tidy(() => tf.matMul(dy, tf.transpose(w))));
  const a = tf.matMul(x, dy, true, false), b = tf.tidy(() => tf.matMul(tf.transpose(x), dy));
  console.log('max diff', tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], 'max', tf.max(tf.abs(a)).dataSync()[0]);
}
void main();
