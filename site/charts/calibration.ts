/**
 * Calibration figures (8–12 of the study): the reliability diagram of one
 * method and calibration-error curves on a logit-scaled confidence axis, for a
 * family of networks (optionally with a min/max band) or for several methods on
 * one network. Pure builders: artifact in, Vega-Lite spec out.
 *
 * Also home of the small helpers the other evaluation builders share (variant
 * choice, labels, number formats), so every chart names things the same way.
 */
import type { z } from 'zod';
import type { methodArtifact } from '../../compute/artifacts/schemas.ts';
import { coincidenceNote, datasetLabels, legendPick, methodLabels, noteLines, methodScale, pickedOpacity, sideBySide, size, topLevel, unchangedNote, unknownSetLabel, type Method, type Spec } from './common.ts';
import { choiceLabel, variantWords } from '../lib/names.ts';

export type MethodArtifact = z.infer<typeof methodArtifact>;
export type Variant = MethodArtifact['variants'][number];
export type CurvePoint = Variant['calibration']['curve'][number];

// ---------------------------------------------------------------------------
// Shared helpers

/**
 * The variant at `index`. Baselines (SGD, temperature, ensemble) have a single
 * variant because they have no predictive or objective to choose, so a chart
 * that asks every method for, say, variant 2 still gets their only one.
 */
export function pickVariant(artifact: MethodArtifact, index = 0): Variant {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`A variant index must be a non-negative integer, got ${index}.`);
  if (artifact.variants.length === 1) return artifact.variants[0];
  const chosen = artifact.variants[index];
  if (!chosen) {
    throw new RangeError(`${artifact.dataset}/${artifact.model}/${artifact.method} has ${artifact.variants.length} variants; there is no variant ${index}.`);
  }
  return chosen;
}

export const methodLabel = (method: string) => methodLabels[method as Method] ?? method;
export const datasetLabel = (dataset: string) => datasetLabels[dataset] ?? dataset;

/** A variant in words (site/lib/names.ts): "linearised, tuned on validation likelihood", "linearised, textbook prior"; "point estimate" for a baseline. */
export function variantLabel(variant: Variant): string {
  return variantWords(variant);
}

/** A method with its variant, for descriptions: "KFAC Laplace (linearised / nll)". */
export function methodWithVariant(artifact: MethodArtifact, variant: Variant): string {
  return artifact.variants.length > 1 ? `${methodLabel(artifact.method)} (${variantLabel(variant)})` : methodLabel(artifact.method);
}

/**
 * For descriptions that list many methods by name: which variant the Laplace
 * methods show, said once ("Laplace methods shown with the linearised / nll
 * variant.") instead of
 * after every name; empty when no artifact has a choice of variants.
 */
export function variantNote(artifacts: readonly MethodArtifact[], index = 0): string {
  const labels = [...new Set(artifacts.filter((a) => a.variants.length > 1).map((a) => variantLabel(pickVariant(a, index))))];
  return labels.length === 0 ? '' : ` Laplace methods shown with the ${labels.join(', ')} variant${labels.length > 1 ? 's' : ''}.`;
}

/** The networks behind a list of artifacts, for descriptions: "lenet5 on MNIST". */
export function networksOf(artifacts: readonly MethodArtifact[]): string {
  const names = [...new Set(artifacts.map((a) => `${a.model} on ${datasetLabel(a.dataset)}`))];
  return names.join(', ');
}

/** Legend settings for many series: wrap into rows of three so a bottom legend stays within the chart's width. */
export function legendFor(entries: number, title: string | null = null) {
  return { title, columns: Math.min(entries, 3), labelLimit: 200, symbolType: 'stroke' };
}

/**
 * A range of confidences for tooltips, both ends with the same number of
 * decimals: 2 ("0.10–0.36") unless an end lies so close to 1 that 2 decimals
 * would misstate it, then as many as make each end's rounding error at most a
 * tenth of its distance to 1 ("0.9853–0.9970", "0.999995–0.999999").
 */
export function confidenceRange(lower: number, upper: number): string {
  const fits = (value: number, digits: number) => Math.abs(Number(value.toFixed(digits)) - value) <= 0.1 * (1 - value) + 1e-12;
  let digits = 2;
  while (digits < 12 && !(fits(lower, digits) && fits(upper, digits))) digits++;
  return `${lower.toFixed(digits)}–${upper.toFixed(digits)}`;
}

