/**
 * The posterior file: one binary file, self-contained.
 *
 *   bytes 0–7    "LAPLACE1"
 *   bytes 8–11   header length H in bytes (uint32, little-endian)
 *   next H bytes JSON header (UTF-8, space-padded to a multiple of 4)
 *   next         float32 little-endian data; each array of the header
 *                names its offset and length in floats
 *   last 32      SHA-256 of every byte before it, when the header says
 *                "checksum": "sha256" (files written before it lack both and
 *                still load, with a warning; readers that predate it ignore
 *                the trailing bytes, so they read new files too)
 *
 * The header names the structure, N, τ (and, only when set: per-layer or per-parameter τ, the
 * prior mean, the temperature), the KFAC damping, the Fisher type,
 * the likelihood and its σ when it is a regression's (classification files say nothing of it),
 * the layers (name, kind, kernel shape, bias, W̄ shape, activation,
 * convolution geometry), the model topology (tfjs-layers JSON, so the file
 * alone can predict), the layout conventions, and the arrays: MAP weights
 * `map/<layer>` as W̄, and the curvature apart from N and τ: `diag/<layer>`,
 * `kfac/<layer>/A|G`, `efb/<layer>/A|G/values|vectors` and
 * `efb/<layer>/diagonal`, `last-layer/fisher`, `full/fisher` (every parameter's, P × P), `lowrank/values` and `lowrank/vectors` (top-k eigenpairs, [P, k]),
 * `inf/<layer>/values|vectors|correction` (Λ [L], U [P_l, L], D [P_l]), `subnetwork/indices` (the k
 * chosen flat parameter indices, ascending, exact in float32 below 2²⁴) and `subnetwork/fisher` [k, k]. A last-layer-only network ("subset":
 * "last-layer": its one layer is the output Dense, on a body of any layers) also stores every
 * weight of its model, `model/<i>` in tfjs-layers' getWeights order, which the topology alone lacks;
 * a BatchNormalization layer's moving statistics are `state/<layer>/mean|variance`.
 * Curvature is stored in float32 (it is accumulated in float32).
 *
 * Bytes in, bytes out, nothing else: no file system, so the browser reads
 * files with the same code as Node (files.ts adds paths, model.ts URLs).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { matrix, type Matrix } from './linalg/index.ts';
import { curvatureKinds, fisherTypes, type CurvatureFit, type FisherType } from './curvature.ts';
import { Network, type ParameterLayer, type WeightSubset } from './network.ts';
import { kfacDampings, Posterior, type PosteriorSpec } from './posterior.ts';
import { sha256Digest } from './sha256.ts';

const magic = 'LAPLACE1';

function startsWithMagic(bytes: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic.charCodeAt(i)) return false;
  return true;
}
export const posteriorFormat = 'laplace-bnn-posterior/1';

export const layoutConventions =
  'Each Dense/Conv2D layer is a matrix W̄ [fanIn + 1, fanOut]: the kernel reshaped row-major to [fanIn, fanOut] ' +
  '(for Conv2D, rows in (kh, kw, cin) order), then the bias as the last row. Vectors over a layer are W̄ flattened row-major. ' +
  'Matrices are row-major; eigenvectors are columns; eigenvalues ascend. KFAC: Fisher block ≈ A ⊗ G on row-major vec(W̄), ' +
  'A = E[ā āᵀ] over examples (and positions, averaged), G = E[g gᵀ] (summed over positions for convolutions).';

interface ArrayEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

interface Header {
  format: typeof posteriorFormat;
  structure: PosteriorSpec['structure'];
  n: number;
  tau: number;
  /** Per-layer prior precisions, when the posterior has them. */
  layerTau?: number[];
  /** Per-parameter prior precisions over the perturbed parameters, when the posterior has them (JSON numbers, so float64 exactly). */
  parameterTau?: number[];
  /** The prior mean, one number or one per perturbed parameter, when not 0. */
  priorMean?: number | number[];
  /** The temperature T, when not 1. */
  temperature?: number;
  kfacDamping: PosteriorSpec['kfacDamping'];
  fisher: FisherType;
  mcSamples: number;
  count: number;
  /** Absent for classification (and in files written before regression existed); 'regression' for a Gaussian likelihood. */
  likelihood?: 'regression';
  /** Regression only: the Gaussian's noise σ. */
  sigma?: number;
  /** Mean loss of the fitting data at W*: cross-entropy, or ½‖y − f‖² for regression (absent in files written before it was recorded). */
  meanLoss?: number;
  layout: string;
  layers: ParameterLayer[];
  /** 'last-layer': the layers are the output Dense alone, on a body rebuilt from the topology and the `model/<i>` weights (absent: every layer). */
  subset?: WeightSubset;
  modelTopology: unknown;
  /** The checksum after the data (absent in files written before it). */
  checksum?: ChecksumKind;
  arrays: ArrayEntry[];
}

