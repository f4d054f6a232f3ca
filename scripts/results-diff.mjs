#!/usr/bin/env zx
// npm run results:diff -- REF [--results DIR]
// A Markdown report of what moved in results/ against a git ref: every
// summary metric (summary.json, models.json) that changed, and artifacts
// added, removed or changed. Ready to paste into a pull-request comment.
import { existsSync, readFileSync } from 'node:fs';
import { $, argv } from 'zx';

$.verbose = false;
const ref = argv._[0];
const dir = argv.results ?? 'results';
if (!ref) {
  console.error('error: name the git ref to compare with, e.g. `npm run results:diff -- main`.');
  process.exit(2);
}
try {
  await $`git rev-parse --verify --quiet ${`${ref}^{commit}`}`;
} catch {
  console.error(`error: "${ref}" is not a commit in this repository; pass a branch, tag or commit.`);
  process.exit(2);
}

async function atRef(path) {
  try {
    return JSON.parse((await $`git show ${`${ref}:${dir}/${path}`}`).stdout);
  } catch {
    return null;
  }
}
const now = (path) => (existsSync(`${dir}/${path}`) ? JSON.parse(readFileSync(`${dir}/${path}`, 'utf8')) : null);

const format = (value) => (value === null || value === undefined ? '–' : typeof value === 'number' ? Number(value.toPrecision(4)).toString() : String(value));
const lines = [`### Results against \`${ref}\``, ''];

function metricTable(title, before, after, keyOf, metrics) {
  const index = (rows) => new Map((rows ?? []).map((row) => [keyOf(row), row]));
  const [old, current] = [index(before), index(after)];
  const moved = [];
  for (const [key, row] of current) {
    const previous = old.get(key);
    for (const metric of metrics) {
      const [a, b] = [previous?.[metric], row[metric]];
      if (format(a) !== format(b)) moved.push(`| ${key} | ${metric} | ${format(a)} | ${format(b)} | ${typeof a === 'number' && typeof b === 'number' ? format(b - a) : '–'} |`);
    }
  }
  for (const key of old.keys()) if (!current.has(key)) moved.push(`| ${key} | (row removed) | | | |`);
  lines.push(`#### ${title}`, '');
  if (moved.length === 0) lines.push('No metric moved.', '');
  else lines.push('| row | metric | before | after | Δ |', '| --- | --- | --- | --- | --- |', ...moved, '');
}

metricTable('summary.json', (await atRef('summary.json'))?.rows, now('summary.json')?.rows, (row) => `${row.dataset} / ${row.model} / ${row.method}`, ['accuracy', 'ece', 'nll', 'auroc', 'fpr95', 'logN', 'logTau']);
metricTable('models.json', (await atRef('models.json'))?.models, now('models.json')?.models, (row) => `${row.dataset} / ${row.model}`, ['parameters', 'epochs', 'trainAccuracy', 'validationAccuracy', 'testAccuracy', 'testNll']);

const [oldArtifacts, newArtifacts] = [(await atRef('manifest.json'))?.artifacts ?? {}, now('manifest.json')?.artifacts ?? {}];
const added = Object.keys(newArtifacts).filter((path) => !(path in oldArtifacts));
const removed = Object.keys(oldArtifacts).filter((path) => !(path in newArtifacts));
const changed = Object.keys(newArtifacts).filter((path) => path in oldArtifacts && oldArtifacts[path] !== newArtifacts[path]);
lines.push('#### Artifacts', '');
lines.push(`${added.length} added, ${removed.length} removed, ${changed.length} changed.`, '');
for (const [label, paths] of [['added', added], ['removed', removed], ['changed', changed]]) {
  if (paths.length) lines.push(`<details><summary>${label} (${paths.length})</summary>`, '', ...paths.map((path) => `- \`${path}\``), '', '</details>', '');
}
console.log(lines.join('\n'));
