/**
 * Curvature fits on LeNet-5 over MNIST training images, as ratios measured in one run on one backend:
 *  - each fit (exact and mc Fisher; diag, kfac, efb, last-layer) ÷ one training epoch over the same images;
 *  - new ÷ old: the same fit with curvature.ts as it was at a git revision (--baseline), loaded from
 *    `git show` into .cache/bench/ so both run in this process on the same weights;
 *  - ours ÷ PyTorch, measured in this run when --torch-python names a Python with torch: the network's
 *    weights and the images are exported to .cache/bench/fits-torch as .npy, tests/bench/laplace_torch.py
 *    loads them into the same LeNet-5 and answers one fit per request, so every fit runs ours, theirs,
 *    ours, theirs … with the same thread count (TF_NUM_INTRAOP_THREADS for ours, torch.set_num_threads
 *    for theirs). Theirs is laplace-torch with BackPACK where that imports, else the same arithmetic
 *    written with torch alone (the script says which; the exact fits' sums are checked to equal ours);
 *  - without --torch-python, ours ÷ laplace-torch from times typed in from an earlier session (issue 24),
 *    NOT measured in this run, so that ratio carries the two sessions' load, and is labelled so.
 * Repeats run interleaved (old, new, torch; then reversed) and each ratio is the range over repeats.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeBackend, startBackend } from '../../compute/backend/index.ts';
import { loadDataset, subset } from '../../compute/data/index.ts';
import { fitCurvature, imageData, Network, type CurvatureFit, type CurvatureKind, type FisherType } from '../../compute/laplace/index.ts';
import { initializeWeights, trainModel } from '../../compute/models/train.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';

const usage = `Usage: npx tsx tests/bench/fits.ts [options]

Times the Laplace curvature fits on LeNet-5 against one training epoch, the old code and laplace-torch.

Options:
  --images N        MNIST training images to fit on and train the epoch on (default 10000)
  --backend NAME    node, wasm or cpu (default node)
  --repeats N       interleaved repeats of every timing (default 2)
  --kinds LIST      comma-separated curvatures (default diag,kfac,efb,last-layer)
  --fishers LIST    comma-separated Fisher types (default exact,mc)
  --baseline REF    git revision whose compute/laplace/curvature.ts is "old" (default ${'4a492df'}); "none" skips it
  --model NAME      zoo model (default lenet5; laplace-torch's numbers are for lenet5 only)
  --torch-python PATH  a Python with torch (and laplace-torch with BackPACK, if it has them; make one
                    with bash tests/bench/torch-venv.sh DIR, outside the repository): times
                    tests/bench/laplace_torch.py's fits in this run, interleaved with ours, on the same
                    weights, images and thread count; without it, ours ÷ laplace-torch uses times typed
                    in from an earlier session (issue 24), labelled so
  --torch-implementation NAME  auto (default: laplace-torch if it imports, else pytorch), laplace-torch,
                    or pytorch (BackPACK's arithmetic written with torch alone)
  --help            print this and exit
`;

const { values } = parseArgs({
  options: {
    images: { type: 'string' },
    backend: { type: 'string' },
    repeats: { type: 'string' },
    kinds: { type: 'string' },
    fishers: { type: 'string' },
    baseline: { type: 'string' },
    model: { type: 'string' },
    'torch-python': { type: 'string' },
    'torch-implementation': { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const positiveInteger = (name: string, text: string | undefined, fallback: number) => {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${text}".`);
  return value;
};
const images = positiveInteger('images', values.images, 10000);
const repeats = positiveInteger('repeats', values.repeats, 2);
const kinds = (values.kinds ?? 'diag,kfac,efb,last-layer').split(',') as CurvatureKind[];
const fishers = (values.fishers ?? 'exact,mc').split(',') as FisherType[];
const baselineRef = values.baseline ?? '4a492df';
const modelName = values.model ?? 'lenet5';
const torchPython = values['torch-python'];
const torchImplementation = values['torch-implementation'] ?? 'auto';
if (!['auto', 'laplace-torch', 'pytorch'].includes(torchImplementation)) throw new Error(`--torch-implementation must be auto, laplace-torch or pytorch, got "${torchImplementation}".`);
if (torchPython !== undefined && modelName !== 'lenet5') throw new Error('--torch-python builds LeNet-5 only; drop --model or pass --model lenet5.');
if (torchPython !== undefined) {
  // Checked before anything is measured: a wrong path or a Python without torch fails now, in one sentence.
  try {
    execFileSync(torchPython, ['-c', 'import torch, numpy'], { stdio: 'pipe' });
  } catch {
    console.error(`error: --torch-python ${torchPython} cannot run \`import torch, numpy\`; give a Python that has both (make one with bash tests/bench/torch-venv.sh DIR).`);
    process.exit(2);
  }
}
// Both libraries get the same threads: TensorFlow's intra-op pool (set before the backend starts) and torch's.
process.env.TF_NUM_INTRAOP_THREADS ??= '2';
const threads = Number(process.env.TF_NUM_INTRAOP_THREADS);

/** laplace-torch 0.2 (BackPACK), PyTorch 2.13, 2 threads, LeNet-5, 10,000 MNIST images: midpoints of the ranges in issue 24. */
const laplaceTorchSeconds: Record<string, number> = {
  'exact diag': (4.7 + 6.0) / 2,
  'exact kfac': (4.3 + 5.4) / 2,
  'exact last-layer': (1.8 + 2.3) / 2,
  'mc diag': (2.0 + 3.1) / 2,
  'mc kfac': (3.0 + 3.4) / 2,
  'mc last-layer': (1.8 + 2.2) / 2,
};

