/**
 * The Laplace command line, on saved checkpoints and posterior files.
 *
 *   fit      checkpoint + training data → posterior file (saveLaplace, atomic)
 *   tune     posterior file + validation data → posterior file at the best (N, τ) of a grid
 *   predict  posterior file + a split   → JSON with per-example probabilities and metrics
 *
 * Decisions worth knowing (also in --help):
 *  - Every option is checked before any work starts; an error a user can cause
 *    is one sentence on stderr and exit code 2, and no output file is written
 *    (both outputs are written atomically, at the very end).
 *  - fit's --data defaults to the data set the checkpoint's sidecar records.
 *    Another data set is allowed (fitting an MNIST model's posterior on other
 *    data is a legitimate experiment) and only draws a one-line warning.
 *  - Options that would be silently ignored are errors: --mc-samples without
 *    the mc Fisher, --kfac-damping on a non-kfac posterior, --samples with the
 *    map or probit predictive, --difference off the linearised one. --seed is
 *    accepted everywhere (harmless when unused).
 *  - Defaults a new user can trust: fit's N is the size of the training split
 *    (55,000, also with --subset, which only thins the curvature's estimate),
 *    τ the one that maximises the marginal likelihood; predict and tune use the
 *    GLM predictive with the probit link. A prediction far less accurate than
 *    the deterministic network on the same images, or near-uniform where it is
 *    confident, draws a warning naming the cause and the remedy (the posterior
 *    is too wide; warnings.ts in the library).
 *  - tune may write over its own --posterior (the file is read first and
 *    replaced atomically), and notes on stderr when the chosen point lies on
 *    an edge of the grid, since a wider range could then do better.
 *    `tune --objective marglik` needs no validation data: it keeps N and
 *    maximises the evidence over τ (one, or one per layer with --per-layer).
 *  - predict writes probabilities as an array of arrays, one row of class
 *    probabilities per example, in the split's order, with the labels beside
 *    them; numbers carry the JSON writer's 6 significant digits.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeJsonArtifact } from './artifacts/json.ts';
import { backendEnvVar, backendNames, startBackend } from './backend/index.ts';
import { datasetInfo, datasetNames, isDatasetName, loadDataset, subset, type DatasetName, type ImageSet } from './data/index.ts';
import {
  curvatureKinds,
  defaultGridSize,
  defaultLinkSamples,
  defaultLogNRange,
  defaultLogTauRange,
  defaultSamples,
  finiteDifferences,
  fisherTypes,
  fitLaplace,
  glmLinks,
  imageData,
  kfacDampings,
  loadLaplace,
  objectiveValue,
  predictionWarning,
  predictiveTypes,
  saveLaplace,
  searchObjectives,
  type CurvatureKind,
  type FiniteDifference,
  type FisherType,
  type GlmLink,
  type KfacDamping,
  type LaplaceModel,
  type PredictiveType,
  type SearchEdge,
} from './laplace/index.ts';
import { accuracy, calibration, negativeLogLikelihood } from './metrics/index.ts';
import { loadCheckpoint } from './models/checkpoint.ts';
import { ProgressBoard } from './progress/index.ts';

const splitNames = ['train', 'validation', 'test'] as const;
type SplitName = (typeof splitNames)[number];
const commandNames = ['fit', 'tune', 'predict'] as const;
type CommandName = (typeof commandNames)[number];
/** Equal-width confidence bins of the reported ECE. */
const eceBins = 10;

const list = (names: readonly string[]) => names.join(' | ');

const programUsage = `Usage: npm run laplace -- <command> [options]

Commands:
  fit       fit a Laplace posterior around a saved checkpoint and write the posterior file
            (τ by the marginal likelihood unless --tau)
  tune      choose N and τ on a grid, scored on the validation split, or τ alone by the marginal
            likelihood (--objective marglik, no data), and write the tuned posterior file
  predict   predict a data split with a posterior file and write probabilities and metrics as JSON

Run \`npm run laplace -- <command> --help\` for a command's options.
User errors (bad option, missing file, unsupported model, corrupt posterior) exit with code 2.
`;

const fitUsage = `Usage: npm run laplace -- fit --checkpoint DIR --curvature KIND --out FILE [options]

Fits the posterior on the training split of the data set (55k images; the
5k validation images are held out), or on its first K examples with --subset.

Required:
  --checkpoint DIR      checkpoint folder (written by \`npm run compute -- train\`, under .cache/models/)
  --curvature KIND      ${list(curvatureKinds)}
  --out FILE            posterior file to write (written atomically; an existing file is replaced)

Options:
  --data NAME           ${list(datasetNames)} (default: the data set the checkpoint records;
                        another one is allowed and draws a warning)
  --fisher TYPE         ${list(fisherTypes)} (default mc)
  --mc-samples M        label draws per input for the mc Fisher (default 1)
  --n N                 data-term scale N (default: the size of the training split, 55,000,
                        also with --subset, which fits the curvature on fewer examples)
  --tau T               prior precision τ (default: the τ that maximises the marginal likelihood at N)
  --kfac-damping MODE   ${list(kfacDampings)} (kfac only; default exact)
  --subset K            fit on the first K training examples
  --seed S              seed of the mc Fisher's label draws (default 0)
  --backend NAME        ${list(backendNames)} (default: the first that starts; also ${backendEnvVar})
  --help                this text

Prints one line: structure, layers, N, τ (and where each came from), Fisher type, seconds.
`;

