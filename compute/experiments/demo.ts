/**
 * Experiment "demo": the files the article's in-browser playground runs on,
 * exported from what the study evaluated (training seed 0), so the page shows
 * the study's own network and posteriors. Writes under demo/<data>/<model>/:
 *   model.json, weights.bin   the checkpoint, byte for byte (tfjs-layers format)
 *   posterior.laplace         one posterior file holding the curvature of the study's cached fit for
 *                             the structures the page offers (DIAG and KFAC on MNIST, KFAC on
 *                             Fashion-MNIST), at the KFAC tuned N and τ (the page sets the others)
 *   demo.json                 N and τ of each posterior (tuned, marginal likelihood), read from
 *                             search/<structure>-glm.json, and a few test images as bytes
 * Cheap: it reads the cached checkpoint and fit and the laplace experiment's
 * search artifacts; it refits nothing.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256, stableStringify, writeFileAtomic, writeJsonArtifact } from '../artifacts/json.ts';
import { demoArtifact, searchArtifact } from '../artifacts/schemas.ts';
import { describeSet, subset, type DatasetName } from '../data/index.ts';
import { loadLaplace, LaplaceModel, Posterior, type CurvatureFit } from '../laplace/index.ts';
import { modelFile, weightsFile } from '../models/checkpoint.ts';
import { getProfile, StudyError, type Profile } from '../study.ts';
import type { TaskContext } from '../workers/protocol.ts';
import { trainedZooModel, type RunSettings } from './inputs.ts';
import { laplaceCodeVersion } from './laplace.ts';

/** The structures the playground can show; a file with all four would be 4.5 MB for LeNet-5. */
export const demoStructures = ['diag', 'kfac'] as const;
export type DemoStructure = (typeof demoStructures)[number];
/**
 * The networks the playground offers and the structures each posterior file holds, within the
 * page's 1.5 MB for the demo's files: LeNet-5 on MNIST with DIAG and KFAC (a 0.70 MB compressed
 * posterior file), on Fashion-MNIST with KFAC only (0.58 MB; with DIAG too, the two files alone
 * would take 1.4 MB).
 */
export const demoNetworks: readonly { dataset: DatasetName; model: string; structures: readonly DemoStructure[] }[] = [
  { dataset: 'mnist', model: 'lenet5', structures: ['diag', 'kfac'] },
  { dataset: 'fashion-mnist', model: 'lenet5', structures: ['kfac'] },
];
/** Test images shipped with the page: the first of the test split. */
export const demoTestImages = 10;
export const demoFiles = { model: modelFile, weights: weightsFile, posterior: 'posterior.laplace', meta: 'demo.json' } as const;

export const demoDir = (outDir: string, dataset: string, model: string) => join(outDir, 'demo', dataset, model);

/**
 * Where the laplace experiment caches a network's curvature. The key is the one
 * laplace.ts computes (kept in step by hand, since editing laplace.ts would make
 * every finished Laplace task run again); a mismatch shows as a missing file,
 * which this experiment refuses loudly rather than refitting differently.
 */
export function cachedCurvaturePath(settings: RunSettings, profile: Profile, dataset: string, model: string, checkpointKey: string): string {
  const fit = profile.laplace.fit;
  const key = sha256(stableStringify({ laplaceCodeVersion, checkpointKey, fit, structures: profile.laplace.structures }));
  return join(settings.cacheDir, 'laplace', dataset, `${model}-${key.slice(0, 16)}.laplace`);
}

