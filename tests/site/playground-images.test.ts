/**
 * The playground's browser-side image operations against the study's own:
 * rotation against compute/data's (the same floats), FGSM signs against
 * compute/attacks' on the study's exported network, and the demo export's
 * files against the manifest and the search artifacts they come from.
 */
import { readFileSync, writeFileSync, cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkResults } from '../../compute/artifacts/check.ts';
import { demoArtifact, searchArtifact } from '../../compute/artifacts/schemas.ts';
import { fgsmSigns } from '../../compute/attacks/index.ts';
import { rotate, type ImageSet } from '../../compute/data/index.ts';
import { datasets } from '../../compute/data/registry.ts';
import { demoClassNames } from '../../site/lib/demo.ts';
import { loadLaplace } from '../../compute/laplace/index.ts';
import { decodeImage, fgsmSign, rotateImage } from '../../site/scripts/playground-images.ts';
import { quickResultsDir } from './fixtures.ts';

const folder = 'demo/mnist/lenet5';

describe('the playground’s image operations and files', () => {
  let meta: ReturnType<typeof demoArtifact.parse>;
  let images: Float32Array[];
  beforeAll(async () => {
    await tf.setBackend('cpu');
    meta = demoArtifact.parse(JSON.parse(readFileSync(join(quickResultsDir(), folder, 'demo.json'), 'utf8')));
    images = meta.testImages.images.map((image) => decodeImage(image.pixels));
  });
  const setOf = (image: Float32Array, label = 0): ImageSet => ({ name: 'x', images: image, labels: Uint8Array.of(label), count: 1, height: 28, width: 28, derived: null });

  it('decodes the exported bytes as compute/data scales them (pixel / 255)', () => {
    const bytes = Buffer.from(meta.testImages.images[0].pixels, 'base64');
    expect(bytes.length).toBe(784);
    expect(Array.from(images[0])).toEqual(Array.from(Float32Array.from(bytes, (byte) => byte / 255)));
  });

  it('rotates exactly as compute/data does, at whole and odd angles', () => {
    for (const degrees of [0, 15, 45, 90, -135, 180]) {
      expect(Array.from(rotateImage(images[1], 28, 28, degrees)), `${degrees}°`).toEqual(Array.from(rotate(setOf(images[1]), degrees).images));
    }
  });

  it('takes the same FGSM signs as compute/attacks on the deterministic network', async () => {
    const laplace = await loadLaplace(join(quickResultsDir(), folder, 'posterior.laplace'));
    const { network, mapWeights } = laplace.posterior;
    for (const [index, image] of images.slice(0, 5).entries()) {
      const label = meta.testImages.images[index].label;
      const expected = await fgsmSigns({ kind: 'map', network, weights: mapWeights }, setOf(image, label));
      const signs = fgsmSign(network, mapWeights, image, label);
      expect(signs.some((sign) => sign !== 0)).toBe(true);
      expect(Array.from(signs), `image ${index}`).toEqual(Array.from(expected));
    }
    laplace.dispose();
  });

  it('exports N and τ from the search artifacts, and the check refuses a demo file that no longer matches the manifest', () => {
    for (const structure of ['diag', 'kfac'] as const) {
      const search = searchArtifact.parse(JSON.parse(readFileSync(join(quickResultsDir(), 'mnist/lenet5/search', `${structure}-glm.json`), 'utf8')));
      expect(meta.posteriors[structure]!.tuned).toEqual({ logN: search.best.nll.logN, logTau: search.best.nll.logTau });
      expect(meta.posteriors[structure]!.marglik).toEqual({ logN: search.marglik!.logN, logTau: search.marglik!.logTau });
    }
    // Fashion-MNIST's file holds KFAC only, at its own search's points, and the KFAC curvature of its own network.
    const fashion = demoArtifact.parse(JSON.parse(readFileSync(join(quickResultsDir(), 'demo/fashion-mnist/lenet5/demo.json'), 'utf8')));
    const fashionSearch = searchArtifact.parse(JSON.parse(readFileSync(join(quickResultsDir(), 'fashion-mnist/lenet5/search/kfac-glm.json'), 'utf8')));
    expect(Object.keys(fashion.posteriors)).toEqual(['kfac']);
    expect(fashion.posteriors.kfac!.tuned).toEqual({ logN: fashionSearch.best.nll.logN, logTau: fashionSearch.best.nll.logTau });
    expect(fashion.testImages.set).toMatch(/^Fashion-MNIST test:/);
    // The page names the classes as the data registry does.
    for (const dataset of ['mnist', 'fashion-mnist'] as const) expect(demoClassNames[dataset]).toEqual(datasets[dataset].classNames);
    const copy = join(mkdtempSync(join(tmpdir(), 'demo-check-')), 'results');
    cpSync(quickResultsDir(), copy, { recursive: true });
    expect(checkResults(copy)).toEqual([]);
    const posterior = join(copy, folder, 'posterior.laplace');
    const bytes = readFileSync(posterior);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(posterior, bytes);
    expect(checkResults(copy)).toEqual([`${posterior} does not match its sha256 in the manifest (edited by hand, or the manifest is stale).`]);
  });
});