/** Predictives that depend on N and τ, so a search over them means something. */
const tunablePredictives = ['glm', 'linearised', 'sampled', 'probit'] as const;
/** tune's objectives: the validation ones of the search, and the marginal likelihood, which needs no validation data. */
const tuneObjectives = [...searchObjectives, 'marglik'] as const;
type TuneObjective = (typeof tuneObjectives)[number];

const tuneUsage = `Usage: npm run laplace -- tune --posterior FILE --data NAME --out FILE [options]
       npm run laplace -- tune --posterior FILE --objective marglik --out FILE [--per-layer] [--n N] [--log-tau LOW,HIGH]

Searches log₁₀ N and log₁₀ τ on a grid, scores every point on the validation
split (the 5,000 training images held out of fitting), and writes the
posterior at the best point. The curvature is reused, not refitted. With the
GLM predictive and the probit link (the default) the network runs once over
the validation images and every further grid point costs only arithmetic.

With --objective marglik, N stays fixed (the posterior's, or --n) and τ
maximises the Laplace marginal likelihood; no validation data is read.

Required:
  --posterior FILE      posterior file written by \`npm run laplace -- fit\`
  --data NAME           ${list(datasetNames)} (not with marglik)
  --out FILE            posterior file to write at the chosen N and τ (atomically; may be --posterior itself)

Options:
  --objective NAME      ${list(tuneObjectives)} (default nll; error+ece is the original study's
                        validation error % + ECE %; marglik the evidence, at fixed N)
  --per-layer           marglik only: one τ per layer instead of one for all
  --n N                 marglik only: the N to hold fixed (default: the posterior's)
  --predictive TYPE     ${list(tunablePredictives)} (default glm; probit needs a last-layer posterior)
  --link NAME           the glm predictive's link: ${list(glmLinks)} (default probit; mc re-runs the network at every point)
  --samples T           weight samples per grid point for sampled and linearised, draws for glm with mc (default 8)
  --difference D        how the linearised predictive takes J·δ: ${list(finiteDifferences)} (default central)
  --grid K              grid points per axis (default ${defaultGridSize.cached} for glm with probit, 0.5 decades a step;
                        ${defaultGridSize.direct} for the predictives that re-run the network at every point)
  --log-n LOW,HIGH      range of log₁₀ N (default ${defaultLogNRange.join(',')})
  --log-tau LOW,HIGH    range of log₁₀ τ (default ${defaultLogTauRange.join(',')}; also marglik's range)
  --subset K            score on the first K validation examples (default all)
  --seed S              seed of the weight samples, the same at every grid point (default 0)
  --surface FILE        also write every grid point's error, ECE and NLL as JSON
  --backend NAME        ${list(backendNames)} (default: the first that starts; also ${backendEnvVar})
  --help                this text

Prints the chosen point, and a note when it lies on an edge of the grid, where
a wider range may find a better one (for well-trained networks the likelihood
often prefers the largest N or τ: a posterior collapsed onto the trained weights).
`;

