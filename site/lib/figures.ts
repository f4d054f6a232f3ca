/**
 * The figure catalogue: every chart on the page, what it can be switched to
 * (data set, model) and how its spec is made from the results. The page
 * renders each figure's default choice to SVG; every other choice is written
 * as a spec file that the picker loads.
 */
import { likelihoodAndGaussian, lossAccuracyContours, lossLine, lossSurface } from '../charts/landscape.ts';
import { curvatureSizes } from '../charts/structure.ts';
import { gaussianSliders } from '../charts/gaussian.ts';
import { kroneckerProduct } from '../charts/kronecker.ts';
import { nTauSliders } from '../charts/gaussian.ts';
import { searchSurface } from '../charts/search.ts';
import { calibrationCurves, calibrationCurvesPair, methodCalibrationCurves, reliabilityPair, variantComparison } from '../charts/calibration.ts';
import { entropyHistogramPair, inverseEcdf, inverseEcdfFamily } from '../charts/ood.ts';
import { fgsmPanel, shiftPanel } from '../charts/attacks.ts';
import { datasetLabels, type Spec } from '../charts/common.ts';
import { modelLabel } from './names.ts';
import { widthSweep } from '../charts/sweep.ts';
import { forestPlot, type SeedLookup } from '../charts/forest.ts';
import type { MethodArtifact, MethodName, Results, SweepArtifact } from './results.ts';
import { laplaceStructures, type SeedMetrics } from './findings.ts';

export interface Pick {
  dataset: string;
  model: string;
}

/**
 * What a figure may be switched by: nothing, the data set, data set and model,
 * or data set and family of increasing depth (the pick's `model` then holds
 * the family's id, see depthFamilies).
 */
export type PickKind = 'none' | 'dataset' | 'dataset+model' | 'dataset+family';

export interface FigureDef {
  id: string;
  pick: PickKind;
  /** Models (or family ids) a reader can pick on a data set (for 'dataset+model' and 'dataset+family'). */
  models?: (results: Results, dataset: string) => string[];
  /** The spec for a choice, or null when the results have nothing for it. */
  build(results: Results, pick: Pick): Spec | null;
  /** Why a choice can lack this figure, said in its place when a picker asks for one; default: no artifact for it. */
  missing?: string;
  /** What a figure switched by data set only shows, for its title ("Every evaluated network"). */
  subject?: string;
}

/** The method shown as "after the Laplace treatment" where one is needed. */
export const laplaceMethod: MethodName = 'kfac';
export const defaultPick: Pick = { dataset: 'mnist', model: 'lenet5' };
/** The structures whose width sweeps are drawn together. */
const sweepStructures: MethodName[] = ['diag', 'kfac', 'efb', 'last-layer'];

// One artifact per method: the summary has a row per posterior (tuned, marginal likelihood, …) of the same method.
// `only` keeps the others unread, so a figure's data line names just the files it draws.
const methodsOf = (results: Results, { dataset, model }: Pick, only?: readonly string[]): MethodArtifact[] =>
  [...new Set(results.methods(dataset, model))]
    .filter((method) => !only || only.includes(method))
    .map((method) => results.method(dataset, model, method))
    .filter((artifact): artifact is MethodArtifact => artifact !== null);

/** The first unknown set of an artifact is the other data set (MNIST ↔ Fashion-MNIST). */
export const otherDatasetSet = (artifact: MethodArtifact) => artifact.variants[0].ood.unknown[0].set;

const familyEntries = (results: Results, dataset: string, method: MethodName, models: string[]) =>
  models
    .map((model) => ({ label: modelLabel(model), artifact: results.method(dataset, model, method) }))
    .filter((entry): entry is { label: string; artifact: MethodArtifact } => entry.artifact !== null);

export interface DepthFamily {
  /** The family of models.json ('mlp', 'cnn'), or 'all' for the fallback group. */
  id: string;
  label: string;
  /** Its evaluated networks, shallow to deep. */
  models: string[];
}

const familyNames: Record<string, string> = { mlp: 'MLP family', cnn: 'CNN family' };

