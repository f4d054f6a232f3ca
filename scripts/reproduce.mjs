#!/usr/bin/env zx
// The main job: make sure data, packages and the native backend are there, regenerate the
// results of a profile (full by default, into results/), then build the site
// from them. Options are passed to the compute CLI: --profile, --only, --out,
// --backend, --workers, --cache.
import { $, argv, echo } from 'zx';

$.verbose = false;
const started = performance.now();
const passThrough = ['profile', 'only', 'out', 'backend', 'workers', 'cache']
  .filter((name) => argv[name] !== undefined)
  .flatMap((name) => [`--${name}`, String(argv[name])]);

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
try {
  await $({ stdio: 'inherit' })`tsx compute/cli.ts run ${passThrough}`;
} catch (error) {
  process.exit(error.exitCode ?? 1);
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
