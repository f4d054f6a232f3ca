/**
 * What the playground's first prediction costs, per stage, on a backend of
 * Node's (wasm or cpu, the browser's fallbacks): the deterministic pass, the
 * GLM predictive of DIAG and of KFAC one after the other, and both from one
 * Jacobian pass; as ratios to one deterministic pass, repeated.
 *   npx tsx scripts/bench-playground.ts <results dir> <wasm|cpu>
 */
import { join } from 'node:path';
import { startBackend } from '../compute/backend/index.ts';
import { imageData, loadLaplace, Posterior, predict, predictGlmTogether } from '../compute/laplace/index.ts';
import { demoArtifact } from '../compute/artifacts/schemas.ts';
import { readFileSync } from 'node:fs';

const [resultsDir = 'results', backend = 'wasm'] = process.argv.slice(2);
await startBackend(backend);
const folder = join(resultsDir, 'demo/mnist/lenet5');
const meta = demoArtifact.parse(JSON.parse(readFileSync(join(folder, 'demo.json'), 'utf8')));
const laplace = await loadLaplace(join(folder, 'posterior.laplace'));
const { network, mapWeights, curvature } = laplace.posterior;
const image = Float32Array.from(Buffer.from(meta.testImages.images[0].pixels, 'base64'), (byte) => byte / 255);
const data = imageData({ count: 1, height: 28, width: 28, images: image, labels: new Uint8Array(1) });
const at = (structure: 'diag' | 'kfac') =>
  new Posterior(network, mapWeights, curvature, { structure, n: 10 ** meta.posteriors[structure]!.marglik.logN, tau: 10 ** meta.posteriors[structure]!.marglik.logTau, kfacDamping: 'exact' });
const time = async (work: () => Promise<unknown>) => {
  const start = performance.now();
  await work();
  return performance.now() - start;
};
for (let round = 0; round < 3; round++) {
  const diag = at('diag');
  const kfac = at('kfac');
  const map = await time(() => predict(laplace.posterior, data, { predictive: 'map' }));
  const separate = await time(async () => {
    await predict(diag, data, { predictive: 'glm', link: 'probit' });
    await predict(kfac, data, { predictive: 'glm', link: 'probit' });
  });
  const together = await time(() => predictGlmTogether([diag, kfac], data, { link: 'probit' }));
  console.log(`${backend} round ${round}: map ${map.toFixed(0)} ms, DIAG+KFAC separately ${separate.toFixed(0)} ms (${(separate / map).toFixed(1)}x), together ${together.toFixed(0)} ms (${(together / map).toFixed(1)}x)`);
}