type FitFunction = typeof fitCurvature;

/** The fit as it was at `ref`: its curvature.ts written under .cache/bench with imports pointing back into compute/. */
async function baselineFit(ref: string): Promise<FitFunction> {
  const source = execFileSync('git', ['show', `${ref}:compute/laplace/curvature.ts`], { encoding: 'utf8' });
  const directory = join(process.cwd(), '.cache', 'bench');
  mkdirSync(directory, { recursive: true });
  const rewritten = source.replace(/from '\.\.\/([^']+)'/g, "from '../../compute/$1'").replace(/from '\.\/([^']+)'/g, "from '../../compute/laplace/$1'");
  const path = join(directory, `curvature-${ref.replace(/[^\w.-]/g, '_')}.ts`);
  writeFileSync(path, rewritten);
  const module = (await import(path)) as { fitCurvature: FitFunction };
  return module.fitCurvature;
}

/** max |new − old| / max |old| over every array of the fit: the two codes' numbers side by side on this backend. */
function fitDifference(before: CurvatureFit, after: CurvatureFit): number {
  const arrays = (fit: CurvatureFit): ArrayLike<number>[] => [
    ...(fit.diag ?? []),
    ...(fit.kfac ?? []).flatMap((factors) => [factors.a.data, factors.g.data]),
    ...(fit.efb ?? []).map((factors) => factors.diagonal),
    ...(fit.lastLayer ? [fit.lastLayer.data] : []),
  ];
  let difference = 0;
  let scale = 0;
  const pairs = arrays(after);
  arrays(before).forEach((reference, index) => {
    for (let k = 0; k < reference.length; k++) {
      difference = Math.max(difference, Math.abs(pairs[index][k] - reference[k]));
      scale = Math.max(scale, Math.abs(reference[k]));
    }
  });
  return difference / scale;
}

const seconds = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};
const format = (value: number) => Number(value.toPrecision(3));
const range = (list: number[]) => (list.length === 0 ? '-' : `${format(Math.min(...list))}–${format(Math.max(...list))}`);

/** A float32 or int32 array as a .npy file (format 1.0): the header names dtype and shape, padded to 64 bytes. */
function writeNpy(path: string, values: Float32Array | Int32Array, shape: number[]): void {
  const descr = values instanceof Float32Array ? '<f4' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix.writeUInt8(1, 6);
  prefix.writeUInt8(0, 7);
  prefix.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]));
}

/** The model's kernels and biases in tfjs layout, the fit's images (NHWC) and labels, and the logits of the first 256 images as a check. */
function exportForTorch(directory: string, model: ReturnType<typeof buildModel>, set: ReturnType<typeof subset>): void {
  mkdirSync(directory, { recursive: true });
  model.layers
    .filter((layer) => layer.getWeights().length === 2)
    .forEach((layer, index) => {
      const [kernel, bias] = layer.getWeights();
      writeNpy(join(directory, `kernel${index}.npy`), kernel.dataSync() as Float32Array, kernel.shape);
      writeNpy(join(directory, `bias${index}.npy`), bias.dataSync() as Float32Array, bias.shape);
    });
  writeNpy(join(directory, 'images.npy'), set.images, [set.count, set.height, set.width, 1]);
  writeNpy(join(directory, 'labels.npy'), Int32Array.from(set.labels), [set.count]);
  const checked = Math.min(256, set.count);
  const logits = tf.tidy(() => model.predict(tf.tensor4d(set.images.subarray(0, checked * set.height * set.width), [checked, set.height, set.width, 1])) as tf.Tensor);
  writeNpy(join(directory, 'logits.npy'), logits.dataSync() as Float32Array, logits.shape);
  logits.dispose();
}