export type ChecksumKind = 'sha256';
const checksumLength = 32;

export class PosteriorFileError extends Error {
  override name = 'PosteriorFileError';
}

/** A posterior with its curvature (all structures the fit holds) and MAP weights as the bytes of a posterior file. */
export async function posteriorToBytes(posterior: Posterior, modelTopology: unknown): Promise<Uint8Array> {
  const arrays: ArrayEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], values: ArrayLike<number>) => {
    const data = Float32Array.from(values);
    arrays.push({ name, shape, offset, length: data.length });
    chunks.push(data);
    offset += data.length;
  };
  const addMatrix = (name: string, m: Matrix) => add(name, [m.rows, m.cols], m.data);
  for (const [layer, weights] of posterior.mapWeights.entries()) add(`map/${layer}`, weights.shape, await weights.data());
  const fit = posterior.curvature;
  fit.diag?.forEach((values, layer) => add(`diag/${layer}`, [values.length], values));
  fit.kfac?.forEach((factors, layer) => {
    addMatrix(`kfac/${layer}/A`, factors.a);
    addMatrix(`kfac/${layer}/G`, factors.g);
  });
  fit.efb?.forEach((factors, layer) => {
    add(`efb/${layer}/A/values`, [factors.a.values.length], factors.a.values);
    addMatrix(`efb/${layer}/A/vectors`, factors.a.vectors);
    add(`efb/${layer}/G/values`, [factors.g.values.length], factors.g.values);
    addMatrix(`efb/${layer}/G/vectors`, factors.g.vectors);
    add(`efb/${layer}/diagonal`, [factors.diagonal.length], factors.diagonal);
  });
  if (fit.lastLayer) addMatrix('last-layer/fisher', fit.lastLayer);
  if (fit.full) addMatrix('full/fisher', fit.full);
  if (fit.lowrank) {
    add('lowrank/values', [fit.lowrank.values.length], fit.lowrank.values);
    addMatrix('lowrank/vectors', fit.lowrank.vectors);
  }
  fit.inf?.forEach((factors, layer) => {
    add(`inf/${layer}/values`, [factors.values.length], factors.values);
    addMatrix(`inf/${layer}/vectors`, factors.vectors);
    add(`inf/${layer}/correction`, [factors.correction.length], factors.correction);
  });
  if (fit.subnetwork) {
    // float32 holds every whole number below 2²⁴ exactly, and no index beyond.
    if (fit.subnetwork.indices.some((index) => index >= 2 ** 24)) throw new PosteriorFileError('The subnetwork holds a parameter index of 2²⁴ or more, which the posterior file (float32) cannot store exactly; choose parameters among the first 16,777,216.');
    add('subnetwork/indices', [fit.subnetwork.indices.length], fit.subnetwork.indices);
    addMatrix('subnetwork/fisher', fit.subnetwork.fisher);
  }
  // BatchNormalization's moving statistics: state the forward pass needs, which the topology lacks.
  for (const [layer, spec] of posterior.network.layers.entries()) {
    if (spec.kind !== 'batchNorm') continue;
    const { mean, variance } = posterior.network.normalizationState(layer);
    add(`state/${layer}/mean`, [spec.fanOut], await mean.data());
    add(`state/${layer}/variance`, [spec.fanOut], await variance.data());
  }
  const source = posterior.network.sourceModel;
  if (source) for (const [index, weight] of source.getWeights().entries()) add(`model/${index}`, weight.shape, await weight.data());
  const header: Header = {
    format: posteriorFormat,
    structure: posterior.structure,
    n: posterior.n,
    tau: posterior.tau,
    ...(posterior.spec.layerTau ? { layerTau: posterior.spec.layerTau } : {}),
    // Only a posterior with them says so, so other files stay as they were.
    ...(posterior.spec.parameterTau ? { parameterTau: Array.from(posterior.spec.parameterTau) } : {}),
    ...(posterior.spec.priorMean !== undefined ? { priorMean: typeof posterior.spec.priorMean === 'number' ? posterior.spec.priorMean : Array.from(posterior.spec.priorMean) } : {}),
    ...(posterior.spec.temperature !== undefined ? { temperature: posterior.spec.temperature } : {}),
    kfacDamping: posterior.spec.kfacDamping,
    fisher: fit.fisher,
    mcSamples: fit.mcSamples,
    count: fit.count,
    // Only a regression says so, so classification files stay as they were.
    ...(fit.likelihood === 'regression' ? { likelihood: fit.likelihood, sigma: posterior.sigma } : {}),
    ...(fit.meanLoss !== undefined ? { meanLoss: fit.meanLoss } : {}),
    layout: layoutConventions,
    layers: posterior.network.layers,
    ...(source ? { subset: 'last-layer' as const } : {}),
    modelTopology,
    checksum: 'sha256',
    arrays,
  };
  let headerText = JSON.stringify(header);
  const utf8 = new TextEncoder();
  headerText += ' '.repeat((4 - (utf8.encode(headerText).length % 4)) % 4);
  const headerBytes = utf8.encode(headerText);
  const dataStart = 12 + headerBytes.length;
  const dataEnd = dataStart + offset * 4;
  const bytes = new Uint8Array(dataEnd + checksumLength);
  for (let i = 0; i < magic.length; i++) bytes[i] = magic.charCodeAt(i);
  new DataView(bytes.buffer).setUint32(8, headerBytes.length, true);
  bytes.set(headerBytes, 12);
  let at = dataStart;
  for (const chunk of chunks) {
    writeFloats(chunk, bytes, at);
    at += chunk.byteLength;
  }
  bytes.set(sha256Digest(bytes.subarray(0, dataEnd)), dataEnd);
  return bytes;
}

