/**
 * Curvature fits on LeNet-5 over MNIST training images, as ratios measured in one run on one backend:
 *  - each fit (exact and mc Fisher; diag, kfac, efb, last-layer) ÷ one training epoch over the same images;
 *  - new ÷ old: the same fit with curvature.ts as it was at a git revision (--baseline), loaded from
 *    `git show` into .cache/bench/ so both run in this process on the same weights;
 *  - ours ÷ laplace-torch (BackPACK backend, 2 threads): the midpoints of times measured on this machine
 *    kind in an earlier session (issue 24), NOT in this run, so that ratio carries the machines' noise.
 * Repeats run interleaved (old, new, old, new …) and each ratio is reported as the range over repeats.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

const epochs: number[] = [];
const timings = new Map<string, { current: number[]; old: number[]; difference?: number }>();
for (let repeat = 0; repeat < repeats; repeat++) {
  epochs.push(await seconds(() => trainModel(model, fitSet, spec.recipe, 1, 2 + repeat, modelName)));
  for (const fisher of fishers) {
    for (const kind of kinds) {
      const key = `${fisher} ${kind}`;
      if (!timings.has(key)) timings.set(key, { current: [], old: [] });
      const entry = timings.get(key)!;
      // The old code first on even repeats, second on odd ones, so drift does not favour either.
      let oldFit: CurvatureFit | null = null;
      let newFit: CurvatureFit | null = null;
      const runOld = async () => old && entry.old.push(await seconds(async () => (oldFit = await old(network, weights, data, { kinds: [kind], fisher, seed: 7 }))));
      const runNew = async () => entry.current.push(await seconds(async () => (newFit = await fitCurvature(network, weights, data, { kinds: [kind], fisher, seed: 7 }))));
      if (repeat % 2 === 0) {
        await runOld();
        await runNew();
      } else {
        await runNew();
        await runOld();
      }
      if (oldFit && newFit && repeat === 0) entry.difference = fitDifference(oldFit, newFit);
    }
  }
}

const rows = [...timings].map(([key, entry]) => {
  const ratios = (numerators: number[], denominators: number[]) => numerators.map((value, index) => value / denominators[Math.min(index, denominators.length - 1)]);
  const torch = laplaceTorchSeconds[key];
  return {
    fit: key,
    'new s': range(entry.current),
    'old s': range(entry.old),
    'epoch s': range(epochs),
    'new ÷ epoch': range(ratios(entry.current, epochs)),
    'old ÷ epoch': range(ratios(entry.old, epochs)),
    'new ÷ old': range(ratios(entry.current, entry.old)),
    'new vs old (rel. diff)': entry.difference === undefined ? '-' : entry.difference.toExponential(1),
    'new ÷ laplace-torch*': torch !== undefined && modelName === 'lenet5' ? range(entry.current.map((value) => (value * 10000) / images / torch)) : '-',
  };
});
console.log(`\n# ${modelName}: curvature fits over ${images} MNIST training images, ${repeats} interleaved repeats (ranges), ${backend.name} backend`);
console.log(`old = compute/laplace/curvature.ts at ${baselineRef}; epoch = one training epoch (forward + backward + Adam) over the same images`);
console.table(rows);
console.log(
  '* laplace-torch (BackPACK, 2 threads) seconds are midpoints of ranges measured on this machine kind in an earlier session (issue 24), ' +
    'not in this run; ours is scaled to 10,000 images linearly when --images differs. Midpoints used: ' +
    Object.entries(laplaceTorchSeconds)
      .map(([key, value]) => `${key} ${value}`)
      .join(', '),
);
weights.forEach((weight) => weight.dispose());
model.dispose();
