#!/usr/bin/env node
/**
 * tfjs-laplace: the package's command line, on files any project has. A model
 * is a tfjs-layers model.json with its weight files (what `model.save` and
 * tensorflowjs_converter write); data are .npy arrays (inputs [n, ...input
 * shape], integer labels [n] for a classifier, float targets [n] or [n, outputs]
 * for a regression); posteriors are the library's posterior files. The
 * likelihood follows the model's output: a softmax, logits or one sigmoid unit
 * classify, one linear unit regresses, and several linear units are logits
 * unless --likelihood regression (or --targets) says otherwise.
 *
 *   fit      model + training data → posterior file (τ, and a regression's σ, by marginal likelihood unless given)
 *   tune     posterior file → posterior file at a better τ (and σ) (marginal likelihood) or (N, τ) (validation grid)
 *   predict  posterior file + inputs → probabilities, or a regression's mean and variance (.npy or .json), and metrics when labels or targets are given
 *   info     what a posterior file holds
 *
 * The study's own command line (compute/laplace-cli.ts) works on its
 * checkpoints and data sets; this one knows neither. An error a user can cause
 * is one sentence on stderr and exit code 2, and outputs are written
 * atomically at the end, so a failed run leaves nothing behind.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { calibration } from './metrics/calibration.ts';
import { accuracy, negativeLogLikelihood } from './metrics/classification.ts';
import { curvatureKinds, fisherTypes, type CurvatureKind, type FisherType } from './curvature.ts';
import { regressionData, tensorData, type LaplaceData } from './data.ts';
import { loadLaplace, saveLaplace, writeFileAtomic } from './files.ts';
import { likelihoodKinds, type LikelihoodKind } from './likelihoods/index.ts';
import { glmLinks, type GlmLink } from './links.ts';
import { fullParameterLimit, infDefaults, lowrankDefaults, subnetworkDefaults } from './structures/index.ts';
import { fitLaplace, type LaplaceModel } from './model.ts';
import { readNpy, writeNpy, type NpyArray } from './npy.ts';
import { predictionWarning } from './warnings.ts';
import { kfacDampings, type KfacDamping } from './posterior.ts';
import { predictiveTypes, type PredictiveType } from './predictive.ts';
import { objectiveValue, searchObjectives, type SearchEdge } from './search.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

const backends = ['tensorflow', 'wasm', 'cpu'] as const;
type BackendName = (typeof backends)[number];
const backendPackages: Record<BackendName, string> = { tensorflow: '@tensorflow/tfjs-node', wasm: '@tensorflow/tfjs-backend-wasm', cpu: '@tensorflow/tfjs-backend-cpu' };
const tuneObjectives = ['marglik', ...searchObjectives] as const;
const eceBins = 10;

const list = (names: readonly string[]) => names.join(' | ');
const backendHelp = `  --backend NAME        ${list(backends)} (default: the first installed of ${backends.map((name) => backendPackages[name]).join(', ')})`;

const usage = {
  program: `Usage: tfjs-laplace <command> [options]

Commands:
  fit       fit a Laplace posterior around a trained tfjs-layers model (a classifier with --labels,
            a regression with --targets) and write the posterior file
  tune      choose τ by the marginal likelihood (--objective marglik, the default; no data; a regression's
            σ with it), or N and τ on validation data (--objective nll or error+ece), and write the posterior file
  predict   predict inputs with a posterior file and write the class probabilities, or a regression's
            predictive mean and variance
  info      print what a posterior file holds

Run \`tfjs-laplace <command> --help\` for a command's options. Arrays are .npy files (numpy.save).
fit, tune and predict show their progress on a terminal (not when stderr is redirected, nor under CI).
User errors (bad option, missing file, unsupported model, corrupt posterior) exit with code 2.
`,
  fit: `Usage: tfjs-laplace fit --model model.json --inputs X.npy --labels y.npy --curvature KIND --out FILE [options]
       tfjs-laplace fit --model model.json --inputs X.npy --targets y.npy --curvature KIND --out FILE [--sigma S] [options]

The likelihood follows the model's output: a softmax, logits over two or more
units or one sigmoid unit is a classifier (--labels), one linear unit a
regression (--targets, a Gaussian with noise σ); several linear units are
logits unless --likelihood regression or --targets makes them a regression.

Required:
  --model FILE          a tfjs-layers model.json (weights beside it, as model.save and tensorflowjs_converter write them)
  --inputs FILE         .npy inputs, shape [n, ...the model's input shape]
  --labels FILE         classification: .npy integer labels, shape [n], each in 0 … classes − 1
  --targets FILE        regression: .npy float targets, shape [n] (one output) or [n, outputs]
  --curvature KIND      ${list(curvatureKinds)} (full: at most ${fullParameterLimit.toLocaleString('en-US')} parameters;
                        inf: Lee et al. 2020's low-rank EFB plus exact diagonal; subnetwork: full over the
                        largest-variance parameters, the rest at the MAP)
  --out FILE            posterior file to write

Options:
  --fisher TYPE         ${list(fisherTypes)} (default mc: labels drawn from the model's predictive)
  --mc-samples M        label draws per input for the mc Fisher (default 1)
  --n N                 data-term scale N (default n, the number of examples; pass the training-set size when fitting on a subset)
  --tau T               prior precision τ (default: the τ that maximises the marginal likelihood at N)
  --likelihood KIND     ${list(likelihoodKinds)} (default: the model's output's); must agree with the model
  --sigma S             regression: the observation noise σ (default: the σ that maximises the marginal likelihood,
                        together with τ unless --tau is given)
  --prior-mean M        prior mean μ₀ of every weight (default 0): the evidence's prior term becomes τ/2 ‖θ − μ₀‖²
                        (a negative one as --prior-mean=-0.1)
  --temperature T       posterior temperature (default 1): the precision is (N/T)·F + τ·I; T < 1 sharpens, T > 1 widens
  --kfac-damping MODE   ${list(kfacDampings)} (kfac only; default exact)
  --rank K              eigenpairs kept: by lowrank over all parameters (default min(P, ${lowrankDefaults.rank})), by inf per layer
                        (default min(P_l, ${infDefaults.rank})); lowrank and inf only
  --subnetwork-count K  parameters the subnetwork's largest-variance heuristic chooses (subnetwork only;
                        default min(P, ${subnetworkDefaults.count}), at most ${fullParameterLimit.toLocaleString('en-US')})
  --batch-size B        examples per pass (default 128)
  --seed S              seed of the mc Fisher's label draws (default 0)
${backendHelp}
`,
  tune: `Usage: tfjs-laplace tune --posterior FILE --out FILE [--objective marglik] [--per-layer] [--n N] [--log-tau LOW,HIGH]
       tfjs-laplace tune --posterior FILE --out FILE --objective nll|error+ece --inputs X.npy --labels y.npy [options]

With --objective marglik (the default) N stays fixed and τ maximises the
Laplace marginal likelihood, one τ for all layers or one per layer; no data
are read. For a regression posterior the noise σ is tuned with τ. With nll or
error+ece (classification only), a grid of log₁₀ N × log₁₀ τ is scored on the
validation data given, with the GLM predictive and the probit link (one pass
of the network serves every point), and the best point is written.

Required:
  --posterior FILE      posterior file to start from (its curvature is reused, not refitted)
  --out FILE            posterior file to write (may be --posterior itself)

Options:
  --objective NAME      ${list(tuneObjectives)} (default marglik)
  --per-layer           marglik: one τ per layer
  --n N                 marglik: the N held fixed (default the posterior's)
  --log-tau LOW,HIGH    range of log₁₀ τ (default -4,10)
  --log-sigma LOW,HIGH  marglik on a regression posterior: range of log₁₀ σ (default -4,4)
  --inputs, --labels    validation data (.npy), for nll and error+ece
  --log-n LOW,HIGH      grid range of log₁₀ N (default 0,14)
  --grid K              grid points per axis (default 29)
${backendHelp}
`,
  predict: `Usage: tfjs-laplace predict --posterior FILE --inputs X.npy --out FILE [options]

Writes the class probabilities [n, classes]: as float32 .npy when FILE ends in
.npy, otherwise as JSON ({"probabilities": [[...], ...], ...}). For a regression
posterior, writes the GLM predictive's mean f(x) and variance (the linearised
network's functional variance + σ²), each [n, outputs]: with --out F.npy as
F.mean.npy and F.variance.npy, otherwise as JSON ({"mean": ..., "variance": ...}).

Required:
  --posterior FILE      posterior file
  --inputs FILE         .npy inputs, shape [n, ...the model's input shape]
  --out FILE            .npy or .json file to write

Options:
  --labels FILE         .npy integer labels: also print accuracy, NLL and ECE (${eceBins} bins)
  --targets FILE        regression: .npy float targets: also print the RMSE and the predictive's Gaussian NLL
  --predictive TYPE     ${list(predictiveTypes)} (default glm: the linearised network in closed form; regression: glm only)
  --link NAME           the glm predictive's link: ${list(glmLinks)} (default probit)
  --samples T           weight samples (sampled, linearised; default 30) or logit draws (glm with mc; default 1000)
  --seed S              seed of the samples (default 0)
  --batch-size B        examples per pass
${backendHelp}
`,
  info: `Usage: tfjs-laplace info FILE

Prints the structure, N, τ, the Fisher it was fitted with, the input shape,
the classes (or a regression's outputs and σ) and the layers of a posterior file.
${backendHelp}
`,
};

const options = {
  model: { type: 'string' },
  inputs: { type: 'string' },
  labels: { type: 'string' },
  targets: { type: 'string' },
  likelihood: { type: 'string' },
  sigma: { type: 'string' },
  curvature: { type: 'string' },
  out: { type: 'string' },
  fisher: { type: 'string' },
  'mc-samples': { type: 'string' },
  n: { type: 'string' },
  tau: { type: 'string' },
  'prior-mean': { type: 'string' },
  temperature: { type: 'string' },
  'kfac-damping': { type: 'string' },
  rank: { type: 'string' },
  'subnetwork-count': { type: 'string' },
  'batch-size': { type: 'string' },
  seed: { type: 'string' },
  posterior: { type: 'string' },
  objective: { type: 'string' },
  'per-layer': { type: 'boolean' },
  'log-n': { type: 'string' },
  'log-tau': { type: 'string' },
  'log-sigma': { type: 'string' },
  grid: { type: 'string' },
  predictive: { type: 'string' },
  link: { type: 'string' },
  samples: { type: 'string' },
  backend: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
type OptionName = keyof typeof options;
type Values = { [K in OptionName]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string };
type CommandName = Exclude<keyof typeof usage, 'program'>;

const commandOptions: Record<CommandName, readonly OptionName[]> = {
  fit: ['model', 'inputs', 'labels', 'targets', 'likelihood', 'sigma', 'curvature', 'out', 'fisher', 'mc-samples', 'n', 'tau', 'prior-mean', 'temperature', 'kfac-damping', 'rank', 'subnetwork-count', 'batch-size', 'seed', 'backend', 'help'],
  tune: ['posterior', 'out', 'objective', 'per-layer', 'n', 'log-tau', 'log-sigma', 'inputs', 'labels', 'log-n', 'grid', 'backend', 'help'],
  predict: ['posterior', 'inputs', 'labels', 'targets', 'out', 'predictive', 'link', 'samples', 'seed', 'batch-size', 'backend', 'help'],
  info: ['backend', 'help'],
};

const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function numberOption(name: string, text: string | undefined, kind: 'positive' | 'whole' | 'seed' | 'finite'): number | undefined {
  if (text === undefined) return undefined;
  const value = decimal.test(text.trim()) ? Number(text) : NaN;
  if (kind === 'finite' && !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${text}".`);
  if (kind === 'positive' && !(Number.isFinite(value) && value > 0)) throw new UsageError(`--${name} must be a positive number, got "${text}".`);
  if (kind === 'whole' && !(Number.isSafeInteger(value) && value > 0)) throw new UsageError(`--${name} must be a positive whole number, got "${text}".`);
  if (kind === 'seed' && !(Number.isInteger(value) && value >= 0 && value < 2 ** 32)) throw new UsageError(`--${name} must be a whole number from 0 to ${2 ** 32 - 1}, got "${text}".`);
  return value;
}

function rangeOption(name: string, text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((part) => (decimal.test(part.trim()) ? Number(part) : NaN));
  if (values.length !== 2 || !values.every(Number.isFinite) || values[0] > values[1]) throw new UsageError(`--${name} must be LOW,HIGH with LOW ≤ HIGH, got "${text}".`);
  return [values[0], values[1]];
}

function choice<T extends string>(name: string, text: string | undefined, allowed: readonly T[], fallback?: T): T {
  if (text === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required (one of ${allowed.join(', ')}).`);
    return fallback;
  }
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`Unknown --${name} "${text}"; choose one of ${allowed.join(', ')}.`);
  return text as T;
}

function required(command: CommandName, value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${command} needs ${what}.`);
  return value;
}

/** An output path, checked before any work so that a long run never ends at an unwritable target. */
function outputPath(command: CommandName, value: string | undefined, what: string): string {
  const path = required(command, value, what);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--out ${path} is a folder; pass a file path.`);
  // Missing folders above it are made when it is written; a file among them would fail only at the end.
  for (let parent = dirname(resolve(path)); parent !== dirname(parent); parent = dirname(parent)) {
    if (!existsSync(parent)) continue;
    if (!statSync(parent).isDirectory()) throw new UsageError(`--out ${path} cannot be written: ${parent} is a file, not a folder; pass a path in a folder.`);
    break;
  }
  return path;
}

/**
 * One progress line on stderr while long work runs (what, how far, time left), on a
 * terminal only: quiet when stderr is a pipe or a file, or under CI.
 */
class Progress {
  private readonly enabled = process.stderr.isTTY === true && !process.env.CI;
  private readonly started = performance.now();
  private shown = 0;

  constructor(private readonly task: string) {}

  update = (done: number, total: number): void => {
    const now = performance.now();
    if (!this.enabled || (now - this.shown < 100 && done < total)) return;
    this.shown = now;
    const elapsed = (now - this.started) / 1000;
    const left = done > 0 ? (elapsed * (total - done)) / done : NaN;
    const leftText = Number.isFinite(left) && done < total ? `, ${left < 60 ? `${Math.ceil(left)} s` : `${Math.ceil(left / 60)} min`} left` : '';
    process.stderr.write(`\r\x1b[K${this.task}: ${done} of ${total} (${Math.floor((100 * done) / Math.max(total, 1))}%)${leftText}`);
  };

  finish(): void {
    if (this.enabled && this.shown > 0) process.stderr.write('\r\x1b[K');
  }
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch {
    throw new UsageError(`${what} ${path} cannot be read; check the path.`);
  }
}

/** The first backend package that loads (or the one asked for), registered and set. */
async function startBackend(name: string | undefined): Promise<BackendName> {
  const wanted = name === undefined ? backends : [choice('backend', name, backends)];
  for (const backend of wanted) {
    try {
      await import(backendPackages[backend]);
    } catch {
      if (name !== undefined) throw new UsageError(`The ${backend} backend needs the package ${backendPackages[backend]}; install it (npm install ${backendPackages[backend]}) or choose another --backend.`);
      continue;
    }
    if (await tf.setBackend(backend)) return backend;
    if (name !== undefined) throw new UsageError(`The ${backend} backend is installed but did not start; choose another --backend.`);
  }
  throw new UsageError(`No TensorFlow.js backend is installed; install one of ${backends.map((backend) => backendPackages[backend]).join(', ')}.`);
}

/** A tfjs-layers model from model.json and the weight files its manifest names (paths relative to it). */
async function loadModel(path: string): Promise<tfl.LayersModel> {
  let json: { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(new TextDecoder().decode(readBytes(path, 'Model file')));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Model file ${path} is not JSON; pass the model.json of a tfjs-layers model.`);
  }
  if (typeof json !== 'object' || json === null || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new UsageError(`Model file ${path} has no modelTopology and weightsManifest; pass the model.json of a tfjs-layers model (a graph model cannot be used).`);
  }
  const parts = json.weightsManifest.flatMap((group) => group.paths.map((file) => readBytes(resolve(dirname(path), file), `Weight file of ${path}`)));
  const weightData = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  parts.reduce((at, part) => (weightData.set(part, at), at + part.length), 0);
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'], weightSpecs, weightData: weightData.buffer }));
  } catch (error) {
    throw new UsageError(`Model file ${path} does not load as a tfjs-layers model (${(error as Error).message.replace(/\.$/, '')}); check it and its weight files.`);
  }
}