// The file is little-endian whatever the machine; typed arrays use the machine's order, so check it once.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeFloats(values: Float32Array, bytes: Uint8Array, at: number): void {
  if (littleEndian) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  values.forEach((value, index) => view.setFloat32(at + 4 * index, value, true));
}

function readFloats(bytes: Uint8Array, start: number, count: number): Float32Array {
  if (littleEndian) {
    // Copied into a fresh array, so the floats start on a 4-byte boundary whatever the offset of `bytes`
    // (and not through slice, which for a Node Buffer is a view).
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(bytes.subarray(start, start + count * 4));
    return values;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return Float32Array.from({ length: count }, (_, index) => view.getFloat32(start + 4 * index, true));
}

/** What a reader of a posterior file may be told besides the posterior: a file too old to carry a checksum. */
export interface ReadOptions {
  /** Called with a one-sentence warning (default: console.warn). */
  onWarning?: (message: string) => void;
}

const isWhole = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isPositive = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;

const isCall = (input: unknown): input is [string, number, ...unknown[]] => Array.isArray(input) && typeof input[0] === 'string' && isWhole(input[1]);

/**
 * Why tfjs-layers could not build the functional graph of `config`, or null. Its builder retries a layer
 * call until the calls it reads from have been made, with no limit, so a call on a layer the graph lacks
 * (a damaged name) or a cycle would hang it; here a pass over the waiting calls that makes none fails instead.
 * Which calls can ever be made does not depend on the order they are tried in, so this agrees with the builder.
 */
function graphProblem(config: Record<string, unknown>): string | null {
  const made = new Map<string, number>(); // calls made of each layer: an InputLayer is made with its one
  let waiting: { layer: string; inputs: unknown[] }[] = [];
  for (const entry of config.layers as unknown[]) {
    const { name, class_name: className, config: layerConfig, inbound_nodes: calls } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || made.has(name)) return `a layer name ${JSON.stringify(name)} that is missing or repeated`;
    if ((layerConfig as Record<string, unknown> | null)?.name !== name) return `a layer ${name} whose configuration names it differently`;
    if (!Array.isArray(calls) || !calls.every(Array.isArray)) return `a layer ${name} without its list of calls`;
    made.set(name, className === 'InputLayer' ? 1 : 0);
    for (const inputs of calls as unknown[][]) waiting.push({ layer: name, inputs });
  }
  const available = (input: unknown) => isCall(input) && (made.get(input[0]) ?? 0) > input[1];
  while (waiting.length > 0) {
    const stillWaiting = waiting.filter((call) => {
      if (!call.inputs.every(available)) return true;
      if (call.inputs.length > 0) made.set(call.layer, made.get(call.layer)! + 1);
      return false;
    });
    if (stillWaiting.length === waiting.length) return `a layer ${stillWaiting[0].layer} called on outputs its graph never makes`;
    waiting = stillWaiting;
  }
  for (const key of ['input_layers', 'output_layers']) {
    const ends = config[key];
    if (!Array.isArray(ends) || ends.length === 0 || !ends.every(available)) return `${key.replace('_', ' ')} that its graph does not make`;
  }
  return null;
}