/**
 * The families of increasing depth evaluated on a data set: every family with
 * at least two evaluated networks, in zoo order; when none has two, every
 * evaluated network as one group, so the family figures still draw.
 */
export function depthFamilies(results: Results, dataset: string): DepthFamily[] {
  const evaluatedModels = results.evaluatedModels(dataset);
  const rows = results.models.models.filter((row) => row.dataset === dataset && evaluatedModels.includes(row.model) && !row.model.endsWith('-overconfident'));
  // A Map keeps its families in the order first seen, which is zoo order.
  const members = new Map<string, typeof rows>();
  for (const row of rows) members.set(row.family, [...(members.get(row.family) ?? []), row]);
  const deep = [...members]
    .filter(([, familyRows]) => familyRows.length >= 2)
    .map(([id, familyRows]) => ({ id, label: familyNames[id] ?? id, models: [...familyRows].sort((a, b) => a.depth - b.depth).map((row) => row.model) }));
  return deep.length > 0 ? deep : evaluatedModels.length > 0 ? [{ id: 'all', label: 'evaluated networks', models: evaluatedModels }] : [];
}

const familyMembers = (results: Results, { dataset, model }: Pick) => depthFamilies(results, dataset).find((family) => family.id === model)?.models ?? [];
const familyIds = (results: Results, dataset: string) => depthFamilies(results, dataset).map((family) => family.id);

const evaluated = (results: Results, dataset: string) => results.evaluatedModels(dataset);
const withLandscape = (results: Results, dataset: string) => results.landscapeModels(dataset);

function landscapeFigure(id: string, make: (landscape: NonNullable<ReturnType<Results['landscape']>>) => Spec): FigureDef {
  return { id, pick: 'dataset+model', models: withLandscape, missing: 'no loss landscape (landscape.json) was computed for it', build: (results, pick) => {
    const landscape = results.landscape(pick.dataset, pick.model);
    return landscape ? make(landscape) : null;
  } };
}

/**
 * A method's metrics on each training seed of a network, for the paired seed
 * band of the forest plot and the findings' rule over seeds: seed 0 from its
 * summary row (the zoo's network), the others from their seed-k/ artifacts,
 * each the variant the summary reports (a Laplace posterior of the given
 * kind, tuned meaning chosen on validation NLL; a baseline's only one), with
 * a Laplace row's paired differences against the same seed's baselines.
 */
export function seedMetrics(results: Results): SeedLookup {
  return (dataset, model, method, posterior = 'tuned') => {
    const members = results.seedMembers(dataset, model);
    const kind = (laplaceStructures as readonly string[]).includes(method) ? posterior : 'map';
    const own = results.summary.rows.find((row) => row.dataset === dataset && row.model === model && row.method === method && row.posterior === kind);
    if (members.length < 2 || !own) return null;
    const perSeed: SeedMetrics[] = [{ member: 0, ece: own.ece, nll: own.nll, auroc: own.auroc, ...(own.versus ? { versus: own.versus } : {}) }];
    for (const member of members.filter((candidate) => candidate > 0)) {
      const artifact = results.seedMethod(dataset, model, member, method as MethodName);
      const variant = artifact?.variants.find((candidate) => kind === 'map' || (candidate.posterior === kind && (kind !== 'tuned' || candidate.objective === 'nll')));
      if (variant) perSeed.push({ member, ece: variant.calibration.ece, nll: variant.calibration.nll, auroc: variant.ood.unknown[0].auroc, ...(variant.versus ? { versus: variant.versus } : {}) });
    }
    return perSeed.length > 1 ? perSeed : null;
  };
}

/** The deterministic network and the Laplace method on one network, for a figure that draws both. */
function pairFigure(id: string, make: (before: MethodArtifact, after: MethodArtifact) => Spec): FigureDef {
  return { id, pick: 'dataset+model', models: evaluated, missing: `these results have no sgd.json and ${laplaceMethod}.json for it`, build: (results, pick) => {
    const [before, after] = [results.method(pick.dataset, pick.model, 'sgd'), results.method(pick.dataset, pick.model, laplaceMethod)];
    return before && after ? make(before, after) : null;
  } };
}