interface Arrays {
  data: LaplaceData;
  inputs: tf.Tensor;
  count: number;
}

/** The inputs, checked against the model's input shape. */
function readInputs(inputsPath: string, inputShape: readonly number[]): NpyArray {
  const inputs = readNpy(readBytes(inputsPath, 'Inputs file'), inputsPath);
  const expected = [inputs.shape[0], ...inputShape];
  if (inputs.shape.length !== expected.length || inputs.shape.some((size, index) => size !== expected[index])) {
    throw new UsageError(`${inputsPath} has shape [${inputs.shape.join(', ')}], but the model takes [n, ${inputShape.join(', ')}]; reshape the inputs.`);
  }
  return inputs;
}

/** Inputs (and labels, if given) as Laplace data, checked against the model's input shape and classes. */
function readData(inputsPath: string, labelsPath: string | undefined, inputShape: readonly number[], classes: number): Arrays & { labels: Int32Array | null } {
  const inputs = readInputs(inputsPath, inputShape);
  let labels: Int32Array | null = null;
  if (labelsPath !== undefined) {
    const read = readNpy(readBytes(labelsPath, 'Labels file'), labelsPath);
    if (read.shape.length !== 1 || read.shape[0] !== inputs.shape[0]) {
      throw new UsageError(`${labelsPath} has shape [${read.shape.join(', ')}], but ${inputsPath} has ${inputs.shape[0]} examples; pass one label per example, shape [${inputs.shape[0]}].`);
    }
    const bad = read.values.findIndex((value) => !Number.isInteger(value) || value < 0 || value >= classes);
    if (bad >= 0) throw new UsageError(`${labelsPath} holds ${read.values[bad]} at index ${bad}, but labels must be whole numbers from 0 to ${classes - 1} (the model has ${classes} outputs).`);
    labels = Int32Array.from(read.values);
  }
  const tensor = tf.tensor(Float32Array.from(inputs.values), inputs.shape);
  // Labels are unused where none were given (predict without --labels); zeros keep the data's shape.
  const data = tensorData(tensor, labels ?? new Int32Array(inputs.shape[0]));
  return { data, inputs: tensor, count: inputs.shape[0], labels };
}