const predictUsage = `Usage: npm run laplace -- predict --posterior FILE --data NAME --out FILE [options]

Required:
  --posterior FILE      posterior file written by \`npm run laplace -- fit\`
  --data NAME           ${list(datasetNames)}
  --out FILE            JSON file to write (atomically); it must not be the posterior file

Options:
  --split NAME          ${list(splitNames)} (default test)
  --predictive TYPE     ${list(predictiveTypes)} (default glm: the linearised network in closed form;
                        probit needs a last-layer posterior)
  --link NAME           the glm predictive's link: ${list(glmLinks)} (default probit)
  --samples T           weight samples for sampled and linearised (default ${defaultSamples});
                        draws of the logit Gaussian for glm with --link mc (default ${defaultLinkSamples})
  --seed S              seed of the weight samples (default 0)
  --difference D        how the linearised predictive takes J·δ: ${list(finiteDifferences)} (default central;
                        forward costs one pass per sample instead of two, at an error of about 1e-4 in p)
  --n N                 override the posterior's N (no refit)
  --tau T               override the posterior's τ (no refit)
  --kfac-damping MODE   override a kfac posterior's damping: ${list(kfacDampings)}
  --subset K            predict only the first K examples of the split
  --backend NAME        ${list(backendNames)} (default: the first that starts; also ${backendEnvVar})
  --help                this text

The JSON holds "probabilities" as an array of arrays ([examples][classes],
one row per example in the split's order), "labels", "metrics" (accuracy,
nll in nats, ece over ${eceBins} equal-width confidence bins), and what produced
them (data, posterior, predictive). Prints accuracy, NLL and ECE; warns when a
posterior's accuracy falls far below the deterministic network's on the same
images, or its entropy sits near the maximum ln C (the posterior is then too
wide, as the marginal likelihood's τ is for a network trained without weight decay).
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

const options = {
  checkpoint: { type: 'string' },
  posterior: { type: 'string' },
  data: { type: 'string' },
  split: { type: 'string' },
  curvature: { type: 'string' },
  fisher: { type: 'string' },
  'mc-samples': { type: 'string' },
  predictive: { type: 'string' },
  link: { type: 'string' },
  'per-layer': { type: 'boolean' },
  samples: { type: 'string' },
  difference: { type: 'string' },
  n: { type: 'string' },
  tau: { type: 'string' },
  'kfac-damping': { type: 'string' },
  subset: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  out: { type: 'string' },
  objective: { type: 'string' },
  grid: { type: 'string' },
  'log-n': { type: 'string' },
  'log-tau': { type: 'string' },
  surface: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof options;
type Values = { [K in OptionName]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string };

const commandOptions: Record<CommandName, readonly OptionName[]> = {
  fit: ['checkpoint', 'data', 'curvature', 'fisher', 'mc-samples', 'n', 'tau', 'kfac-damping', 'subset', 'seed', 'backend', 'out', 'help'],
  tune: ['posterior', 'data', 'objective', 'per-layer', 'n', 'predictive', 'link', 'samples', 'difference', 'grid', 'log-n', 'log-tau', 'subset', 'seed', 'surface', 'backend', 'out', 'help'],
  predict: ['posterior', 'data', 'split', 'predictive', 'link', 'samples', 'difference', 'n', 'tau', 'kfac-damping', 'subset', 'seed', 'backend', 'out', 'help'],
};

const negativeNumber = /^-(\d|\.\d)/;

/** `--tau -1` would read as a missing value followed by an option; join it so the range check can say what is wrong. */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    if (name && name in options && options[name as OptionName].type === 'string' && negativeNumber.test(argv[i + 1] ?? '')) {
      out.push(`${argv[i]}=${argv[i + 1]}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}

function parse(argv: string[]): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args: joinNegativeValues(argv), options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (error) {
    const failure = error as Error;
    const unknown = /^Unknown option '([^']+)'/.exec(failure.message);
    if (unknown) throw new UsageError(`Unknown option ${unknown[1]}; run with --help to see the options.`);
    const missing = /^Option '(-\S+)(?:, -\S+)? <value>' argument missing/.exec(failure.message);
    if (missing) throw new UsageError(`Option ${missing[1]} needs a value; run with --help to see the options.`);
    const message = failure.message.replace(/\. To specify .*$/s, '').replace(/\.$/, '');
    throw new UsageError(`${message}; run with --help to see the options.`);
  }
}

const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function positiveNumber(option: string, text: string): number {
  const value = decimal.test(text.trim()) ? Number(text) : NaN;
  if (!(Number.isFinite(value) && value > 0)) throw new UsageError(`--${option} must be a positive number, got "${text}".`);
  return value;
}

function positiveInteger(option: string, text: string): number {
  const value = decimal.test(text.trim()) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(value) && value > 0)) throw new UsageError(`--${option} must be a positive whole number, got "${text}".`);
  return value;
}

function seedValue(text: string | undefined): number {
  if (text === undefined) return 0;
  const value = decimal.test(text.trim()) ? Number(text) : NaN;
  if (!(Number.isInteger(value) && value >= 0 && value < 2 ** 32)) throw new UsageError(`--seed must be a whole number from 0 to ${2 ** 32 - 1}, got "${text}".`);
  return value;
}

/** "LOW,HIGH" with LOW ≤ HIGH, for a search range. */
function range(option: string, text: string): [number, number] {
  const parts = text.split(',').map((part) => part.trim());
  const values = parts.map((part) => (decimal.test(part) ? Number(part) : NaN));
  if (values.length !== 2 || !values.every(Number.isFinite) || values[0] > values[1]) {
    throw new UsageError(`--${option} must be LOW,HIGH with LOW ≤ HIGH, got "${text}".`);
  }
  return [values[0], values[1]];
}

function choice<T extends string>(option: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`Unknown ${option} "${text}"; choose one of ${allowed.join(', ')}.`);
  return text as T;
}

function datasetName(text: string): DatasetName {
  if (!isDatasetName(text)) throw new UsageError(`Unknown data set "${text}"; choose one of ${datasetNames.join(', ')}.`);
  return text;
}

/** The output path, checked before any work so a run never ends in an unwritable target. */
function outputPath(command: CommandName, text: string | undefined, option = 'out'): string {
  if (!text) throw new UsageError(`${command} needs --${option} FILE, the file to write.`);
  if (existsSync(text) && statSync(text).isDirectory()) throw new UsageError(`--${option} ${text} is a folder; pass a file path.`);
  // The folders above it are made when the file is written; a file among them would fail only after the whole computation.
  for (let parent = dirname(resolve(text)); parent !== dirname(parent); parent = dirname(parent)) {
    if (!existsSync(parent)) continue;
    if (!statSync(parent).isDirectory()) throw new UsageError(`--${option} ${text} cannot be written: ${parent} is a file, not a folder; pass a path in a folder.`);
    break;
  }
  return text;
}

