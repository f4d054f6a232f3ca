/**
 * The README's headline comparison, made from summary.json so that nobody
 * types it by hand: LeNet-5 on each data set, the baselines against DIAG,
 * KFAC and last-layer Laplace, every metric with its 95% bootstrap interval (AUROC by
 * predictive entropy and by the maximum probability). `npm run reproduce` rewrites the block
 * between the markers; a test checks the committed README against results/.
 */
import type { SummaryRow } from './schemas.ts';

export const headlineStart = '<!-- headline:start (written by scripts/update-readme.ts from results/summary.json) -->';
export const headlineEnd = '<!-- headline:end -->';

const methods = [
  ['sgd', 'map', 'deterministic (SGD)'],
  ['temperature', 'map', 'temperature scaling'],
  ['ensemble', 'map', 'deep ensemble'],
  ['diag', 'tuned', 'DIAG Laplace, tuned on validation NLL'],
  ['kfac', 'tuned', 'KFAC Laplace, tuned on validation NLL'],
  ['kfac', 'marglik', 'KFAC Laplace, marginal-likelihood τ'],
  ['kfac', 'textbook', 'KFAC Laplace, textbook N and τ'],
  ['last-layer', 'marglik', 'last-layer Laplace, marginal-likelihood τ'],
] as const;
const datasetLabel: Record<string, string> = { mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST' };
const otherSet = (set: string) => datasetLabel[set.split('-test')[0]] ?? set;

/** A value and its interval, e.g. "98.30% (98.04–98.55)". */
function withInterval(value: number, interval: { low: number; high: number }, percent: boolean): string {
  const format = (x: number) => (percent ? (100 * x).toFixed(2) : x.toFixed(3));
  return `${format(value)}${percent ? '%' : ''} (${format(interval.low)}–${format(interval.high)})`;
}

export function headlineTable(rows: SummaryRow[], model = 'lenet5'): string {
  const lines = [
    `| data set | method | test accuracy | ECE | NLL | AUROC (entropy, vs other data set) | AUROC (max. probability) | FPR at 95% TPR |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  const datasets = [...new Set(rows.map((row) => row.dataset))];
  for (const dataset of datasets) {
    for (const [method, posterior, label] of methods) {
      const row = rows.find((candidate) => candidate.dataset === dataset && candidate.model === model && candidate.method === method && candidate.posterior === posterior);
      if (!row) continue;
      const i = row.intervals;
      lines.push(
        `| ${datasetLabel[dataset] ?? dataset} | ${label} | ${withInterval(row.accuracy, i.accuracy, true)} | ${withInterval(row.ece, i.ece, true)} | ${withInterval(row.nll, i.nll, false)} | ${withInterval(row.auroc, i.auroc, false)} vs ${otherSet(row.oodSet)} | ${withInterval(row.aurocMsp, i.aurocMsp, false)} | ${withInterval(row.fpr95, i.fpr95, false)} |`,
      );
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