/**
 * A regression's inputs and float targets (if given) as Laplace data: the targets [n] (one output)
 * or [n, outputs], floats (integers are a classifier's labels) and finite.
 */
function readRegressionData(inputsPath: string, targetsPath: string | undefined, inputShape: readonly number[], outputs: number): Arrays & { targets: Float64Array | null } {
  const inputs = readInputs(inputsPath, inputShape);
  const count = inputs.shape[0];
  let targets: Float64Array | null = null;
  if (targetsPath !== undefined) {
    const read = readNpy(readBytes(targetsPath, 'Targets file'), targetsPath);
    if (!read.dtype.startsWith('<f')) {
      throw new UsageError(`${targetsPath} holds ${read.dtype === '|b1' ? 'booleans' : 'integers'} (${read.dtype}), a classifier's labels, but the model is a regression; save its targets as floats (in numpy: y.astype('float32')).`);
    }
    const shapes = outputs === 1 ? [[count], [count, 1]] : [[count, outputs]];
    if (!shapes.some((shape) => shape.length === read.shape.length && shape.every((size, index) => size === read.shape[index]))) {
      const wanted = shapes.map((shape) => `[${shape.join(', ')}]`).join(' or ');
      throw new UsageError(`${targetsPath} has shape [${read.shape.join(', ')}], but ${inputsPath} has ${count} examples and the model ${outputs} output${outputs === 1 ? '' : 's'}; pass targets of shape ${wanted}.`);
    }
    const bad = read.values.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) throw new UsageError(`${targetsPath} holds ${read.values[bad]} at index ${bad}, but targets must be finite numbers.`);
    targets = read.values;
  }
  const tensor = tf.tensor(Float32Array.from(inputs.values), inputs.shape);
  // Targets are unused where none were given (predict without --targets); zeros keep the data's shape.
  const data = regressionData(tensor, targets ?? new Float64Array(count * outputs));
  return { data, inputs: tensor, count, targets };
}

