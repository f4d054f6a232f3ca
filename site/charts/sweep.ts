/**
 * The width sweep: what widening the posterior does. The textbook covariance
 * (N = the training-set size, τ = N·λ) is multiplied by 10^−k for a range of
 * k, so the x axis is the covariance relative to the textbook one; each panel
 * is one metric with its 95% band (AUROC scored by entropy and by the maximum
 * probability, in two panels), one line per structure, and the
 * deterministic network as a dashed reference (the limit of a vanishing
 * covariance).
 */
import { methodLabels, methodScale, size, topLevel, type Method, type Spec } from './common.ts';
import type { SweepArtifact } from '../lib/results.ts';

type SweepMetric = 'nll' | 'ece' | 'auroc' | 'aurocMsp';

const panels: { metric: SweepMetric; title: string; percent: boolean }[] = [
  { metric: 'nll', title: 'NLL (lower is better)', percent: false },
  { metric: 'ece', title: 'ECE, % (lower is better)', percent: true },
  { metric: 'auroc', title: 'AUROC by entropy (higher is better)', percent: false },
  { metric: 'aurocMsp', title: 'AUROC by max. probability (higher is better)', percent: false },
];

const label = (method: string) => methodLabels[method as Method] ?? method;
const show = (value: number, percent: boolean) => (percent ? `${(100 * value).toFixed(2)}%` : value.toFixed(3));

/** The sweeps of one network (one artifact per structure) as four panels, two by two. */
export function widthSweep(sweeps: SweepArtifact[]): Spec {
  const first = sweeps[0];
  const rows = sweeps.flatMap((sweep) =>
    sweep.points.map((point) => ({
      method: label(sweep.method),
      scale: 10 ** -point.k,
      ...Object.fromEntries(panels.flatMap(({ metric, percent }) => {
        const k = percent ? 100 : 1;
        return [[metric, k * point[metric]], [`${metric}Low`, k * point.intervals[metric].low], [`${metric}High`, k * point.intervals[metric].high]];
      })),
    })),
  );
  const scales = rows.map((row) => row.scale);
  const [smallest, largest] = [Math.min(...scales), Math.max(...scales)];
  const width = Math.floor((size.width - 150) / 2);
  const colour = { field: 'method', type: 'nominal', title: 'Structure', scale: methodScale(sweeps.map((sweep) => sweep.method)), legend: { symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3 } };
  // Powers of ten at most four to an axis, evenly spaced in decades (1e-8, 1e-4, 1, 1e+4), so neighbouring labels never meet.
  const decades = [Math.ceil(Math.log10(smallest) - 1e-9), Math.floor(Math.log10(largest) + 1e-9)];
  const stride = Math.max(1, Math.ceil((decades[1] - decades[0]) / 3));
  const tickValues = Array.from({ length: Math.floor((decades[1] - decades[0]) / stride) + 1 }, (_, index) => 10 ** (decades[0] + index * stride));
  const x = { field: 'scale', type: 'quantitative', scale: { type: 'log', domain: [smallest, largest] }, title: 'covariance ÷ textbook (log scale)', axis: { values: tickValues, format: '~g' } };
  const ends = (sweep: SweepArtifact) => {
    const widest = sweep.points.reduce((a, b) => (a.k < b.k ? a : b));
    const narrowest = sweep.points.reduce((a, b) => (a.k > b.k ? a : b));
    const at = (point: SweepArtifact['points'][number]) => `AUROC ${point.auroc.toFixed(3)} (by maximum probability ${point.aurocMsp.toFixed(3)}) and NLL ${point.nll.toFixed(3)}`;
    return `${label(sweep.method)}: ${at(widest)} at ${(10 ** -widest.k).toPrecision(2)}× the textbook covariance, ${at(narrowest)} at ${(10 ** -narrowest.k).toPrecision(2)}×`;
  };
  const description =
    `Test NLL, ECE and AUROC against ${first.unknownSet} (by entropy, and by maximum probability) as the posterior covariance is scaled from ${smallest.toPrecision(2)} to ${largest.toPrecision(2)} times the textbook covariance, ${first.model} on ${first.dataset}, ${first.testCount} test images. ` +
    `${sweeps.map(ends).join('; ')}. The deterministic network: AUROC ${first.deterministic.auroc.toFixed(3)} (by maximum probability ${first.deterministic.aurocMsp.toFixed(3)}), NLL ${first.deterministic.nll.toFixed(3)}.`;
  return topLevel(description, {
    data: { values: rows },
    columns: 2,
    concat: panels.map(({ metric, title, percent }) => ({
      title: { text: title, fontSize: 12, subtitle: `dashed: deterministic ${show(first.deterministic[metric], percent)}`, subtitleFontSize: 11 },
      width,
      height: 180,
      layer: [
        {
          name: `sweep_band_${metric}`,
          mark: { type: 'area', opacity: 0.2 },
          encoding: { x, y: { field: `${metric}Low`, type: 'quantitative', title: null, scale: { zero: false } }, y2: { field: `${metric}High` }, color: colour },
        },
        {
          name: `sweep_line_${metric}`,
          mark: { type: 'line', point: { size: 18 } },
          encoding: {
            x,
            y: { field: metric, type: 'quantitative' },
            color: colour,
            tooltip: [
              { field: 'method', title: 'structure' },
              { field: 'scale', title: 'covariance ÷ textbook', format: '.3~g' },
              { field: metric, title: title.replace(/ \(.*\)$/, ''), format: '.3f' },
              { field: `${metric}Low`, title: '95% low', format: '.3f' },
              { field: `${metric}High`, title: '95% high', format: '.3f' },
            ],
          },
        },
        {
          name: `sweep_deterministic_${metric}`,
          data: { values: [{ at: largest, value: (percent ? 100 : 1) * first.deterministic[metric], text: `deterministic ${show(first.deterministic[metric], percent)}` }] },
          layer: [
            { mark: { type: 'rule', strokeDash: [4, 3], color: '#000000' }, encoding: { y: { field: 'value', type: 'quantitative' } } },
            // The value is said in the panel's subtitle: a label on the line itself would sit on the curves, which start there.
          ],
        },
      ],
    })),
    resolve: { scale: { y: 'independent' } },
  });
}
