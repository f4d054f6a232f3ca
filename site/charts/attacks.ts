/**
 * Perturbed-input figures: metrics under FGSM attack against the step size ε
 * (figure 17 of the study and its companions) and under rotation of MNIST
 * digits against the angle. One line per method, coloured as everywhere else.
 */
import { coincidenceNote, largestGap, legendPick, listed, methodScale, noteLines, pickedOpacity, size, topLevel, type Spec } from './common.ts';
import { legendFor, methodLabel, networksOf, percent, pickVariant, variantNote, type MethodArtifact } from './calibration.ts';

export type PerturbationMetric = 'meanEntropy' | 'accuracy' | 'nll' | 'ece';

const metricInfo: Record<PerturbationMetric, { title: string; short: string; format: string; text: (v: number) => string }> = {
  meanEntropy: { title: 'Mean predictive entropy (nats)', short: 'mean entropy', format: '.2f', text: (v) => v.toFixed(3) },
  accuracy: { title: 'Accuracy', short: 'accuracy', format: '.0%', text: (v) => percent(v, 1) },
  nll: { title: 'NLL (nats)', short: 'NLL', format: '.2f', text: (v) => v.toFixed(3) },
  ece: { title: 'ECE', short: 'ECE', format: '.0%', text: (v) => percent(v, 1) },
};

/** The panel order of the 2×2 grids: what the attack does to the answer first, then what the model says about it. */
export const perturbationMetrics: PerturbationMetric[] = ['accuracy', 'meanEntropy', 'nll', 'ece'];

type Kind = 'fgsm' | 'shift';

interface Row {
  method: string;
  /** ε for FGSM, degrees for rotation. */
  at: number;
  accuracy: number;
  nll: number;
  ece: number;
  meanEntropy: number;
}

const kinds = {
  fgsm: {
    field: 'epsilon',
    axisTitle: 'FGSM step size ε (fraction of the pixel range, square-root scale)',
    // The ε grid is denser near 0 (0, 0.01, 0.02, 0.05, …); a square-root scale spreads those points while keeping 0 on the axis.
    scaleType: 'sqrt',
    shortTitle: 'ε (square-root scale)',
    name: 'FGSM',
    point: (v: number) => `ε = ${v}`,
    axisFormat: '~g',
  },
  shift: { field: 'angle', axisTitle: 'Rotation angle (degrees)', shortTitle: 'Rotation angle (°)', scaleType: 'linear', name: 'rotation', point: (v: number) => `${v}°`, axisFormat: 'd' },
} as const;

function rowsOf(kind: Kind, artifacts: readonly MethodArtifact[], variant: number): Row[] {
  return artifacts.flatMap((artifact) => {
    const chosen = pickVariant(artifact, variant);
    const label = methodLabel(artifact.method);
    return kind === 'fgsm'
      ? chosen.fgsm.map((r) => ({ method: label, at: r.epsilon, accuracy: r.accuracy, nll: r.nll, ece: r.ece, meanEntropy: r.meanEntropy }))
      : chosen.shift.map((r) => ({ method: label, at: r.angle, accuracy: r.accuracy, nll: r.nll, ece: r.ece, meanEntropy: r.meanEntropy }));
  });
}

/** Rows with the x field under its real name (epsilon or angle), so tooltips and data read naturally. */
const named = (kind: Kind, rows: Row[]) => rows.map(({ at, ...rest }) => ({ [kinds[kind].field]: at, ...rest }));