function required(command: CommandName, value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${command} needs ${what}.`);
  return value;
}

/** First K examples, with the size checked against the set. */
function firstExamples(set: ImageSet, count: number | undefined, what: string): ImageSet {
  if (count === undefined) return set;
  if (count > set.count) throw new UsageError(`--subset ${count} is larger than ${what} (${set.count} examples); pass at most ${set.count}.`);
  return subset(set, count);
}

function checkInputs(inputShape: readonly (number | null)[], classes: number, set: ImageSet, dataset: DatasetName, source: string): void {
  const expected = [set.height, set.width, 1];
  if (inputShape.length !== 3 || inputShape.some((size, index) => size !== expected[index])) {
    throw new UsageError(`${source} takes inputs of shape [${inputShape.join(', ')}], but ${dataset} images are [${expected.join(', ')}]; use a model built for this data.`);
  }
  const classCount = datasetInfo(dataset).classNames.length;
  if (classes !== classCount) throw new UsageError(`${source} has ${classes} outputs, but ${dataset} has ${classCount} classes; use a model built for this data.`);
}

interface FitSettings {
  checkpoint: string;
  data: DatasetName | undefined;
  curvature: CurvatureKind;
  fisher: FisherType;
  mcSamples: number | undefined;
  n: number | undefined;
  tau: number | undefined;
  kfacDamping: KfacDamping | undefined;
  subset: number | undefined;
  seed: number;
  out: string;
}

function fitSettings(values: Values): FitSettings {
  const checkpoint = required('fit', values.checkpoint, '--checkpoint DIR (a folder written by `npm run compute -- train`)');
  if (existsSync(checkpoint) && !statSync(checkpoint).isDirectory()) {
    throw new UsageError(`--checkpoint ${checkpoint} is a file, not a checkpoint folder; pass the folder \`npm run compute -- train\` printed (they live under .cache/models/).`);
  }
  const curvature = choice('curvature', required('fit', values.curvature, `--curvature (one of ${curvatureKinds.join(', ')})`), curvatureKinds);
  const fisher = choice('Fisher type', values.fisher ?? 'mc', fisherTypes);
  const mcSamples = values['mc-samples'] === undefined ? undefined : positiveInteger('mc-samples', values['mc-samples']);
  if (mcSamples !== undefined && fisher !== 'mc') throw new UsageError(`--mc-samples applies only to --fisher mc, not ${fisher}; drop it.`);
  const kfacDamping = values['kfac-damping'] === undefined ? undefined : choice('KFAC damping', values['kfac-damping'], kfacDampings);
  if (kfacDamping !== undefined && curvature !== 'kfac') throw new UsageError(`--kfac-damping applies only to --curvature kfac, not ${curvature}; drop it.`);
  return {
    checkpoint,
    data: values.data === undefined ? undefined : datasetName(values.data),
    curvature,
    fisher,
    mcSamples,
    n: values.n === undefined ? undefined : positiveNumber('n', values.n),
    tau: values.tau === undefined ? undefined : positiveNumber('tau', values.tau),
    kfacDamping,
    subset: values.subset === undefined ? undefined : positiveInteger('subset', values.subset),
    seed: seedValue(values.seed),
    out: outputPath('fit', values.out),
  };
}

async function fitCommand(values: Values): Promise<void> {
  const settings = fitSettings(values);
  const backend = await startBackend(values.backend);
  const { model, sidecar } = await loadCheckpoint<{ dataset?: unknown; model?: unknown } | undefined>(settings.checkpoint);
  try {
    const recorded = typeof sidecar.extra?.dataset === 'string' ? sidecar.extra.dataset : undefined;
    const dataset = settings.data ?? (recorded !== undefined && isDatasetName(recorded) ? recorded : undefined);
    if (!dataset) throw new UsageError(`Checkpoint ${settings.checkpoint} records no data set this program knows, so fit needs --data (${datasetNames.join(' or ')}).`);
    if (recorded !== undefined && recorded !== dataset) {
      console.error(`warning: checkpoint ${settings.checkpoint} was trained on ${recorded}, but the posterior is fitted on ${dataset}; continuing, since fitting on other data is allowed.`);
    }
    const split = loadDataset(dataset).train;
    const train = firstExamples(split, settings.subset, `the ${dataset} training split`);
    checkInputs(model.inputs[0].shape.slice(1), model.outputs[0].shape[model.outputs[0].shape.length - 1] ?? 0, train, dataset, `The checkpoint's model`);
    const board = new ProgressBoard();
    const task = `fit ${settings.curvature} on ${train.name}`;
    const started = performance.now();
    const laplace = await fitLaplace(model, imageData(train), {
      curvature: settings.curvature,
      fisher: settings.fisher,
      mcSamples: settings.mcSamples,
      // N is the whole split's size: a subset only thins the estimate of the mean Fisher, not the data it stands for.
      n: settings.n ?? split.count,
      tau: settings.tau ?? 'marglik',
      kfacDamping: settings.kfacDamping,
      seed: settings.seed,
      onProgress: (done, total) => board.update({ task, done, total, unit: 'examples' }),
    });
    board.finish(task);
    try {
      const seconds = (performance.now() - started) / 1000;
      await saveLaplace(laplace, settings.out);
      const layers = laplace.posterior.network.layers.map((layer) => layer.name);
      const fisherText = settings.fisher === 'mc' ? `mc Fisher (${laplace.posterior.curvature.mcSamples} per input)` : `${settings.fisher} Fisher`;
      console.log(
        `${settings.curvature} posterior over ${layers.length} layers (${layers.join(', ')}) from ${train.count} examples of ${train.name}: ` +
          `N = ${formatNumber(laplace.n)}${settings.n === undefined ? ` (the size of the ${dataset} training split; --n sets it)` : ''}, ` +
          `τ = ${formatNumber(laplace.tau)}${settings.tau === undefined ? ' (maximises the marginal likelihood at N; --tau sets it)' : ''}, ${fisherText}, ${seconds.toFixed(1)} s on ${backend.name}; wrote ${settings.out}`,
      );
    } finally {
      laplace.dispose();
    }
  } finally {
    model.dispose();
  }
}