/** The first problem of any functional graph in a topology (nested models included), or null. */
function topologyProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null;
  const record = value as Record<string, unknown>;
  if (!Array.isArray(value) && (record.class_name === 'Model' || record.class_name === 'Functional')) {
    const config = record.config as Record<string, unknown> | null;
    if (typeof config !== 'object' || config === null || !Array.isArray(config.layers)) return 'a functional model without its list of layers';
    const problem = graphProblem(config);
    if (problem) return problem;
  }
  for (const [key, inner] of Object.entries(record)) {
    if (key === 'dtype' && inner !== null && inner !== undefined && !dataTypes.includes(inner as string)) return `a dtype ${JSON.stringify(inner)} that TensorFlow.js does not know`;
    const problem = topologyProblem(inner);
    if (problem) return problem;
  }
  return null;
}

/**
 * An error of tfjs or of the posterior as a clause inside one of ours: its first sentence, without the
 * final stop. A JavaScript runtime error (tfjs-layers reading a field a damaged configuration lacks:
 * "name.match is not a function") says nothing to the user, so it becomes what it means.
 */
function clause(error: unknown): string {
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return 'a layer configuration with fields missing or of the wrong type';
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\n|\.\s/)[0].trim().replace(/[.:;,]$/, '');
}

/** TensorFlow.js's data types: a `dtype` in a topology must be one, or the model builds and then fails on its first input. */
const dataTypes = ['float32', 'int32', 'bool', 'complex64', 'string'];

