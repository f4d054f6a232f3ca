/**
 * The package's command line (compute/laplace/cli.ts) from source, in process: a tfjs-layers
 * model.json with two weight shards and .npy arrays written here by hand go in; the posterior
 * files and probabilities that come out match what the library computes on the same model and data
 * in memory. A regression MLP (one linear unit, float targets), a two-output regression and a
 * binary sigmoid classifier go through the same commands: σ and τ as the library tunes them, the
 * GLM predictive's mean and variance as it predicts them, and on a last-layer posterior the
 * variance against Bayesian linear regression on the body's features in closed form. The .npy reader is checked on bytes laid out by hand and the writer against numpy's
 * layout; user errors exit with code 2 and one sentence.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { main } from '../../compute/laplace/cli.ts';
import { fitLaplace, loadLaplace, regressionData, tensorData } from '../../compute/laplace/index.ts';
import { readNpy, writeNpy } from '../../compute/laplace/npy.ts';
import { buildCnnA, invert, randomInputs, randomLabels, seedWeights, zeros, type Model } from '../laplace/helpers.ts';

let directory: string;
let model: Model;
let inputs: tf.Tensor;
let labels: Int32Array;
const path = (name: string) => join(directory, name);

/** A version-1 .npy file laid out by hand: magic, version, header length, header padded to 64 bytes, data. */
function npyBytes(descr: string, shape: number[], data: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const bytes = new Uint8Array(10 + header.length + data.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  bytes.set(new TextEncoder().encode(header), 10);
  bytes.set(data, 10 + header.length);
  return bytes;
}

const int64Labels = (values: ArrayLike<number>) => new Uint8Array(BigInt64Array.from(Array.from(values), BigInt).buffer);

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts) => void out.push(parts.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...parts) => void err.push(parts.join(' ')));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

beforeAll(async () => {
  await startBackend('wasm');
  directory = mkdtempSync(join(tmpdir(), 'tfjs-laplace-cli-'));
  model = buildCnnA(301);
  inputs = randomInputs([6, 8, 8, 2], 302);
  labels = randomLabels(6, 3, 303);
  // Two shards cut mid-tensor, as tfjs's 4 MB shards are: the manifest's files are concatenated in order.
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
      const cut = Math.floor(weights.length / 2) + 2;
      writeFileSync(path('group1-shard1of2.bin'), weights.subarray(0, cut));
      writeFileSync(path('group1-shard2of2.bin'), weights.subarray(cut));
      const manifest = [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: artifacts.weightSpecs }];
      writeFileSync(path('model.json'), JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: manifest }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  writeFileSync(path('x.npy'), npyBytes('<f4', inputs.shape, new Uint8Array((await inputs.data()).buffer)));
  // numpy's default integer type.
  writeFileSync(path('y.npy'), npyBytes('<i8', [6], int64Labels(labels)));
});