/** Whether a predictive draws samples: weight samples (sampled, linearised) or draws of the logit Gaussian (glm with the mc link). */
function takesSamples(predictive: PredictiveType, link: GlmLink): boolean {
  return predictive === 'sampled' || predictive === 'linearised' || (predictive === 'glm' && link === 'mc');
}

/** The glm link (default probit); --link and --samples are refused where the predictive would ignore them. */
function linkFor(values: Values, predictive: PredictiveType): GlmLink {
  if (values.link !== undefined && predictive !== 'glm') throw new UsageError(`--link applies only to the glm predictive, not ${predictive}; drop it.`);
  const link = choice('link', values.link ?? 'probit', glmLinks);
  if (values.samples !== undefined && !takesSamples(predictive, link)) {
    throw new UsageError(`--samples applies to the sampled and linearised predictives and to glm with --link mc, not ${predictive === 'glm' ? 'glm with the probit link' : predictive}; drop it.`);
  }
  return link;
}

interface TuneSettings {
  posterior: string;
  data: DatasetName | undefined;
  objective: TuneObjective;
  perLayer: boolean;
  n: number | undefined;
  predictive: (typeof tunablePredictives)[number];
  link: GlmLink;
  samples: number;
  difference: FiniteDifference;
  grid: number;
  logN: [number, number];
  logTau: [number, number];
  subset: number | undefined;
  seed: number;
  surface: string | undefined;
  out: string;
}

/** Options of the validation search that mean nothing to the marginal likelihood. */
const searchOnlyOptions: OptionName[] = ['data', 'predictive', 'link', 'samples', 'difference', 'grid', 'log-n', 'subset', 'surface'];

function tuneSettings(values: Values): TuneSettings {
  const posterior = required('tune', values.posterior, '--posterior FILE (written by `npm run laplace -- fit`)');
  const objective = choice('objective', values.objective ?? 'nll', tuneObjectives);
  const out = outputPath('tune', values.out);
  const logTau = values['log-tau'] === undefined ? defaultLogTauRange : range('log-tau', values['log-tau']);
  if (objective === 'marglik') {
    const foreign = searchOnlyOptions.find((option) => values[option] !== undefined);
    if (foreign) throw new UsageError(`--${foreign} applies to the validation search, not to --objective marglik, which reads no validation data; drop it.`);
    if (logTau[0] === logTau[1]) throw new UsageError(`--log-tau must span a range for marglik, got "${values['log-tau']}".`);
  } else {
    if (values['per-layer']) throw new UsageError('--per-layer applies only to --objective marglik; drop it.');
    if (values.n !== undefined) throw new UsageError('--n applies only to --objective marglik (the validation search searches N); use --log-n to set its range.');
  }
  const data = objective === 'marglik' ? undefined : datasetName(required('tune', values.data, `--data (one of ${datasetNames.join(', ')})`));
  if (values.predictive === 'map') throw new UsageError('The map predictive does not depend on N and τ, so there is nothing to tune; use glm, linearised, sampled or probit.');
  const predictive = choice('predictive', values.predictive ?? 'glm', tunablePredictives);
  const link = linkFor(values, predictive);
  if (values.difference !== undefined && predictive !== 'linearised') throw new UsageError(`--difference applies only to the linearised predictive, not ${predictive}; drop it.`);
  const surface = values.surface === undefined ? undefined : outputPath('tune', values.surface, 'surface');
  if (surface !== undefined) {
    if (resolve(surface) === resolve(posterior) || resolve(surface) === resolve(out)) throw new UsageError('--surface must be another file than the posterior files; pass another path.');
  }
  const cached = predictive === 'glm' && link === 'probit';
  return {
    posterior,
    data,
    objective,
    perLayer: values['per-layer'] === true,
    n: values.n === undefined ? undefined : positiveNumber('n', values.n),
    predictive,
    link,
    samples: values.samples === undefined ? (predictive === 'glm' ? defaultLinkSamples : 8) : positiveInteger('samples', values.samples),
    difference: choice('difference', values.difference ?? 'central', finiteDifferences),
    grid: values.grid === undefined ? (cached ? defaultGridSize.cached : defaultGridSize.direct) : positiveInteger('grid', values.grid),
    logN: values['log-n'] === undefined ? defaultLogNRange : range('log-n', values['log-n']),
    logTau,
    subset: values.subset === undefined ? undefined : positiveInteger('subset', values.subset),
    seed: seedValue(values.seed),
    surface,
    out,
  };
}