/** The header's fields, each of the type the reader goes on to use: a damaged header fails here, in one sentence. */
function headerProblem(header: Header): string | null {
  if (!(curvatureKinds as readonly unknown[]).includes(header.structure)) return `an unknown structure ${JSON.stringify(header.structure)}`;
  if (!isPositive(header.n) || !isPositive(header.tau)) return 'an N or τ that is not a positive number';
  if (header.layerTau !== undefined && !(Array.isArray(header.layerTau) && header.layerTau.every(isPositive))) return 'per-layer τ that are not positive numbers';
  if (header.parameterTau !== undefined && !(Array.isArray(header.parameterTau) && header.parameterTau.every(isPositive))) return 'per-parameter τ that are not positive numbers';
  const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
  if (header.priorMean !== undefined && !(finite(header.priorMean) || (Array.isArray(header.priorMean) && header.priorMean.every(finite)))) return 'a prior mean that is not a number or a list of numbers';
  if (header.temperature !== undefined && !isPositive(header.temperature)) return 'a temperature that is not a positive number';
  if (!(kfacDampings as readonly unknown[]).includes(header.kfacDamping)) return `an unknown KFAC damping ${JSON.stringify(header.kfacDamping)}`;
  if (!(fisherTypes as readonly unknown[]).includes(header.fisher)) return `an unknown Fisher type ${JSON.stringify(header.fisher)}`;
  if (!isWhole(header.mcSamples) || !isWhole(header.count)) return 'a sample or example count that is not a whole number';
  if (header.meanLoss !== undefined && !(typeof header.meanLoss === 'number' && Number.isFinite(header.meanLoss))) return 'a mean loss that is not a number';
  if (header.likelihood !== undefined && header.likelihood !== 'regression') return `an unknown likelihood ${JSON.stringify(header.likelihood)}`;
  if (header.sigma !== undefined && (header.likelihood !== 'regression' || !isPositive(header.sigma))) return 'a noise σ that is not a positive number of a regression';
  if (typeof header.modelTopology !== 'object' || header.modelTopology === null) return 'no model topology';
  const graph = topologyProblem(header.modelTopology);
  if (graph) return `a model topology with ${graph}`;
  if (header.subset !== undefined && header.subset !== 'last-layer') return `an unknown weight subset ${JSON.stringify(header.subset)}`;
  for (const entry of header.arrays as unknown[]) {
    const { name, shape, offset, length } = (entry ?? {}) as Partial<ArrayEntry>;
    if (typeof name !== 'string' || !Array.isArray(shape) || !shape.every(isWhole) || !isWhole(offset) || !isWhole(length)) return 'an array index entry that is malformed';
    if (shape.reduce((product, size) => product * size, 1) !== length) return `an array ${name} whose shape [${shape.join(', ')}] does not hold its ${length} values`;
  }
  return null;
}

/**
 * Read the bytes of a posterior file; every way they can be wrong is a
 * PosteriorFileError of one sentence naming `source` (the path or URL they
 * came from). Files that carry a checksum are refused if any byte changed;
 * files written before the checksum (no `checksum` in the header) still load,
 * with a warning that their integrity cannot be checked.
 */
export async function posteriorFromBytes(
  input: Uint8Array | ArrayBuffer,
  source = '(given as bytes)',
  options: ReadOptions = {},
): Promise<{ posterior: Posterior; modelTopology: unknown; checksum: ChecksumKind | null }> {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length < 12 || !startsWithMagic(bytes)) {
    throw new PosteriorFileError(`${source} is not a posterior file (it does not start with "${magic}"); pass a file written by saveLaplace or the CLI's fit command.`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > bytes.length) {
    throw new PosteriorFileError(`Posterior file ${source} is truncated or corrupt (its header length, ${headerLength} bytes, runs past the end of its ${bytes.length} bytes); fit the posterior again.`);
  }
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength))) as Header;
  } catch {
    throw new PosteriorFileError(`Posterior file ${source} has an unreadable header (truncated or corrupt); fit the posterior again.`);
  }
  if (typeof header !== 'object' || header === null || !Array.isArray(header.arrays) || !Array.isArray(header.layers)) {
    throw new PosteriorFileError(`Posterior file ${source} has a header without its array and layer lists (corrupt or not written by this project); fit the posterior again.`);
  }
  if (header.format !== posteriorFormat) throw new PosteriorFileError(`Posterior file ${source} has format ${String(header.format)}, expected ${posteriorFormat}; fit it again with this version.`);
  if (header.checksum !== undefined && header.checksum !== 'sha256') {
    throw new PosteriorFileError(`Posterior file ${source} names an unknown checksum ${JSON.stringify(header.checksum)} (corrupt, or written by a newer version); fit the posterior again.`);
  }
  const trailer = header.checksum === undefined ? 0 : checksumLength;
  const dataStart = 12 + headerLength;
  // The length the index implies, when its offsets are numbers (a damaged index is the checksum's or the header check's to report).
  const needed = (header.arrays as Partial<ArrayEntry>[]).reduce((max, entry) => (isWhole(entry?.offset) && isWhole(entry?.length) ? Math.max(max, entry.offset + entry.length) : NaN), 0);
  if (Number.isFinite(needed)) {
    // Exactly the data the index names: a file that lost its checksum's mention in the header keeps its 32 checksum bytes and is refused here.
    const expected = dataStart + needed * 4 + trailer;
    if (bytes.length < expected) throw new PosteriorFileError(`Posterior file ${source} is truncated (${bytes.length} bytes, ${expected} expected); fit the posterior again.`);
    if (bytes.length > expected) throw new PosteriorFileError(`Posterior file ${source} has ${bytes.length - expected} bytes beyond its data (${bytes.length} bytes, ${expected} expected); fit the posterior again.`);
  }
  const dataEnd = bytes.length - trailer;
  if (trailer > 0) {
    if (dataEnd < dataStart) throw new PosteriorFileError(`Posterior file ${source} is truncated (${bytes.length} bytes, too short for its header and checksum); fit the posterior again.`);
    const stored = bytes.subarray(dataEnd);
    const computed = sha256Digest(bytes.subarray(0, dataEnd));
    if (computed.some((byte, index) => byte !== stored[index])) {
      throw new PosteriorFileError(`Posterior file ${source} fails its SHA-256 checksum (a byte of it changed); fit the posterior again or fetch an intact copy.`);
    }
  } else {
    (options.onWarning ?? console.warn)(
      `warning: posterior file ${source} was written before posterior files carried a checksum, so damage to it cannot be detected; load and save it again to add one.`,
    );
  }
  const problem = headerProblem(header);
  if (problem) throw new PosteriorFileError(`Posterior file ${source} has a header with ${problem} (corrupt or not written by this project); fit the posterior again.`);
  try {
    return { ...(await posteriorFromHeader(header, readFloats(bytes, dataStart, needed), source)), checksum: header.checksum ?? null };
  } catch (error) {
    if (error instanceof PosteriorFileError) throw error;
    // Whatever else a damaged file trips over (tfjs-layers' model parser, the posterior's checks) is still a damaged file.
    throw new PosteriorFileError(`Posterior file ${source} is inconsistent (${clause(error)}); fit the posterior again.`);
  }
}