/** A fraction as a percentage with fixed decimals ("38.72%"): how every description states ECE and accuracy. */
export const percent = (value: number, digits = 2) => `${(value * 100).toFixed(digits)}%`;

export type Unknown = Variant['ood']['unknown'][number];

/** The part of a set name before its subset tags: "fashion-mnist-test:first-500:first-100" → "fashion-mnist-test". */
const baseName = (set: string) => set.split(':')[0];

/**
 * The unknown set called `name`. Set names carry the profile's subset tags, so
 * besides the exact name (as in summary.json's oodSet) the bare data-set name
 * ("fashion-mnist") or its test split ("fashion-mnist-test") is accepted; a
 * real data set is then preferred over sets derived from it (rotated copies).
 */
export function findUnknown(variant: Variant, name: string): Unknown {
  const sets = variant.ood.unknown;
  const exact = sets.find((u) => u.set === name);
  if (exact) return exact;
  const matches = sets.filter((u) => baseName(u.set) === name || baseName(u.set) === `${name}-test`);
  const found = matches.find((u) => u.derived === null) ?? matches[0];
  if (!found) throw new Error(`No unknown set "${name}"; the artifact has ${sets.map((u) => `"${u.set}"`).join(', ')}.`);
  return found;
}

/** A readable name for an unknown set: "Fashion-MNIST", "MNIST test rotated by 90°", "Uniform noise". */
export function unknownLabel(unknown: Unknown): string {
  if (unknown.derived !== null) {
    return unknown.derived
      .replace(/:[^\s]*/g, '')
      .replace(/\s*\(.*$/, '')
      .trim();
  }
  return unknownSetLabel(baseName(unknown.set).replace(/-test$/, ''));
}

export function logit(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}

// ---------------------------------------------------------------------------
// Figure 8: reliability diagram

const accuracyColor = '#4C78A8';
/** The gap is coloured by its sign: above the bar's top (confidence > accuracy) or below it (confidence < accuracy). Both at least 3:1 against white. */
export const gapKinds = {
  over: { label: 'gap: overconfident', color: '#CC3311' },
  under: { label: 'gap: underconfident', color: '#B26B00' },
} as const;
export const accuracyLabel = 'Accuracy';
/** Where in its bin the accuracy bar ends and the gap bar begins: side by side, so neither ever covers the other. */
export const accuracyShare = 0.6;

/**
 * Reliability diagram over the 10 equal-width confidence bins; empty bins are
 * left out so they draw nothing. Each bin draws its accuracy as a bar from
 * zero and, beside it, the gap as a bar from the accuracy to the bin's mean
 * confidence: side by side, so the accuracy bar shows the bin's accuracy
 * whichever way the gap goes. The number of test images in each bin is
 * written above it.
 */
export function reliabilityDiagram(artifact: MethodArtifact, variant = 0, options: { gapKinds?: readonly (keyof typeof gapKinds)[] } = {}): Spec {
  const chosen = pickVariant(artifact, variant);
  const block = chosen.calibration;
  const rows = block.bins
    .map((bin, index) => ({ ...bin, index }))
    .filter((bin) => bin.count > 0)
    .map((bin) => {
      // A small inset so neighbouring bins stay visibly apart.
      const start = bin.lower + 0.004;
      const end = bin.upper - 0.004;
      return {
        index: bin.index,
        range: confidenceRange(bin.lower, bin.upper),
        start,
        split: start + accuracyShare * (end - start),
        end,
        middle: (bin.lower + bin.upper) / 2,
        count: bin.count,
        accuracy: bin.accuracy as number,
        confidence: bin.confidence as number,
        gap: bin.gap as number,
        gapKind: (bin.gap as number) >= 0 ? gapKinds.over.label : gapKinds.under.label,
      };
    });
  const tooltip = [
    { field: 'range', title: 'Confidence bin' },
    { field: 'count', title: 'Images' },
    { field: 'accuracy', title: 'Accuracy', format: '.2%' },
    { field: 'confidence', title: 'Mean confidence', format: '.2%' },
    { field: 'gap', title: 'Gap (confidence − accuracy)', format: '+.2%' },
  ];
  // One legend for both layers, an entry per colour drawn; the two layers share their mark properties (opaque, no
  // stroke) because Vega-Lite's merged legend takes its symbols' opacity and stroke from the marks, and a swatch
  // must look like what it names. Only gap kinds some bin has get an entry.
  // Panels side by side name the same kinds, so that their shared legend has one entry per colour drawn in either.
  const kinds = options.gapKinds ? options.gapKinds.map((kind) => gapKinds[kind]) : [gapKinds.over, gapKinds.under].filter((kind) => rows.some((row) => row.gapKind === kind.label));
  const legendScale = { domain: [accuracyLabel, ...kinds.map((k) => k.label)], range: [accuracyColor, ...kinds.map((k) => k.color)] };
  const x = { field: 'start', type: 'quantitative', scale: { domain: [0, 1], nice: false }, axis: { title: ['Confidence (largest class probability);', 'above each bin: its images'], values: [0, 0.2, 0.4, 0.6, 0.8, 1], format: '.1f' } };
  const who = `${methodWithVariant(artifact, chosen)}, ${artifact.model} on ${datasetLabel(artifact.dataset)}`;
  const description =
    `Reliability diagram of ${who}: accuracy per confidence bin (${rows.length} of 10 bins hold test images) against the diagonal of perfect calibration, ` +
    `with the gap to each bin's mean confidence beside each bar, red where overconfident and amber where underconfident, and the number of test images above each bin` +
    ` (${rows.map((row) => `${row.range}: ${row.count} images, accuracy ${percent(row.accuracy)}, confidence ${percent(row.confidence)}`).join('; ')}). ` +
    `ECE ${percent(block.ece)}, MCE ${percent(block.mce)}, accuracy ${percent(block.accuracy)} on ${artifact.testCount} test images.`;
  return topLevel(description, {
    width: size.square,
    height: size.square,
    data: { values: rows },
    layer: [
      {
        name: 'accuracy_bars',
        // Rects with both ends given: a bar mark with x and x2 but a single y would be laid out horizontally.
        mark: { type: 'rect', color: accuracyColor },
        encoding: {
          x,
          x2: { field: 'split' },
          y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1], nice: false }, axis: { title: 'Accuracy', format: '.0%' } },
          y2: { datum: 0 },
          color: { datum: accuracyLabel, type: 'nominal', scale: legendScale, legend: { title: null, labelLimit: 250 } },
          tooltip,
        },
      },
      {
        name: 'gap_bars',
        mark: { type: 'rect' },
        encoding: {
          x: { field: 'split', type: 'quantitative' },
          x2: { field: 'end' },
          y: { field: 'accuracy', type: 'quantitative' },
          y2: { field: 'confidence' },
          color: { field: 'gapKind', type: 'nominal', scale: legendScale, legend: { title: null, labelLimit: 250 } },
          tooltip,
        },
      },
      {
        name: 'diagonal',
        data: { values: [{ c: 0 }, { c: 1 }] },
        mark: { type: 'line', color: '#555555', strokeDash: [4, 4], strokeWidth: 1 },
        encoding: { x: { field: 'c', type: 'quantitative' }, y: { field: 'c', type: 'quantitative' } },
      },
      {
        // The images behind each bin, above the plot: a bar of 12 images and one of 9,000 look alike.
        name: 'bin_counts',
        mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize: 10, color: '#333333' },
        encoding: {
          x: { field: 'middle', type: 'quantitative' },
          y: { datum: 1, type: 'quantitative' },
          text: { field: 'count', type: 'quantitative', format: '.2~s' },
          tooltip,
        },
      },
    ],
  });
}