export const figures: FigureDef[] = [
  // The findings' figure: every network, structure and metric against both baselines, from summary.json; its seed band from the seed folders.
  { id: 'forest', pick: 'none', build: (results) => (results.summary.rows.some((row) => row.versus) ? forestPlot(results.summary.rows, modelLabel, seedMetrics(results)) : null) },
  landscapeFigure('loss-surface', lossSurface),
  landscapeFigure('likelihood-gaussian', likelihoodAndGaussian),
  landscapeFigure('loss-accuracy', lossAccuracyContours),
  landscapeFigure('loss-line', lossLine),
  {
    id: 'curvature-sizes',
    pick: 'dataset+model',
    models: (results, dataset) => results.models.models.filter((row) => row.dataset === dataset).map((row) => row.model),
    build: (results, pick) => {
      const row = results.modelRow(pick.dataset, pick.model);
      return row ? curvatureSizes(row) : null;
    },
  },
  { id: 'gaussian', pick: 'none', build: () => gaussianSliders() },
  { id: 'kronecker', pick: 'none', build: () => kroneckerProduct() },
  {
    id: 'n-tau',
    pick: 'dataset+model',
    models: (results, dataset) => results.evaluatedModels(dataset).filter((model) => results.covariance(dataset, model) !== null),
    missing: 'the two-weight Fisher block (covariance-2x2.json) was not computed for it',
    build: (results, pick) => {
      const covariance = results.covariance(pick.dataset, pick.model);
      return covariance ? nTauSliders(covariance) : null;
    },
  },
  {
    id: 'search',
    pick: 'dataset+model',
    models: evaluated,
    build: (results, pick) => {
      const search = results.search(pick.dataset, pick.model, laplaceMethod, 'glm') ?? results.searches(pick.dataset, pick.model)[0] ?? null;
      return search ? searchSurface(search, 'nll') : null;
    },
  },
  {
    id: 'search-original',
    pick: 'dataset+model',
    models: evaluated,
    build: (results, pick) => {
      const search = results.search(pick.dataset, pick.model, laplaceMethod, 'sampled') ?? results.search(pick.dataset, pick.model, laplaceMethod, 'glm');
      return search ? searchSurface(search, 'error+ece') : null;
    },
  },
  // Before and after the treatment as two panels of one figure on shared axes, not two figures a reader compares by eye.
  pairFigure('reliability', (before, after) => reliabilityPair(before, after)),
  {
    id: 'family-calibration',
    pick: 'dataset+family',
    models: familyIds,
    build: (results, pick) => {
      const models = familyMembers(results, pick);
      const before = familyEntries(results, pick.dataset, 'sgd', models);
      const after = familyEntries(results, pick.dataset, laplaceMethod, models);
      return before.length && after.length ? calibrationCurvesPair(before, after) : null;
    },
  },
  {
    id: 'methods-calibration',
    pick: 'dataset+model',
    models: evaluated,
    build: (results, pick) => {
      const artifacts = methodsOf(results, pick);
      return artifacts.length ? methodCalibrationCurves(artifacts) : null;
    },
  },
  {
    id: 'architectures-sgd',
    pick: 'dataset',
    subject: 'Every evaluated network',
    build: (results, { dataset }) => {
      const entries = familyEntries(results, dataset, 'sgd', results.evaluatedModels(dataset));
      return entries.length ? calibrationCurves(entries, { band: false }) : null;
    },
  },
  pairFigure('entropy', (before, after) => entropyHistogramPair(before, after, otherDatasetSet(before))),
  {
    id: 'inverse-ecdf',
    pick: 'dataset+model',
    models: evaluated,
    build: (results, pick) => {
      const artifacts = methodsOf(results, pick, ['sgd', 'diag', 'kfac']);
      return artifacts.length ? inverseEcdf(artifacts, otherDatasetSet(artifacts[0])) : null;
    },
  },
  {
    id: 'inverse-ecdf-family',
    pick: 'dataset+family',
    models: familyIds,
    build: (results, pick) => {
      const models = familyMembers(results, pick);
      const before = familyEntries(results, pick.dataset, 'sgd', models);
      const after = familyEntries(results, pick.dataset, laplaceMethod, models);
      return before.length && after.length ? inverseEcdfFamily(before, after, otherDatasetSet(before[0].artifact)) : null;
    },
  },
  {
    id: 'fgsm-panel',
    pick: 'dataset+model',
    models: evaluated,
    build: (results, pick) => {
      const artifacts = methodsOf(results, pick);
      return artifacts.length ? fgsmPanel(artifacts) : null;
    },
  },
  {
    id: 'shift',
    pick: 'dataset+model',
    models: (results, dataset) => (dataset === 'mnist' ? results.evaluatedModels(dataset) : []),
    missing: 'these results have no rotated test images for it; rotations are evaluated on MNIST only',
    build: (results, pick) => {
      const artifacts = methodsOf(results, pick).filter((artifact) => artifact.variants[0].shift.length > 0);
      return artifacts.length ? shiftPanel(artifacts) : null;
    },
  },
  {
    id: 'variants',
    pick: 'dataset+model',
    models: (results, dataset) => results.evaluatedModels(dataset).filter((model) => (results.method(dataset, model, laplaceMethod)?.variants.length ?? 0) > 1),
    missing: 'KFAC was not evaluated under every predictive and way of choosing N and τ for it',
    build: (results, pick) => {
      const artifact = results.method(pick.dataset, pick.model, laplaceMethod);
      return artifact && artifact.variants.length > 1 ? variantComparison(artifact, results.method(pick.dataset, pick.model, 'sgd') ?? undefined) : null;
    },
  },
  {
    id: 'sweep',
    pick: 'dataset+model',
    models: (results, dataset) => results.sweepModels(dataset),
    build: (results, pick) => {
      const sweeps = sweepStructures.map((method) => results.sweep(pick.dataset, pick.model, method)).filter((sweep): sweep is SweepArtifact => sweep !== null);
      return sweeps.length > 0 ? widthSweep(sweeps) : null;
    },
  },
];