function layersFor(kind: Kind, metric: PerturbationMetric, artifacts: readonly MethodArtifact[], rows: Row[], prefix: string, width: number, small = false, definesPick = true) {
  const k = kinds[kind];
  const steps = [...new Set(rows.map((r) => r.at))].sort((a, b) => a - b);
  const x = {
    field: k.field,
    type: 'quantitative',
    scale: { type: k.scaleType, domain: [steps[0], steps[steps.length - 1]], nice: false, zero: false },
    axis: { title: small ? k.shortTitle : k.axisTitle, values: steps, format: k.axisFormat, labelOverlap: true, labelFlush: true, tickCount: Math.max(2, Math.round(width / 60)) },
  };
  const info = metricInfo[metric];
  const y = {
    field: metric,
    type: 'quantitative',
    scale: metric === 'accuracy' || metric === 'ece' ? { domain: [0, 1] } : { zero: true },
    // In the small multiples the panel title names the metric.
    axis: { title: small ? null : info.title, format: info.format },
  };
  const color = { field: 'method', type: 'nominal', scale: methodScale(artifacts.map((a) => a.method)), legend: legendFor(artifacts.length) };
  const tooltip = [
    { field: 'method', title: 'Method' },
    { field: k.field, title: kind === 'fgsm' ? 'ε' : 'Angle (°)' },
    { field: 'accuracy', title: 'Accuracy', format: '.2%' },
    { field: 'ece', title: 'ECE', format: '.2%' },
    { field: 'nll', title: 'NLL', format: '.4f' },
    { field: 'meanEntropy', title: 'Mean entropy (nats)', format: '.4f' },
  ];
  const layers: Record<string, unknown>[] = [
    // A click on a legend entry isolates that method; in the small multiples the first panel defines the selection
    // and all four read it.
    { name: `${prefix}_lines`, ...(definesPick ? { params: [legendPick('method')] } : {}), mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color, opacity: pickedOpacity(), tooltip } },
    { name: `${prefix}_points`, mark: { type: 'point', filled: true, size: 45 }, encoding: { x, y, color, opacity: pickedOpacity(), tooltip } },
  ];
  if (metric === 'meanEntropy') {
    // Entropy cannot exceed ln C; the rule shows how close to "no idea" each method gets.
    const max = Math.max(...artifacts.map((a) => a.entropy.max));
    layers.push(
      { name: `${prefix}_max`, data: { values: [{ max }] }, mark: { type: 'rule', color: '#555555', strokeDash: [2, 3] }, encoding: { y: { field: 'max', type: 'quantitative' } } },
      {
        data: { values: [{ max, text: `max ln 10 ≈ ${max.toFixed(2)}` }] },
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -3, fontSize: 10, color: '#555555', x: 0 },
        encoding: { y: { field: 'max', type: 'quantitative' }, text: { field: 'text' } },
      },
    );
  }
  return layers;
}

/** A chart that says there is nothing to draw, for data sets without the perturbation. */
function noData(kind: Kind, artifacts: readonly MethodArtifact[]): Spec {
  const text = kind === 'shift' ? `No rotation data for ${networksOf(artifacts) || 'these artifacts'}: only MNIST is rotated.` : `No FGSM data for ${networksOf(artifacts) || 'these artifacts'}.`;
  return topLevel(text, {
    width: size.width,
    height: 40,
    data: { values: [{ text }] },
    layer: [{ name: 'no_data', mark: { type: 'text', fontSize: 13, color: '#555555', align: 'left', x: 0, y: 20, limit: size.width }, encoding: { text: { field: 'text' } } }],
  });
}

/** "at ε = 0: SGD 1.915, DIAG 1.914" for the first and last step. */
function endpoints(kind: Kind, metric: PerturbationMetric, artifacts: readonly MethodArtifact[], variant: number): string {
  const parts: string[] = [];
  const withData = artifacts.filter((a) => pickVariant(a, variant)[kind].length > 0);
  const all = rowsOf(kind, withData, variant);
  const steps = [...new Set(all.map((r) => r.at))].sort((a, b) => a - b);
  for (const at of steps.length > 1 ? [steps[0], steps[steps.length - 1]] : steps) {
    const values = withData.flatMap((artifact) => {
      const row = rowsOf(kind, [artifact], variant).find((r) => r.at === at);
      return row ? [`${methodLabel(artifact.method)} ${metricInfo[metric].text(row[metric])}`] : [];
    });
    parts.push(`at ${kinds[kind].point(at)}: ${values.join(', ')}`);
  }
  return parts.join('; ');
}

function curves(kind: Kind, artifacts: MethodArtifact[], metric: PerturbationMetric, variant: number): Spec {
  const rows = rowsOf(kind, artifacts, variant);
  if (rows.length === 0) return noData(kind, artifacts);
  const info = metricInfo[metric];
  const images = [...new Set(artifacts.map((a) => a.perturbedCount))].join(' or ');
  const what = kind === 'fgsm' ? `under FGSM attack against the step size ε` : `against the rotation angle of the test digits`;
  const maxText = metric === 'meanEntropy' ? ` The maximum possible entropy is ln 10 ≈ ${Math.max(...artifacts.map((a) => a.entropy.max)).toFixed(3)} nats.` : '';
  const description =
    `${info.title} ${what}, ${networksOf(artifacts)}, ${images} perturbed test images: ${endpoints(kind, metric, artifacts, variant)}.${maxText}${variantNote(artifacts, variant)}`;
  const values = rows.map((row) => row[metric]);
  const note = coincidenceNote(
    [...new Set(rows.map((row) => row.method))].map((method) => ({ label: method, points: rows.filter((row) => row.method === method).map((row) => ({ key: row.at, y: row[metric] })) })),
    methodLabel('sgd'),
    0.01 * (Math.max(...values) - Math.min(...values)),
    (gap) => info.text(gap),
  );
  return topLevel(note ? `${description} ${note}.` : description, {
    ...(note ? { title: { text: noteLines(`${note}.`) } } : {}),
    width: size.width,
    height: size.height,
    data: { values: named(kind, rows) },
    layer: layersFor(kind, metric, artifacts, rows, kind, size.width),
  });
}