/** Tolerance for two panels to count as the same: a twentieth of a percentage point, below what any axis here resolves. */
const samePanels = 0.0005;

/**
 * The deterministic network's reliability diagram beside one Laplace
 * method's on the same network, as small multiples on shared axes. Where
 * every bin holds the same images at the same accuracy and confidence
 * (within samePanels), the title says the panels are identical, since the
 * posterior then predicts as the network does.
 */
export function reliabilityPair(before: MethodArtifact, after: MethodArtifact, variant = 0): Spec {
  const [a, b] = [pickVariant(before, 0), pickVariant(after, variant)];
  const kinds = (['over', 'under'] as const).filter((kind) => [a, b].some((v) => v.calibration.bins.some((bin) => bin.count > 0 && ((bin.gap as number) >= 0) === (kind === 'over'))));
  const bins = a.calibration.bins.map((bin, index) => ({ first: bin, second: b.calibration.bins[index] }));
  const sameCounts = a.calibration.bins.length === b.calibration.bins.length && bins.every(({ first, second }) => first.count === second?.count);
  const gap = Math.max(0, ...bins.filter(({ first }) => first.count > 0).map(({ first, second }) => Math.max(Math.abs((first.accuracy as number) - (second.accuracy as number)), Math.abs((first.confidence as number) - (second.confidence as number)))));
  const identical = sameCounts && gap <= samePanels;
  const note = identical ? `The two panels are identical: every bin holds the same images at the same accuracy and confidence (largest gap ${(100 * gap).toFixed(2)} points), since the ${methodLabel(after.method)} posterior predicts as the network does` : null;
  const left = reliabilityDiagram(before, 0, { gapKinds: kinds });
  const right = reliabilityDiagram(after, variant, { gapKinds: kinds });
  const description = `Two reliability diagrams side by side on the same axes. Left: ${left.description} Right: ${right.description}${note ? ` ${note}.` : ''}`;
  return sideBySide(
    description,
    [
      { title: `${methodLabel(before.method)}: ECE ${percent(a.calibration.ece)}`, spec: left, suffix: 'before' },
      { title: `${methodLabel(after.method)}: ECE ${percent(b.calibration.ece)}`, spec: right, suffix: 'after' },
    ],
    { width: 300, height: 300, note },
  );
}

