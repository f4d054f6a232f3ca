/**
 * What the playground (site/components/Playground.astro) needs at build time,
 * per network it offers: the posterior file and demo.json of results/demo/
 * with their sha256 from the manifest, and the study's entropy histograms of
 * the same network, published beside them as a small JSON made here (its
 * sha256 computed here), so the page can refuse any file that does not match
 * what the build saw. The page runs the deterministic network from the
 * posterior file's own MAP weights, so the checkpoint files are not published.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { demoArtifact } from '../../compute/artifacts/schemas.ts';
import { datasetLabels } from '../charts/common.ts';
import type { Results } from './results.ts';

/** The networks the playground offers, the first opening. */
export const demoNetworks = [
  { dataset: 'mnist', model: 'lenet5' },
  { dataset: 'fashion-mnist', model: 'lenet5' },
] as const;
/** The classes in label order, as compute/data/registry.ts has them (tests/site/playground-images.test.ts checks). */
export const demoClassNames: Record<string, readonly string[]> = {
  mnist: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  'fashion-mnist': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
};
/** What the table's columns 0–9 stand for, where they are not the digits themselves. */
export const classLegend = (dataset: string): string | null => {
  const names = demoClassNames[dataset];
  if (!names || names.every((name, index) => name === String(index))) return null;
  return `Columns: ${names.map((name, index) => `${index} ${name}`).join(', ')}.`;
};
const roles = ['meta', 'posterior'] as const;
export type DemoRole = (typeof roles)[number] | 'entropy';
export type DemoStructure = 'diag' | 'kfac';
export type DemoPosterior = 'tuned' | 'marglik';

export interface DemoFile {
  role: DemoRole;
  /** Path under the site's base (and, for the artifacts, under results/). */
  path: string;
  sha256: string;
}

/** The study's entropy histograms the playground marks the input against: per method and posterior, known and unknown. */
export interface DemoEntropy {
  max: number;
  bins: number;
  methods: { method: 'sgd' | DemoStructure; posterior: string; known: { set: string; histogram: number[] }; unknown: { set: string; histogram: number[] } }[];
}

export interface DemoNetwork {
  dataset: string;
  /** The data set in words, e.g. "Fashion-MNIST". */
  label: string;
  model: string;
  /** The structures its posterior file holds, in the table's order. */
  structures: DemoStructure[];
  /** The posterior the playground opens on: the one whose predictions move furthest from the deterministic network's. */
  opening: DemoPosterior;
  /** How far each posterior's mean confidence on the study's test images sits below the deterministic network's, per structure. */
  confidenceDrop: Record<DemoPosterior, Partial<Record<DemoStructure, number>>>;
  files: DemoFile[];
  entropy: DemoEntropy;
  /** The entropy JSON's text, published at the entropy file's path. */
  entropyText: string;
}

export interface DemoSetup {
  networks: DemoNetwork[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** "mnist-test" → "MNIST test images": the page names sets, not their identifiers. */
const readableSet = (set: string) => {
  const [dataset, rest] = set.split('-test');
  return rest === undefined ? set : `${datasetLabels[dataset] ?? dataset} test images`;
};

function demoNetwork(results: Results, dataset: string, model: string): DemoNetwork | null {
  const folder = `demo/${dataset}/${model}`;
  const artifacts = results.manifest.artifacts;
  const names: Record<(typeof roles)[number], string> = { meta: 'demo.json', posterior: 'posterior.laplace' };
  if (roles.some((role) => !artifacts[`${folder}/${names[role]}`])) return null;
  const meta = demoArtifact.parse(JSON.parse(readFileSync(join(results.dir, folder, names.meta), 'utf8')));
  const structures = (['diag', 'kfac'] as const).filter((structure) => meta.posteriors[structure]);
  const sgd = results.method(dataset, model, 'sgd');
  if (!sgd) return null;
  const methods: DemoEntropy['methods'] = [];
  const grid = { max: sgd.entropy.max, bins: sgd.entropy.bins };
  const sgdConfidence = sgd.variants.find((variant) => variant.posterior === 'map')!.calibration.meanConfidence;
  const confidenceDrop: DemoNetwork['confidenceDrop'] = { tuned: {}, marglik: {} };
  for (const method of ['sgd', ...structures] as const) {
    const artifact = results.method(dataset, model, method);
    if (!artifact) return null;
    for (const variant of artifact.variants) {
      const wanted = method === 'sgd' ? variant.posterior === 'map' : variant.predictive === 'glm' && (variant.posterior === 'marglik' || (variant.posterior === 'tuned' && variant.objective === 'nll'));
      if (!wanted) continue;
      if (method !== 'sgd') confidenceDrop[variant.posterior as DemoPosterior][method] = sgdConfidence - variant.calibration.meanConfidence;
      const unknown = variant.ood.unknown[0];
      if (!unknown) continue;
      methods.push({ method, posterior: variant.posterior, known: { set: readableSet(variant.ood.known.set), histogram: variant.ood.known.histogram }, unknown: { set: readableSet(unknown.set), histogram: unknown.histogram } });
    }
  }
  // Open where Laplace shows something: the posterior whose mean confidence moves furthest from the deterministic network's.
  const drop = (posterior: DemoPosterior) => Math.max(0, ...structures.map((structure) => Math.abs(confidenceDrop[posterior][structure] ?? 0)));
  const opening: DemoPosterior = drop('marglik') > drop('tuned') ? 'marglik' : 'tuned';
  const entropy: DemoEntropy = { ...grid, methods };
  const entropyText = `${JSON.stringify(entropy)}\n`;
  const files: DemoFile[] = roles.map((role) => ({ role, path: `${folder}/${names[role]}`, sha256: artifacts[`${folder}/${names[role]}`] }));
  files.push({ role: 'entropy', path: `${folder}/entropy.json`, sha256: sha256(entropyText) });
  return { dataset, label: datasetLabels[dataset] ?? dataset, model, structures, opening, confidenceDrop, files, entropy, entropyText };
}

/** The playground's networks, or null when the results hold no demo export (then the section says how to make one). */
export function demoSetup(results: Results): DemoSetup | null {
  const networks = demoNetworks.map(({ dataset, model }) => demoNetwork(results, dataset, model)).filter((network): network is DemoNetwork => network !== null);
  return networks.length > 0 ? { networks } : null;
}
