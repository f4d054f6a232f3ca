/**
 * Out-of-distribution figures (13–16 of the study): predictive-entropy
 * histograms of known against unknown images, and the inverse ECDF of entropy
 * (fraction of images above h) per method and across a family of networks.
 * All use the artifact's shared entropy bins and grid, so curves line up.
 */
import { coincidenceNote, largestGap, legendPick, methodScale, noteLines, pickedOpacity, sideBySide, size, topLevel, unchangedNote, type Spec } from './common.ts';
import { datasetLabel, findUnknown, legendFor, methodLabel, methodWithVariant, networksOf, pickVariant, unknownLabel, variantNote, type MethodArtifact, type Unknown, type Variant } from './calibration.ts';

const entropyAxisTitle = 'Predictive entropy h (nats)';

/** The maximum entropy ln C as a vertical rule with its label, so "how close to uniform" reads off the chart. */
function maxEntropyLayers(max: number, y: number) {
  return [
    { name: 'max_entropy', data: { values: [{ h: max }] }, mark: { type: 'rule', color: '#555555', strokeDash: [2, 3] }, encoding: { x: { field: 'h', type: 'quantitative' } } },
    {
      // Above the plot's top edge, where no curve or bar can be.
      data: { values: [{ h: max, y, text: `max ln 10 ≈ ${max.toFixed(2)}` }] },
      mark: { type: 'text', align: 'right', dy: -4, baseline: 'bottom', fontSize: 10, color: '#555555' },
      encoding: { x: { field: 'h', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'text' } },
    },
  ];
}

const knownColor = '#4C78A8';
const unknownColor = '#E45756';

/**
 * Entropy histograms of the known test images and of one unknown set on the
 * shared bins over [0, ln 10], overlaid translucently (figures 13 and 14).
 * The artifact stores fractions per bin, so the bars of both sets sum to 1.
 */
export function entropyHistogram(artifact: MethodArtifact, unknownSet: string, variant = 0, labelsAt?: number): Spec {
  const chosen = pickVariant(artifact, variant);
  const known = chosen.ood.known;
  const unknown = findUnknown(chosen, unknownSet);
  const { max, bins } = artifact.entropy;
  if (known.histogram.length !== bins || unknown.histogram.length !== bins) throw new Error(`Histograms must have the artifact's ${bins} entropy bins.`);
  const knownName = `Known: ${datasetLabel(artifact.dataset)} test`;
  const unknownName = `Unknown: ${unknownLabel(unknown)}`;
  const width = max / bins;
  const rows = [
    ...known.histogram.map((fraction, i) => ({ series: knownName, bin: i, start: i * width, end: (i + 1) * width, fraction })),
    ...unknown.histogram.map((fraction, i) => ({ series: unknownName, bin: i, start: i * width, end: (i + 1) * width, fraction })),
  ];
  const means = [
    { series: knownName, mean: known.meanEntropy },
    { series: unknownName, mean: unknown.meanEntropy },
  ];
  const color = { field: 'series', type: 'nominal', scale: { domain: [knownName, unknownName], range: [knownColor, unknownColor] }, legend: { title: null, labelLimit: 250 } };
  const x = { field: 'start', type: 'quantitative', scale: { domain: [0, max], nice: false }, axis: { title: entropyAxisTitle } };
  // Where the mean and maximum labels sit: the tallest bar, or the top a shared axis gives panels side by side.
  const top = labelsAt ?? Math.max(...known.histogram, ...unknown.histogram);
  const description =
    `Histogram of predictive entropy for ${methodWithVariant(artifact, chosen)} (${artifact.model} on ${datasetLabel(artifact.dataset)}): ` +
    `known test images have mean entropy ${known.meanEntropy.toFixed(3)} nats, unknown ${unknownLabel(unknown)} images ${unknown.meanEntropy.toFixed(3)} nats ` +
    `(maximum ln 10 ≈ ${max.toFixed(3)}); entropy tells them apart with AUROC ${unknown.auroc.toFixed(3)} and FPR at 95% TPR ${unknown.fpr95.toFixed(3)}.`;
  return topLevel(description, {
    width: size.width,
    height: size.height,
    layer: [
      {
        name: 'histogram_bars',
        data: { values: rows },
        // Rects with both ends given, overlaid (not stacked) so each set's bars start at zero.
        mark: { type: 'rect', opacity: 0.5 },
        encoding: {
          x,
          x2: { field: 'end' },
          y: { field: 'fraction', type: 'quantitative', axis: { title: 'Fraction of images', format: '.0%' } },
          y2: { datum: 0 },
          color,
          tooltip: [
            { field: 'series', title: 'Set' },
            { field: 'start', title: 'From h', format: '.3f' },
            { field: 'end', title: 'To h', format: '.3f' },
            { field: 'fraction', title: 'Fraction', format: '.1%' },
          ],
        },
      },
      {
        name: 'mean_rules',
        data: { values: means },
        mark: { type: 'rule', strokeWidth: 2, strokeDash: [6, 3] },
        encoding: {
          x: { field: 'mean', type: 'quantitative' },
          color,
          tooltip: [
            { field: 'series', title: 'Set' },
            { field: 'mean', title: 'Mean entropy (nats)', format: '.3f' },
          ],
        },
      },
      ...means.map((m, i) => meanLabelLayer(m.mean, top, max, i === 0 ? 'known' : 'unknown', i === 0 ? knownColor : unknownColor, i)),
      ...maxEntropyLayers(max, top),
    ],
  });
}