/** The model's output layer as the likelihood sees it: its units and the activation it ends in. */
function modelOutput(model: tfl.LayersModel): { units: number; activation: string; layerName: string } {
  const layer = model.outputs[0].sourceLayer as tfl.layers.Layer;
  const shape = model.outputs[0].shape;
  return { units: shape[shape.length - 1] ?? 0, activation: String((layer.getConfig() as { activation?: unknown }).activation ?? 'linear'), layerName: layer.name };
}

/**
 * The likelihood of a fit: what the model's output allows (a softmax or a sigmoid classifies, one
 * linear unit regresses, several linear units may be either), narrowed by --likelihood, which must
 * agree with the model, and by the kind of data given (--labels or --targets), which must agree with both.
 */
function chooseLikelihood(model: tfl.LayersModel, asked: LikelihoodKind | undefined, given: 'labels' | 'targets'): LikelihoodKind {
  const { units, activation, layerName } = modelOutput(model);
  const ending = activation === 'linear' ? (units === 1 ? 'one linear unit' : `${units} linear units`) : `a ${activation} over ${units} unit${units === 1 ? '' : 's'}`;
  const allowed: LikelihoodKind[] = activation !== 'linear' ? ['classification'] : units === 1 ? ['regression'] : ['classification', 'regression'];
  if (asked !== undefined && !allowed.includes(asked)) {
    throw new UsageError(
      asked === 'regression'
        ? `--likelihood regression does not agree with the model: its output layer ${layerName} ends in ${ending}, a classifier's output, and a regression needs linear outputs.`
        : `--likelihood classification does not agree with the model: its output layer ${layerName} ends in ${ending}, a regression's output, and a classifier needs a softmax, logits over two or more units or one sigmoid unit.`,
    );
  }
  const kind = asked ?? (allowed.length === 1 ? allowed[0] : given === 'targets' ? 'regression' : 'classification');
  if (kind === 'regression' && given === 'labels') throw new UsageError(`The model is a regression (its output layer ${layerName} ends in ${ending}); pass its float targets as --targets FILE, not --labels.`);
  if (kind === 'classification' && given === 'targets') {
    throw new UsageError(`The model is a classifier (its output layer ${layerName} ends in ${ending}${allowed.length === 2 ? ', read as logits' : ''}); pass its integer labels as --labels FILE, not --targets${allowed.length === 2 ? ' (or --likelihood regression for a regression)' : ''}.`);
  }
  return kind;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

function tauText(laplace: LaplaceModel): string {
  const { layerTau, parameterTau, priorMean, temperature } = laplace.posterior.spec;
  const tau = parameterTau ? `per-parameter τ (geometric mean ${formatNumber(laplace.tau)})` : layerTau ? `per-layer τ = ${layerTau.map(formatNumber).join(', ')}` : `τ = ${formatNumber(laplace.tau)}`;
  // Only what was set, so a default posterior's line reads as before.
  const mean = priorMean === undefined ? '' : typeof priorMean === 'number' ? `, prior mean ${formatNumber(priorMean)}` : ', a per-parameter prior mean';
  return `${tau}${mean}${temperature === undefined ? '' : `, temperature ${formatNumber(temperature)}`}`;
}

async function fitCommand(values: Values): Promise<void> {
  const modelPath = required('fit', values.model, '--model FILE (a tfjs-layers model.json)');
  const inputsPath = required('fit', values.inputs, '--inputs FILE (.npy)');
  if (values.labels !== undefined && values.targets !== undefined) throw new UsageError('Pass either --labels (a classifier\'s integer labels) or --targets (a regression\'s float targets), not both.');
  const labelsPath = values.labels ?? values.targets;
  if (labelsPath === undefined) throw new UsageError('fit needs --labels FILE (a classifier\'s integer labels, .npy) or --targets FILE (a regression\'s float targets, .npy).');
  const given = values.targets !== undefined ? 'targets' : 'labels';
  const askedLikelihood = values.likelihood === undefined ? undefined : choice<LikelihoodKind>('likelihood', values.likelihood, likelihoodKinds);
  const sigma = numberOption('sigma', values.sigma, 'positive');
  if (sigma !== undefined && (given === 'labels' || askedLikelihood === 'classification')) throw new UsageError('--sigma is the observation noise of a regression, and this fit is a classification; drop it.');
  const curvature: CurvatureKind = choice('curvature', values.curvature, curvatureKinds);
  const out = outputPath('fit', values.out, '--out FILE, the posterior file to write');
  const fisher: FisherType = choice('fisher', values.fisher, fisherTypes, 'mc');
  const mcSamples = numberOption('mc-samples', values['mc-samples'], 'whole');
  if (mcSamples !== undefined && fisher !== 'mc') throw new UsageError(`--mc-samples applies only to --fisher mc, not ${fisher}; drop it.`);
  const kfacDamping = values['kfac-damping'] === undefined ? undefined : choice<KfacDamping>('kfac-damping', values['kfac-damping'], kfacDampings);
  if (kfacDamping !== undefined && curvature !== 'kfac') throw new UsageError(`--kfac-damping applies only to --curvature kfac, not ${curvature}; drop it.`);
  const rank = numberOption('rank', values.rank, 'whole');
  if (rank !== undefined && curvature !== 'lowrank' && curvature !== 'inf') throw new UsageError(`--rank applies only to --curvature lowrank or inf, not ${curvature}; drop it.`);
  const subnetworkCount = numberOption('subnetwork-count', values['subnetwork-count'], 'whole');
  if (subnetworkCount !== undefined && curvature !== 'subnetwork') throw new UsageError(`--subnetwork-count applies only to --curvature subnetwork, not ${curvature}; drop it.`);
  const n = numberOption('n', values.n, 'positive');
  const tau = numberOption('tau', values.tau, 'positive');
  const priorMean = numberOption('prior-mean', values['prior-mean'], 'finite');
  const temperature = numberOption('temperature', values.temperature, 'positive');
  const batchSize = numberOption('batch-size', values['batch-size'], 'whole');
  const seed = numberOption('seed', values.seed, 'seed');
  const backend = await startBackend(values.backend);
  const model = await loadModel(modelPath);
  let inputs: tf.Tensor | undefined;
  try {
    const inputShape = (model.inputs[0].shape as (number | null)[]).slice(1) as number[];
    const { units, activation } = modelOutput(model);
    const likelihood = chooseLikelihood(model, askedLikelihood, given);
    const regression = likelihood === 'regression';
    if (sigma !== undefined && !regression) throw new UsageError('--sigma is the observation noise of a regression, and this model is a classifier; drop it.');
    if (regression && fisher === 'empirical') throw new UsageError('The empirical Fisher is for classification only; use --fisher mc or exact for a regression.');
    // One sigmoid unit is a binary classifier: labels 0 and 1.
    const read = regression ? readRegressionData(inputsPath, labelsPath, inputShape, units) : readData(inputsPath, labelsPath, inputShape, units === 1 && activation === 'sigmoid' ? 2 : units);
    inputs = read.inputs;
    const { data, count } = read;
    const started = performance.now();
    const progress = new Progress(`fit ${curvature} on ${count} examples`);
    const laplace = await fitLaplace(model, data, {
      curvature,
      fisher,
      mcSamples,
      n,
      tau: tau ?? 'marglik',
      // Only for a regression, so a classifier's options are what they were.
      ...(regression ? { likelihood, sigma: sigma ?? 'marglik' } : {}),
      priorMean,
      temperature,
      kfacDamping,
      ...(curvature === 'inf' ? { infRank: rank } : { rank }),
      subnetworkCount,
      batchSize,
      seed,
      onProgress: progress.update,
    });
    progress.finish();
    await saveLaplace(laplace, out);
    const seconds = (performance.now() - started) / 1000;
    const tauSource = tau === undefined ? 'marginal likelihood' : '--tau';
    const hyperparameters = regression
      ? `${tauText(laplace)} (${tauSource}), σ = ${formatNumber(laplace.sigma!)} (${sigma === undefined ? 'marginal likelihood' : '--sigma'})`
      : `${tauText(laplace)} (${tauSource})`;
    console.log(
      `${curvature} posterior of ${laplace.posterior.network.layers.length} layers on ${count} examples (${fisher} Fisher${regression ? `, regression with ${units} output${units === 1 ? '' : 's'}` : ''}): ` +
        `N = ${formatNumber(laplace.n)} (${n === undefined ? 'the examples' : '--n'}), ${hyperparameters}; ` +
        `${seconds.toFixed(1)} s on ${backend}; wrote ${out}`,
    );
    laplace.dispose();
  } finally {
    inputs?.dispose();
    model.dispose();
  }
}

function edgeText(edge: SearchEdge): string {
  return { 'logN-low': 'smallest log₁₀ N', 'logN-high': 'largest log₁₀ N', 'logTau-low': 'smallest log₁₀ τ', 'logTau-high': 'largest log₁₀ τ' }[edge];
}

async function tuneCommand(values: Values): Promise<void> {
  const posteriorPath = required('tune', values.posterior, '--posterior FILE');
  const out = outputPath('tune', values.out, '--out FILE, the posterior file to write');
  const objective = choice('objective', values.objective, tuneObjectives, 'marglik');
  const logTau = rangeOption('log-tau', values['log-tau']);
  if (objective === 'marglik') {
    for (const option of ['inputs', 'labels', 'log-n', 'grid'] as const) {
      if (values[option] !== undefined) throw new UsageError(`--${option} applies only to the validation objectives (nll, error+ece), not marglik; drop it.`);
    }
  } else {
    for (const option of ['per-layer', 'n', 'log-sigma'] as const) {
      if (values[option] !== undefined) throw new UsageError(`--${option} applies only to --objective marglik; drop it.`);
    }
  }
  const n = numberOption('n', values.n, 'positive');
  const logN = rangeOption('log-n', values['log-n']);
  const logSigma = rangeOption('log-sigma', values['log-sigma']);
  if (logSigma !== undefined && !(logSigma[0] < logSigma[1])) throw new UsageError(`--log-sigma must be LOW,HIGH with LOW < HIGH, got "${values['log-sigma']}".`);
  const grid = numberOption('grid', values.grid, 'whole');
  const inputsPath = objective === 'marglik' ? undefined : required('tune', values.inputs, `--inputs FILE (validation inputs) for --objective ${objective}`);
  const labelsPath = objective === 'marglik' ? undefined : required('tune', values.labels, `--labels FILE (validation labels) for --objective ${objective}`);
  const backend = await startBackend(values.backend);
  const loaded = await loadLaplace(posteriorPath);
  try {
    const regression = loaded.posterior.likelihood.kind === 'regression';
    if (regression && objective !== 'marglik') {
      throw new UsageError(`${posteriorPath} holds a regression posterior, and the validation objectives (nll, error+ece) score classifiers; use --objective marglik, which tunes σ and τ together.`);
    }
    if (!regression && logSigma !== undefined) throw new UsageError(`--log-sigma is the range of a regression's noise σ, and ${posteriorPath} holds a classifier's posterior; drop it.`);
    if (objective === 'marglik') {
      const { model: tuned, optimum } = loaded.tuneMarginalLikelihood({ perLayer: values['per-layer'] === true, n, range: logTau, ...(regression ? { optimizeSigma: true, sigmaRange: logSigma } : {}) });
      await saveLaplace(tuned, out);
      console.log(
        `${loaded.posterior.structure} posterior${regression ? ' of a regression' : ''}, marginal likelihood at N = ${formatNumber(optimum.n)}: ` +
          `log evidence ${optimum.logEvidence.toFixed(2)} at ${tauText(tuned)}${regression ? `, σ = ${formatNumber(tuned.sigma!)}` : ''} (on ${backend}); wrote ${out}`,
      );
      if (optimum.edges.some((edge) => edge !== null)) console.error('note: the optimal τ lies on the edge of the searched range; a wider --log-tau may find a better one.');
      if (optimum.sigmaEdge) console.error('note: the optimal σ lies on the edge of the searched range; a wider --log-sigma may find a better one.');
      tuned.dispose();
      return;
    }
    const network = loaded.posterior.network;
    const { data, inputs } = readData(inputsPath!, labelsPath, network.inputShape, loaded.posterior.likelihood.predictionWidth);
    try {
      const progress = new Progress(`tune ${loaded.posterior.structure} (${objective})`);
      const { model: tuned, search } = await loaded.tune(data, objective, { method: 'grid', gridSize: grid, logNRange: logN, logTauRange: logTau, onProgress: progress.update });
      progress.finish();
      await saveLaplace(tuned, out);
      const best = search.best[objective];
      console.log(
        `${loaded.posterior.structure} posterior, ${search.points.length} grid points: validation ${objective} ${objectiveValue(best, objective).toFixed(4)} ` +
          `at N = ${formatNumber(tuned.n)}, τ = ${formatNumber(tuned.tau)} (on ${backend}); wrote ${out}`,
      );
      const edges = search.edges[objective].map(edgeText);
      if (edges.length > 0) console.error(`note: the chosen point lies on the grid's ${edges.join(' and ')}; a wider range may find a better one.`);
      tuned.dispose();
    } finally {
      inputs.dispose();
    }
  } finally {
    loaded.dispose();
  }
}

async function predictCommand(values: Values): Promise<void> {
  const posteriorPath = required('predict', values.posterior, '--posterior FILE');
  const inputsPath = required('predict', values.inputs, '--inputs FILE (.npy)');
  const out = outputPath('predict', values.out, '--out FILE (.npy or .json)');
  if (resolve(out) === resolve(posteriorPath)) throw new UsageError('--out is the posterior file itself; pass another path for the probabilities.');
  const predictive: PredictiveType = choice('predictive', values.predictive, predictiveTypes, 'glm');
  const link: GlmLink = choice('link', values.link, glmLinks, 'probit');
  if (values.link !== undefined && predictive !== 'glm') throw new UsageError(`--link applies only to the glm predictive, not ${predictive}; drop it.`);
  const samples = numberOption('samples', values.samples, 'whole');
  const seed = numberOption('seed', values.seed, 'seed');
  const batchSize = numberOption('batch-size', values['batch-size'], 'whole');
  if (values.labels !== undefined && values.targets !== undefined) throw new UsageError('Pass either --labels (a classifier\'s integer labels) or --targets (a regression\'s float targets), not both.');
  const backend = await startBackend(values.backend);
  const laplace = await loadLaplace(posteriorPath);
  try {
    if (laplace.posterior.likelihood.kind === 'regression') {
      await predictRegressionCommand(values, laplace, { posteriorPath, inputsPath, out, batchSize, backend });
      return;
    }
    if (values.targets !== undefined) throw new UsageError(`${posteriorPath} holds a classifier's posterior; pass its integer labels as --labels FILE, not --targets.`);
    if (predictive === 'probit' && laplace.posterior.structure !== 'last-layer') {
      throw new UsageError(`The probit predictive needs a last-layer posterior, but ${posteriorPath} holds a ${laplace.posterior.structure} one; use glm (its probit link works for every structure).`);
    }
    const network = laplace.posterior.network;
    const { data, inputs, count, labels } = readData(inputsPath, values.labels, network.inputShape, laplace.posterior.likelihood.predictionWidth);
    try {
      const started = performance.now();
      const progress = new Progress(`predict ${count} examples (${predictive})`);
      const probabilities = await laplace.predict(data, { predictive, link, samples, seed, batchSize, onProgress: progress.update });
      progress.finish();
      const seconds = (performance.now() - started) / 1000;
      const classes = laplace.posterior.likelihood.predictionWidth;
      const metrics = labels
        ? { accuracy: accuracy(probabilities, labels, classes), nll: negativeLogLikelihood(probabilities, labels, classes), ece: calibration(probabilities, labels, classes, { bins: eceBins }).ece }
        : null;
      if (out.endsWith('.npy')) writeFileAtomic(out, writeNpy(probabilities, [count, classes]));
      else {
        const rows = Array.from({ length: count }, (_, row) => Array.from(probabilities.subarray(row * classes, (row + 1) * classes)));
        const json = { posterior: posteriorPath, structure: laplace.posterior.structure, n: laplace.n, tau: laplace.tau, predictive, link: predictive === 'glm' ? link : null, classes, probabilities: rows, metrics };
        writeFileAtomic(out, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
      }
      if (predictive !== 'map') {
        const mapProbabilities = await laplace.predict(data, { predictive: 'map', batchSize });
        const warning = predictionWarning(laplace, {
          predictive,
          probabilities,
          mapProbabilities,
          labels,
          advice: { tauOption: 'a larger τ (fit --tau)', tuneByValidation: 'tfjs-laplace tune --objective nll --inputs … --labels …', tuneByEvidence: 'tfjs-laplace tune --objective marglik' },
        });
        if (warning) console.error(warning);
      }
      const metricsText = metrics ? `: accuracy ${metrics.accuracy.toFixed(4)}, NLL ${metrics.nll.toFixed(4)}, ECE ${metrics.ece.toFixed(4)}` : '';
      console.log(`${count} examples, ${predictive} predictive${predictive === 'glm' ? ` (${link} link)` : ''}${metricsText} (${seconds.toFixed(1)} s on ${backend}); wrote ${out}`);
    } finally {
      inputs.dispose();
    }
  } finally {
    laplace.dispose();
  }
}

/** The two files a regression's prediction goes to: F.mean.npy and F.variance.npy for --out F.npy. */
function regressionOutputs(out: string): { mean: string; variance: string } | null {
  if (!out.endsWith('.npy')) return null;
  const stem = out.slice(0, -'.npy'.length);
  return { mean: `${stem}.mean.npy`, variance: `${stem}.variance.npy` };
}

/**
 * predict for a regression posterior: the GLM predictive's mean f(x) and variance (functional
 * variance diag(J Σ Jᵀ) + σ²), each [n, outputs], as two .npy files or one JSON; with --targets,
 * the RMSE of the mean and the mean Gaussian NLL of the predictive per target value.
 */
async function predictRegressionCommand(
  values: Values,
  laplace: LaplaceModel,
  context: { posteriorPath: string; inputsPath: string; out: string; batchSize: number | undefined; backend: BackendName },
): Promise<void> {
  const { posteriorPath, inputsPath, out, batchSize, backend } = context;
  if (values.labels !== undefined) throw new UsageError(`${posteriorPath} holds a regression posterior; pass its float targets as --targets FILE, not --labels.`);
  if (values.predictive !== undefined && values.predictive !== 'glm') throw new UsageError(`A regression posterior predicts with the GLM predictive (mean and variance), not ${values.predictive}; drop --predictive.`);
  for (const option of ['link', 'samples', 'seed'] as const) {
    if (values[option] !== undefined) throw new UsageError(`--${option} applies only to a classifier's predictive; a regression's GLM predictive is Gaussian in closed form, so drop it.`);
  }
  const files = regressionOutputs(out);
  for (const path of files ? [files.mean, files.variance] : []) {
    if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${path}, where --out ${out} puts the ${path === files!.mean ? 'mean' : 'variance'}, is a folder; pass another --out.`);
    if (resolve(path) === resolve(posteriorPath)) throw new UsageError(`${path}, where --out ${out} puts the ${path === files!.mean ? 'mean' : 'variance'}, is the posterior file itself; pass another --out.`);
  }
  const outputs = laplace.posterior.likelihood.outputs;
  const sigma = laplace.sigma!;
  const { data, inputs, count, targets } = readRegressionData(inputsPath, values.targets, laplace.posterior.network.inputShape, outputs);
  try {
    const started = performance.now();
    const progress = new Progress(`predict ${count} examples (glm)`);
    const { mean, variance } = await laplace.predictRegression(data, { batchSize, onProgress: progress.update });
    progress.finish();
    const seconds = (performance.now() - started) / 1000;
    let metrics: { rmse: number; nll: number } | null = null;
    if (targets) {
      let squares = 0;
      let nll = 0;
      for (let i = 0; i < mean.length; i++) {
        const error = targets[i] - mean[i];
        squares += error * error;
        nll += 0.5 * Math.log(2 * Math.PI * variance[i]) + (error * error) / (2 * variance[i]);
      }
      metrics = { rmse: Math.sqrt(squares / mean.length), nll: nll / mean.length };
    }
    let wrote: string;
    if (files) {
      writeFileAtomic(files.mean, writeNpy(mean, [count, outputs]));
      writeFileAtomic(files.variance, writeNpy(variance, [count, outputs]));
      wrote = `wrote the mean to ${files.mean} and the variance to ${files.variance}`;
    } else {
      const rows = (values: Float32Array) => Array.from({ length: count }, (_, row) => Array.from(values.subarray(row * outputs, (row + 1) * outputs)));
      const json = { posterior: posteriorPath, structure: laplace.posterior.structure, likelihood: 'regression', n: laplace.n, tau: laplace.tau, sigma, predictive: 'glm', outputs, mean: rows(mean), variance: rows(variance), metrics };
      writeFileAtomic(out, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
      wrote = `wrote the mean and the variance to ${out}`;
    }
    const metricsText = metrics ? `: RMSE ${metrics.rmse.toFixed(4)}, NLL ${metrics.nll.toFixed(4)}` : '';
    console.log(
      `${count} examples, glm predictive of a regression (mean, and variance = functional variance + σ², σ = ${formatNumber(sigma)})${metricsText} ` +
        `(${seconds.toFixed(1)} s on ${backend}); ${wrote}`,
    );
  } finally {
    inputs.dispose();
  }
}

async function infoCommand(values: Values, file: string | undefined): Promise<void> {
  if (file === undefined) throw new UsageError('info needs the posterior file to describe: tfjs-laplace info FILE.');
  await startBackend(values.backend);
  const laplace = await loadLaplace(file);
  try {
    const { posterior } = laplace;
    const fit = posterior.curvature;
    const network = posterior.network;
    console.log(`${posterior.structure} posterior: N = ${formatNumber(laplace.n)}, ${tauText(laplace)}${posterior.structure === 'kfac' ? `, ${posterior.spec.kfacDamping} damping` : ''}`);
    if (fit.lowrank) console.log(`lowrank: the top ${fit.lowrank.values.length} eigenpairs of the Fisher of all ${fit.lowrank.vectors.rows} parameters`);
    if (fit.inf) console.log(`inf: per layer the top ${fit.inf.map((factors) => factors.values.length).join(', ')} EFB eigenpairs plus the diagonal correction`);
    if (fit.subnetwork) console.log(`subnetwork: a full covariance over ${fit.subnetwork.indices.length} of the ${network.totalParameters} parameters, the rest at the MAP`);
    console.log(`fitted on ${fit.count} examples, ${fit.fisher} Fisher${fit.fisher === 'mc' ? ` (${fit.mcSamples} draw${fit.mcSamples === 1 ? '' : 's'} per input)` : ''}`);
    const outputs = posterior.likelihood.outputs;
    console.log(
      posterior.sigma === undefined
        ? `input shape [${network.inputShape.join(', ')}], ${network.classes} classes`
        : `input shape [${network.inputShape.join(', ')}], regression with ${outputs} output${outputs === 1 ? '' : 's'}, noise σ = ${formatNumber(posterior.sigma)}`,
    );
    for (const layer of network.layers) {
      console.log(`  ${layer.name}: ${layer.kind}, kernel [${layer.kernelShape.join(', ')}]${layer.hasBias ? ' + bias' : ''}, ${layer.activation}`);
    }
  } finally {
    laplace.dispose();
  }
}

/** Error types whose message is meant for the user: exit code 2 and the message alone. */
const userErrors = ['UsageError', 'NpyError', 'UnsupportedModelError', 'PosteriorFileError', 'PosteriorError', 'PriorPrecisionError', 'LaplaceDataError', 'NotPositiveDefiniteError'];

export async function main(argv: string[]): Promise<number> {
  try {
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof parsed;
    } catch (error) {
      // node's parser explains a value that starts with a dash over three lines; one sentence says the same.
      const dashed = /^Option '(--[\w-]+)' argument is ambiguous/.exec((error as Error).message);
      if (dashed) throw new UsageError(`${dashed[1]} takes a value that starts with a dash only as ${dashed[1]}=VALUE (e.g. ${dashed[1]}=-0.1).`);
      throw new UsageError(`${(error as Error).message.replace(/\.$/, '')}; run with --help to see the options.`);
    }
    const { values, positionals } = parsed;
    const command = positionals[0];
    if (command === undefined) {
      if (values.help) {
        console.log(usage.program);
        return 0;
      }
      throw new UsageError('No command given; use fit, tune, predict or info (see --help).');
    }
    if (!(command in commandOptions)) throw new UsageError(`Unknown command "${command}"; use fit, tune, predict or info (see --help).`);
    const name = command as CommandName;
    if (values.help) {
      console.log(usage[name]);
      return 0;
    }
    const foreign = (Object.keys(values) as OptionName[]).find((option) => !commandOptions[name].includes(option));
    if (foreign) throw new UsageError(`Option --${foreign} does not apply to ${name}; run \`tfjs-laplace ${name} --help\` for its options.`);
    if (positionals.length > (name === 'info' ? 2 : 1)) throw new UsageError(`Unexpected argument "${positionals.at(-1)}"; run \`tfjs-laplace ${name} --help\` for the usage.`);
    if (name === 'fit') await fitCommand(values);
    else if (name === 'tune') await tuneCommand(values);
    else if (name === 'predict') await predictCommand(values);
    else await infoCommand(values, positionals[1]);
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realPath(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}

// npm installs the command as a symbolic link to this file; compare the file it points to.
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
