/**
 * The README's headline comparison, made from summary.json so that nobody
 * types it by hand: LeNet-5 on each data set, deterministic vs DIAG vs KFAC,
 * ECE and out-of-distribution AUROC. `npm run reproduce` rewrites the block
 * between the markers; a test checks the committed README against results/.
 */
import type { SummaryRow } from './schemas.ts';

export const headlineStart = '<!-- headline:start (written by scripts/update-readme.ts from results/summary.json) -->';
export const headlineEnd = '<!-- headline:end -->';

const methods = [
  ['sgd', 'deterministic (SGD)'],
  ['diag', 'DIAG Laplace'],
  ['kfac', 'KFAC Laplace'],
] as const;
const datasetLabel: Record<string, string> = { mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST' };
const otherSet = (set: string) => datasetLabel[set.split('-test')[0]] ?? set;

export function headlineTable(rows: SummaryRow[], model = 'lenet5'): string {
  const lines = [
    `| data set | method | test accuracy | ECE | NLL | AUROC (entropy, vs other data set) | FPR at 95% TPR |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
  ];
  const datasets = [...new Set(rows.map((row) => row.dataset))];
  for (const dataset of datasets) {
    for (const [method, label] of methods) {
      const row = rows.find((candidate) => candidate.dataset === dataset && candidate.model === model && candidate.method === method);
      if (!row) continue;
      lines.push(`| ${datasetLabel[dataset] ?? dataset} | ${label} | ${(100 * row.accuracy).toFixed(2)}% | ${(100 * row.ece).toFixed(2)}% | ${row.nll.toFixed(3)} | ${row.auroc.toFixed(3)} (vs ${otherSet(row.oodSet)}) | ${row.fpr95.toFixed(3)} |`);
    }
  }
  if (lines.length === 2) return `No ${model} rows with sgd, diag and kfac in summary.json yet.`;
  return lines.join('\n');
}

/** README text with the block between the markers replaced; throws when the markers are missing. */
export function replaceHeadline(readme: string, table: string): string {
  const start = readme.indexOf(headlineStart);
  const end = readme.indexOf(headlineEnd);
  if (start < 0 || end < start) throw new Error(`README.md lacks the headline markers (${headlineStart} … ${headlineEnd}); put them back where the table belongs.`);
  return `${readme.slice(0, start + headlineStart.length)}\n${table}\n${readme.slice(end)}`;
}