afterAll(() => {
  inputs?.dispose();
  model?.dispose();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('tfjs-laplace fit, tune, predict, info', () => {
  it('fit writes the posterior the library fits in memory (τ by the marginal likelihood at N = n)', async () => {
    const run = await cli('fit', '--model', path('model.json'), '--inputs', path('x.npy'), '--labels', path('y.npy'), '--curvature', 'kfac', '--out', path('p.laplace'), '--backend', 'wasm');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^kfac posterior of 3 layers on 6 examples \(mc Fisher\): N = 6 \(the examples\), τ = [\d.e+-]+ \(marginal likelihood\); .* on wasm; wrote /);
    const fromFile = await loadLaplace(path('p.laplace'));
    const inMemory = await fitLaplace(model, tensorData(inputs, labels), { curvature: 'kfac' });
    expect(fromFile.n).toBe(6);
    expect(fromFile.tau).toBe(inMemory.tau);
    const data = tensorData(inputs, labels);
    expect(Array.from(await fromFile.predict(data))).toEqual(Array.from(await inMemory.predict(data)));
    fromFile.dispose();
    inMemory.dispose();
  });

  it('info describes the file', async () => {
    const run = await cli('info', path('p.laplace'), '--backend', 'wasm');
    expect(run.code).toBe(0);
    expect(run.out.split('\n')).toEqual([
      expect.stringMatching(/^kfac posterior: N = 6, τ = [\d.e+-]+, exact damping$/),
      'fitted on 6 examples, mc Fisher (1 draw per input)',
      'input shape [8, 8, 2], 3 classes',
      '  cnnA_conv1_301: conv2d, kernel [3, 3, 2, 3] + bias, relu',
      '  cnnA_conv2_301: conv2d, kernel [2, 2, 3, 2] + bias, tanh',
      expect.stringMatching(/^  \S+: dense, kernel \[\d+, 3\] \+ bias, linear$/),
    ]);
  });

  it.each([
    ['inf', ['--rank', '2'], /^inf: per layer the top 2, 2, 2 EFB eigenpairs plus the diagonal correction$/],
    ['subnetwork', ['--subnetwork-count', '10'], /^subnetwork: a full covariance over 10 of the \d+ parameters, the rest at the MAP$/],
  ])('fit --curvature %s writes what the library fits, and info describes it', async (curvature, extra, described) => {
    const file = path(`${curvature}.laplace`);
    const run = await cli('fit', '--model', path('model.json'), '--inputs', path('x.npy'), '--labels', path('y.npy'), '--curvature', curvature, ...extra, '--out', file, '--backend', 'wasm');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const fromFile = await loadLaplace(file);
    const options = curvature === 'inf' ? { curvature: 'inf' as const, infRank: 2 } : { curvature: 'subnetwork' as const, subnetworkCount: 10 };
    const inMemory = await fitLaplace(model, tensorData(inputs, labels), options);
    expect(fromFile.tau).toBe(inMemory.tau);
    const data = tensorData(inputs, labels);
    expect(Array.from(await fromFile.predict(data))).toEqual(Array.from(await inMemory.predict(data)));
    [fromFile, inMemory].forEach((laplace) => laplace.dispose());
    const info = await cli('info', file, '--backend', 'wasm');
    expect(info.out.split('\n')[1]).toMatch(described);
  });

  it('fit --prior-mean --temperature writes a posterior with them (τ by the marginal likelihood under that prior), and info names them', async () => {
    const run = await cli('fit', '--model', path('model.json'), '--inputs', path('x.npy'), '--labels', path('y.npy'), '--curvature', 'diag', '--prior-mean=-0.05', '--temperature', '0.5', '--out', path('t.laplace'), '--backend', 'wasm');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/N = 6 \(the examples\), τ = [\d.e+-]+, prior mean -0\.05, temperature 0\.5 \(marginal likelihood\)/);
    const fromFile = await loadLaplace(path('t.laplace'));
    const inMemory = await fitLaplace(model, tensorData(inputs, labels), { curvature: 'diag', priorMean: -0.05, temperature: 0.5 });
    expect([fromFile.posterior.spec.priorMean, fromFile.posterior.temperature, fromFile.tau]).toEqual([-0.05, 0.5, inMemory.tau]);
    const info = await cli('info', path('t.laplace'), '--backend', 'wasm');
    expect(info.out.split('\n')[0]).toMatch(/^diag posterior: N = 6, τ = [\d.e+-]+, prior mean -0\.05, temperature 0\.5$/);
    [fromFile, inMemory].forEach((laplace) => laplace.dispose());
  });

  it('tune --per-layer keeps N and writes the per-layer τ the library finds', async () => {
    const run = await cli('tune', '--posterior', path('p.laplace'), '--per-layer', '--out', path('q.laplace'), '--backend', 'wasm');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^kfac posterior, marginal likelihood at N = 6: log evidence -?[\d.]+ at per-layer τ = [\d.e+-]+, [\d.e+-]+, [\d.e+-]+ /);
    const source = await loadLaplace(path('p.laplace'));
    const tuned = await loadLaplace(path('q.laplace'));
    const expected = source.tuneMarginalLikelihood({ perLayer: true });
    expect(tuned.n).toBe(6);
    expect(tuned.posterior.spec.layerTau).toEqual(expected.optimum.tau);
    [source, tuned, expected.model].forEach((laplace) => laplace.dispose());
  });

  it('tune --objective nll searches the grid on validation data', async () => {
    const run = await cli('tune', '--posterior', path('p.laplace'), '--objective', 'nll', '--inputs', path('x.npy'), '--labels', path('y.npy'), '--grid', '5', '--out', path('g.laplace'), '--backend', 'wasm');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^kfac posterior, 25 grid points: validation nll [\d.]+ at N = /);
    const source = await loadLaplace(path('p.laplace'));
    const { model: expected } = await source.tune(tensorData(inputs, labels), 'nll', { method: 'grid', gridSize: 5 });
    const tuned = await loadLaplace(path('g.laplace'));
    expect([tuned.n, tuned.tau]).toEqual([expected.n, expected.tau]);
    [source, tuned, expected].forEach((laplace) => laplace.dispose());
  });

  it('predict writes the probabilities of the GLM predictive as .npy and as JSON, with metrics when labels are given', async () => {
    const npy = await cli('predict', '--posterior', path('q.laplace'), '--inputs', path('x.npy'), '--labels', path('y.npy'), '--out', path('p.npy'), '--backend', 'wasm');
    expect(npy.code).toBe(0);
    expect(npy.out).toMatch(/^6 examples, glm predictive \(probit link\): accuracy [\d.]+, NLL [\d.]+, ECE [\d.]+ \(.* on wasm\); wrote /);
    const written = readNpy(readFileSync(path('p.npy')), 'p.npy');
    expect(written.shape).toEqual([6, 3]);
    expect(written.dtype).toBe('<f4');
    const tuned = await loadLaplace(path('q.laplace'));
    const expected = await tuned.predict(tensorData(inputs, labels));
    expect(Array.from(written.values)).toEqual(Array.from(expected));
    const json = await cli('predict', '--posterior', path('q.laplace'), '--inputs', path('x.npy'), '--out', path('p.json'), '--backend', 'wasm');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(readFileSync(path('p.json'), 'utf8')) as { probabilities: number[][]; metrics: unknown; classes: number };
    expect(parsed.probabilities.flat()).toEqual(Array.from(expected));
    expect(parsed.metrics).toBeNull();
    tuned.dispose();
  });

  it.each([
    ['no command', [], /^No command given; use fit, tune, predict or info/],
    ['unknown command', ['train'], /^Unknown command "train"/],
    ['missing model file', ['fit', '--model', 'nowhere/model.json', '--inputs', 'X', '--labels', 'Y', '--curvature', 'kfac', '--out', 'OUT'], /^Model file nowhere\/model\.json cannot be read; check the path\.$/],
    ['unknown curvature', ['fit', '--model', 'M', '--inputs', 'X', '--labels', 'Y', '--curvature', 'dense', '--out', 'OUT'], /^Unknown --curvature "dense"; choose one of diag, kfac, efb, last-layer, full, lowrank, inf, subnetwork\.$/],
    ['subnetwork count off the subnetwork', ['fit', '--model', 'M', '--inputs', 'X', '--labels', 'Y', '--curvature', 'diag', '--subnetwork-count', '5', '--out', 'OUT'], /^--subnetwork-count applies only to --curvature subnetwork, not diag; drop it\.$/],
    ['rank off lowrank and inf', ['fit', '--model', 'M', '--inputs', 'X', '--labels', 'Y', '--curvature', 'kfac', '--rank', '5', '--out', 'OUT'], /^--rank applies only to --curvature lowrank or inf, not kfac; drop it\.$/],
    ['option of another command', ['info', 'FILE', '--curvature', 'kfac'], /^Option --curvature does not apply to info;/],
    ['link off the glm predictive', ['predict', '--posterior', 'P', '--inputs', 'X', '--out', 'O.npy', '--predictive', 'sampled', '--link', 'mc'], /^--link applies only to the glm predictive, not sampled; drop it\.$/],
    ['zero temperature', ['fit', '--model', 'M', '--inputs', 'X', '--labels', 'Y', '--curvature', 'kfac', '--out', 'OUT', '--temperature', '0'], /^--temperature must be a positive number, got "0"\.$/],
    ['prior mean not a number', ['fit', '--model', 'M', '--inputs', 'X', '--labels', 'Y', '--curvature', 'kfac', '--out', 'OUT', '--prior-mean', 'zero'], /^--prior-mean must be a number, got "zero"\.$/],
    ['negative value without =', ['fit', '--model', 'M', '--inputs', 'X', '--labels', 'Y', '--curvature', 'kfac', '--out', 'OUT', '--prior-mean', '-1'], /^--prior-mean takes a value that starts with a dash only as --prior-mean=VALUE \(e\.g\. --prior-mean=-0\.1\)\.$/],
    ['temperature on tune', ['tune', '--posterior', 'P', '--out', 'O', '--temperature', '2'], /^Option --temperature does not apply to tune;/],
    ['validation data for marglik', ['tune', '--posterior', 'P', '--out', 'O', '--inputs', 'X'], /^--inputs applies only to the validation objectives/],
  ])('%s: exit code 2 and one sentence', async (_, argv, message) => {
    const run = await cli(...(argv as string[]));
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
    const line = run.err.replace(/^error: /, '');
    expect(run.err.startsWith('error: ')).toBe(true);
    expect(line).toMatch(message);
    expect(line.split('\n')).toHaveLength(1);
  });

  // tfjs-node is an optional dependency: where it is installed and built, its absence is simulated (the
  // import fails as a missing package's does), so the sentence is checked on every machine.
  it('a missing backend package: exit code 2 and one sentence', async () => {
    vi.doMock('@tensorflow/tfjs-node', () => {
      throw new Error("Cannot find package '@tensorflow/tfjs-node'");
    });
    try {
      const run = await cli('info', 'FILE', '--backend', 'tensorflow');
      expect(run.code).toBe(2);
      expect(run.out).toBe('');
      expect(run.err).toBe('error: The tensorflow backend needs the package @tensorflow/tfjs-node; install it (npm install @tensorflow/tfjs-node) or choose another --backend.');
    } finally {
      vi.doUnmock('@tensorflow/tfjs-node');
    }
  });

  // And where it is built, the backend it names starts (in a process of its own: a test process keeps one backend).
  it.runIf(existsSync(join(process.cwd(), 'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node')))('an installed tfjs-node runs the command with --backend tensorflow', async () => {
    const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', 'compute/laplace/cli.ts', 'info', 'tests/laplace/fixtures/reference.kfac.laplace', '--backend', 'tensorflow']);
    expect(stdout).toMatch(/^kfac posterior: N = 1,?000, /);
    expect(stdout).toContain('input shape [8, 8, 2], 3 classes');
  });

  it('data errors name the file and the fix; nothing is written', async () => {
    writeFileSync(path('y-bad.npy'), npyBytes('<i8', [6], int64Labels([0, 1, 2, 3, 0, 1])));
    writeFileSync(path('x-bad.npy'), npyBytes('<f4', [6, 8, 8], new Uint8Array(6 * 64 * 4)));
    const base = ['fit', '--model', path('model.json'), '--curvature', 'diag', '--out', path('never.laplace'), '--backend', 'wasm'];
    const badLabel = await cli(...base, '--inputs', path('x.npy'), '--labels', path('y-bad.npy'));
    expect(badLabel.err).toMatch(/^error: \S+y-bad\.npy holds 3 at index 3, but labels must be whole numbers from 0 to 2 \(the model has 3 outputs\)\.$/);
    const badShape = await cli(...base, '--inputs', path('x-bad.npy'), '--labels', path('y.npy'));
    expect(badShape.err).toMatch(/^error: \S+x-bad\.npy has shape \[6, 8, 8\], but the model takes \[n, 8, 8, 2\]; reshape the inputs\.$/);
    expect([badLabel.code, badShape.code]).toEqual([2, 2]);
    expect(existsSync(path('never.laplace'))).toBe(false);
  });
});