export function getFigure(id: string): FigureDef {
  const figure = figures.find((candidate) => candidate.id === id);
  if (!figure) throw new Error(`No figure "${id}" in site/lib/figures.ts.`);
  return figure;
}

/**
 * The figures under each section picker of site/pages/index.astro, by picker
 * id: a picker offers only what at least one of them can draw, and switches
 * only them (a section may hold two pickers).
 */
export const pickerFigures: Record<string, string[]> = {
  landscape: ['loss-surface', 'likelihood-gaussian', 'loss-accuracy', 'loss-line'],
  structure: ['curvature-sizes', 'kronecker'],
  regularisation: ['n-tau', 'search', 'search-original'],
  calibration: ['reliability', 'family-calibration', 'methods-calibration', 'architectures-sgd'],
  ood: ['entropy', 'inverse-ecdf', 'inverse-ecdf-family'],
  fgsm: ['fgsm-panel', 'shift'],
  when: ['variants'],
  sweep: ['sweep'],
};

/**
 * How big the section's effect is on one network: what its picker opens on
 * is the network where this is largest (sectionDefault), so a reader first
 * sees a figure in which something happens. Null where it cannot be said.
 */
const sectionEffects: Record<string, (results: Results, dataset: string, model: string) => number | null> = {
  // KFAC (tuned posterior) against the deterministic network, from the summary's paired differences.
  calibration: (results, dataset, model) => tunedVersus(results, dataset, model, 'ece'),
  ood: (results, dataset, model) => tunedVersus(results, dataset, model, 'auroc'),
  // How far KFAC's mean entropy under the strongest attack moves from the deterministic network's.
  fgsm: (results, dataset, model) => {
    const [sgd, kfac] = [results.method(dataset, model, 'sgd'), results.method(dataset, model, laplaceMethod)];
    const [before, after] = [sgd?.variants[0].fgsm.at(-1), kfac?.variants[0].fgsm.at(-1)];
    return before && after ? Math.abs(after.meanEntropy - before.meanEntropy) : null;
  },
  // How much the choice of predictive and of N and τ moves KFAC's ECE.
  when: (results, dataset, model) => {
    const variants = results.method(dataset, model, laplaceMethod)?.variants ?? [];
    if (variants.length < 2) return null;
    const eces = variants.map((variant) => variant.calibration.ece);
    return Math.max(...eces) - Math.min(...eces);
  },
  // How far the widest or narrowest KFAC posterior of the sweep moves the AUROC from the deterministic network's.
  sweep: (results, dataset, model) => {
    const sweep = results.sweep(dataset, model, laplaceMethod);
    return sweep ? Math.max(...sweep.points.map((point) => Math.abs(point.auroc - sweep.deterministic.auroc))) : null;
  },
};

