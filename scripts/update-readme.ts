// tsx scripts/update-readme.ts [--results DIR]
// Rewrites README.md's headline table from DIR/summary.json (default results/).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { headlineTable, replaceHeadline } from '../compute/artifacts/headline.ts';
import { summaryArtifact } from '../compute/artifacts/schemas.ts';

const flag = process.argv.indexOf('--results');
const dir = flag >= 0 ? process.argv[flag + 1] : 'results';
try {
  const summary = summaryArtifact.parse(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')));
  const readme = readFileSync('README.md', 'utf8');
  const updated = replaceHeadline(readme, headlineTable(summary.rows));
  if (updated !== readme) {
    writeFileSync('README.md.tmp', updated);
    renameSync('README.md.tmp', 'README.md');
    console.log('README.md: headline table updated from summary.json');
  }
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
