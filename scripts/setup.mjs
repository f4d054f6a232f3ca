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

async function aptInstall(...packages) {
  echo(`installing ${packages.join(', ')} with apt-get`);
  await $`${asRoot} apt-get update -qq`;
  await $`${asRoot} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${packages}`;
}

if (!existsSync('node_modules/@tensorflow/tfjs-core')) {
  echo('installing npm packages');
  await $`npm ci --no-audit --no-fund`;
}

const fashionFiles = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
if (!fashionFiles.every((file) => existsSync(`${fashionDir}/${file}`))) {
  await aptInstall('dataset-fashion-mnist');
}

if ((argv.browser || argv['try-browser']) && !existsSync('/usr/bin/chromium')) {
  try {
    await aptInstall('chromium');
  } catch (error) {
    if (argv.browser) throw error;
    echo(`warning: could not install Chromium (${String(error.stderr ?? error.message ?? error).trim().split('\n')[0]}); the browser tests will be skipped. Install it with \`npm run setup -- --browser\` as root.`);
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
      console.error(`error: ${message}`);
      process.exit(1);
    }
  }
}