// ---------------------------------------------------------------------------
// Figures 9–12: calibration error against logit(confidence)

export interface CurveEntry {
  label: string;
  artifact: MethodArtifact;
  variant?: number;
}

export interface CurveRow {
  label: string;
  bin: string;
  x: number;
  confidence: number;
  accuracy: number;
  error: number;
  count: number;
  lowerLogit: number;
  upperLogit: number;
}

/**
 * Plot position of a curve point: logit of its mean confidence. The last bin
 * also holds confidences above its upper edge (1 − 1e-6), up to exactly 1,
 * whose logit is infinite, so the position is kept inside the bin's edges.
 */
export function curveX(point: CurvePoint): number {
  return Math.min(point.upperLogit, Math.max(point.lowerLogit, logit(point.confidence)));
}

function curveRows(label: string, curve: readonly CurvePoint[]): CurveRow[] {
  return curve.map((point) => ({
    label,
    bin: confidenceRange(point.lowerEdge, point.upperEdge),
    x: curveX(point),
    confidence: point.confidence,
    accuracy: point.accuracy,
    error: point.error,
    count: point.count,
    lowerLogit: point.lowerLogit,
    upperLogit: point.upperLogit,
  }));
}

/**
 * Min/max calibration error across curves. Every curve uses the same 10
 * logit-spaced bins (calibrationCurve's defaults: edges from 0.1 to 1 − 1e-6),
 * but each point sits at its own bin's mean confidence and empty bins are
 * missing, so the points of two networks do not line up. Each curve is
 * therefore read as the polyline it is drawn as (linear in logit) and
 * interpolated at every x where any curve has a point; only curves whose span
 * covers that x take part (no extrapolation). The band's corners are then
 * exactly where the lines have their points.
 */
