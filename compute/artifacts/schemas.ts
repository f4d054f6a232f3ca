/**
 * Schemas of every artifact in results/, checked when written and by
 * `npm run results:check`; exported as JSON Schema for readers of the data.
 */
import { z } from 'zod';

const datasetName = z.enum(['mnist', 'fashion-mnist']);
const fraction = z.number().min(0).max(1);
const count = z.number().int().nonnegative();

export const modelRow = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  family: z.enum(['mlp', 'lenet', 'cnn']),
  depth: z.number().int().positive(),
  description: z.string(),
  parameters: count,
  epochs: count,
  trainCount: count,
  validationCount: count,
  testCount: count,
  trainAccuracy: fraction,
  validationAccuracy: fraction,
  testAccuracy: fraction,
  testNll: z.number().nonnegative(),
  finalTrainObjective: z.number().nonnegative(),
  layers: z
    .array(
      z.strictObject({
        name: z.string(),
        kind: z.enum(['dense', 'conv2d']),
        kernelShape: z.array(z.number().int().positive()),
        fanIn: z.number().int().positive(),
        fanOut: z.number().int().positive(),
        hasBias: z.boolean(),
        parameters: z.number().int().positive(),
      }),
    )
    .min(1),
});

export const modelsArtifact = z.strictObject({
  profile: z.string(),
  subsets: z.strictObject({ train: count.nullable(), validation: count.nullable(), test: count.nullable() }),
  split: z.strictObject({ validationSize: count, splitSeed: z.number().int() }),
  models: z.array(modelRow),
});

export type ModelsArtifact = z.infer<typeof modelsArtifact>;

const nullableFraction = fraction.nullable();
const calibrationBlock = z.strictObject({
  accuracy: fraction,
  nll: z.number().nonnegative(),
  brier: z.number().min(0).max(2),
  ece: fraction,
  mce: fraction,
  signedError: z.number().min(-1).max(1),
  meanConfidence: fraction,
  bins: z.array(z.strictObject({ lower: fraction, upper: fraction, count, accuracy: nullableFraction, confidence: nullableFraction, gap: z.number().min(-1).max(1).nullable() })).length(10),
  curve: z.array(
    z.strictObject({
      confidence: fraction,
      accuracy: fraction,
      error: z.number().min(-1).max(1),
      count,
      lowerEdge: fraction,
      upperEdge: fraction,
      lowerLogit: z.number(),
      upperLogit: z.number(),
    }),
  ),
});

const entropyDistribution = {
  meanEntropy: z.number().nonnegative(),
  histogram: z.array(fraction),
  inverseEcdf: z.array(fraction),
};

const shortMetrics = { accuracy: fraction, nll: z.number().nonnegative(), ece: fraction, meanEntropy: z.number().nonnegative() };

const predictive = z.enum(['map', 'sampled', 'linearised', 'probit']);
const objective = z.enum(['error+ece', 'nll']);
const methodName = z.enum(['sgd', 'temperature', 'diag', 'kfac', 'efb', 'last-layer', 'ensemble']);

const variant = z.strictObject({
  predictive,
  objective: objective.nullable(),
  logN: z.number().nullable(),
  logTau: z.number().nullable(),
  calibration: calibrationBlock,
  ood: z.strictObject({
    known: z.strictObject({ set: z.string(), count, ...entropyDistribution }),
    unknown: z.array(
      z.strictObject({
        set: z.string(),
        derived: z.string().nullable(),
        count,
        auroc: fraction,
        fpr95: fraction,
        meanConfidence: fraction,
        fractionAboveKnown95: fraction,
        ...entropyDistribution,
      }),
    ),
  }),
  fgsm: z.array(z.strictObject({ epsilon: z.number().min(0).max(1), ...shortMetrics })),
  shift: z.array(z.strictObject({ angle: z.number(), ...shortMetrics })),
});