interface TorchAnswer {
  fit: string;
  seconds?: number;
  summary?: Record<string, number>;
  error?: string;
}

/** tests/bench/laplace_torch.py as a long-lived child: one request line in, one JSON line out, so its fits interleave with ours. */
async function startTorch(python: string, directory: string) {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'laplace_torch.py');
  const child = spawn(python, [script, '--data', directory, '--threads', String(threads), '--batch', '128', '--implementation', torchImplementation], {
    stdio: ['pipe', 'pipe', 'inherit'],
    // OpenMP's threads spin while they wait by default; on a shared, loaded machine that made torch's fits 4-7× slower
    // (exact diag, 512 images, three alternations). Passive waiting is the fairer setting for theirs; a user's choice wins.
    env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' },
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`${python} ${script} exited with code ${code} (its error is above).`))));
  const next = async () => {
    const line = await Promise.race([lines.next(), exited]);
    if (line.done) throw new Error(`${script} closed its output.`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const ready = (await next()) as { implementation: string; versions: Record<string, string>; threads: number; logitsDifference: number };
  if (!(ready.logitsDifference < 1e-4)) throw new Error(`PyTorch's LeNet-5 does not compute the tfjs model's logits (relative difference ${ready.logitsDifference}); the export is wrong.`);
  return {
    ready,
    ask: async (request: string) => {
      child.stdin.write(`${request}\n`);
      return (await next()) as unknown as TorchAnswer;
    },
    close: () => child.stdin.end(),
  };
}

/** The same layout-free sums laplace_torch.py reports: each diag layer's total, each Kronecker factor's trace, the last layer's trace, the mean loss. */
function fitSummary(fit: CurvatureFit): Record<string, number> {
  const trace = (data: ArrayLike<number>, size: number) => {
    let sum = 0;
    for (let k = 0; k < size; k++) sum += data[k * size + k];
    return sum;
  };
  const summary: Record<string, number> = { loss: fit.meanLoss ?? NaN };
  fit.diag?.forEach((values, layer) => (summary[`D${layer}`] = values.reduce((sum, value) => sum + value, 0)));
  fit.kfac?.forEach((factors, layer) => {
    summary[`A${layer}`] = trace(factors.a.data, factors.a.rows);
    summary[`G${layer}`] = trace(factors.g.data, factors.g.rows);
  });
  fit.efb?.forEach((factors, layer) => (summary[`E${layer}`] = factors.diagonal.reduce((sum, value) => sum + value, 0)));
  if (fit.lastLayer) summary.L = trace(fit.lastLayer.data, fit.lastLayer.rows);
  return summary;
}

/** Largest relative difference over the sums both sides report. */
function summaryDifference(ours: Record<string, number>, theirs: Record<string, number>): number {
  const keys = Object.keys(theirs).filter((key) => key in ours);
  if (keys.length === 0) return NaN;
  return Math.max(...keys.map((key) => Math.abs(ours[key] - theirs[key]) / Math.abs(theirs[key])));
}

const backend = await startBackend(values.backend ?? 'node');
console.log(describeBackend(backend));
const old = baselineRef === 'none' ? null : await baselineFit(baselineRef);

const { train } = loadDataset('mnist');
const fitSet = subset(train, images);
const spec = getModelSpec(modelName);
const model = buildModel(spec);
initializeWeights(model, 1);
await trainModel(model, subset(train, 2048), spec.recipe, 1, 1, modelName); // warm-up and a non-random MAP
const network = new Network(model);
const weights = network.matricesFromModel(model);
const data = imageData(fitSet);
// Warm-up of every path on a few images, so the first timed fit does not pay for kernel set-up.
for (const fisher of fishers) {
  const small = imageData(subset(train, 256));
  await fitCurvature(network, weights, small, { kinds, fisher });
  if (old) await old(network, weights, small, { kinds, fisher });
}
let torch: Awaited<ReturnType<typeof startTorch>> | null = null;
if (torchPython !== undefined) {
  const directory = join(process.cwd(), '.cache', 'bench', 'fits-torch');
  exportForTorch(directory, model, fitSet);
  torch = await startTorch(torchPython, directory);
  console.log(`torch side: ${torch.ready.implementation} (${Object.entries(torch.ready.versions).map(([name, version]) => `${name} ${version}`).join(', ')}), ${torch.ready.threads} threads; its logits differ from tfjs's by ${torch.ready.logitsDifference.toExponential(1)} (relative)`);
  for (const fisher of fishers) for (const kind of kinds) await torch.ask(`warmup ${fisher} ${kind}`);
}

const epochs: number[] = [];
const timings = new Map<string, { current: number[]; old: number[]; torch: number[]; difference?: number; torchDifference?: number; torchError?: string }>();
for (let repeat = 0; repeat < repeats; repeat++) {
  epochs.push(await seconds(() => trainModel(model, fitSet, spec.recipe, 1, 2 + repeat, modelName)));
  for (const fisher of fishers) {
    for (const kind of kinds) {
      const key = `${fisher} ${kind}`;
      if (!timings.has(key)) timings.set(key, { current: [], old: [], torch: [] });
      const entry = timings.get(key)!;
      // The old code first on even repeats, second on odd ones, so drift does not favour either.
      let oldFit: CurvatureFit | null = null;
      let newFit: CurvatureFit | null = null;
      const runOld = async () => old && entry.old.push(await seconds(async () => (oldFit = await old(network, weights, data, { kinds: [kind], fisher, seed: 7 }))));
      const runNew = async () => entry.current.push(await seconds(async () => (newFit = await fitCurvature(network, weights, data, { kinds: [kind], fisher, seed: 7 }))));
      const runTorch = async () => {
        if (!torch) return;
        const answer = await torch.ask(key);
        if (answer.seconds === undefined) entry.torchError = answer.error;
        else {
          entry.torch.push(answer.seconds);
          if (fisher === 'exact' && answer.summary && Object.keys(answer.summary).length > 0 && newFit) entry.torchDifference = summaryDifference(fitSummary(newFit), answer.summary);
        }
      };
      // The order reverses on odd repeats (old, new, torch; torch, new, old), so drift favours none of them.
      const order = [runOld, runNew, runTorch];
      for (const run of repeat % 2 === 0 ? order : order.reverse()) await run();
      if (oldFit && newFit && repeat === 0) entry.difference = fitDifference(oldFit, newFit);
    }
  }
}

const rows = [...timings].map(([key, entry]) => {
  // Paired by repeat; nothing when either side was not measured (no --baseline, no --torch-python, a fit the other side lacks).
  const ratios = (numerators: number[], denominators: number[]) => (denominators.length === 0 ? [] : numerators.map((value, index) => value / denominators[Math.min(index, denominators.length - 1)]));
  const typedIn = laplaceTorchSeconds[key];
  const measured = torch
    ? {
        'torch s': entry.torchError ?? range(entry.torch),
        'new ÷ torch': range(ratios(entry.current, entry.torch)),
        'new vs torch (rel. diff of sums)': entry.torchDifference === undefined ? '-' : entry.torchDifference.toExponential(1),
      }
    : { 'new ÷ laplace-torch (typed in)*': typedIn !== undefined && modelName === 'lenet5' ? range(entry.current.map((value) => (value * 10000) / images / typedIn)) : '-' };
  return {
    fit: key,
    'new s': range(entry.current),
    'old s': range(entry.old),
    'epoch s': range(epochs),
    'new ÷ epoch': range(ratios(entry.current, epochs)),
    'old ÷ epoch': range(ratios(entry.old, epochs)),
    'new ÷ old': range(ratios(entry.current, entry.old)),
    'new vs old (rel. diff)': entry.difference === undefined ? '-' : entry.difference.toExponential(1),
    ...measured,
  };
});
console.log(`\n# ${modelName}: curvature fits over ${images} MNIST training images, ${repeats} interleaved repeats (ranges), ${backend.name} backend`);
console.log(`old = compute/laplace/curvature.ts at ${baselineRef}; epoch = one training epoch (forward + backward + Adam) over the same images`);
console.table(rows);
if (torch) {
  console.log(
    `torch = tests/bench/laplace_torch.py, ${torch.ready.implementation}, measured in this run interleaved with ours, ${torch.ready.threads} threads each; ` +
      (torch.ready.implementation === 'pytorch' ? "BackPACK's arithmetic written with torch alone (laplace-torch did not import); " : '') +
      'rel. diff of sums: exact fits only, the largest relative difference of layout-free sums (diag totals, factor traces, the mean loss) between the two.',
  );
  torch.close();
} else {
  console.log(
    '* typed in, not measured: laplace-torch (BackPACK, 2 threads) seconds are midpoints of ranges measured on this machine kind in an earlier session (issue 24), ' +
      'not in this run (pass --torch-python to measure); ours is scaled to 10,000 images linearly when --images differs. Midpoints used: ' +
      Object.entries(laplaceTorchSeconds)
        .map(([key, value]) => `${key} ${value}`)
        .join(', '),
  );
}
weights.forEach((weight) => weight.dispose());
model.dispose();
