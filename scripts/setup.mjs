#!/usr/bin/env zx
// Installs what the project needs and is not an npm package: Debian's
// Fashion-MNIST (and, with --browser, Chromium for the browser tests).
// Safe to run again: it only installs what is missing.
import { existsSync } from 'node:fs';
import { $, argv, echo } from 'zx';

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

if (argv.browser && !existsSync('/usr/bin/chromium')) {
  await aptInstall('chromium');
}