export function calibrationBand(curves: readonly (readonly { x: number; error: number }[])[]): { x: number; min: number; max: number; curves: number }[] {
  const sorted = curves.map((curve) => [...curve].sort((a, b) => a.x - b.x)).filter((curve) => curve.length > 0);
  const grid = [...new Set(sorted.flatMap((curve) => curve.map((p) => p.x)))].sort((a, b) => a - b);
  const band = [];
  for (const x of grid) {
    let min = Infinity;
    let max = -Infinity;
    let covering = 0;
    for (const curve of sorted) {
      const value = interpolate(curve, x);
      if (value === null) continue;
      covering++;
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    band.push({ x, min, max, curves: covering });
  }
  return band;
}

/** Linear interpolation of a polyline sorted by x; null outside its span. */
function interpolate(curve: readonly { x: number; error: number }[], x: number): number | null {
  if (x < curve[0].x || x > curve[curve.length - 1].x) return null;
  for (let i = 0; i < curve.length; i++) {
    if (curve[i].x === x) return curve[i].error;
    if (curve[i].x > x) {
      const [a, b] = [curve[i - 1], curve[i]];
      return a.error + ((b.error - a.error) * (x - a.x)) / (b.x - a.x);
    }
  }
  return null;
}

/** Confidences worth a tick on a logit axis, low to high. */
const tickConfidences = [0.1, 0.25, 0.5, 0.75, 0.9, 0.97, 0.99, 0.997, 0.999, 0.9999, 0.99999, 0.999999];

/**
 * Tick positions (in logit) inside [lo, hi], thinned so labels at least
 * `minPixels` apart fit in `width` pixels. Positions are logit(c) exactly, so
 * the label expression turns them back into c.
 */
export function confidenceTicks(lo: number, hi: number, width: number, minPixels = 48): number[] {
  const spacing = ((hi - lo) * minPixels) / width;
  const ticks: number[] = [];
  for (const c of tickConfidences) {
    const at = logit(c);
    // The artifact rounds its logit edges to 6 significant digits, hence the tolerance.
    if (at < lo - 1e-4 || at > hi + 1e-4) continue;
    if (ticks.length > 0 && at - ticks[ticks.length - 1] < spacing) continue;
    ticks.push(at);
  }
  return ticks;
}

/** The logit span of the bins that hold any of the rows' points. */
function curveSpan(rows: readonly CurveRow[]): [number, number] {
  return rows.length > 0 ? [Math.min(...rows.map((r) => r.lowerLogit)), Math.max(...rows.map((r) => r.upperLogit))] : [logit(0.1), logit(0.999)];
}

/** Vega expression turning a logit tick back into a confidence label ("0.99"). */
const confidenceLabelExpr = "format(1 / (1 + exp(-datum.value)), '.6~f')";

export interface CurvesOptions {
  /** Draw the min/max band across the entries (figures 9 and 10). */
  band?: boolean;
  title?: string;
  /** Colours for the labels, in entry order; Vega-Lite's categorical scheme when absent. */
  colors?: readonly string[];
  /** Plot width (default size.width): the ticks are thinned for it. */
  width?: number;
  /** The logit span of the axis, where panels side by side must share it; default: the bins holding any point. */
  span?: readonly [number, number];
}

function curvesSpec(rows: CurveRow[][], color: Record<string, unknown>, options: CurvesOptions, description: string): Spec {
  const all = rows.flat();
  const width = options.width ?? size.width;
  // The axis spans the bins that hold any point (their logit edges are the same for every curve).
  const [lo, hi] = options.span ?? curveSpan(all);
  const ticks = confidenceTicks(lo, hi, width);
  const x = {
    field: 'x',
    type: 'quantitative',
    // Widened to take in a tick a rounding error outside the edges (0.1 is the lowest edge), which Vega would drop.
    scale: { domain: [Math.min(lo, ...ticks), Math.max(hi, ...ticks)], nice: false, zero: false },
    axis: { title: 'Confidence (logit scale)', values: ticks, labelExpr: confidenceLabelExpr, labelOverlap: true },
  };
  const y = { field: 'error', type: 'quantitative', axis: { title: 'Error: confidence − accuracy', format: '+.0%' } };
  const tooltip = [
    { field: 'label', title: 'Curve' },
    { field: 'bin', title: 'Confidence bin' },
    { field: 'confidence', title: 'Mean confidence', format: '.4f' },
    { field: 'accuracy', title: 'Accuracy', format: '.2%' },
    { field: 'error', title: 'Error (> 0: overconfident)', format: '+.2%' },
    { field: 'count', title: 'Images' },
  ];
  const layer: Record<string, unknown>[] = [];
  if (options.band) {
    layer.push({
      name: 'band',
      data: { values: calibrationBand(rows) },
      mark: { type: 'area', color: '#888888', opacity: 0.25 },
      encoding: {
        x,
        y: { field: 'min', type: 'quantitative' },
        y2: { field: 'max' },
        tooltip: [
          { field: 'min', title: 'Lowest error', format: '+.2%' },
          { field: 'max', title: 'Highest error', format: '+.2%' },
          { field: 'curves', title: 'Curves covering' },
        ],
      },
    });
  }
  layer.push(
    { name: 'zero', data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#555555', strokeWidth: 1 }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
    // A click on a legend entry isolates that curve (its line and points).
    { name: 'curve_lines', params: [legendPick('label')], mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color, opacity: pickedOpacity(), tooltip } },
    { name: 'curve_points', mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, color, opacity: pickedOpacity(), tooltip } },
  );
  return topLevel(description, {
    ...(options.title ? { title: options.title } : {}),
    width,
    height: size.height,
    data: { values: all },
    layer,
  });
}

