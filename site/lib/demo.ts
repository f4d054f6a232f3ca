/**
 * What the playground (site/components/Playground.astro) needs at build time:
 * the demo files of results/demo/ with their sha256 from the manifest, and the
 * study's entropy histograms of the same network, published beside them as a
 * small JSON made here (its sha256 computed here), so the page can refuse any
 * file that does not match what the build saw.
 */
import { datasetLabels } from '../charts/common.ts';
import { createHash } from 'node:crypto';
import type { Results } from './results.ts';

export const demoNetwork = { dataset: 'mnist', model: 'lenet5' } as const;
const roles = ['meta', 'model', 'weights', 'posterior'] as const;
export type DemoRole = (typeof roles)[number] | 'entropy';

export interface DemoFile {
  role: DemoRole;
  /** Path under the site's base (and, for the artifacts, under results/). */
  path: string;
  sha256: string;
  bytes: number;
}

/** The study's entropy histograms the playground marks the input against: per method and posterior, known and unknown. */
export interface DemoEntropy {
  max: number;
  bins: number;
  methods: { method: 'sgd' | 'diag' | 'kfac'; posterior: string; known: { set: string; histogram: number[] }; unknown: { set: string; histogram: number[] } }[];
}

export interface DemoSetup {
  dataset: string;
  model: string;
  files: DemoFile[];
  entropy: DemoEntropy;
  /** The entropy JSON's text, published at the entropy file's path. */
  entropyText: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** "mnist-test" → "MNIST test images": the page names sets, not their identifiers. */
const readableSet = (set: string) => {
  const [dataset, rest] = set.split('-test');
  return rest === undefined ? set : `${datasetLabels[dataset] ?? dataset} test images`;
};

/** The playground's files, or null when the results hold no demo export (then the section says how to make one). */
export function demoSetup(results: Results): DemoSetup | null {
  const { dataset, model } = demoNetwork;
  const folder = `demo/${dataset}/${model}`;
  const artifacts = results.manifest.artifacts;
  const names: Record<(typeof roles)[number], string> = { meta: 'demo.json', model: 'model.json', weights: 'weights.bin', posterior: 'posterior.laplace' };
  if (roles.some((role) => !artifacts[`${folder}/${names[role]}`])) return null;
  const methods: DemoEntropy['methods'] = [];
  let grid: { max: number; bins: number } | null = null;
  for (const method of ['sgd', 'diag', 'kfac'] as const) {
    const artifact = results.method(dataset, model, method);
    if (!artifact) return null;
    grid = { max: artifact.entropy.max, bins: artifact.entropy.bins };
    for (const variant of artifact.variants) {
      const wanted = method === 'sgd' ? variant.posterior === 'map' : variant.predictive === 'glm' && (variant.posterior === 'marglik' || (variant.posterior === 'tuned' && variant.objective === 'nll'));
      const unknown = variant.ood.unknown[0];
      if (!wanted || !unknown) continue;
      methods.push({ method, posterior: variant.posterior, known: { set: readableSet(variant.ood.known.set), histogram: variant.ood.known.histogram }, unknown: { set: readableSet(unknown.set), histogram: unknown.histogram } });
    }
  }
  const entropy: DemoEntropy = { ...grid!, methods };
  const entropyText = `${JSON.stringify(entropy)}\n`;
  const files: DemoFile[] = roles.map((role) => ({ role, path: `${folder}/${names[role]}`, sha256: artifacts[`${folder}/${names[role]}`], bytes: 0 }));
  files.push({ role: 'entropy', path: `${folder}/entropy.json`, sha256: sha256(entropyText), bytes: Buffer.byteLength(entropyText) });
  return { dataset, model, files, entropy, entropyText };
}
