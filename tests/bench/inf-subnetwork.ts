/**
 * What inf and subnetwork cost beside the structures they build on, as ratios measured in one run
 * (repeated, interleaved) on a random 64-128-10 ReLU MLP (P = 9,610) and 1,000 random examples:
 *  - fit: inf ÷ efb (inf adds the diagonal to efb's two sweeps and builds U, D), subnetwork with
 *    the heuristic's k = 500 ÷ diag (one more sweep gathering per-example gradients, k × k sums);
 *  - GLM probit predictive on the 1,000 examples: inf ÷ efb, subnetwork ÷ diag.
 * Run: LAPLACE_BACKEND=node nice -n 15 npx tsx tests/bench/inf-subnetwork.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { startBackend } from '../../compute/backend/index.ts';
import { fitCurvature, Network, Posterior, predict, tensorData, type CurvatureKind } from '../../compute/laplace/index.ts';
import { Random } from '../../compute/laplace/random.ts';

const seconds = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};

await startBackend((process.env.LAPLACE_BACKEND as 'node' | 'wasm' | 'cpu' | undefined) ?? 'node');
const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [64], units: 128, activation: 'relu' }), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
const random = new Random(1);
const x = tf.tensor2d(Float32Array.from(random.normals(1000 * 64)), [1000, 64]);
const labels = Int32Array.from({ length: 1000 }, () => Math.floor(random.uniform() * 10));
const data = tensorData(x, labels);
const network = new Network(model);
const weights = network.matricesFromModel(model);
const kinds: CurvatureKind[] = ['efb', 'inf', 'diag', 'subnetwork'];
const rows: Record<string, number[]> = { 'fit inf/efb': [], 'fit subnetwork/diag': [], 'glm inf/efb': [], 'glm subnetwork/diag': [] };
for (let repeat = 0; repeat < 3; repeat++) {
  const fitTime: Record<string, number> = {};
  const glmTime: Record<string, number> = {};
  for (const kind of kinds) {
    let fit: Awaited<ReturnType<typeof fitCurvature>> | null = null;
    fitTime[kind] = await seconds(async () => (fit = await fitCurvature(network, weights, data, { kinds: [kind] })));
    const posterior = new Posterior(network, weights, fit!, { structure: kind, n: 1000, tau: 1, kfacDamping: 'exact' });
    glmTime[kind] = await seconds(() => predict(posterior, data, { predictive: 'glm' }));
  }
  rows['fit inf/efb'].push(fitTime.inf / fitTime.efb);
  rows['fit subnetwork/diag'].push(fitTime.subnetwork / fitTime.diag);
  rows['glm inf/efb'].push(glmTime.inf / glmTime.efb);
  rows['glm subnetwork/diag'].push(glmTime.subnetwork / glmTime.diag);
}
for (const [name, values] of Object.entries(rows)) console.log(`${name}: ${values.map((value) => value.toFixed(2)).join(', ')}`);