/**
 * The deterministic network's entropy histogram beside one Laplace method's
 * on the same network and unknown set, as two panels on shared axes. Where
 * every bin holds the same fraction of images in both (within a twentieth of
 * a percentage point), the title says the panels are identical.
 */
export function entropyHistogramPair(before: MethodArtifact, after: MethodArtifact, unknownSet: string, variant = 0): Spec {
  const [a, b] = [pickVariant(before, 0), pickVariant(after, variant)];
  const bins = (chosen: Variant) => [...chosen.ood.known.histogram.map((y, key) => ({ key: `known:${key}`, y })), ...findUnknown(chosen, unknownSet).histogram.map((y, key) => ({ key: `unknown:${key}`, y }))];
  const gap = largestGap(bins(a), bins(b));
  const note = gap <= 0.0005 ? `The two panels are identical: every bin holds the same fraction of images (largest gap ${(100 * gap).toFixed(2)} points), since the ${methodLabel(after.method)} posterior predicts as the network does` : null;
  const tallest = Math.max(...[...bins(a), ...bins(b)].map((point) => point.y));
  const left = entropyHistogram(before, unknownSet, 0, tallest);
  const right = entropyHistogram(after, unknownSet, variant, tallest);
  const auroc = (chosen: Variant) => findUnknown(chosen, unknownSet).auroc.toFixed(3);
  const description = `Two entropy histograms side by side on the same axes. Left: ${left.description} Right: ${right.description}${note ? ` ${note}.` : ''}`;
  return sideBySide(
    description,
    [
      { title: `${methodLabel(before.method)}: AUROC ${auroc(a)}`, spec: left, suffix: 'before' },
      { title: `${methodLabel(after.method)}: AUROC ${auroc(b)}`, spec: right, suffix: 'after' },
    ],
    { width: 330, height: 260, note },
  );
}

/**
 * The text naming a dashed mean line ("mean known"), just inside the plot's top edge, the second one a line lower
 * so the two do not overlap when the means are close; right of its line, or left of it near the right edge.
 */
function meanLabelLayer(mean: number, top: number, max: number, which: 'known' | 'unknown', color: string, row: number) {
  const right = mean > 0.75 * max;
  return {
    name: `mean_label_${which}`,
    data: { values: [{ mean, y: top, text: `mean ${which}` }] },
    mark: { type: 'text', align: right ? 'right' : 'left', dx: right ? -4 : 4, baseline: 'top', dy: 4 + 13 * row, fontSize: 10, color, fontWeight: 'bold' },
    encoding: { x: { field: 'mean', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'text' } },
  };
}

interface EcdfRow {
  label: string;
  series: 'known' | 'unknown';
  set: string;
  h: number;
  fraction: number;
}

/** Known and unknown inverse-ECDF rows of one variant, on the artifact's grid. */
function ecdfRows(label: string, artifact: MethodArtifact, chosen: Variant, unknown: Unknown): EcdfRow[] {
  const grid = artifact.entropy.grid;
  if (chosen.ood.known.inverseEcdf.length !== grid.length || unknown.inverseEcdf.length !== grid.length) {
    throw new Error(`Inverse ECDFs must have one value per point of the artifact's entropy grid (${grid.length}).`);
  }
  const knownSet = `${datasetLabel(artifact.dataset)} test (known)`;
  const unknownSet = `${unknownLabel(unknown)} (unknown)`;
  return [
    ...grid.map((h, j) => ({ label, series: 'known' as const, set: knownSet, h, fraction: chosen.ood.known.inverseEcdf[j] })),
    ...grid.map((h, j) => ({ label, series: 'unknown' as const, set: unknownSet, h, fraction: unknown.inverseEcdf[j] })),
  ];
}