function tunedVersus(results: Results, dataset: string, model: string, metric: 'ece' | 'auroc'): number | null {
  const row = results.summary.rows.find((candidate) => candidate.dataset === dataset && candidate.model === model && candidate.method === laplaceMethod && candidate.posterior === 'tuned');
  const difference = row?.versus?.sgd?.[metric];
  return difference ? Math.abs(difference.estimate) : null;
}

/**
 * The choice a section's picker and figures open on: for a section with an
 * effect to show (sectionEffects), the data set and network where it is
 * largest among those the picker offers, found in the results at build
 * time; otherwise, and where no network has a number, defaultPick.
 */
export function sectionDefault(pickerId: string, results: Results): Pick {
  const effect = sectionEffects[pickerId];
  const ids = pickerFigures[pickerId];
  if (!effect || !ids) return defaultPick;
  const scored = pickerChoices(results, ids).flatMap((choice) => choice.models.map((model) => ({ dataset: choice.dataset, model, score: effect(results, choice.dataset, model) })));
  const best = scored.reduce<{ dataset: string; model: string; score: number | null } | null>((top, entry) => (entry.score !== null && (top === null || top.score === null || entry.score > top.score) ? entry : top), null);
  return best && best.score !== null ? { dataset: best.dataset, model: best.model } : defaultPick;
}

/** The picker a figure sits under, by pickerFigures. */
export const pickerOf = (figureId: string): string | null => Object.entries(pickerFigures).find(([, ids]) => ids.includes(figureId))?.[0] ?? null;

export const datasetLabel = (dataset: string) => datasetLabels[dataset] ?? dataset;

/** A family's name as readers see it, capitalised where it starts a caption or title. */
export const familyLabel = (family: DepthFamily) => family.label.charAt(0).toUpperCase() + family.label.slice(1);

/** What a choice shows besides the data set: the network, the family, or nothing (figures of every network). */
export function pickSubject(figure: FigureDef, results: Results, pick: Pick): string | null {
  if (figure.pick === 'dataset+model') return modelLabel(pick.model);
  if (figure.pick === 'dataset+family') {
    const family = depthFamilies(results, pick.dataset).find((candidate) => candidate.id === pick.model);
    return family ? familyLabel(family) : pick.model;
  }
  return null;
}

/** The chart title naming a choice, "LeNet-5 · MNIST"; null for an illustration drawn from no artifact. */
export function pickTitle(figure: FigureDef, results: Results, pick: Pick): string | null {
  if (figure.pick === 'none') return null;
  return [pickSubject(figure, results, pick) ?? figure.subject, datasetLabel(pick.dataset)].filter(Boolean).join(' · ');
}

/** The caption's opening naming a choice, "LeNet-5 on MNIST."; null for an illustration. */
export function pickCaption(figure: FigureDef, results: Results, pick: Pick): string | null {
  if (figure.pick === 'none') return null;
  const subject = pickSubject(figure, results, pick);
  return subject ? `${subject} on ${datasetLabel(pick.dataset)}.` : `${datasetLabel(pick.dataset)}.`;
}

