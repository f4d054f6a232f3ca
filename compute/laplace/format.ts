/**
 * The posterior file: one binary file, self-contained.
 *
 *   bytes 0–7    "LAPLACE1"
 *   bytes 8–11   header length H in bytes (uint32, little-endian)
 *   next H bytes JSON header (UTF-8, space-padded to a multiple of 4)
 *   rest         float32 little-endian data; each array of the header
 *                names its offset and length in floats
 *
 * The header names the structure, N, τ, the KFAC damping, the Fisher type,
 * the layers (name, kind, kernel shape, bias, W̄ shape, activation,
 * convolution geometry), the model topology (tfjs-layers JSON, so the file
 * alone can predict), the layout conventions, and the arrays: MAP weights
 * `map/<layer>` as W̄, and the curvature apart from N and τ: `diag/<layer>`,
 * `kfac/<layer>/A|G`, `efb/<layer>/A|G/values|vectors` and
 * `efb/<layer>/diagonal`, `last-layer/fisher`.
 * Curvature is stored in float32 (it is accumulated in float32).
 *
 * Bytes in, bytes out, nothing else: no file system, so the browser reads
 * files with the same code as Node (files.ts adds paths, model.ts URLs).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { matrix, type Matrix } from '../linalg/index.ts';
import type { CurvatureFit, FisherType } from './curvature.ts';
import { Network, type ParameterLayer } from './network.ts';
import { Posterior, type PosteriorSpec } from './posterior.ts';

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
  kfacDamping: PosteriorSpec['kfacDamping'];
  fisher: FisherType;
  mcSamples: number;
  count: number;
  /** Mean cross-entropy of the fitting data at W* (absent in files written before it was recorded). */
  meanLoss?: number;
  layout: string;
  layers: ParameterLayer[];
  modelTopology: unknown;
  arrays: ArrayEntry[];
}

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
  const header: Header = {
    format: posteriorFormat,
    structure: posterior.structure,
    n: posterior.n,
    tau: posterior.tau,
    ...(posterior.spec.layerTau ? { layerTau: posterior.spec.layerTau } : {}),
    kfacDamping: posterior.spec.kfacDamping,
    fisher: fit.fisher,
    mcSamples: fit.mcSamples,
    count: fit.count,
    ...(fit.meanLoss !== undefined ? { meanLoss: fit.meanLoss } : {}),
    layout: layoutConventions,
    layers: posterior.network.layers,
    modelTopology,
    arrays,
  };
  let headerText = JSON.stringify(header);
  const utf8 = new TextEncoder();
  headerText += ' '.repeat((4 - (utf8.encode(headerText).length % 4)) % 4);
  const headerBytes = utf8.encode(headerText);
  const dataStart = 12 + headerBytes.length;
  const bytes = new Uint8Array(dataStart + offset * 4);
  for (let i = 0; i < magic.length; i++) bytes[i] = magic.charCodeAt(i);
  new DataView(bytes.buffer).setUint32(8, headerBytes.length, true);
  bytes.set(headerBytes, 12);
  let at = dataStart;
  for (const chunk of chunks) {
    writeFloats(chunk, bytes, at);
    at += chunk.byteLength;
  }
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

/**
 * Read the bytes of a posterior file; every way they can be wrong is one sentence naming
 * `source` (the path or URL they came from).
 */
export async function posteriorFromBytes(input: Uint8Array | ArrayBuffer, source = '(given as bytes)'): Promise<{ posterior: Posterior; modelTopology: unknown }> {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length < 12 || !startsWithMagic(bytes)) {
    throw new PosteriorFileError(`${source} is not a posterior file (it does not start with "${magic}"); pass a file written by saveLaplace or the CLI's fit command.`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  } catch {
    throw new PosteriorFileError(`Posterior file ${source} has an unreadable header (truncated or corrupt); fit the posterior again.`);
  }
  if (typeof header !== 'object' || header === null || !Array.isArray(header.arrays) || !Array.isArray(header.layers)) {
    throw new PosteriorFileError(`Posterior file ${source} has a header without its array and layer lists (corrupt or not written by this project); fit the posterior again.`);
  }
  if (header.format !== posteriorFormat) throw new PosteriorFileError(`Posterior file ${source} has format ${String(header.format)}, expected ${posteriorFormat}; fit it again with this version.`);
  const dataStart = 12 + headerLength;
  const floats = (bytes.length - dataStart) / 4;
  const needed = header.arrays.reduce((max, entry) => Math.max(max, entry.offset + entry.length), 0);
  if (!Number.isInteger(floats) || floats < needed) {
    throw new PosteriorFileError(`Posterior file ${source} is truncated (${bytes.length} bytes, ${dataStart + needed * 4} expected); fit the posterior again.`);
  }
  const data = readFloats(bytes, dataStart, needed);
  const arrays = new Map(header.arrays.map((entry) => [entry.name, entry]));
  const read = (name: string): Float32Array => {
    const entry = arrays.get(name);
    if (!entry) throw new PosteriorFileError(`Posterior file ${source} lacks the array ${name}; fit the posterior again.`);
    const values = data.subarray(entry.offset, entry.offset + entry.length);
    if (values.some((value) => !Number.isFinite(value))) throw new PosteriorFileError(`Posterior file ${source} holds NaN or infinite values in ${name}; fit the posterior again.`);
    return values;
  };
  const readMatrix = (name: string): Matrix => {
    const entry = arrays.get(name);
    const values = read(name);
    return matrix(entry!.shape[0], entry!.shape[1], Float64Array.from(values));
  };
  const model = await tfl.models.modelFromJSON({ modelTopology: header.modelTopology } as never);
  const network = new Network(model);
  model.dispose();
  if (JSON.stringify(network.layers) !== JSON.stringify(header.layers)) {
    throw new PosteriorFileError(`Posterior file ${source} describes layers that do not match its own model topology; the file is corrupt: fit the posterior again.`);
  }
  const layers = network.layers.map((_, index) => index);
  const mapWeights = layers.map((layer) => {
    const entry = arrays.get(`map/${layer}`);
    return tf.tensor2d(read(`map/${layer}`), entry!.shape as [number, number]);
  });
  const fit: CurvatureFit = { fisher: header.fisher, mcSamples: header.mcSamples, count: header.count, ...(header.meanLoss !== undefined ? { meanLoss: header.meanLoss } : {}) };
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
  try {
    return { posterior: new Posterior(network, mapWeights, fit, { structure: header.structure, n: header.n, tau: header.tau, ...(header.layerTau ? { layerTau: header.layerTau } : {}), kfacDamping: header.kfacDamping }), modelTopology: header.modelTopology };
  } catch (error) {
    tf.dispose(mapWeights);
    throw new PosteriorFileError(`Posterior file ${source} is inconsistent (${(error as Error).message}); fit the posterior again.`);
  }
}