/** <data>/<model>/<method>.json: every evaluation of one method, per variant (the first is the summary's). */
export const methodArtifact = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  method: methodName,
  testCount: count,
  /** Test images behind the FGSM and rotation curves. */
  perturbedCount: count,
  samples: count,
  seed: z.number().int(),
  entropy: z.strictObject({ max: z.number().positive(), bins: count, grid: z.array(z.number().nonnegative()) }),
  temperature: z.number().positive().optional(),
  fit: z.strictObject({ fisher: z.enum(['mc', 'exact', 'empirical']), mcSamples: count, examples: count }).optional(),
  variants: z.array(variant).min(1),
});

const searchPoint = z.strictObject({ logN: z.number(), logTau: z.number(), error: fraction, ece: fraction, nll: z.number().nonnegative() });

/** <data>/<model>/search/<method>-<predictive>.json: the (N, τ) surface on validation data. */
export const searchArtifact = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  method: methodName,
  predictive,
  validationCount: count,
  samples: count,
  gridSize: count,
  points: z.array(searchPoint).min(1),
  best: z.strictObject({ 'error+ece': searchPoint, nll: searchPoint }),
});

/** <data>/<model>/landscape.json: loss surfaces through W* and the Gaussian fitted to exp(−loss). */
export const landscapeArtifact = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  set: z.string(),
  count,
  seed: z.number().int(),
  directions: z.string(),
  line: z.strictObject({ alphas: z.array(z.number()).min(2), loss: z.array(z.number().nonnegative()), accuracy: z.array(fraction) }),
  plane: z.strictObject({
    alphas: z.array(z.number()).min(2),
    betas: z.array(z.number()).min(2),
    layout: z.string(),
    loss: z.array(z.number().nonnegative()),
    accuracy: z.array(fraction),
    likelihood: z.array(z.number().nonnegative()),
  }),
  gaussian: z.strictObject({
    amplitude: z.number(),
    mean: z.tuple([z.number(), z.number()]),
    covariance: z.tuple([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number()])]),
    correlation: z.number().min(-1).max(1),
    surface: z.array(z.number()),
    residual: z.strictObject({ rms: z.number(), maxAbs: z.number(), range: z.number(), relativeRms: z.number(), relativeMaxAbs: z.number(), rSquared: z.number() }),
    converged: z.boolean(),
  }),
});

/** <data>/<model>/covariance-2x2.json: the last-layer Fisher block of two weights, for the N and τ figure. */
export const covarianceArtifact = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  layer: z.string(),
  weights: z.tuple([z.strictObject({ row: count, column: count, isBias: z.boolean() }), z.strictObject({ row: count, column: count, isBias: z.boolean() })]),
  fisherBlock: z.tuple([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number()])]),
  correlation: z.number().min(-1).max(1),
});

export const summaryRow = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  method: methodName,
  accuracy: fraction,
  ece: fraction,
  nll: z.number().nonnegative(),
  oodSet: z.string(),
  auroc: fraction,
  fpr95: fraction,
  logN: z.number().nullable(),
  logTau: z.number().nullable(),
});
export type SummaryRow = z.infer<typeof summaryRow>;

/** summary.json: one row per (data, model, method), the table a reviewer reads first. */
export const summaryArtifact = z.strictObject({ profile: z.string(), rows: z.array(summaryRow) });

/** Artifact schemas by file name pattern, for the checker and the JSON Schema export. */
export const artifactSchemas: { pattern: RegExp; name: string; schema: z.ZodType }[] = [
  { pattern: /^models\.json$/, name: 'models', schema: modelsArtifact },
  { pattern: /^summary\.json$/, name: 'summary', schema: summaryArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/(sgd|temperature|diag|kfac|efb|last-layer|ensemble)\.json$/, name: 'method', schema: methodArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/search\/[a-z-]+\.json$/, name: 'search', schema: searchArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/landscape\.json$/, name: 'landscape', schema: landscapeArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/covariance-2x2\.json$/, name: 'covariance', schema: covarianceArtifact },
];