// The known/unknown legend sits inside the plot's upper right, which falling curves leave empty unless most unknown
// images have entropy near ln 10 (the lower left is not: the known images' curves drop there); the colour legend
// below keeps the width. In the two-panel family figure, `orient` would place it beside the whole chart, so it is
// placed by hand, inside the left panel.
function dashFor(legendAt: { x: number; y: number } | null) {
  const placement = legendAt ? { orient: 'none', legendX: legendAt.x, legendY: legendAt.y } : { orient: 'top-right' };
  return {
    field: 'series',
    type: 'nominal',
    scale: { domain: ['known', 'unknown'], range: [[5, 4], [1, 0]] },
    legend: { title: null, labelExpr: "datum.label + ' images'", symbolType: 'stroke', ...placement, direction: 'vertical', fillColor: 'white', padding: 4 },
  };
}
const ecdfTooltip = [
  { field: 'label', title: 'Curve' },
  { field: 'set', title: 'Set' },
  { field: 'h', title: 'h (nats)', format: '.3f' },
  { field: 'fraction', title: 'Fraction above h', format: '.1%' },
];

// Axis titles stay short: build-time rendering has no canvas and over-estimates text widths, and a too-long
// vertical title would push its panel's bounds (and title) upwards.
const ecdfYTitle = 'Fraction of images above h';

function ecdfLayers(max: number, color: Record<string, unknown>, width: number, yTitle: string | null = ecdfYTitle, legendAt: { x: number; y: number } | null = null, definesPick = true) {
  return [
    {
      name: 'ecdf_lines',
      // A click on a colour legend entry isolates that method's (or network's) curves; the selection is defined once
      // per chart and read by every panel.
      ...(definesPick ? { params: [legendPick('label')] } : {}),
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x: { field: 'h', type: 'quantitative', scale: { domain: [0, max], nice: false }, axis: { title: entropyAxisTitle, tickCount: Math.max(3, Math.round(width / 80)) } },
        y: { field: 'fraction', type: 'quantitative', scale: { domain: [0, 1] }, axis: { title: yTitle, format: '.0%' } },
        color,
        strokeDash: dashFor(legendAt),
        opacity: pickedOpacity(),
        tooltip: ecdfTooltip,
      },
    },
    ...maxEntropyLayers(max, 1),
  ];
}

/**
 * Inverse ECDF of predictive entropy (fraction of images with entropy above h)
 * for several methods, known test images dashed and the unknown set solid,
 * colour = method (figure 15).
 */
export function inverseEcdf(artifacts: MethodArtifact[], unknownSet: string, variant = 0): Spec {
  if (artifacts.length === 0) throw new Error('inverseEcdf needs at least one artifact.');
  const picked = artifacts.map((artifact) => {
    const chosen = pickVariant(artifact, variant);
    return { artifact, chosen, unknown: findUnknown(chosen, unknownSet), label: methodLabel(artifact.method) };
  });
  const rows = picked.flatMap((p) => ecdfRows(p.label, p.artifact, p.chosen, p.unknown));
  const max = Math.max(...artifacts.map((a) => a.entropy.max));
  const color = { field: 'label', type: 'nominal', scale: methodScale(artifacts.map((a) => a.method)), legend: legendFor(artifacts.length) };
  const setName = picked.length > 0 ? unknownLabel(picked[0].unknown) : unknownSet;
  const description =
    `Fraction of images whose predictive entropy exceeds h, for known test images (dashed) and unknown ${setName} images (solid), ${networksOf(artifacts)}. ` +
    `AUROC of entropy as a detector: ${picked.map((p) => `${p.label} ${p.unknown.auroc.toFixed(3)}`).join(', ')}; ` +
    `unknown images above the known 95th percentile: ${picked.map((p) => `${p.label} ${(p.unknown.fractionAboveKnown95 * 100).toFixed(1)}%`).join(', ')}.` +
    variantNote(artifacts, variant);
  // Known and unknown curves both have to coincide, within one percentage point of images, for a method to lie on the deterministic one.
  const note = coincidenceNote(
    picked.map((p) => ({ label: p.label, points: rows.filter((row) => row.label === p.label).map((row) => ({ key: `${row.series}:${row.h}`, y: row.fraction })) })),
    methodLabel('sgd'),
    0.01,
    (gap) => `${(100 * gap).toFixed(1)}% of images`,
  );
  return topLevel(note ? `${description} ${note}.` : description, {
    ...(note ? { title: { text: noteLines(`${note}.`) } } : {}),
    width: size.width,
    height: size.height,
    data: { values: rows },
    layer: ecdfLayers(max, color, size.width),
  });
}