/** What the curve descriptions say of each entry: its ECE and its worst bin. */
function curveSummary(label: string, variant: Variant): string {
  const curve = variant.calibration.curve;
  const worst = curve.reduce<CurvePoint | null>((w, p) => (w === null || Math.abs(p.error) > Math.abs(w.error) ? p : w), null);
  const worstText = worst ? `, worst bin ${worst.error >= 0 ? '+' : '−'}${percent(Math.abs(worst.error), 1)} at confidence ${worst.confidence.toFixed(3)}` : '';
  return `${label} ECE ${percent(variant.calibration.ece)}${worstText}`;
}

/**
 * Calibration error (confidence − accuracy) against logit(confidence), one
 * line per entry coloured by label, with an optional min/max band across the
 * entries (figures 9, 10 and 12).
 */
export function calibrationCurves(entries: CurveEntry[], options: CurvesOptions = {}): Spec {
  const chosen = entries.map((entry) => ({ ...entry, chosen: pickVariant(entry.artifact, entry.variant ?? 0) }));
  const rows = chosen.map((entry) => curveRows(entry.label, entry.chosen.calibration.curve));
  const labels = entries.map((entry) => entry.label);
  const color = {
    field: 'label',
    type: 'nominal',
    scale: options.colors ? { domain: labels, range: [...options.colors] } : { domain: labels },
    legend: legendFor(labels.length),
  };
  const band = options.band ? ' The grey band spans the lowest to the highest error across them at each confidence.' : '';
  const description =
    `Calibration error (confidence − accuracy, above zero = overconfident) against confidence on a logit scale for ${labels.join(', ')}: ` +
    `${chosen.map((entry) => curveSummary(entry.label, entry.chosen)).join('; ')}.${band}`;
  return curvesSpec(rows, color, options, description);
}

/**
 * A family's calibration curves before (deterministic) and after a Laplace
 * treatment, as two panels side by side on one confidence axis and one error
 * axis, each with its min/max band; the title names the networks whose curve
 * the treatment leaves where it was (within a tenth of a percentage point
 * in every bin both have).
 */
export function calibrationCurvesPair(before: CurveEntry[], after: CurveEntry[]): Spec {
  if (before.length === 0 || after.length === 0) throw new Error('calibrationCurvesPair needs at least one network before and one after.');
  const rowsOf = (entries: CurveEntry[]) => entries.map((entry) => curveRows(entry.label, pickVariant(entry.artifact, entry.variant ?? 0).calibration.curve));
  const span = curveSpan([...rowsOf(before), ...rowsOf(after)].flat());
  const width = 340;
  const left = calibrationCurves(before, { band: true, width, span });
  const right = calibrationCurves(after, { band: true, width, span });
  const points = (entries: CurveEntry[], label: string) => {
    const entry = entries.find((candidate) => candidate.label === label);
    return entry ? pickVariant(entry.artifact, entry.variant ?? 0).calibration.curve.map((point) => ({ key: point.lowerLogit, y: point.error })) : [];
  };
  const labels = before.map((entry) => entry.label).filter((label) => after.some((entry) => entry.label === label));
  const note = unchangedNote(
    labels.map((label) => ({ label, before: points(before, label), after: points(after, label) })),
    0.001,
    (gap) => `${(100 * gap).toFixed(2)} points`,
    'Every network’s curve',
  );
  const side = (entries: CurveEntry[]) => [...new Set(entries.map((entry) => methodLabel(entry.artifact.method)))].join(', ');
  const description = `Calibration curves of a family side by side on the same axes. Left, ${side(before)}: ${left.description} Right, ${side(after)}: ${right.description}${note ? ` ${note}.` : ''}`;
  return sideBySide(
    description,
    [
      { title: `Before: ${side(before)}`, spec: left, suffix: 'before' },
      { title: `After: ${side(after)}`, spec: right, suffix: 'after' },
    ],
    { note },
  );
}

/** The same axes for several methods on one network, coloured by method (figure 11). */
export function methodCalibrationCurves(artifacts: MethodArtifact[], variant = 0): Spec {
  const chosen = artifacts.map((artifact) => ({ artifact, chosen: pickVariant(artifact, variant), label: methodLabel(artifact.method) }));
  const rows = chosen.map((entry) => curveRows(entry.label, entry.chosen.calibration.curve));
  const color = { field: 'label', type: 'nominal', scale: methodScale(artifacts.map((a) => a.method)), legend: legendFor(artifacts.length) };
  const description =
    `Calibration error (confidence − accuracy, above zero = overconfident) against confidence on a logit scale, one line per method, ${networksOf(artifacts)}: ` +
    `${chosen.map((entry) => curveSummary(entry.label, entry.chosen)).join('; ')}.${variantNote(artifacts, variant)}`;
  const note = coincidenceNote(
    rows.map((curve, index) => ({ label: chosen[index].label, points: curve.map((row) => ({ key: row.lowerLogit, y: row.error })) })),
    methodLabel('sgd'),
    // A tenth of a percentage point: the curves' own noise is larger, so closer than that is the same curve.
    0.001,
    (gap) => `${(100 * gap).toFixed(2)} points`,
  );
  const spec = curvesSpec(rows, color, {}, note ? `${description} ${note}.` : description);
  return note ? ({ ...spec, title: { text: noteLines(`${note}.`) } } as Spec) : spec;
}