async function tuneCommand(values: Values): Promise<void> {
  const settings = tuneSettings(values);
  const backend = await startBackend(values.backend);
  const loaded = await loadLaplace(settings.posterior);
  try {
    if (settings.objective === 'marglik') return await tuneByEvidence(loaded, settings, backend.name);
    const structure = loaded.posterior.structure;
    if (settings.predictive === 'probit' && structure !== 'last-layer') {
      throw new UsageError(`The probit predictive needs a last-layer posterior, but ${settings.posterior} holds a ${structure} posterior; use glm, linearised or sampled.`);
    }
    const objective = settings.objective;
    const set = firstExamples(loadDataset(settings.data!).validation, settings.subset, `the ${settings.data} validation split`);
    const network = loaded.posterior.network;
    checkInputs([...network.inputShape], network.classes, set, settings.data!, `The posterior's model`);
    const board = new ProgressBoard();
    const task = `tune ${structure} on ${set.name}`;
    const started = performance.now();
    const { model: tuned, search } = await loaded.tune(imageData(set), objective, {
      method: 'grid',
      gridSize: settings.grid,
      logNRange: settings.logN,
      logTauRange: settings.logTau,
      predictive: settings.predictive,
      link: settings.link,
      samples: settings.samples,
      seed: settings.seed,
      difference: settings.difference,
      onProgress: (done, total) => board.update({ task, done, total, unit: 'steps' }),
    });
    board.finish(task);
    const best = search.best[objective];
    const value = objectiveValue(best, objective);
    if (!Number.isFinite(value)) {
      throw new UsageError(`No grid point gave a finite validation ${objective}: the posterior is too wide for float32 everywhere on the grid; raise --log-n or --log-tau.`);
    }
    const seconds = (performance.now() - started) / 1000;
    const usesSamples = takesSamples(settings.predictive, settings.link);
    if (settings.surface !== undefined) {
      writeJsonArtifact(settings.surface, {
        format: 'laplace-bnn-search/1',
        posterior: basename(settings.posterior),
        structure,
        data: { dataset: settings.data, split: 'validation', set: set.name, count: set.count },
        predictive: {
          type: settings.predictive,
          link: settings.predictive === 'glm' ? settings.link : null,
          samples: usesSamples ? settings.samples : null,
          seed: settings.seed,
          difference: settings.predictive === 'linearised' ? settings.difference : null,
        },
        statistics: search.statistics,
        grid: { size: settings.grid, logN: settings.logN, logTau: settings.logTau },
        points: search.points,
        best: search.best,
        edges: search.edges,
        objective,
      });
    }
    await saveLaplace(tuned, settings.out);
    const predictiveText = settings.predictive === 'glm' ? `glm predictive (${settings.link} link${settings.link === 'mc' ? `, ${settings.samples} draws` : ''})` : `${settings.predictive} predictive${usesSamples ? `, ${settings.samples} samples` : ''}`;
    console.log(
      `${structure} posterior, ${predictiveText}, ${search.points.length} grid points on ${set.count} examples of ${set.name}: ` +
        `validation ${objective} ${value.toFixed(4)} at log₁₀ N = ${formatNumber(best.logN)}, log₁₀ τ = ${formatNumber(best.logTau)} ` +
        `(N = ${formatNumber(tuned.n)}, τ = ${formatNumber(tuned.tau)}; ${seconds.toFixed(1)} s on ${backend.name}); wrote ${settings.out}` +
        (settings.surface === undefined ? '' : ` and ${settings.surface}`),
    );
    const edges = search.edges[objective].map(edgeText);
    if (edges.length > 0) console.error(`note: the chosen point lies on the grid's ${edges.join(' and ')}; a wider range may find a better one.`);
    tuned.dispose();
  } finally {
    loaded.dispose();
  }
}

function edgeText(edge: SearchEdge): string {
  return { 'logN-low': 'smallest log₁₀ N (--log-n)', 'logN-high': 'largest log₁₀ N (--log-n)', 'logTau-low': 'smallest log₁₀ τ (--log-tau)', 'logTau-high': 'largest log₁₀ τ (--log-tau)' }[edge];
}

