#!/usr/bin/env zx
// Installs what the project needs and is not an npm package: Debian's
// Fashion-MNIST (and, with --browser, Chromium for the browser tests;
// --try-browser warns instead of failing where it cannot be installed, as `npm test` asks).
//   --native      build the native TensorFlow backend (@tensorflow/tfjs-node on
//                 the tensorflow-cpu wheel's C library; scripts/native.mjs); fail if it cannot
//   --try-native  the same, but a machine that cannot build it warns and stays on wasm
//   --native-gpu  the same recipe for @tensorflow/tfjs-node-gpu on the GPU wheel and CUDA 12
// Safe to run again: it only installs what is missing.
import { existsSync } from 'node:fs';
import { $, argv, echo } from 'zx';
import { ensureNative, recipes, SetupError } from './native.mjs';

$.verbose = false;
const fashionDir = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const asRoot = process.getuid?.() === 0 ? [] : ['sudo'];

// apt-get waits this long for another package manager's lock (e.g. unattended upgrades) before it gives up.
const lockWaitSeconds = Number(process.env.SETUP_APT_LOCK_WAIT ?? 300);

// Options first: a typo must not cost an apt-get run.
const knownOptions = ['native', 'try-native', 'native-gpu', 'browser', 'try-browser', 'help', '_'];
const unknown = Object.keys(argv).filter((name) => !knownOptions.includes(name));
if (unknown.length > 0 || argv._.length > 0) {
  console.error(`error: unknown option ${unknown.length > 0 ? `--${unknown[0]}` : `"${argv._[0]}"`}; setup takes --native, --try-native, --native-gpu, --browser and --try-browser.`);
  process.exit(2);
}
if (argv.help) {
  echo('Usage: npm run setup -- [--native | --try-native | --native-gpu] [--browser | --try-browser]');
  process.exit(0);
}

/** Install Debian packages; a failure is one sentence saying what to run, never zx's raw output. */
async function aptInstall(...packages) {
  echo(`installing ${packages.join(', ')} with apt-get`);
  const lock = ['-o', `DPkg::Lock::Timeout=${lockWaitSeconds}`];
  try {
    await $({ quiet: true })`${asRoot} apt-get ${lock} update -qq`;
    await $({ quiet: true })`${asRoot} env DEBIAN_FRONTEND=noninteractive apt-get ${lock} install -y -qq ${packages}`;
  } catch (error) {
    const output = String(error.stderr ?? error.message ?? error);
    const held = /Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock directory/.test(output);
    const why = held ? `another package manager held dpkg's lock for over ${lockWaitSeconds} s` : output.trim().split('\n').filter(Boolean).at(-1);
    throw new SetupError(`could not install ${packages.join(', ')} (${why}); run \`${asRoot.length ? 'sudo ' : ''}apt-get install -y ${packages.join(' ')}\` once it is free, then run this again.`);
  }
}

if (!existsSync('node_modules/@tensorflow/tfjs-core')) {
  echo('installing npm packages');
  await $`npm ci --no-audit --no-fund`;
}

// A failed data install is reported at the end: the native backend is built whatever happens here.
const problems = [];
const fashionFiles = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
if (!fashionFiles.every((file) => existsSync(`${fashionDir}/${file}`))) {
  try {
    await aptInstall('dataset-fashion-mnist');
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    problems.push(`Fashion-MNIST: ${error.message}`);
  }
}

if ((argv.browser || argv['try-browser']) && !existsSync('/usr/bin/chromium')) {
  try {
    await aptInstall('chromium');
  } catch (error) {
    if (argv.browser) problems.push(`Chromium: ${error.message}`);
    else echo(`warning: Chromium: ${error.message} Until then the browser tests are skipped.`);
  }
}

const nativeFlavour = argv['native-gpu'] ? 'gpu' : argv.native || argv['try-native'] ? 'cpu' : null;
if (nativeFlavour) {
  try {
    echo(await ensureNative(recipes[nativeFlavour]));
  } catch (error) {
    const message = error instanceof SetupError ? error.message : `building the native backend failed: ${String(error.message ?? error).trim().split('\n')[0]}`;
    if (argv['try-native'] && !argv.native && !argv['native-gpu']) {
      echo(`warning: ${message} Continuing without it: the project runs on the wasm backend.`);
    } else {
      problems.push(message);
    }
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`error: ${problem}`);
  process.exit(1);
}
