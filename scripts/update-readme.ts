// tsx scripts/update-readme.ts [--results DIR]
// Rewrites README.md's headline table from DIR/summary.json and its stage times from
// DIR/manifest.json (default results/).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { headlineTable, replaceHeadline } from '../compute/artifacts/headline.ts';
import type { Manifest } from '../compute/artifacts/manifest.ts';
import { summaryArtifact } from '../compute/artifacts/schemas.ts';
import { replaceStageTimes, stageTimesText } from '../compute/artifacts/stage-times.ts';

const flag = process.argv.indexOf('--results');
const dir = flag >= 0 ? process.argv[flag + 1] : 'results';
try {
  const summary = summaryArtifact.parse(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')));
  const readme = readFileSync('README.md', 'utf8');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const updated = replaceStageTimes(replaceHeadline(readme, headlineTable(summary.rows)), stageTimesText(manifest));
  if (updated !== readme) {
    writeFileSync('README.md.tmp', updated);
    renameSync('README.md.tmp', 'README.md');
    console.log('README.md: headline table and stage times updated from summary.json and manifest.json');
  }
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