/** tune --objective marglik: N fixed, τ (one or per layer) at the maximum of the evidence. */
async function tuneByEvidence(loaded: LaplaceModel, settings: TuneSettings, backend: string): Promise<void> {
  const started = performance.now();
  const { model: tuned, optimum } = loaded.tuneMarginalLikelihood({ perLayer: settings.perLayer, n: settings.n ?? loaded.n, range: settings.logTau });
  try {
    await saveLaplace(tuned, settings.out);
    const seconds = (performance.now() - started) / 1000;
    const tauText = Array.isArray(optimum.tau) ? `per-layer τ = ${optimum.tau.map(formatNumber).join(', ')}` : `τ = ${formatNumber(optimum.tau)}`;
    console.log(
      `${loaded.posterior.structure} posterior, marginal likelihood at N = ${formatNumber(optimum.n)}: log evidence ${optimum.logEvidence.toFixed(2)} at ${tauText} ` +
        `(${optimum.evaluations} evaluations, ${seconds.toFixed(2)} s on ${backend}); wrote ${settings.out}`,
    );
    if (optimum.atEdge) console.error(`note: the optimal τ lies on the edge of the searched range (--log-tau ${settings.logTau.join(',')}); a wider range may find a better one.`);
  } finally {
    tuned.dispose();
  }
}

interface PredictSettings {
  posterior: string;
  data: DatasetName;
  split: SplitName;
  predictive: PredictiveType;
  link: GlmLink;
  samples: number | undefined;
  difference: FiniteDifference;
  seed: number;
  n: number | undefined;
  tau: number | undefined;
  kfacDamping: KfacDamping | undefined;
  subset: number | undefined;
  out: string;
}

function predictSettings(values: Values): PredictSettings {
  const posterior = required('predict', values.posterior, '--posterior FILE (written by `npm run laplace -- fit`)');
  const data = datasetName(required('predict', values.data, `--data (one of ${datasetNames.join(', ')})`));
  const predictive = choice('predictive', values.predictive ?? 'glm', predictiveTypes);
  const samples = values.samples === undefined ? undefined : positiveInteger('samples', values.samples);
  const link = linkFor(values, predictive);
  if (values.difference !== undefined && predictive !== 'linearised') {
    throw new UsageError(`--difference applies only to the linearised predictive, not ${predictive}; drop it.`);
  }
  const difference = choice('difference', values.difference ?? 'central', finiteDifferences);
  const out = outputPath('predict', values.out);
  if (resolve(out) === resolve(posterior)) throw new UsageError(`--out is the posterior file itself; pass another path for the predictions.`);
  return {
    posterior,
    data,
    split: choice('split', values.split ?? 'test', splitNames),
    predictive,
    link,
    samples,
    difference,
    seed: seedValue(values.seed),
    n: values.n === undefined ? undefined : positiveNumber('n', values.n),
    tau: values.tau === undefined ? undefined : positiveNumber('tau', values.tau),
    kfacDamping: values['kfac-damping'] === undefined ? undefined : choice('KFAC damping', values['kfac-damping'], kfacDampings),
    subset: values.subset === undefined ? undefined : positiveInteger('subset', values.subset),
    out,
  };
}