describe('checked before the work, and progress on a terminal', () => {
  it('an --out under a file fails at once in one sentence (before the fix: after the whole fit, with a stack trace and exit code 1)', async () => {
    for (const command of [
      ['fit', '--model', path('model.json'), '--inputs', path('x.npy'), '--labels', path('y.npy'), '--curvature', 'diag'],
      ['predict', '--posterior', path('q.laplace'), '--inputs', path('x.npy')],
    ]) {
      const run = await cli(...command, '--out', join(path('x.npy'), 'sub', 'out.file'), '--backend', 'wasm');
      expect(run.code).toBe(2);
      expect(run.out).toBe('');
      expect(run.err).toMatch(/^error: --out \S+x\.npy\/sub\/out\.file cannot be written: \S+x\.npy is a file, not a folder; pass a path in a folder\.$/);
    }
  });

  it('the top-level help names --objective marglik', async () => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/tune .*--objective marglik/);
  });

  it('fit and predict draw a progress line on a terminal, and nothing when stderr is not one or under CI', async () => {
    const writes: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    const wasTTY = process.stderr.isTTY;
    const ci = process.env.CI;
    try {
      const predict = ['predict', '--posterior', path('q.laplace'), '--inputs', path('x.npy'), '--out', path('progress.npy'), '--backend', 'wasm', '--batch-size', '2'];
      const fit = ['fit', '--model', path('model.json'), '--inputs', path('x.npy'), '--labels', path('y.npy'), '--curvature', 'diag', '--tau', '1', '--batch-size', '2', '--out', path('progress.laplace'), '--backend', 'wasm'];
      process.stderr.isTTY = true;
      delete process.env.CI;
      expect((await cli(...fit)).code).toBe(0);
      expect((await cli(...predict)).code).toBe(0);
      const drawn = writes.join('');
      expect(drawn).toMatch(/\r\x1b\[Kfit diag on 6 examples: \d of 6 \(\d+%\)/);
      expect(drawn).toMatch(/\r\x1b\[Kpredict 6 examples \(glm\): \d of 6 \(\d+%\)/);
      // The line is cleared before the summary is printed.
      expect(drawn.endsWith('\r\x1b[K')).toBe(true);
      writes.length = 0;
      process.env.CI = 'true';
      expect((await cli(...predict)).code).toBe(0);
      process.stderr.isTTY = false;
      delete process.env.CI;
      expect((await cli(...predict)).code).toBe(0);
      expect(writes.join('')).toBe('');
    } finally {
      write.mockRestore();
      process.stderr.isTTY = wasTTY;
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
    }
  });
});

