import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { headlineEnd, headlineStart, headlineTable, replaceHeadline } from '../../compute/artifacts/headline.ts';
import { summaryArtifact, type SummaryRow } from '../../compute/artifacts/schemas.ts';

const span = (low: number, high: number) => ({ low, high });
const row = (dataset: SummaryRow['dataset'], method: SummaryRow['method'], ece: number, auroc: number, posterior: SummaryRow['posterior'] = method === 'kfac' ? 'tuned' : 'map'): SummaryRow => ({
  dataset,
  model: 'lenet5',
  method,
  posterior,
  predictive: method === 'kfac' ? 'glm' : 'map',
  objective: method === 'kfac' && posterior === 'tuned' ? 'nll' : null,
  intervals: { accuracy: span(0.98543, 0.99012), ece: span(0.003, 0.0059), nll: span(0.04, 0.0446), auroc: span(0.96, 0.98), aurocMsp: span(0.95, 0.975), fpr95: span(0.1, 0.15) },
  eceCalibrated: 0.002,
  versus: null,
  seeds: null,
  accuracy: 0.98765,
  ece,
  nll: 0.0421,
  oodSet: dataset === 'mnist' ? 'fashion-mnist-test:first-1000' : 'mnist-test:first-1000',
  auroc,
  aurocMsp: auroc - 0.0123,
  fpr95: 0.125,
  logN: method === 'sgd' ? null : 4,
  logTau: method === 'sgd' ? null : 1,
});

describe('README headline table', () => {
  it('formats a hand-worked case', () => {
    const table = headlineTable([row('mnist', 'sgd', 0.0041, 0.9712), row('mnist', 'kfac', 0.0123, 0.9801), row('mnist', 'kfac', 0.02, 0.9, 'textbook'), row('mnist', 'diag', 0, 1, 'original')]);
    expect(table.split('\n')).toEqual([
      '| data set | method | test accuracy | ECE | NLL | AUROC (entropy, vs other data set) | AUROC (max. probability) | FPR at 95% TPR |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      '| MNIST | deterministic (SGD) | 98.77% (98.54–99.01) | 0.41% (0.30–0.59) | 0.042 (0.040–0.045) | 0.971 (0.960–0.980) vs Fashion-MNIST | 0.959 (0.950–0.975) | 0.125 (0.100–0.150) |',
      '| MNIST | KFAC Laplace, tuned on validation NLL | 98.77% (98.54–99.01) | 1.23% (0.30–0.59) | 0.042 (0.040–0.045) | 0.980 (0.960–0.980) vs Fashion-MNIST | 0.968 (0.950–0.975) | 0.125 (0.100–0.150) |',
      '| MNIST | KFAC Laplace, textbook N and τ | 98.77% (98.54–99.01) | 2.00% (0.30–0.59) | 0.042 (0.040–0.045) | 0.900 (0.960–0.980) vs Fashion-MNIST | 0.888 (0.950–0.975) | 0.125 (0.100–0.150) |',
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