/** What a section picker offers on one data set: networks and families some figure of the section can draw. */
export interface PickerChoices {
  dataset: string;
  models: string[];
  families: DepthFamily[];
}

/**
 * A picker's choices per data set, from the figures it switches: a data set
 * is offered when some figure can draw something on it, a network or family
 * when some figure of that kind has a spec for it there (in zoo order).
 */
export function pickerChoices(results: Results, ids: string[]): PickerChoices[] {
  const section = ids.map(getFigure).filter((figure) => figure.pick !== 'none');
  const drawable = (figure: FigureDef, dataset: string) => picksOf(figure, results).filter((pick) => pick.dataset === dataset && specFor(figure, results, pick) !== null);
  return results.datasets.flatMap((dataset) => {
    const ofKind = (kind: PickKind) => new Set(section.filter((figure) => figure.pick === kind).flatMap((figure) => drawable(figure, dataset).map((pick) => pick.model)));
    const models = ofKind('dataset+model');
    const familyIds = ofKind('dataset+family');
    const zoo = [...new Set(results.models.models.map((row) => row.model))];
    const choice = {
      dataset,
      models: zoo.filter((model) => models.has(model)),
      families: depthFamilies(results, dataset).filter((family) => familyIds.has(family.id)),
    };
    const any = choice.models.length > 0 || choice.families.length > 0 || section.some((figure) => figure.pick === 'dataset' && drawable(figure, dataset).length > 0);
    return any ? [choice] : [];
  });
}

/** Every choice a figure offers, the default first. */
export function picksOf(figure: FigureDef, results: Results, first: Pick = defaultPick): Pick[] {
  if (figure.pick === 'none') return [{ dataset: 'all', model: 'all' }];
  const datasets = [first.dataset, ...results.datasets.filter((dataset) => dataset !== first.dataset)].filter((dataset) => results.datasets.includes(dataset));
  if (figure.pick === 'dataset') return datasets.map((dataset) => ({ dataset, model: 'all' }));
  return datasets.flatMap((dataset) => {
    const models = figure.models?.(results, dataset) ?? [];
    const ordered = models.includes(first.model) ? [first.model, ...models.filter((model) => model !== first.model)] : models;
    return ordered.map((model) => ({ dataset, model }));
  });
}

/** A figure's spec for one choice and the artifact files (paths under results/) it was drawn from. */
export interface BuiltFigure {
  spec: Spec | null;
  inputs: string[];
}

/**
 * The results as a figure's build sees them, noting the path of every
 * artifact it reads, so each figure's data links and commands follow what it
 * really draws from instead of a list kept by hand beside it.
 */
function recording(results: Results, inputs: Set<string>): Results {
  const note = <T>(artifact: T | null, path: string): T | null => {
    if (artifact !== null) inputs.add(path);
    return artifact;
  };
  const seen: Results = {
    ...results,
    method: (dataset, model, method) => note(results.method(dataset, model, method), `${dataset}/${model}/${method}.json`),
    landscape: (dataset, model) => note(results.landscape(dataset, model), `${dataset}/${model}/landscape.json`),
    search: (dataset, model, method, predictive) => note(results.search(dataset, model, method, predictive), `${dataset}/${model}/search/${method}-${predictive}.json`),
    searches: (dataset, model) =>
      results.searches(dataset, model).map((search) => {
        inputs.add(`${search.dataset}/${search.model}/search/${search.method}-${search.predictive}.json`);
        return search;
      }),
    covariance: (dataset, model) => note(results.covariance(dataset, model), `${dataset}/${model}/covariance-2x2.json`),
    sweep: (dataset, model, method) => note(results.sweep(dataset, model, method), `${dataset}/${model}/sweep/${method}.json`),
    modelRow: (dataset, model) => note(results.modelRow(dataset, model), 'models.json'),
    seedMethod: (dataset, model, member, method) => note(results.seedMethod(dataset, model, member, method), `${dataset}/${model}/seed-${member}/${method}.json`),
  };
  // The summary is a property, not a lookup: reading it notes summary.json.
  Object.defineProperty(seen, 'summary', {
    get: () => {
      inputs.add('summary.json');
      return results.summary;
    },
  });
  return seen;
}