async function predictCommand(values: Values): Promise<void> {
  const settings = predictSettings(values);
  const backend = await startBackend(values.backend);
  const loaded = await loadLaplace(settings.posterior);
  let laplace: LaplaceModel = loaded;
  try {
    const structure = laplace.posterior.structure;
    if (settings.predictive === 'probit' && structure !== 'last-layer') {
      throw new UsageError(`The probit predictive needs a last-layer posterior, but ${settings.posterior} holds a ${structure} posterior; use glm (its probit link works for every structure), or fit with --curvature last-layer.`);
    }
    if (settings.kfacDamping !== undefined && structure !== 'kfac') {
      throw new UsageError(`--kfac-damping applies only to kfac posteriors, but ${settings.posterior} holds a ${structure} posterior; drop it.`);
    }
    if (settings.n !== undefined || settings.tau !== undefined || settings.kfacDamping !== undefined) {
      // Shares the curvature and MAP weights with `loaded`, which is disposed below.
      laplace = loaded.withHyperparameters(settings.n ?? loaded.n, settings.tau ?? loaded.tau, settings.kfacDamping);
    }
    const set = firstExamples(loadDataset(settings.data)[settings.split], settings.subset, `the ${settings.data} ${settings.split} split`);
    const network = laplace.posterior.network;
    checkInputs([...network.inputShape], network.classes, set, settings.data, `The posterior's model`);
    const samples = takesSamples(settings.predictive, settings.link) ? (settings.samples ?? (settings.predictive === 'glm' ? defaultLinkSamples : defaultSamples)) : null;
    const board = new ProgressBoard();
    const task = `predict ${set.name} (${settings.predictive})`;
    const started = performance.now();
    const probabilities = await laplace.predict(imageData(set), {
      predictive: settings.predictive,
      link: settings.link,
      samples: samples ?? undefined,
      seed: settings.seed,
      difference: settings.difference,
      onProgress: (done, total) => board.update({ task, done, total, unit: 'examples' }),
    });
    board.finish(task);
    const seconds = (performance.now() - started) / 1000;
    if (!probabilities.every(Number.isFinite)) {
      throw new UsageError(`The ${settings.predictive} predictive gave non-finite probabilities at N = ${formatNumber(laplace.n)}, τ = ${formatNumber(laplace.tau)}, a posterior too wide for float32; increase --tau or lower --n.`);
    }
    const classes = network.classes;
    const metrics = {
      accuracy: accuracy(probabilities, set.labels, classes),
      nll: negativeLogLikelihood(probabilities, set.labels, classes),
      ece: calibration(probabilities, set.labels, classes, { bins: eceBins }).ece,
      eceBins,
    };
    if (settings.predictive !== 'map') {
      // A posterior far wider than the network tolerates scrambles or flattens its predictions; nothing else would say so.
      const mapProbabilities = await laplace.predict(imageData(set), { predictive: 'map' });
      const warning = predictionWarning(laplace, {
        predictive: settings.predictive,
        probabilities,
        mapProbabilities,
        labels: set.labels,
        advice: { tauOption: 'a larger --tau', tuneByValidation: '`npm run laplace -- tune --objective nll`', tuneByEvidence: '`npm run laplace -- tune --objective marglik`' },
      });
      if (warning) console.error(warning);
    }
    const rows = Array.from({ length: set.count }, (_, row) => probabilities.subarray(row * classes, (row + 1) * classes));
    writeJsonArtifact(settings.out, {
      format: 'laplace-bnn-predictions/1',
      data: { dataset: settings.data, split: settings.split, set: set.name, count: set.count, subset: settings.subset ?? null },
      posterior: {
        file: basename(settings.posterior),
        structure,
        n: laplace.n,
        tau: laplace.tau,
        kfacDamping: laplace.posterior.spec.kfacDamping,
        fisher: laplace.posterior.curvature.fisher,
        mcSamples: laplace.posterior.curvature.mcSamples,
        fitCount: laplace.posterior.curvature.count,
      },
      predictive: {
        type: settings.predictive,
        link: settings.predictive === 'glm' ? settings.link : null,
        samples,
        seed: settings.seed,
        difference: settings.predictive === 'linearised' ? settings.difference : null,
      },
      backend: backend.name,
      classes,
      labels: set.labels,
      probabilities: rows,
      probabilitiesLayout: 'array of arrays [examples][classes], one row per example in the order of labels',
      metrics,
    });
    console.log(
      `${set.name}, ${settings.predictive} predictive${settings.predictive === 'glm' ? ` (${settings.link} link${samples === null ? '' : `, ${samples} draws`})` : samples === null ? '' : ` (${samples} samples)`}` +
        // The map predictive is the network itself: N and τ do not enter it.
        `${settings.predictive === 'map' ? ' (the network at its trained weights)' : `, N = ${formatNumber(laplace.n)}, τ = ${formatNumber(laplace.tau)}`}: ` +
        `accuracy ${metrics.accuracy.toFixed(4)}, NLL ${metrics.nll.toFixed(4)}, ECE ${metrics.ece.toFixed(4)} (${seconds.toFixed(1)} s); wrote ${settings.out}`,
    );
  } finally {
    loaded.dispose();
  }
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** Error types whose message is meant for the user: exit code 2 and the message alone. */
const userErrors = ['UsageError', 'DataError', 'BackendError', 'CheckpointError', 'UnsupportedModelError', 'PosteriorFileError', 'PosteriorError', 'LaplaceDataError', 'NotPositiveDefiniteError'];

export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parse(argv);
    const wantsHelp = values.help === true || positionals[0] === 'help';
    const command = positionals[0] === 'help' ? positionals[1] : positionals[0];
    if (command === undefined) {
      if (wantsHelp) {
        console.log(programUsage);
        return 0;
      }
      throw new UsageError('No command given; use fit, tune or predict (see --help).');
    }
    if (!(commandNames as readonly string[]).includes(command)) throw new UsageError(`Unknown command "${command}"; use fit, tune or predict (see --help).`);
    const name = command as CommandName;
    if (wantsHelp) {
      console.log({ fit: fitUsage, tune: tuneUsage, predict: predictUsage }[name]);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}"; run \`npm run laplace -- ${name} --help\` for the usage.`);
    const foreign = (Object.keys(values) as OptionName[]).find((option) => !commandOptions[name].includes(option));
    if (foreign) throw new UsageError(`Option --${foreign} does not apply to ${name}; run \`npm run laplace -- ${name} --help\` for its options.`);
    if (name === 'fit') await fitCommand(values);
    else if (name === 'tune') await tuneCommand(values);
    else await predictCommand(values);
    return 0;
  } catch (error) {
    const failure = error as Error;
    // A progress line may still be on the terminal.
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (userErrors.includes(failure.name)) {
      console.error(`error: ${failure.message}`);
      return 2;
    }
    console.error(failure.stack ?? String(error));
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