// ---------------------------------------------------------------------------
// Variants: which predictive and which objective for N and τ

type VariantMetric = 'ece' | 'nll' | 'auroc' | 'aurocMsp';
const variantMetrics: { key: VariantMetric; title: string; better: string; format: string; tooltipFormat: string; text: (v: number) => string }[] = [
  { key: 'ece', title: 'ECE', better: 'lower is better', format: '.1%', tooltipFormat: '.2%', text: (v) => percent(v) },
  { key: 'nll', title: 'NLL (nats)', better: 'lower is better', format: '.2f', tooltipFormat: '.4f', text: (v) => v.toFixed(3) },
  { key: 'auroc', title: 'AUROC (entropy)', better: 'higher is better', format: '.2f', tooltipFormat: '.4f', text: (v) => v.toFixed(3) },
  { key: 'aurocMsp', title: 'AUROC (max. probability)', better: 'higher is better', format: '.2f', tooltipFormat: '.4f', text: (v) => v.toFixed(3) },
];

/**
 * ECE, NLL and AUROC (against the first unknown set; scored by entropy and by
 * the maximum probability) of every variant (predictive × objective used to
 * choose N and τ) of one method, as bars in four panels, two by two; log10 N and log10 τ in the tooltips. With `baseline` (the
 * SGD artifact of the same network) a dashed line marks its value, so the
 * chart shows which choices move the Laplace treatment away from the point
 * estimate.
 */