/**
 * A spec with the choice as its title; a title the builder gave (the method
 * and predictive of a search) moves below it as the subtitle, in its colour.
 */
export function withTitle(spec: Spec, text: string): Spec {
  const own = (spec as { title?: unknown }).title;
  if (own === undefined) return { ...spec, title: { text, offset: 8 } } as Spec;
  const given = (typeof own === 'string' || Array.isArray(own) ? { text: own } : own) as { text: string | string[]; subtitle?: string | string[]; color?: string };
  const { text: ownText, subtitle, color, ...rest } = given;
  const lines = [ownText, subtitle ?? []].flat().filter((line) => line !== '');
  return { ...spec, title: { subtitleFontSize: 12, offset: 8, ...rest, text, subtitle: lines, ...(color ? { subtitleColor: color } : {}) } } as Spec;
}

const built = new WeakMap<Results, Map<string, BuiltFigure>>();

/**
 * A figure's spec for a choice and its inputs, built once per results folder:
 * the page asks for every choice to list the available ones, and the spec
 * and data endpoints write them all, in the same build.
 */
export function buildFigure(figure: FigureDef, results: Results, pick: Pick): BuiltFigure {
  let cache = built.get(results);
  if (!cache) built.set(results, (cache = new Map()));
  const key = specPath(figure, pick);
  if (!cache.has(key)) {
    const inputs = new Set<string>();
    const drawn = figure.build(recording(results, inputs), pick);
    const title = pickTitle(figure, results, pick);
    // Titled here, once, so every data-driven chart names what it shows, whichever builder drew it.
    const spec = drawn && title ? withTitle(drawn, title) : drawn;
    cache.set(key, { spec, inputs: spec ? [...inputs].sort() : [] });
  }
  return cache.get(key)!;
}

/** A figure's spec for a choice, or null when the results have nothing for it. */
export function specFor(figure: FigureDef, results: Results, pick: Pick): Spec | null {
  return buildFigure(figure, results, pick).spec;
}

/** The experiments of `npm run reproduce -- --only`, as compute/study.ts names them. */
export type Experiment = 'models' | 'laplace' | 'ensemble' | 'landscape' | 'demo';

/** The experiment that writes an artifact, from its path under results/. */
export function experimentOf(path: string): Experiment {
  if (path === 'models.json') return 'models';
  if (path.startsWith('demo/')) return 'demo';
  if (path.endsWith('/landscape.json')) return 'landscape';
  if (path.endsWith('/ensemble.json')) return 'ensemble';
  return 'laplace';
}

const experimentOrder: Experiment[] = ['models', 'laplace', 'ensemble', 'landscape', 'demo'];

/** The command that regenerates a figure's inputs, or null for an illustration drawn from no artifact. */
export function reproduceCommand(inputs: string[]): string | null {
  const experiments = experimentOrder.filter((experiment) => inputs.some((path) => experimentOf(path) === experiment));
  return experiments.length > 0 ? `npm run reproduce -- --only ${experiments.join(',')}` : null;
}

/** Every artifact some figure draws from, for any choice it offers: the files the site publishes under data/. */
export function figureInputs(results: Results): string[] {
  const paths = new Set<string>();
  for (const figure of figures) for (const pick of picksOf(figure, results)) for (const path of buildFigure(figure, results, pick).inputs) paths.add(path);
  return [...paths].sort();
}

/** Where an artifact is published in the built site, relative to the base: its path under results/, below data/. */
export const dataPath = (path: string) => `data/${path}`;

/** Where a choice's spec is published, relative to the site's base. */
export function specPath(figure: FigureDef, pick: Pick): string {
  if (figure.pick === 'none') return `specs/${figure.id}.json`;
  if (figure.pick === 'dataset') return `specs/${figure.id}/${pick.dataset}.json`;
  return `specs/${figure.id}/${pick.dataset}--${pick.model}.json`;
}
