/**
 * Before and after side by side: the figures that used to be two (reliability
 * diagrams, entropy histograms, a family's calibration curves) are two panels
 * of one chart on shared scales, and a chart says when its panels are the
 * same. Whether they are is recounted here from the committed artifacts'
 * JSON, bin by bin, not through the chart code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, View } from 'vega';
import { describe, expect, it } from 'vitest';
import { calibrationCurvesPair, reliabilityPair } from '../../site/charts/calibration.ts';
import { largestGap, unchangedNote } from '../../site/charts/common.ts';
import { entropyHistogramPair } from '../../site/charts/ood.ts';
import { fgsmPanel } from '../../site/charts/attacks.ts';
import { depthFamilies } from '../../site/lib/figures.ts';
import { toVega } from '../../site/lib/render.ts';
import { loadResults } from '../../site/lib/results.ts';
import { visitScene } from './scene.ts';

const resultsDir = 'results';
const results = loadResults(resultsDir);

interface RawBin { count: number; accuracy: number | null; confidence: number | null }
interface RawVariant {
  posterior: string;
  objective: string | null;
  calibration: { bins: RawBin[]; curve: { lowerLogit: number; error: number }[] };
  ood: { known: { histogram: number[]; inverseEcdf: number[] }; unknown: { histogram: number[]; inverseEcdf: number[] }[] };
  fgsm: { epsilon: number; accuracy: number; meanEntropy: number; nll: number; ece: number }[];
}
const raw = (dataset: string, model: string, method: string): RawVariant => {
  const artifact = JSON.parse(readFileSync(join(resultsDir, dataset, model, `${method}.json`), 'utf8')) as { variants: RawVariant[] };
  // The summary's variant: the tuned posterior chosen on validation NLL, or a baseline's only one.
  return artifact.variants.find((variant) => variant.posterior === 'map' || (variant.posterior === 'tuned' && variant.objective === 'nll'))!;
};

/** The same images in every bin, at accuracies and confidences within a twentieth of a point. */
const sameBins = (a: RawVariant, b: RawVariant) =>
  a.calibration.bins.every((bin, index) => {
    const other = b.calibration.bins[index];
    return bin.count === other.count && (bin.count === 0 || (Math.abs(bin.accuracy! - other.accuracy!) <= 0.0005 && Math.abs(bin.confidence! - other.confidence!) <= 0.0005));
  });
const sameHistograms = (a: RawVariant, b: RawVariant) =>
  [...a.ood.known.histogram.map((f, i) => f - b.ood.known.histogram[i]), ...a.ood.unknown[0].histogram.map((f, i) => f - b.ood.unknown[0].histogram[i])].every((gap) => Math.abs(gap) <= 0.0005);

const networks = results.datasets.flatMap((dataset) => results.evaluatedModels(dataset).filter((model) => results.method(dataset, model, 'kfac')).map((model) => ({ dataset, model })));
const titleOf = (spec: unknown) => [((spec as { title?: { text?: string[] } }).title?.text ?? [])].flat().join(' ');

async function run(spec: Parameters<typeof toVega>[0]) {
  const view = new View(parse(toVega(spec)), { renderer: 'none' });
  await view.runAsync();
  return view;
}

function marks(view: View, name: string) {
  const found: { y: number; y2?: number; datum: Record<string, number> }[] = [];
  visitScene<{ name?: string; items?: { items?: never[] }[] }>(view, (node) => {
    if (node.name === `${name}_marks`) found.push(...(node.items as unknown as typeof found));
  });
  return found;
}

describe('gaps between panels', () => {
  const line = (ys: number[]) => ys.map((y, key) => ({ key, y }));

  it('measures the largest gap over the keys both series have', () => {
    expect(largestGap(line([0.1, 0.2, 0.3]), line([0.1, 0.25, 0.29]))).toBeCloseTo(0.05, 12);
    expect(largestGap(line([0.1]), [{ key: 5, y: 0.1 }])).toBe(Number.POSITIVE_INFINITY);
  });

  it('names the series that are the same before and after, or says every one is', () => {
    const show = (gap: number) => gap.toFixed(3);
    const pairs = [
      { label: 'MLP-1', before: line([0.1, 0.2]), after: line([0.1, 0.2005]) },
      { label: 'MLP-2', before: line([0.1, 0.2]), after: line([0.1, 0.2]) },
      { label: 'MLP-3', before: line([0.1, 0.2]), after: line([0.3, 0.2]) },
    ];
    expect(unchangedNote(pairs, 0.001, show)).toBe('MLP-1 and MLP-2 are the same before and after (largest gap 0.001)');
    expect(unchangedNote(pairs.slice(0, 2), 0.001, show, 'Every network')).toBe('Every network is the same before and after (largest gap 0.001)');
    expect(unchangedNote(pairs.slice(2), 0.001, show)).toBeNull();
  });
});