export function variantComparison(artifact: MethodArtifact, baseline?: MethodArtifact): Spec {
  const first = artifact.variants[0].ood.unknown[0];
  if (!first) throw new Error(`${artifact.dataset}/${artifact.model}/${artifact.method} has no unknown set to compute AUROC on.`);
  const seen = new Map<string, number>();
  const rows = artifact.variants.map((variant, index) => {
    // Labels must be unique to be bar positions; a repeated pair gets its index.
    const base = variantLabel(variant);
    const repeat = seen.get(base) ?? 0;
    seen.set(base, repeat + 1);
    return {
      index,
      variant: repeat === 0 ? base : `${base} (${index})`,
      predictive: variant.predictive,
      objective: choiceLabel(variant.objective, variant.posterior),
      logN: variant.logN,
      logTau: variant.logTau,
      accuracy: variant.calibration.accuracy,
      ece: variant.calibration.ece,
      nll: variant.calibration.nll,
      auroc: findUnknown(variant, first.set).auroc,
      aurocMsp: findUnknown(variant, first.set).aurocMsp,
    };
  });
  const labels = rows.map((r) => r.variant);
  const base = baseline
    ? (() => {
        const chosen = pickVariant(baseline, 0);
        const unknown = findUnknown(chosen, first.set);
        return { ece: chosen.calibration.ece, nll: chosen.calibration.nll, auroc: unknown.auroc, aurocMsp: unknown.aurocMsp };
      })()
    : null;
  const tooltip = [
    { field: 'variant', title: 'Predictive / objective' },
    { field: 'logN', title: 'log10 N', format: '.2f' },
    { field: 'logTau', title: 'log10 τ', format: '.2f' },
    { field: 'accuracy', title: 'Accuracy', format: '.2%' },
    { field: 'ece', title: 'ECE', format: '.2%' },
    { field: 'nll', title: 'NLL', format: '.4f' },
    { field: 'auroc', title: `AUROC (entropy) vs ${unknownLabel(first)}`, format: '.4f' },
    { field: 'aurocMsp', title: `AUROC (max. probability) vs ${unknownLabel(first)}`, format: '.4f' },
  ];
  const objectives = [...new Set(rows.map((r) => r.objective))];
  const zoomed = (key: VariantMetric) => key === 'auroc' || key === 'aurocMsp';
  // Each AUROC axis spans the variants and the baseline, padded by a fifth of that span (at least 0.002) on each side.
  const zoomDomain = (key: VariantMetric): [number, number] => {
    const values = [...rows.map((r) => r[key]), ...(base ? [base[key]] : [])];
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const pad = Math.max(0.002, 0.2 * (hi - lo));
    return [Math.max(0, lo - pad), Math.min(1, hi + pad)];
  };
  const panels = variantMetrics.map((metric, i) => ({
    // The subtitle says on what data: test images, or the unknown set AUROC separates them from.
    title: { text: metric.title, subtitle: zoomed(metric.key) ? `vs ${unknownLabel(first)}` : 'test set', frame: 'group', limit: 160, subtitleFontSize: 11 },
    width: 130,
    height: Math.max(80, 26 * rows.length),
    layer: [
      {
        name: `variant_bars_${metric.key}`,
        data: { values: rows },
        // AUROC values crowd near 1, where bars from zero all look alike: dots on an axis zoomed to the data (and said to be).
        mark: zoomed(metric.key) ? { type: 'point', filled: true, size: 90, opacity: 1 } : { type: 'bar' },
        encoding: {
          // Only the first panel of each row of two names the rows; the others share its order, so their bars line up.
          y: { field: 'variant', type: 'nominal', sort: labels, axis: i % 2 === 0 ? { title: null, labelLimit: 180 } : null },
          x: {
            field: metric.key,
            type: 'quantitative',
            ...(zoomed(metric.key) ? { scale: { domain: zoomDomain(metric.key), nice: false, zero: false } } : {}),
            axis: { title: zoomed(metric.key) ? [metric.better, `axis zoomed: ${zoomDomain(metric.key).map((v) => v.toFixed(3)).join(' to ')}`] : metric.better, format: zoomed(metric.key) ? '.3f' : metric.format, tickCount: 3 },
          },
          color: { field: 'objective', type: 'nominal', scale: { domain: objectives }, legend: { title: 'Objective for N and τ:', orient: 'bottom', direction: 'horizontal', columns: 2, titleLimit: 300 } },
          tooltip,
        },
      },
      ...(base
        ? [
            {
              name: `baseline_${metric.key}`,
              data: { values: [{ value: base[metric.key], label: methodLabel(baseline!.method) }] },
              mark: { type: 'rule', color: '#000000', strokeDash: [4, 3], strokeWidth: 1.5 },
              encoding: { x: { field: 'value', type: 'quantitative' }, tooltip: [{ field: 'label', title: 'Baseline' }, { field: 'value', title: metric.title, format: metric.tooltipFormat }] },
            },
          ]
        : []),
    ],
  }));
  const range = (key: VariantMetric, text: (v: number) => string) => {
    const sorted = [...rows].sort((a, b) => a[key] - b[key]);
    const [lo, hi] = [sorted[0], sorted[sorted.length - 1]];
    return `${text(lo[key])} (${lo.variant}) to ${text(hi[key])} (${hi.variant})`;
  };
  const [ece, nll, auroc, aurocMsp] = variantMetrics.map((metric) => range(metric.key, metric.text));
  const baseText = base
    ? ` ${methodLabel(baseline!.method)} for comparison (dashed): ECE ${percent(base.ece)}, NLL ${base.nll.toFixed(3)}, AUROC ${base.auroc.toFixed(3)} by entropy and ${base.aurocMsp.toFixed(3)} by maximum probability.`
    : '';
  const description =
    `ECE, NLL and AUROC against ${unknownLabel(first)} (scored by predictive entropy, and by the maximum probability) for the ${rows.length} variants (predictive / objective used to choose N and τ) of ` +
    `${methodLabel(artifact.method)} on ${artifact.model} (${datasetLabel(artifact.dataset)}): ` +
    `ECE from ${ece}, NLL from ${nll}, AUROC from ${auroc}, AUROC by maximum probability from ${aurocMsp}.${baseText}` +
    // The sampled predictive's numbers are one Monte Carlo draw of weight samples (site/lib/monte-carlo.ts).
    (artifact.variants.some((variant) => variant.predictive === 'sampled') ? ' The sampled predictive’s values are one Monte Carlo draw of weight samples, which another draw can move far beyond their intervals.' : '');
  // Two by two: four panels side by side would be wider than the article's column.
  return topLevel(description, { concat: panels, columns: 2, spacing: 12 });
}