export interface FamilyEntry {
  label: string;
  artifact: MethodArtifact;
  /** Variant index (default 0, the summary's). */
  variant?: number;
}

/**
 * Inverse ECDFs across a family of networks in two panels, before (SGD) and
 * after (Laplace), colour = network, known dashed, unknown solid (figure 16).
 */
export function inverseEcdfFamily(before: FamilyEntry[], after: FamilyEntry[], unknownSet: string): Spec {
  if (before.length === 0 || after.length === 0) throw new Error('inverseEcdfFamily needs at least one network before and one after.');
  // Short method names ("SGD", "KFAC Laplace") so the panel titles fit their panels.
  const short = (method: string) => methodLabel(method).replace(/ \(deterministic\)$/, '');
  const panelTitle = (side: string, entries: FamilyEntry[]) => `${side}: ${[...new Set(entries.map((e) => short(e.artifact.method)))].join(', ')}`;
  const panels = [
    { title: panelTitle('Before', before), entries: before },
    { title: panelTitle('After', after), entries: after },
  ];
  const picked = panels.map((panel) =>
    panel.entries.map((entry) => {
      const chosen = pickVariant(entry.artifact, entry.variant ?? 0);
      return { ...entry, chosen, unknown: findUnknown(chosen, unknownSet) };
    }),
  );
  const labels = [...new Set([...before, ...after].map((e) => e.label))];
  const max = Math.max(...[...before, ...after].map((e) => e.artifact.entropy.max));
  const color = { field: 'label', type: 'nominal', scale: { domain: labels }, legend: legendFor(labels.length) };
  const panelWidth = Math.floor((size.width - 80) / 2);
  const setName = picked.flat().length > 0 ? unknownLabel(picked.flat()[0].unknown) : unknownSet;
  const aurocs = labels.map((label) => {
    const of = (side: number) => picked[side].find((p) => p.label === label)?.unknown.auroc;
    const [b, a] = [of(0), of(1)];
    return `${label} ${b === undefined ? '–' : b.toFixed(3)} → ${a === undefined ? '–' : a.toFixed(3)}`;
  });
  // A network whose known and unknown curves both stay within one percentage point of images is the same before and after.
  const curveOf = (side: number, label: string) => {
    const entry = picked[side].find((p) => p.label === label);
    return entry ? ecdfRows(label, entry.artifact, entry.chosen, entry.unknown).map((row) => ({ key: `${row.series}:${row.h}`, y: row.fraction })) : [];
  };
  const note = unchangedNote(
    labels.filter((label) => picked[0].some((p) => p.label === label) && picked[1].some((p) => p.label === label)).map((label) => ({ label, before: curveOf(0, label), after: curveOf(1, label) })),
    0.01,
    (gap) => `${(100 * gap).toFixed(1)}% of images`,
    'Every network’s pair of curves',
  );
  const description =
    `Fraction of images whose predictive entropy exceeds h across a family of networks, known test images dashed and unknown ${setName} images solid, ` +
    `before (${panels[0].title.replace(/^Before: /, '')}) and after (${panels[1].title.replace(/^After: /, '')}). AUROC before → after: ${aurocs.join(', ')}.${note ? ` ${note}.` : ''}`;
  return topLevel(description, {
    ...(note ? { title: { text: noteLines(`${note}.`) } } : {}),
    hconcat: panels.map((panel, side) => ({
      title: { text: panel.title, frame: 'group', limit: 0 },
      width: panelWidth,
      height: size.height - 40,
      data: { values: picked[side].flatMap((p) => ecdfRows(p.label, p.artifact, p.chosen, p.unknown)) },
      // Mark names must be unique across the whole chart, so each panel's marks carry its side.
      layer: ecdfLayers(max, color, panelWidth, side === 0 ? ecdfYTitle : null, { x: panelWidth - 120, y: 8 }, side === 0).map((layer) => ('name' in layer && layer.name ? { ...layer, name: `${layer.name}_${side === 0 ? 'before' : 'after'}` } : layer)),
    })),
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
  });
}