describe('before and after as two panels, on the committed results', () => {
  it('says the reliability panels are identical exactly where every bin of the two artifacts is', async () => {
    let identical = 0;
    for (const { dataset, model } of networks) {
      const spec = reliabilityPair(results.method(dataset, model, 'sgd')!, results.method(dataset, model, 'kfac')!);
      const same = sameBins(raw(dataset, model, 'sgd'), raw(dataset, model, 'kfac'));
      expect(titleOf(spec).includes('The two panels are identical'), `${dataset}/${model}`).toBe(same);
      if (same) identical++;
    }
    // The MNIST networks whose tuned posterior collapses onto the network, and the rest.
    expect(identical).toBeGreaterThan(0);
    expect(identical).toBeLessThan(networks.length);
  });

  it('draws each panel’s accuracy bars at their bins’ accuracies on one shared axis', async () => {
    const [dataset, model] = ['fashion-mnist', 'lenet5-overconfident'];
    const view = await run(reliabilityPair(results.method(dataset, model, 'sgd')!, results.method(dataset, model, 'kfac')!));
    const y = view.scale('y') as unknown as (value: number) => number;
    for (const [side, method] of [['before', 'sgd'], ['after', 'kfac']] as const) {
      const bins = raw(dataset, model, method).calibration.bins.filter((bin) => bin.count > 0);
      const bars = marks(view, `accuracy_bars_${side}`);
      expect(bars).toHaveLength(bins.length);
      for (const bar of bars) {
        const bin = bins.find((candidate) => candidate.accuracy === bar.datum.accuracy)!;
        expect(bin, side).toBeDefined();
        expect(Math.min(bar.y, bar.y2!)).toBeCloseTo(y(bin.accuracy!), 6);
      }
    }
    view.finalize();
  });

  it('says the entropy panels are identical exactly where every histogram bin is, on a y axis that holds both', async () => {
    for (const { dataset, model } of networks) {
      const [sgd, kfac] = [results.method(dataset, model, 'sgd')!, results.method(dataset, model, 'kfac')!];
      const unknown = sgd.variants[0].ood.unknown[0].set;
      const spec = entropyHistogramPair(sgd, kfac, unknown);
      expect(titleOf(spec).includes('The two panels are identical'), `${dataset}/${model}`).toBe(sameHistograms(raw(dataset, model, 'sgd'), raw(dataset, model, 'kfac')));
    }
    const [dataset, model] = ['fashion-mnist', 'lenet5-overconfident'];
    const [sgd, kfac] = [results.method(dataset, model, 'sgd')!, results.method(dataset, model, 'kfac')!];
    const view = await run(entropyHistogramPair(sgd, kfac, sgd.variants[0].ood.unknown[0].set));
    const tallest = Math.max(...[raw(dataset, model, 'sgd'), raw(dataset, model, 'kfac')].flatMap((variant) => [...variant.ood.known.histogram, ...variant.ood.unknown[0].histogram]));
    expect((view.scale('y') as unknown as { domain: () => number[] }).domain()[1]).toBeGreaterThanOrEqual(tallest);
    view.finalize();
  });

  it('names the networks of a family whose calibration curve the treatment leaves in place', () => {
    for (const dataset of results.datasets) {
      for (const family of depthFamilies(results, dataset)) {
        const entries = (method: 'sgd' | 'kfac') => family.models.map((model) => ({ label: model, artifact: results.method(dataset, model, method)! }));
        const title = titleOf(calibrationCurvesPair(entries('sgd'), entries('kfac')));
        const unchanged = family.models.filter((model) => {
          const [a, b] = [raw(dataset, model, 'sgd').calibration.curve, raw(dataset, model, 'kfac').calibration.curve];
          const gaps = a.flatMap((point) => b.filter((other) => other.lowerLogit === point.lowerLogit).map((other) => Math.abs(other.error - point.error)));
          return gaps.length > 0 && Math.max(...gaps) <= 0.001;
        });
        const where = `${dataset}/${family.id}`;
        if (unchanged.length === 0) expect(title, where).not.toContain('the same before and after');
        else if (unchanged.length === family.models.length) expect(title, where).toMatch(/^Every network’s curve is the same before and after/);
        else for (const model of family.models) expect(title.includes(model), `${where}/${model}`).toBe(unchanged.includes(model));
      }
    }
  });

  it('says above the FGSM panels which methods lie on the deterministic network in all four', () => {
    for (const { dataset, model } of networks) {
      const methods = ['sgd', 'diag', 'kfac'];
      const title = titleOf(fgsmPanel(methods.map((method) => results.method(dataset, model, method as 'sgd')!)));
      const rows = methods.map((method) => raw(dataset, model, method).fgsm);
      const metrics = ['accuracy', 'meanEntropy', 'nll', 'ece'] as const;
      for (const [index, label] of [[1, 'DIAG Laplace'], [2, 'KFAC Laplace']] as const) {
        const onIt = metrics.every((metric) => {
          const all = rows.flat().map((row) => row[metric]);
          const tolerance = 0.01 * (Math.max(...all) - Math.min(...all));
          return rows[index].every((row, step) => Math.abs(row[metric] - rows[0][step][metric]) <= tolerance);
        });
        expect(title.includes(label), `${dataset}/${model} ${label}`).toBe(onIt);
      }
    }
  });
});
