#!/usr/bin/env zx
// npm run results:diff -- REF [--results DIR]
// A Markdown report of what moved in results/ against a git ref: every
// summary metric (summary.json, models.json) that changed, and artifacts
// added, removed or changed. Ready to paste into a pull-request comment.
// A summary metric that moved is "beyond its interval" when the new value is
// outside the old row's 95% interval or the old value outside the new row's,
// so the moves that are more than resampling noise come first.
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

// Rows written before the posterior field existed: Laplace methods were the tuned posterior, the rest the MAP network.
const mapMethods = new Set(['sgd', 'temperature', 'ensemble']);
const posteriorOf = (row) => row.posterior ?? (mapMethods.has(row.method) ? 'map' : 'tuned');
const intervalMetrics = ['accuracy', 'ece', 'nll', 'auroc', 'fpr95'];

function summaryTables(before, after) {
  const keyOf = (row) => `${row.dataset} / ${row.model} / ${row.method} / ${posteriorOf(row)}`;
  const index = (rows) => new Map((rows ?? []).map((row) => [keyOf(row), row]));
  const [old, current] = [index(before), index(after)];
  const intervalOf = (row, metric) => {
    const interval = row?.intervals?.[metric];
    return typeof interval?.low === 'number' && typeof interval?.high === 'number' ? interval : null;
  };
  const outside = (value, interval) => interval !== null && typeof value === 'number' && (value < interval.low || value > interval.high);
  const showInterval = (interval) => (interval === null ? '–' : `[${format(interval.low)}, ${format(interval.high)}]`);
  const delta = (a, b) => (typeof a === 'number' && typeof b === 'number' ? format(b - a) : '–');
  const [beyond, within, other] = [[], [], []];
  for (const [key, row] of current) {
    const previous = old.get(key);
    if (!previous) continue;
    for (const metric of [...intervalMetrics, 'logN', 'logTau']) {
      const [a, b] = [previous[metric], row[metric]];
      if (format(a) === format(b)) continue;
      const [intervalBefore, intervalAfter] = [intervalOf(previous, metric), intervalOf(row, metric)];
      if (!intervalMetrics.includes(metric) || (intervalBefore === null && intervalAfter === null)) {
        other.push(`| ${key} | ${metric} | ${format(a)} | ${format(b)} | ${delta(a, b)} |`);
        continue;
      }
      const line = `| ${key} | ${metric} | ${format(a)} | ${format(b)} | ${delta(a, b)} | ${showInterval(intervalBefore)} | ${showInterval(intervalAfter)} |`;
      (outside(b, intervalBefore) || outside(a, intervalAfter) ? beyond : within).push(line);
    }
  }
  const values = (row) => intervalMetrics.map((metric) => format(row[metric])).join(' | ');
  const added = [...current].filter(([key]) => !old.has(key)).map(([key, row]) => `| ${key} | added | ${values(row)} |`);
  const removed = [...old].filter(([key]) => !current.has(key)).map(([key, row]) => `| ${key} | removed | ${values(row)} |`);

  lines.push('#### summary.json', '');
  lines.push(
    `${beyond.length} moved beyond their 95% interval, ${within.length} within it, ${other.length} other ${other.length === 1 ? 'move' : 'moves'} (no interval, or logN / logTau); ${added.length} ${added.length === 1 ? 'row' : 'rows'} added, ${removed.length} removed.`,
    '',
  );
  const withIntervals = ['| row | metric | before | after | Δ | interval before | interval after |', '| --- | --- | --- | --- | --- | --- | --- |'];
  if (beyond.length) lines.push(`##### Moved beyond their 95% interval (${beyond.length})`, '', ...withIntervals, ...beyond, '');
  if (within.length) lines.push(`##### Moved within their 95% interval (${within.length})`, '', ...withIntervals, ...within, '');
  if (other.length) lines.push(`##### Other moves: no interval, or logN / logTau (${other.length})`, '', '| row | metric | before | after | Δ |', '| --- | --- | --- | --- | --- |', ...other, '');
  if (added.length + removed.length) {
    lines.push(`##### Rows added or removed (${added.length + removed.length})`, '');
    lines.push(`| row | change | ${intervalMetrics.join(' | ')} |`, `| --- | --- | ${intervalMetrics.map(() => '---').join(' | ')} |`, ...added, ...removed, '');
  }
}

summaryTables((await atRef('summary.json'))?.rows, now('summary.json')?.rows);
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