describe('.npy files', () => {
  it('reads the number types numpy writes, in C order, and refuses Fortran order and truncation in one sentence', () => {
    const floats = Float64Array.from([0.5, -2, 3.25, 1e-3]);
    expect(readNpy(npyBytes('<f8', [2, 2], new Uint8Array(floats.buffer)), 'a.npy')).toEqual({ shape: [2, 2], dtype: '<f8', values: floats });
    expect(readNpy(npyBytes('|u1', [3], Uint8Array.from([0, 7, 255])), 'b.npy').values).toEqual(Float64Array.from([0, 7, 255]));
    expect(readNpy(npyBytes('<i8', [2], int64Labels([-5, 9])), 'c.npy').values).toEqual(Float64Array.from([-5, 9]));
    expect(() => readNpy(npyBytes('<f8', [2, 2], new Uint8Array(floats.buffer), true), 'd.npy')).toThrow(/^d\.npy is in Fortran order; save the array with numpy\.save/);
    expect(() => readNpy(npyBytes('<f8', [2, 2], new Uint8Array(floats.buffer).subarray(0, 30)), 'e.npy')).toThrow(/^e\.npy is truncated \(\d+ bytes, \d+ expected for shape \[2, 2\]\)/);
    expect(() => readNpy(npyBytes('>f8', [1], new Uint8Array(8)), 'f.npy')).toThrow(/^f\.npy holds numbers of type >f8, which this reader does not know/);
    expect(() => readNpy(new TextEncoder().encode('0,1,2\n'), 'g.csv')).toThrow(/^g\.csv is not a \.npy file/);
  });

  it('writes float32 in the layout numpy.save uses (header padded with spaces and a newline to 64 bytes)', () => {
    const bytes = writeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + (bytes[8] | (bytes[9] << 8))));
    // numpy 2.4's own bytes for np.save(f, np.arange(1, 7, dtype=np.float32).reshape(2, 3)) have this header.
    expect(header).toBe(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }${' '.repeat(58)}\n`);
    expect((10 + header.length) % 64).toBe(0);
    expect(Array.from(new Float32Array(bytes.slice(10 + header.length).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(readNpy(writeNpy(Float32Array.from([7]), [1]), 'one.npy')).toEqual({ shape: [1], dtype: '<f4', values: Float64Array.from([7]) });
  });
});

/** A model as model.json and one weight file, as model.save writes it to a folder. */
async function saveModelJson(model: tfl.LayersModel, name: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      writeFileSync(path(`${name}.bin`), new Uint8Array(artifacts.weightData as ArrayBuffer));
      const manifest = [{ paths: [`${name}.bin`], weights: artifacts.weightSpecs }];
      writeFileSync(path(`${name}.json`), JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: manifest }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

const floats = (values: ArrayLike<number>) => new Uint8Array(Float32Array.from(values).buffer);

describe('regression and binary models on the command line', () => {
  const count = 24;
  const noise = 0.1;
  let regression: tfl.Sequential;
  let twoOutputs: tfl.Sequential;
  let binary: tfl.Sequential;
  let x: tf.Tensor;
  let y: Float32Array;
  let y2: Float32Array;
  let binaryLabels: Int32Array;

  /** Dense 3 → hidden tanh → units (activation): seeded weights. */
  function mlp(hidden: number, units: number, activation: 'linear' | 'sigmoid', seed: number): tfl.Sequential {
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [3], units: hidden, activation: 'tanh', name: `cli_hidden_${seed}` }), tfl.layers.dense({ units, activation, name: `cli_out_${seed}` })],
    });
    seedWeights(model, seed);
    return model;
  }

  /** The network's own outputs plus noise of scale `noise`, so that σ has a true value. */
  function noisyTargets(model: tfl.LayersModel, seed: number): Float32Array {
    const f = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const disturbance = randomInputs([f.length], seed).dataSync();
    return Float32Array.from(f, (value, i) => value + noise * disturbance[i]);
  }

  beforeAll(async () => {
    regression = mlp(5, 1, 'linear', 401);
    twoOutputs = mlp(4, 2, 'linear', 402);
    binary = mlp(4, 1, 'sigmoid', 403);
    x = randomInputs([count, 3], 404);
    y = noisyTargets(regression, 405);
    y2 = noisyTargets(twoOutputs, 406);
    binaryLabels = randomLabels(count, 2, 407);
    await saveModelJson(regression, 'regression');
    await saveModelJson(twoOutputs, 'two-outputs');
    await saveModelJson(binary, 'binary');
    writeFileSync(path('rx.npy'), npyBytes('<f4', [count, 3], floats(x.dataSync())));
    writeFileSync(path('ry.npy'), npyBytes('<f4', [count], floats(y)));
    writeFileSync(path('ry-column.npy'), npyBytes('<f8', [count, 1], new Uint8Array(Float64Array.from(y).buffer)));
    writeFileSync(path('ry2.npy'), npyBytes('<f4', [count, 2], floats(y2)));
    writeFileSync(path('by.npy'), npyBytes('<i8', [count], int64Labels(binaryLabels)));
  });

  afterAll(() => {
    [regression, twoOutputs, binary, x].forEach((item) => item?.dispose());
  });

  const fitArgs = (model: string, ...rest: string[]) => ['fit', '--model', path(`${model}.json`), '--inputs', path('rx.npy'), ...rest, '--backend', 'wasm'];

  it('fit on one linear unit is a regression: σ and τ by the marginal likelihood, as fitLaplace tunes them', async () => {
    const run = await cli(...fitArgs('regression', '--targets', path('ry.npy'), '--curvature', 'diag', '--out', path('r.laplace')));
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^diag posterior of 2 layers on 24 examples \(mc Fisher, regression with 1 output\): N = 24 \(the examples\), τ = [\d.e+-]+ \(marginal likelihood\), σ = [\d.e+-]+ \(marginal likelihood\); .* on wasm; wrote /);
    const fromFile = await loadLaplace(path('r.laplace'));
    const inMemory = await fitLaplace(regression, regressionData(x, y), { curvature: 'diag', likelihood: 'regression' });
    expect([fromFile.posterior.likelihood.kind, fromFile.n, fromFile.tau, fromFile.sigma]).toEqual(['regression', count, inMemory.tau, inMemory.sigma]);
    // The targets' noise has scale 0.1 around the network's outputs: the evidence finds that order
    // (larger, as 24 examples pay for 26 parameters).
    expect(fromFile.sigma!).toBeGreaterThan(0.05);
    expect(fromFile.sigma!).toBeLessThan(0.5);
    const fileRegression = await fromFile.predictRegression(regressionData(x, y));
    const memoryRegression = await inMemory.predictRegression(regressionData(x, y));
    expect(Array.from(fileRegression.variance)).toEqual(Array.from(memoryRegression.variance));
    [fromFile, inMemory].forEach((laplace) => laplace.dispose());
    // Targets [n, 1] and an explicit --likelihood regression give the same posterior.
    const column = await cli(...fitArgs('regression', '--targets', path('ry-column.npy'), '--likelihood', 'regression', '--curvature', 'diag', '--out', path('r-column.laplace')));
    expect(column.code).toBe(0);
    expect(readFileSync(path('r-column.laplace')).equals(readFileSync(path('r.laplace')))).toBe(true);
    const info = await cli('info', path('r.laplace'), '--backend', 'wasm');
    expect(info.out.split('\n')[2]).toMatch(/^input shape \[3\], regression with 1 output, noise σ = [\d.e+-]+$/);
  });

  it('fit --sigma --tau keeps both; tune --objective marglik then tunes σ and τ together, as tuneMarginalLikelihood does', async () => {
    const run = await cli(...fitArgs('regression', '--targets', path('ry.npy'), '--curvature', 'kfac', '--sigma', '0.5', '--tau', '3', '--out', path('rs.laplace')));
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/N = 24 \(the examples\), τ = 3 \(--tau\), σ = 0\.5 \(--sigma\);/);
    const fixed = await loadLaplace(path('rs.laplace'));
    expect([fixed.tau, fixed.sigma]).toEqual([3, 0.5]);
    const inMemory = await fitLaplace(regression, regressionData(x, y), { curvature: 'kfac', likelihood: 'regression', sigma: 0.5, tau: 3 });
    expect(Array.from((await fixed.predictRegression(regressionData(x, y))).variance)).toEqual(Array.from((await inMemory.predictRegression(regressionData(x, y))).variance));
    const tune = await cli('tune', '--posterior', path('rs.laplace'), '--out', path('rt.laplace'), '--backend', 'wasm');
    expect(tune.code).toBe(0);
    expect(tune.out).toMatch(/^kfac posterior of a regression, marginal likelihood at N = 24: log evidence -?[\d.]+ at τ = [\d.e+-]+, σ = [\d.e+-]+ \(on wasm\); wrote /);
    const tuned = await loadLaplace(path('rt.laplace'));
    const expected = fixed.tuneMarginalLikelihood({ optimizeSigma: true });
    expect([tuned.tau, tuned.sigma]).toEqual([expected.model.tau, expected.model.sigma]);
    expect(tuned.sigma).not.toBe(0.5);
    [fixed, inMemory, tuned, expected.model].forEach((laplace) => laplace.dispose());
  });

  it('fit --tau without --sigma tunes σ alone at that τ, as fitLaplace does', async () => {
    const run = await cli(...fitArgs('regression', '--targets', path('ry.npy'), '--curvature', 'diag', '--tau', '2', '--out', path('rtau.laplace')));
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/τ = 2 \(--tau\), σ = [\d.e+-]+ \(marginal likelihood\);/);
    const fromFile = await loadLaplace(path('rtau.laplace'));
    const inMemory = await fitLaplace(regression, regressionData(x, y), { curvature: 'diag', likelihood: 'regression', tau: 2 });
    expect([fromFile.tau, fromFile.sigma]).toEqual([2, inMemory.sigma]);
    [fromFile, inMemory].forEach((laplace) => laplace.dispose());
  });

  it('predict writes the GLM mean and variance as two .npy files (or JSON), as predictRegression computes them, with RMSE and NLL from --targets', async () => {
    const run = await cli('predict', '--posterior', path('r.laplace'), '--inputs', path('rx.npy'), '--targets', path('ry.npy'), '--out', path('rp.npy'), '--backend', 'wasm');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^24 examples, glm predictive of a regression \(mean, and variance = functional variance \+ σ², σ = [\d.e+-]+\): RMSE [\d.]+, NLL -?[\d.]+ \(.* on wasm\); wrote the mean to \S+rp\.mean\.npy and the variance to \S+rp\.variance\.npy$/);
    expect(existsSync(path('rp.npy'))).toBe(false);
    const mean = readNpy(readFileSync(path('rp.mean.npy')), 'mean');
    const variance = readNpy(readFileSync(path('rp.variance.npy')), 'variance');
    expect([mean.shape, variance.shape, mean.dtype]).toEqual([[count, 1], [count, 1], '<f4']);
    const laplace = await loadLaplace(path('r.laplace'));
    const expected = await laplace.predictRegression(regressionData(x, y));
    expect(Array.from(mean.values)).toEqual(Array.from(expected.mean));
    expect(Array.from(variance.values)).toEqual(Array.from(expected.variance));
    // The mean is the network's output (to float32 rounding: the library runs its own forward pass), and every variance holds at least the noise σ².
    const network = (regression.predict(x) as tf.Tensor).dataSync();
    mean.values.forEach((value, i) => expect(value).toBeCloseTo(network[i], 5));
    for (const value of variance.values) expect(value).toBeGreaterThanOrEqual(Math.fround(laplace.sigma! ** 2));
    // The metrics, by hand from the files.
    let squares = 0;
    let nll = 0;
    for (let i = 0; i < count; i++) {
      squares += (y[i] - mean.values[i]) ** 2;
      nll += 0.5 * Math.log(2 * Math.PI * variance.values[i]) + (y[i] - mean.values[i]) ** 2 / (2 * variance.values[i]);
    }
    const [, rmse, meanNll] = /RMSE ([\d.]+), NLL (-?[\d.]+)/.exec(run.out)!;
    expect(Number(rmse)).toBeCloseTo(Math.sqrt(squares / count), 4);
    expect(Number(meanNll)).toBeCloseTo(nll / count, 4);
    const json = await cli('predict', '--posterior', path('r.laplace'), '--inputs', path('rx.npy'), '--out', path('rp.json'), '--backend', 'wasm');
    expect(json.code).toBe(0);
    expect(json.out).toMatch(/wrote the mean and the variance to \S+rp\.json$/);
    const parsed = JSON.parse(readFileSync(path('rp.json'), 'utf8')) as { mean: number[][]; variance: number[][]; sigma: number; likelihood: string; metrics: unknown };
    expect(parsed.mean.flat()).toEqual(Array.from(expected.mean));
    expect(parsed.variance.flat()).toEqual(Array.from(expected.variance));
    expect([parsed.likelihood, parsed.sigma, parsed.metrics]).toEqual(['regression', laplace.sigma, null]);
    laplace.dispose();
  });

  it('a last-layer posterior at given σ and τ predicts the variance of Bayesian linear regression on the body\'s features', async () => {
    const [sigma, tau] = [0.3, 2];
    const fit = await cli(...fitArgs('regression', '--targets', path('ry.npy'), '--curvature', 'last-layer', '--fisher', 'exact', '--sigma', String(sigma), '--tau', String(tau), '--out', path('rl.laplace')));
    expect(fit.code).toBe(0);
    const run = await cli('predict', '--posterior', path('rl.laplace'), '--inputs', path('rx.npy'), '--out', path('rl.npy'), '--backend', 'wasm');
    expect(run.code).toBe(0);
    const variance = readNpy(readFileSync(path('rl.variance.npy')), 'variance').values;
    // φ = [tanh(x K + b); 1]; precision (1/σ²) ΦᵀΦ + τ I (N = n); variance φᵀ A⁻¹ φ + σ².
    const [kernel, bias] = regression.layers[0].getWeights().map((w) => w.dataSync());
    const inputs = x.dataSync();
    const hidden = bias.length;
    const features = Array.from({ length: count }, (_, i) => {
      const phi = new Float64Array(hidden + 1);
      for (let j = 0; j < hidden; j++) {
        let z = bias[j];
        for (let k = 0; k < 3; k++) z += inputs[i * 3 + k] * kernel[k * hidden + j];
        phi[j] = Math.tanh(z);
      }
      phi[hidden] = 1;
      return phi;
    });
    const precision = zeros(hidden + 1);
    for (const phi of features) for (let a = 0; a <= hidden; a++) for (let b = 0; b <= hidden; b++) precision.data[a * (hidden + 1) + b] += (phi[a] * phi[b]) / sigma ** 2;
    for (let a = 0; a <= hidden; a++) precision.data[a * (hidden + 1) + a] += tau;
    const covariance = invert(precision);
    const worst = Math.max(
      ...features.map((phi, i) => {
        let quadratic = 0;
        for (let a = 0; a <= hidden; a++) for (let b = 0; b <= hidden; b++) quadratic += phi[a] * covariance.data[a * (hidden + 1) + b] * phi[b];
        const reference = quadratic + sigma ** 2;
        return Math.abs(variance[i] - reference) / reference;
      }),
    );
    expect(worst).toBeLessThan(1e-5);
  });

  it('several linear units are logits with --labels and a regression with --targets [n, outputs]', async () => {
    const run = await cli(...fitArgs('two-outputs', '--targets', path('ry2.npy'), '--curvature', 'diag', '--out', path('r2.laplace')));
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/\(mc Fisher, regression with 2 outputs\)/);
    const fromFile = await loadLaplace(path('r2.laplace'));
    const inMemory = await fitLaplace(twoOutputs, regressionData(x, y2), { curvature: 'diag', likelihood: 'regression' });
    expect([fromFile.posterior.likelihood.kind, fromFile.tau, fromFile.sigma]).toEqual(['regression', inMemory.tau, inMemory.sigma]);
    const predict = await cli('predict', '--posterior', path('r2.laplace'), '--inputs', path('rx.npy'), '--out', path('r2.npy'), '--backend', 'wasm');
    expect(predict.code).toBe(0);
    expect(readNpy(readFileSync(path('r2.variance.npy')), 'variance').shape).toEqual([count, 2]);
    [fromFile, inMemory].forEach((laplace) => laplace.dispose());
    const logits = await cli(...fitArgs('two-outputs', '--labels', path('by.npy'), '--curvature', 'diag', '--out', path('c2.laplace')));
    expect(logits.code).toBe(0);
    expect(logits.out).toMatch(/^diag posterior of 2 layers on 24 examples \(mc Fisher\): N = 24/);
    const classifier = await loadLaplace(path('c2.laplace'));
    expect([classifier.posterior.likelihood.kind, classifier.sigma]).toEqual(['classification', undefined]);
    classifier.dispose();
  });

  it('a binary sigmoid classifier fits and predicts as the library does (labels 0 and 1, two probabilities per input)', async () => {
    const run = await cli(...fitArgs('binary', '--labels', path('by.npy'), '--curvature', 'kfac', '--out', path('b.laplace')));
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const fromFile = await loadLaplace(path('b.laplace'));
    const inMemory = await fitLaplace(binary, tensorData(x, binaryLabels), { curvature: 'kfac' });
    expect(fromFile.tau).toBe(inMemory.tau);
    const predict = await cli('predict', '--posterior', path('b.laplace'), '--inputs', path('rx.npy'), '--labels', path('by.npy'), '--out', path('bp.npy'), '--backend', 'wasm');
    expect(predict.code).toBe(0);
    const written = readNpy(readFileSync(path('bp.npy')), 'bp.npy');
    expect(written.shape).toEqual([count, 2]);
    expect(Array.from(written.values)).toEqual(Array.from(await inMemory.predict(tensorData(x, binaryLabels))));
    [fromFile, inMemory].forEach((laplace) => laplace.dispose());
  });

  it.each([
    ['targets of the wrong shape', () => fitArgs('regression', '--targets', path('ry2.npy'), '--curvature', 'diag', '--out', path('never.laplace')), /^\S+ry2\.npy has shape \[24, 2\], but \S+rx\.npy has 24 examples and the model 1 output; pass targets of shape \[24\] or \[24, 1\]\.$/],
    ['one target per input missing', () => fitArgs('two-outputs', '--targets', path('ry.npy'), '--curvature', 'diag', '--out', path('never.laplace')), /^\S+ry\.npy has shape \[24\], but \S+rx\.npy has 24 examples and the model 2 outputs; pass targets of shape \[24, 2\]\.$/],
    ['integer targets for a regression', () => fitArgs('regression', '--targets', path('by.npy'), '--curvature', 'diag', '--out', path('never.laplace')), /^\S+by\.npy holds integers \(<i8\), a classifier's labels, but the model is a regression; save its targets as floats/],
    ['labels for a regression model', () => fitArgs('regression', '--labels', path('by.npy'), '--curvature', 'diag', '--out', path('never.laplace')), /^The model is a regression \(its output layer cli_out_401 ends in one linear unit\); pass its float targets as --targets FILE, not --labels\.$/],
    ['targets for a sigmoid classifier', () => fitArgs('binary', '--targets', path('ry.npy'), '--curvature', 'diag', '--out', path('never.laplace')), /^The model is a classifier \(its output layer cli_out_403 ends in a sigmoid over 1 unit\); pass its integer labels as --labels FILE, not --targets\.$/],
    ['a negative σ', () => fitArgs('regression', '--targets', path('ry.npy'), '--curvature', 'diag', '--sigma=-0.1', '--out', path('never.laplace')), /^--sigma must be a positive number, got "-0\.1"\.$/],
    ['σ of zero', () => fitArgs('regression', '--targets', path('ry.npy'), '--curvature', 'diag', '--sigma', '0', '--out', path('never.laplace')), /^--sigma must be a positive number, got "0"\.$/],
    ['σ for a classifier', () => fitArgs('binary', '--labels', path('by.npy'), '--curvature', 'diag', '--sigma', '1', '--out', path('never.laplace')), /^--sigma is the observation noise of a regression, and this fit is a classification; drop it\.$/],
    ['--likelihood classification on one linear unit', () => fitArgs('regression', '--labels', path('by.npy'), '--likelihood', 'classification', '--curvature', 'diag', '--out', path('never.laplace')), /^--likelihood classification does not agree with the model: its output layer cli_out_401 ends in one linear unit, a regression's output/],
    ['--likelihood regression on a sigmoid', () => fitArgs('binary', '--targets', path('ry.npy'), '--likelihood', 'regression', '--curvature', 'diag', '--out', path('never.laplace')), /^--likelihood regression does not agree with the model: its output layer cli_out_403 ends in a sigmoid over 1 unit, a classifier's output, and a regression needs linear outputs\.$/],
    ['an unknown likelihood', () => fitArgs('regression', '--targets', path('ry.npy'), '--likelihood', 'poisson', '--curvature', 'diag', '--out', path('never.laplace')), /^Unknown --likelihood "poisson"; choose one of classification, regression\.$/],
    ['labels and targets together', () => fitArgs('regression', '--targets', path('ry.npy'), '--labels', path('by.npy'), '--curvature', 'diag', '--out', path('never.laplace')), /^Pass either --labels .* or --targets .*, not both\.$/],
    ['the empirical Fisher for a regression', () => fitArgs('regression', '--targets', path('ry.npy'), '--fisher', 'empirical', '--curvature', 'diag', '--out', path('never.laplace')), /^The empirical Fisher is for classification only; use --fisher mc or exact for a regression\.$/],
    ['a grid objective on a regression posterior', () => ['tune', '--posterior', path('r.laplace'), '--objective', 'nll', '--inputs', path('rx.npy'), '--labels', path('by.npy'), '--out', path('never.laplace'), '--backend', 'wasm'], /^\S+r\.laplace holds a regression posterior, and the validation objectives \(nll, error\+ece\) score classifiers; use --objective marglik, which tunes σ and τ together\.$/],
    ['--log-sigma on a classifier posterior', () => ['tune', '--posterior', path('b.laplace'), '--log-sigma=-2,1', '--out', path('never.laplace'), '--backend', 'wasm'], /^--log-sigma is the range of a regression's noise σ, and \S+b\.laplace holds a classifier's posterior; drop it\.$/],
    ['labels to a regression posterior', () => ['predict', '--posterior', path('r.laplace'), '--inputs', path('rx.npy'), '--labels', path('by.npy'), '--out', path('never.npy'), '--backend', 'wasm'], /^\S+r\.laplace holds a regression posterior; pass its float targets as --targets FILE, not --labels\.$/],
    ['a sampled predictive for a regression', () => ['predict', '--posterior', path('r.laplace'), '--inputs', path('rx.npy'), '--predictive', 'sampled', '--out', path('never.npy'), '--backend', 'wasm'], /^A regression posterior predicts with the GLM predictive \(mean and variance\), not sampled; drop --predictive\.$/],
    ['integer targets to a regression posterior', () => ['predict', '--posterior', path('r.laplace'), '--inputs', path('rx.npy'), '--targets', path('by.npy'), '--out', path('never.npy'), '--backend', 'wasm'], /^\S+by\.npy holds integers \(<i8\), a classifier's labels/],
    ['targets to a classifier posterior', () => ['predict', '--posterior', path('b.laplace'), '--inputs', path('rx.npy'), '--targets', path('ry.npy'), '--out', path('never.npy'), '--backend', 'wasm'], /^\S+b\.laplace holds a classifier's posterior; pass its integer labels as --labels FILE, not --targets\.$/],
  ])('%s: exit code 2, one sentence, nothing written', async (_, argv, message) => {
    const run = await cli(...argv());
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
    expect(run.err.startsWith('error: ')).toBe(true);
    const line = run.err.replace(/^error: /, '');
    expect(line).toMatch(message);
    expect(line.split('\n')).toHaveLength(1);
    for (const name of ['never.laplace', 'never.npy', 'never.mean.npy', 'never.variance.npy']) expect(existsSync(path(name))).toBe(false);
  });

  it('targets holding NaN are refused before the fit', async () => {
    writeFileSync(path('ry-nan.npy'), npyBytes('<f4', [count], floats(Array.from(y, (value, i) => (i === 5 ? NaN : value)))));
    const run = await cli(...fitArgs('regression', '--targets', path('ry-nan.npy'), '--curvature', 'diag', '--out', path('never.laplace')));
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/^error: \S+ry-nan\.npy holds NaN at index 5, but targets must be finite numbers\.$/);
  });
});