function panel(kind: Kind, artifacts: MethodArtifact[], variant: number): Spec {
  const rows = rowsOf(kind, artifacts, variant);
  if (rows.length === 0) return noData(kind, artifacts);
  const width = Math.floor((size.width - 100) / 2);
  const what = kind === 'fgsm' ? 'under FGSM attack against the step size ε' : 'against the rotation angle of the test digits';
  const withData = artifacts.filter((a) => pickVariant(a, variant)[kind].length > 0);
  const last = Math.max(...rows.map((r) => r.at));
  const atLast = withData.map((artifact) => {
    const row = rowsOf(kind, [artifact], variant).find((r) => r.at === last);
    const values = row ? perturbationMetrics.map((m) => `${metricInfo[m].short} ${metricInfo[m].text(row[m])}`).join(', ') : 'no value';
    return `${methodLabel(artifact.method)}: ${values}`;
  });
  // A method whose four curves all stay within 1% of each panel's range of the deterministic network's lies on it: said, since its lines hide under the black ones.
  const reference = methodLabel('sgd');
  const pointsOf = (method: string, metric: PerturbationMetric) => rows.filter((row) => row.method === method).map((row) => ({ key: row.at, y: row[metric] }));
  const coinciding = [...new Set(rows.map((row) => row.method))].filter(
    (method) =>
      method !== reference &&
      rows.some((row) => row.method === reference) &&
      perturbationMetrics.every((metric) => {
        const values = rows.map((row) => row[metric]);
        return largestGap(pointsOf(reference, metric), pointsOf(method, metric)) <= 0.01 * (Math.max(...values) - Math.min(...values));
      }),
  );
  const note = coinciding.length > 0 ? `${listed(coinciding)} ${coinciding.length > 1 ? 'lie' : 'lies'} on the ${reference} line in all four panels (within 1% of each panel’s range)` : null;
  const description =
    `Accuracy, mean predictive entropy, NLL and ECE ${what}, ${networksOf(artifacts)}; at ${kinds[kind].point(last)}: ${atLast.join('; ')}.${variantNote(artifacts, variant)}${note ? ` ${note}.` : ''}`;
  return topLevel(description, {
    ...(note ? { title: { text: noteLines(`${note}.`) } } : {}),
    data: { values: named(kind, rows) },
    columns: 2,
    concat: perturbationMetrics.map((metric, i) => ({
      title: { text: metricInfo[metric].title, frame: 'group' },
      width,
      height: 170,
      layer: layersFor(kind, metric, artifacts, rows, `${kind}_${metric}`, width, true, i === 0),
    })),
  });
}

/** One metric against the FGSM step size ε, one line per method (figure 17 with the default metric). */
export function fgsmCurves(artifacts: MethodArtifact[], metric: PerturbationMetric = 'meanEntropy', variant = 0): Spec {
  return curves('fgsm', artifacts, metric, variant);
}

/** The four FGSM metrics as a 2×2 grid of small multiples. */
export function fgsmPanel(artifacts: MethodArtifact[], variant = 0): Spec {
  return panel('fgsm', artifacts, variant);
}

/**
 * One metric against the rotation angle. Only MNIST artifacts carry rotation
 * results; with none among `artifacts` the spec is a short "no rotation data"
 * note, so a page may call it for either data set.
 */
export function shiftCurves(artifacts: MethodArtifact[], metric: PerturbationMetric = 'ece', variant = 0): Spec {
  return curves('shift', artifacts, metric, variant);
}

/** The four rotation metrics as a 2×2 grid; the same "no rotation data" note when there are none. */
export function shiftPanel(artifacts: MethodArtifact[], variant = 0): Spec {
  return panel('shift', artifacts, variant);
}