/**
 * The topology with every initializer replaced by zeros, for building the model: the file supplies every
 * weight, so the initializers' values are never used, and a damaged one can hang the build (a truncated
 * normal with a scale that is not a number rejects every draw, forever).
 */
function withZeroInitializers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withZeroInitializers);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, key.endsWith('_initializer') ? { class_name: 'Zeros', config: {} } : withZeroInitializers(inner)]));
}

async function posteriorFromHeader(header: Header, data: Float32Array, source: string): Promise<{ posterior: Posterior; modelTopology: unknown }> {
  const arrays = new Map(header.arrays.map((entry) => [entry.name, entry]));
  const entryOf = (name: string, rank?: number): ArrayEntry => {
    const entry = arrays.get(name);
    if (!entry) throw new PosteriorFileError(`Posterior file ${source} lacks the array ${name}; fit the posterior again.`);
    if (rank !== undefined && entry.shape.length !== rank) throw new PosteriorFileError(`Posterior file ${source} holds ${name} with ${entry.shape.length} dimensions, not ${rank}; fit the posterior again.`);
    return entry;
  };
  const read = (name: string, rank?: number): Float32Array => {
    const entry = entryOf(name, rank);
    const values = data.subarray(entry.offset, entry.offset + entry.length);
    if (values.some((value) => !Number.isFinite(value))) throw new PosteriorFileError(`Posterior file ${source} holds NaN or infinite values in ${name}; fit the posterior again.`);
    return values;
  };
  const readMatrix = (name: string): Matrix => {
    const values = read(name, 2);
    const [rows, cols] = entryOf(name).shape;
    return matrix(rows, cols, Float64Array.from(values));
  };
  let model: tfl.LayersModel;
  try {
    model = await tfl.models.modelFromJSON({ modelTopology: withZeroInitializers(header.modelTopology) } as never);
  } catch (error) {
    throw new PosteriorFileError(`Posterior file ${source} holds a model topology that tfjs-layers cannot build (${clause(error)}); fit the posterior again.`);
  }
  let network: Network;
  if (header.subset === 'last-layer') {
    // The body is any tfjs-layers graph: the model keeps its weights from the file, and the network keeps the model.
    try {
      const weights = model.getWeights();
      const stored = weights.map((weight, index) => {
        const entry = entryOf(`model/${index}`);
        if (entry.shape.length !== weight.shape.length || entry.shape.some((size, axis) => size !== weight.shape[axis])) {
          throw new PosteriorFileError(`Posterior file ${source} holds model/${index} of shape [${entry.shape.join(', ')}], but its model topology needs [${weight.shape.join(', ')}]; fit the posterior again.`);
        }
        return tf.tensor(read(`model/${index}`), weight.shape);
      });
      model.setWeights(stored);
      tf.dispose(stored);
      network = new Network(model, 'last-layer');
    } catch (error) {
      model.dispose();
      throw error;
    }
  } else {
    try {
      network = new Network(model);
    } finally {
      model.dispose();
    }
  }
  if (JSON.stringify(network.layers) !== JSON.stringify(header.layers)) {
    throw new PosteriorFileError(`Posterior file ${source} describes layers that do not match its own model topology; the file is corrupt: fit the posterior again.`);
  }
  const layers = network.layers.map((_, index) => index);
  for (const layer of layers) {
    const spec = network.layers[layer];
    if (spec.kind !== 'batchNorm') continue;
    for (const name of [`state/${layer}/mean`, `state/${layer}/variance`]) {
      const shape = entryOf(name, 1).shape;
      if (shape[0] !== spec.fanOut) throw new PosteriorFileError(`Posterior file ${source} holds ${name} of shape [${shape.join(', ')}], but its model's layer needs [${spec.fanOut}]; fit the posterior again.`);
    }
    network.setNormalizationState(layer, tf.tensor1d(read(`state/${layer}/mean`)), tf.tensor1d(read(`state/${layer}/variance`)));
  }
  const layerShapes = network.layers.map((layer) => [layer.fanIn + (layer.hasBias ? 1 : 0), layer.fanOut]);
  for (const layer of layers) {
    const shape = entryOf(`map/${layer}`, 2).shape;
    if (shape[0] !== layerShapes[layer][0] || shape[1] !== layerShapes[layer][1]) {
      throw new PosteriorFileError(`Posterior file ${source} holds MAP weights map/${layer} of shape [${shape.join(', ')}], but its model's layer needs [${layerShapes[layer].join(', ')}]; fit the posterior again.`);
    }
  }
  // The curvature's shapes follow from the layers; a file whose index disagrees would fail later, deep in a sample or a solve.
  const parameters = layerShapes.map(([rows, cols]) => rows * cols);
  const expectedShapes = new Map<string, number[]>();
  for (const layer of layers) {
    const [rows, cols] = layerShapes[layer];
    expectedShapes.set(`diag/${layer}`, [parameters[layer]]);
    expectedShapes.set(`kfac/${layer}/A`, [rows, rows]);
    expectedShapes.set(`kfac/${layer}/G`, [cols, cols]);
    expectedShapes.set(`efb/${layer}/A/values`, [rows]);
    expectedShapes.set(`efb/${layer}/A/vectors`, [rows, rows]);
    expectedShapes.set(`efb/${layer}/G/values`, [cols]);
    expectedShapes.set(`efb/${layer}/G/vectors`, [cols, cols]);
    expectedShapes.set(`efb/${layer}/diagonal`, [parameters[layer]]);
    const infRank = arrays.has(`inf/${layer}/values`) ? entryOf(`inf/${layer}/values`, 1).shape[0] : 0;
    expectedShapes.set(`inf/${layer}/vectors`, [parameters[layer], infRank]);
    expectedShapes.set(`inf/${layer}/correction`, [parameters[layer]]);
  }
  expectedShapes.set('last-layer/fisher', [parameters.at(-1)!, parameters.at(-1)!]);
  const allParameters = parameters.reduce((sum, count) => sum + count, 0);
  expectedShapes.set('full/fisher', [allParameters, allParameters]);
  const rank = arrays.has('lowrank/values') ? entryOf('lowrank/values', 1).shape[0] : 0;
  expectedShapes.set('lowrank/vectors', [allParameters, rank]);
  const subnetworkCount = arrays.has('subnetwork/indices') ? entryOf('subnetwork/indices', 1).shape[0] : 0;
  expectedShapes.set('subnetwork/fisher', [subnetworkCount, subnetworkCount]);
  for (const entry of header.arrays) {
    const expected = expectedShapes.get(entry.name);
    if (expected && (entry.shape.length !== expected.length || entry.shape.some((size, index) => size !== expected[index]))) {
      throw new PosteriorFileError(`Posterior file ${source} holds ${entry.name} of shape [${entry.shape.join(', ')}], but its model needs [${expected.join(', ')}]; fit the posterior again.`);
    }
  }
  const fit: CurvatureFit = {
    fisher: header.fisher,
    mcSamples: header.mcSamples,
    count: header.count,
    ...(header.likelihood === 'regression' ? { likelihood: header.likelihood } : {}),
    ...(header.meanLoss !== undefined ? { meanLoss: header.meanLoss } : {}),
  };
  if (arrays.has('diag/0')) fit.diag = layers.map((layer) => Float64Array.from(read(`diag/${layer}`)));
  if (arrays.has('kfac/0/A')) fit.kfac = layers.map((layer) => ({ a: readMatrix(`kfac/${layer}/A`), g: readMatrix(`kfac/${layer}/G`) }));
  if (arrays.has('efb/0/diagonal')) {
    fit.efb = layers.map((layer) => ({
      a: { values: Float64Array.from(read(`efb/${layer}/A/values`)), vectors: readMatrix(`efb/${layer}/A/vectors`) },
      g: { values: Float64Array.from(read(`efb/${layer}/G/values`)), vectors: readMatrix(`efb/${layer}/G/vectors`) },
      diagonal: Float64Array.from(read(`efb/${layer}/diagonal`)),
    }));
  }
  if (arrays.has('last-layer/fisher')) fit.lastLayer = readMatrix('last-layer/fisher');
  if (arrays.has('full/fisher')) fit.full = readMatrix('full/fisher');
  if (arrays.has('lowrank/values')) fit.lowrank = { values: Float64Array.from(read('lowrank/values')), vectors: readMatrix('lowrank/vectors') };
  if (arrays.has('inf/0/values')) {
    fit.inf = layers.map((layer) => ({ values: Float64Array.from(read(`inf/${layer}/values`)), vectors: readMatrix(`inf/${layer}/vectors`), correction: Float64Array.from(read(`inf/${layer}/correction`)) }));
  }
  if (arrays.has('subnetwork/indices')) {
    const stored = read('subnetwork/indices');
    const indices = Int32Array.from(stored);
    if (indices.some((index, i) => index !== stored[i] || index < 0 || index >= allParameters || (i > 0 && index <= indices[i - 1]))) {
      throw new PosteriorFileError(`Posterior file ${source} holds subnetwork indices that are not distinct whole parameter indices in ascending order; fit the posterior again.`);
    }
    fit.subnetwork = { indices, fisher: readMatrix('subnetwork/fisher') };
  }
  const mapWeights = layers.map((layer) => tf.tensor2d(read(`map/${layer}`), entryOf(`map/${layer}`).shape as [number, number]));
  try {
    const spec: PosteriorSpec = {
      structure: header.structure,
      n: header.n,
      tau: header.tau,
      ...(header.layerTau ? { layerTau: header.layerTau } : {}),
      ...(header.parameterTau ? { parameterTau: Float64Array.from(header.parameterTau) } : {}),
      ...(header.priorMean !== undefined ? { priorMean: typeof header.priorMean === 'number' ? header.priorMean : Float64Array.from(header.priorMean) } : {}),
      ...(header.temperature !== undefined ? { temperature: header.temperature } : {}),
      kfacDamping: header.kfacDamping,
      ...(header.sigma !== undefined ? { sigma: header.sigma } : {}),
    };
    return { posterior: new Posterior(network, mapWeights, fit, spec), modelTopology: header.modelTopology };
  } catch (error) {
    tf.dispose(mapWeights);
    throw new PosteriorFileError(`Posterior file ${source} is inconsistent (${clause(error)}); fit the posterior again.`);
  }
}
