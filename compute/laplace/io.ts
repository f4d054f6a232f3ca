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
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../artifacts/json.ts';
import { matrix, type Matrix } from '../linalg/index.ts';
import type { CurvatureFit, FisherType } from './curvature.ts';
import { Network, type ParameterLayer } from './network.ts';
import { Posterior, PosteriorError, type PosteriorSpec } from './posterior.ts';

const magic = 'LAPLACE1';
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

/** Write a posterior with its curvature (all structures the fit holds) and MAP weights. */
export async function savePosterior(posterior: Posterior, modelTopology: unknown, path: string): Promise<void> {
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
  headerText += ' '.repeat((4 - (Buffer.byteLength(headerText) % 4)) % 4);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(magic, 0, 'ascii');
  prefix.writeUInt32LE(headerBytes.length, 8);
  const body = Buffer.alloc(offset * 4);
  let at = 0;
  for (const chunk of chunks) {
    Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).copy(body, at);
    at += chunk.byteLength;
  }
  writeFileAtomic(path, Buffer.concat([prefix, headerBytes, body]));
}

/** Read a posterior file; every way it can be wrong is one sentence naming the file. */
export async function loadPosterior(path: string): Promise<{ posterior: Posterior; modelTopology: unknown }> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new PosteriorFileError(`Posterior file ${path} cannot be read; check the path (posteriors are written by \`npm run laplace -- fit\`).`);
  }
  if (bytes.length < 12 || bytes.toString('ascii', 0, 8) !== magic) {
    throw new PosteriorFileError(`${path} is not a posterior file (it does not start with "${magic}"); pass a file written by \`npm run laplace -- fit\`.`);
  }
  const headerLength = bytes.readUInt32LE(8);
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as Header;
  } catch {
    throw new PosteriorFileError(`Posterior file ${path} has an unreadable header (truncated or corrupt); fit the posterior again.`);
  }
  if (typeof header !== 'object' || header === null || !Array.isArray(header.arrays) || !Array.isArray(header.layers)) {
    throw new PosteriorFileError(`Posterior file ${path} has a header without its array and layer lists (corrupt or not written by this project); fit the posterior again.`);
  }
  if (header.format !== posteriorFormat) throw new PosteriorFileError(`Posterior file ${path} has format ${String(header.format)}, expected ${posteriorFormat}; fit it again with this version.`);
  const dataStart = 12 + headerLength;
  const floats = (bytes.length - dataStart) / 4;
  const needed = header.arrays.reduce((max, entry) => Math.max(max, entry.offset + entry.length), 0);
  if (!Number.isInteger(floats) || floats < needed) {
    throw new PosteriorFileError(`Posterior file ${path} is truncated (${bytes.length} bytes, ${dataStart + needed * 4} expected); fit the posterior again.`);
  }
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + dataStart + needed * 4));
  const arrays = new Map(header.arrays.map((entry) => [entry.name, entry]));
  const read = (name: string): Float32Array => {
    const entry = arrays.get(name);
    if (!entry) throw new PosteriorFileError(`Posterior file ${path} lacks the array ${name}; fit the posterior again.`);
    const values = data.subarray(entry.offset, entry.offset + entry.length);
    if (values.some((value) => !Number.isFinite(value))) throw new PosteriorFileError(`Posterior file ${path} holds NaN or infinite values in ${name}; fit the posterior again.`);
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
    throw new PosteriorFileError(`Posterior file ${path} describes layers that do not match its own model topology; the file is corrupt: fit the posterior again.`);
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
    throw new PosteriorFileError(`Posterior file ${path} is inconsistent (${(error as Error).message}); fit the posterior again.`);
  }
}