export async function demoTask(
  settings: RunSettings,
  outDir: string,
  dataset: DatasetName,
  model: string,
  context: TaskContext,
  structures: readonly DemoStructure[] = demoStructures,
): Promise<string[]> {
  const profile = getProfile(settings.profile);
  const { trained, data } = await trainedZooModel(settings, dataset, model, context, 0);
  trained.model.dispose();
  const curvaturePath = cachedCurvaturePath(settings, profile, dataset, model, trained.record.key);
  if (!existsSync(curvaturePath)) {
    throw new StudyError(`The demo needs the study's fitted curvature of ${dataset}/${model} (${curvaturePath}), which is not cached; run \`npm run reproduce -- --only laplace\` first.`);
  }
  const points = Object.fromEntries(
    structures.map((structure) => {
      const path = join(outDir, dataset, model, 'search', `${structure}-glm.json`);
      if (!existsSync(path)) throw new StudyError(`The demo needs ${path}, the ${structure} search of ${dataset}/${model}; run \`npm run reproduce -- --only laplace\` first.`);
      const search = searchArtifact.parse(JSON.parse(readFileSync(path, 'utf8')));
      if (!search.marglik) throw new StudyError(`${path} has no marginal-likelihood point; rerun the laplace experiment.`);
      return [structure, { tuned: { logN: search.best.nll.logN, logTau: search.best.nll.logTau }, marglik: { logN: search.marglik.logN, logTau: search.marglik.logTau } }];
    }),
  ) as Partial<Record<DemoStructure, { tuned: { logN: number; logTau: number }; marglik: { logN: number; logTau: number } }>>;

  const dir = demoDir(outDir, dataset, model);
  mkdirSync(dir, { recursive: true });
  // The checkpoint the study evaluated, byte for byte (its sha256 is in the checkpoint's sidecar).
  for (const file of [modelFile, weightsFile]) writeFileAtomic(join(dir, file), readFileSync(join(trained.dir, file)));
  const loaded = await loadLaplace(curvaturePath);
  let examples: number;
  try {
    const full = loaded.posterior.curvature;
    examples = full.count;
    // Only the structures the page offers for this network: the file is the page's largest download.
    const fit: CurvatureFit = {
      fisher: full.fisher,
      mcSamples: full.mcSamples,
      count: full.count,
      ...(structures.includes('diag') ? { diag: full.diag } : {}),
      ...(structures.includes('kfac') ? { kfac: full.kfac } : {}),
      ...(full.meanLoss !== undefined ? { meanLoss: full.meanLoss } : {}),
    };
    // The file's own hyperparameters: the tuned ones of its last structure (KFAC where it has KFAC); the page sets the others.
    const structure = structures[structures.length - 1];
    const tuned = points[structure]!.tuned;
    const posterior = new Posterior(loaded.posterior.network, loaded.posterior.mapWeights, fit, { structure, n: 10 ** tuned.logN, tau: 10 ** tuned.logTau, kfacDamping: 'exact' });
    writeFileAtomic(join(dir, demoFiles.posterior), await new LaplaceModel(posterior, loaded.modelTopology).toBytes());
  } finally {
    loaded.dispose();
  }
  const images = subset(data.test, demoTestImages);
  const pixels = images.height * images.width;
  writeJsonArtifact(
    join(dir, demoFiles.meta),
    demoArtifact.parse({
      dataset,
      model,
      member: 0,
      files: demoFiles,
      fit: { fisher: profile.laplace.fit.fisher, mcSamples: profile.laplace.fit.mcSamples, examples },
      posteriors: points,
      testImages: {
        set: describeSet(images),
        height: images.height,
        width: images.width,
        // The bytes of the data file, base64, row-major: the page divides by 255 exactly as compute/data does.
        images: Array.from({ length: images.count }, (_, i) => ({
          index: i,
          label: images.labels[i],
          pixels: Buffer.from(Uint8Array.from(images.images.subarray(i * pixels, (i + 1) * pixels), (value) => Math.round(value * 255))).toString('base64'),
        })),
      },
    }),
  );
  return Object.values(demoFiles).map((file) => `demo/${dataset}/${model}/${file}`);
}

/** Runs in the main thread: it is a few file reads and writes. */
export async function runDemoExperiment(settings: RunSettings, profile: Profile, outDir: string, context: TaskContext, selected: (model: string) => boolean): Promise<void> {
  for (const { dataset, model, structures } of demoNetworks) {
    if (!profile.datasets.includes(dataset) || !profile.laplace.models.includes(model) || !selected(model)) continue;
    const files = await demoTask(settings, outDir, dataset, model, context, structures);
    context.log(`demo ${dataset}/${model}: ${files.join(', ')}`);
  }
}
