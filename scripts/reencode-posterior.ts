/**
 * Re-encode posterior files written before the format carried its SHA-256
 * checksum: load, save, reload, and refuse to write unless the reloaded
 * posterior is the old one bit for bit (hyperparameters, MAP weights, every
 * curvature array, the model topology) and predicts the same bits (map, glm and
 * sampled, on seeded inputs of the model's shape). With --manifest, the file's
 * sha256 in the results manifest is replaced in place (only that line changes).
 *
 *   npx tsx scripts/reencode-posterior.ts results/demo/mnist/lenet5/posterior.laplace --manifest results/manifest.json
 *   npx tsx scripts/reencode-posterior.ts OLD.laplace --out NEW.laplace      (leave OLD as it is)
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { startBackend } from '../compute/backend/index.ts';
import { writeFileAtomic } from '../compute/laplace/files.ts';
import { loadLaplaceFromBytes, tensorData, type LaplaceModel } from '../compute/laplace/index.ts';

const { values, positionals } = parseArgs({ options: { manifest: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } }, allowPositionals: true });
if (positionals.length === 0 || (values.out !== undefined && positionals.length !== 1)) {
  console.error('Usage: npx tsx scripts/reencode-posterior.ts FILE... [--manifest results/manifest.json] | FILE --out NEW');
  process.exit(2);
}
await startBackend(values.backend ?? 'cpu');

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bits = (values: ArrayLike<number>) => Buffer.from(Float64Array.from(values).buffer).toString('hex');

/** Every number the posterior holds, as bits, by name: equal maps mean the same posterior. */
async function contents(laplace: LaplaceModel): Promise<Map<string, string>> {
  const { posterior } = laplace;
  const fit = posterior.curvature;
  const out = new Map<string, string>([
    ['spec', JSON.stringify(posterior.spec)],
    ['fit', JSON.stringify({ fisher: fit.fisher, mcSamples: fit.mcSamples, count: fit.count, meanLoss: fit.meanLoss })],
    ['topology', JSON.stringify(laplace.modelTopology)],
  ]);
  for (const [layer, weights] of posterior.mapWeights.entries()) out.set(`map/${layer}`, bits(await weights.data()));
  fit.diag?.forEach((values, layer) => out.set(`diag/${layer}`, bits(values)));
  fit.kfac?.forEach(({ a, g }, layer) => out.set(`kfac/${layer}`, bits(a.data) + bits(g.data)));
  fit.efb?.forEach(({ a, g, diagonal }, layer) => out.set(`efb/${layer}`, bits(a.values) + bits(a.vectors.data) + bits(g.values) + bits(g.vectors.data) + bits(diagonal)));
  if (fit.lastLayer) out.set('last-layer', bits(fit.lastLayer.data));
  const inputs = tf.randomUniform([64, ...posterior.network.inputShape], 0, 1, 'float32', 26);
  const data = tensorData(inputs, new Int32Array(64));
  for (const predictive of ['map', 'glm', 'sampled'] as const) out.set(`predict/${predictive}`, bits(await laplace.predict(data, { predictive, samples: 10, seed: 1 })));
  inputs.dispose();
  return out;
}

for (const file of positionals) {
  const oldBytes = new Uint8Array(readFileSync(file));
  const warnings: string[] = [];
  const old = await loadLaplaceFromBytes(oldBytes, file, { onWarning: (message) => warnings.push(message) });
  const newBytes = await old.toBytes();
  const again = await loadLaplaceFromBytes(newBytes, `${file} (re-encoded)`, { onWarning: (message) => warnings.push(message) });
  const [before, after] = [await contents(old), await contents(again)];
  old.dispose();
  again.dispose();
  const differing = [...before.keys()].filter((key) => before.get(key) !== after.get(key));
  if (differing.length > 0 || before.size !== after.size) {
    console.error(`${file}: the re-encoded posterior differs in ${differing.join(', ')}; nothing written.`);
    process.exit(1);
  }
  const target = values.out ?? file;
  writeFileAtomic(target, newBytes);
  console.log(
    `${file}: ${before.size} parts identical after re-encoding (${[...before.keys()].filter((key) => key.startsWith('predict/')).join(', ')} bit for bit); ` +
      `${oldBytes.length} → ${newBytes.length} bytes${warnings.length > 0 ? ' (it had no checksum)' : ' (it already had a checksum)'}; wrote ${target}`,
  );
  if (values.manifest !== undefined) {
    const path = relative(dirname(values.manifest), target).split('\\').join('/');
    const text = readFileSync(values.manifest, 'utf8');
    const line = `"${path}": "${sha256(oldBytes)}"`;
    if (!text.includes(line)) {
      console.error(`${values.manifest} does not list ${path} with the old file's sha256; update it by hand.`);
      process.exit(1);
    }
    writeFileSync(values.manifest, text.replace(line, `"${path}": "${sha256(newBytes)}"`));
    console.log(`${values.manifest}: ${path} now ${sha256(newBytes)}`);
  }
}
