import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { headlineEnd, headlineStart, headlineTable, replaceHeadline } from '../../compute/artifacts/headline.ts';
import { summaryArtifact, type SummaryRow } from '../../compute/artifacts/schemas.ts';

const row = (dataset: SummaryRow['dataset'], method: SummaryRow['method'], ece: number, auroc: number): SummaryRow => ({
  dataset,
  model: 'lenet5',
  method,
  accuracy: 0.98765,
  ece,
  nll: 0.0421,
  oodSet: dataset === 'mnist' ? 'fashion-mnist-test:first-1000' : 'mnist-test:first-1000',
  auroc,
  fpr95: 0.125,
  logN: method === 'sgd' ? null : 4,
  logTau: method === 'sgd' ? null : 1,
});

describe('README headline table', () => {
  it('formats a hand-worked case', () => {
    const table = headlineTable([row('mnist', 'sgd', 0.0041, 0.9712), row('mnist', 'kfac', 0.0123, 0.9801), row('mnist', 'ensemble', 0, 1)]);
    expect(table.split('\n')).toEqual([
      '| data set | method | test accuracy | ECE | NLL | AUROC (entropy, vs other data set) | FPR at 95% TPR |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      '| MNIST | deterministic (SGD) | 98.77% | 0.41% | 0.042 | 0.971 (vs Fashion-MNIST) | 0.125 |',
      '| MNIST | KFAC Laplace | 98.77% | 1.23% | 0.042 | 0.980 (vs Fashion-MNIST) | 0.125 |',
    ]);
  });

  it('replaces only the block between the markers and refuses a README without them', () => {
    const readme = `intro\n${headlineStart}\nold\n${headlineEnd}\noutro\n`;
    expect(replaceHeadline(readme, 'new')).toBe(`intro\n${headlineStart}\nnew\n${headlineEnd}\noutro\n`);
    expect(() => replaceHeadline('no markers', 'x')).toThrow(/lacks the headline markers/);
  });

  it.runIf(existsSync('results/summary.json'))('in README.md matches the committed results/summary.json', () => {
    const summary = summaryArtifact.parse(JSON.parse(readFileSync('results/summary.json', 'utf8')));
    const readme = readFileSync('README.md', 'utf8');
    expect(replaceHeadline(readme, headlineTable(summary.rows))).toBe(readme);
  });
});
