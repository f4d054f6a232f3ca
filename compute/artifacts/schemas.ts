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
  /** The same recipes from other training seeds (member k > 0): the seed replicas and the ensemble's other members. */
  replicas: z.array(modelRow.extend({ member: z.number().int().positive() })),
});

export type ModelsArtifact = z.infer<typeof modelsArtifact>;

const nullableFraction = fraction.nullable();
/** A 95% percentile-bootstrap interval over test images. */
const interval = z.strictObject({ low: z.number(), high: z.number() });
/** A paired difference of two methods on the same images, with its bootstrap interval. */
const difference = z.strictObject({ estimate: z.number(), low: z.number(), high: z.number() });
/** auroc scores an input by its predictive entropy, aurocMsp by its maximum probability (lower: more likely unknown). */
const differences = z.strictObject({ accuracy: difference, nll: difference, ece: difference, auroc: difference, aurocMsp: difference, fpr95: difference });
const calibrationBlock = z.strictObject({
  accuracy: fraction,
  nll: z.number().nonnegative(),
  brier: z.number().min(0).max(2),
  ece: fraction,
  mce: fraction,
  signedError: z.number().min(-1).max(1),
  meanConfidence: fraction,
  intervals: z.strictObject({ accuracy: interval, nll: interval, brier: interval, ece: interval, meanConfidence: interval }),
  /** ECE of a perfectly calibrated classifier with the same confidences (labels drawn from them), over `draws` simulations: mean and 95th percentile. */
  eceCalibrated: z.strictObject({ mean: fraction, high: fraction, draws: count }),
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

const shortMetrics = {
  accuracy: fraction,
  nll: z.number().nonnegative(),
  ece: fraction,
  meanEntropy: z.number().nonnegative(),
  intervals: z.strictObject({ accuracy: interval, nll: interval, ece: interval, meanEntropy: interval }),
};

const predictive = z.enum(['map', 'glm', 'sampled', 'linearised', 'probit']);
const objective = z.enum(['error+ece', 'nll', 'marglik']);
/** Which posterior of a fit: tuned on validation, marginal-likelihood τ, the textbook point, the original's recipe; map for the baselines. */
const posteriorLabel = z.enum(['map', 'tuned', 'marglik', 'textbook', 'original']);
const methodName = z.enum(['sgd', 'temperature', 'diag', 'kfac', 'efb', 'last-layer', 'ensemble']);

const variant = z.strictObject({
  predictive,
  objective: objective.nullable(),
  posterior: posteriorLabel,
  logN: z.number().nullable(),
  logTau: z.number().nullable(),
  /** This method minus the deterministic network and minus temperature scaling, paired on the same images; null for those two. */
  versus: z.strictObject({ sgd: differences, temperature: differences }).nullable(),
  calibration: calibrationBlock,
  ood: z.strictObject({
    known: z.strictObject({ set: z.string(), count, intervals: z.strictObject({ meanEntropy: interval }), ...entropyDistribution }),
    unknown: z.array(
      z.strictObject({
        set: z.string(),
        derived: z.string().nullable(),
        count,
        /** AUROC of the predictive entropy as a score of the unknown set. */
        auroc: fraction,
        /** AUROC of the maximum probability (MSP) as a score: an input counts as more likely unknown the lower its largest class probability. */
        aurocMsp: fraction,
        fpr95: fraction,
        meanConfidence: fraction,
        fractionAboveKnown95: fraction,
        intervals: z.strictObject({ auroc: interval, aurocMsp: interval, fpr95: interval, meanEntropy: interval }),
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
  /** Training seed of the network: 0 is the zoo model; k > 0 a replica (seed-k/ folders, evaluated on the test and other data set only). */
  member: count,
  /** The bootstrap behind every interval. */
  bootstrap: z.strictObject({ resamples: count, seed: z.number().int(), level: fraction }),
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
  /** The box edges each objective's choice lies on (there the objective still improved past the box). */
  edges: z.strictObject({ 'error+ece': z.array(z.string()), nll: z.array(z.string()) }),
  /** The marginal likelihood's τ at N = the training-set size, the textbook point, in the same coordinates. */
  marglik: z.strictObject({ logN: z.number(), logTau: z.number(), logEvidence: z.number(), atEdge: z.boolean() }).nullable(),
  textbook: z.strictObject({ logN: z.number(), logTau: z.number() }),
});

const sweepPoint = z.strictObject({
  /** The covariance is the textbook one divided by 10^k (N and τ both times 10^k). */
  k: z.number(),
  logN: z.number(),
  logTau: z.number(),
  accuracy: fraction,
  nll: z.number().nonnegative(),
  ece: fraction,
  auroc: fraction,
  /** AUROC by the maximum probability, beside `auroc` by entropy. */
  aurocMsp: fraction,
  fpr95: fraction,
  fgsmEntropy: z.number().nonnegative(),
  intervals: z.strictObject({ accuracy: interval, nll: interval, ece: interval, auroc: interval, aurocMsp: interval, fpr95: interval, fgsmEntropy: interval }),
});

/** <data>/<model>/sweep/<method>.json: the GLM probit posterior widened and narrowed along one line through the textbook point. */
export const sweepArtifact = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  method: methodName,
  testCount: count,
  unknownSet: z.string(),
  unknownCount: count,
  fgsm: z.strictObject({ epsilon: z.number(), count }),
  textbook: z.strictObject({ logN: z.number(), logTau: z.number() }),
  /** Where the validation-NLL and marginal-likelihood posteriors sit in the same (log N, log τ) plane. */
  tuned: z.strictObject({ logN: z.number(), logTau: z.number() }),
  marglik: z.strictObject({ logN: z.number(), logTau: z.number() }),
  /** The deterministic network on the same sets: the sweep's limit as k grows. */
  deterministic: sweepPoint.omit({ k: true, logN: true, logTau: true }),
  points: z.array(sweepPoint).min(1),
});

const matrix2 = z.tuple([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number()])]);
const surfaceResidual = z.strictObject({ rms: z.number(), maxAbs: z.number(), range: z.number(), relativeRms: z.number(), relativeMaxAbs: z.number(), rSquared: z.number() });

/**
 * <data>/<model>/landscape.json: loss surfaces through W* (figures 1 and 3, the 1-D cut) and
 * the likelihood of the subset on a zoomed plane beside two Gaussians (figure 2).
 *
 * `likelihood`: S(α, β) is the SUM of the cross-entropies over the subset's `count` images, the
 * plane W* + α·d₁ + β·d₂ with the same directions as `plane`, α ∈ [−range[0], range[0]] and
 * β ∈ [−range[1], range[1]], `sigmas` standard deviations of the Laplace Gaussian along each axis.
 *  - values: exp(−(S − S(W*))), 1 at W*; above 1 wherever S is below its value at W*
 *    (W* minimises the regularised objective over the whole training split, not S on this subset
 *    without weight decay: `gradient` is S's slope there).
 *  - laplace: exp(−½ vᵀ P v), v = (α, β), P = DᵀHD with D = [d₁ d₂] and H the exact Gauss–Newton
 *    matrix Σ_n J_nᵀ (diag p_n − p_n p_nᵀ) J_n of S at W* over the same images: the second-order
 *    model of S without its linear term, centred at W* with peak 1. It is the slice of the
 *    Laplace approximation through the plane (its conditional on the plane, not its marginal,
 *    which would be wider), of the likelihood only: no prior term.
 *  - hessian: the whole Hessian of S on the plane at W* by central second differences with
 *    steps `step` (a quarter of a Laplace σ): the Gauss–Newton matrix is this without the term
 *    of the logits' own second derivatives.
 *  - kfac: the Laplace Gaussian with KFAC's approximation n · blockdiag(A ⊗ G) of H (exact Fisher
 *    over the same images) in place of H; only its shape and residual are kept.
 *  - fit: the least-squares Gaussian A·exp(−½ (v − μ)ᵀ Σ⁻¹ (v − μ)) fitted to `values` on this grid.
 *  - every residual compares a Gaussian with `values` on the grid (rSquared = 1 − SS_res / SS_tot).
 */
export const landscapeArtifact = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  set: z.string(),
  /**
   * Which split the fixed subset comes from: 'train', the images the network was trained on, where
   * W* is the optimum. Absent in artifacts written before it was recorded, which used the test split.
   */
  split: z.enum(['train', 'test']).optional(),
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
  }),
  likelihood: z.strictObject({
    definition: z.string(),
    sigmas: z.number().positive(),
    range: z.tuple([z.number().positive(), z.number().positive()]),
    alphas: z.array(z.number()).min(2),
    betas: z.array(z.number()).min(2),
    layout: z.string(),
    /** S(W*), nats. */
    lossSum: z.number().nonnegative(),
    /** ∂S/∂α and ∂S/∂β at W*. */
    gradient: z.tuple([z.number(), z.number()]),
    deltaLoss: z.array(z.number()),
    values: z.array(z.number().nonnegative()),
    /** The largest of `values` and where on the grid it is. */
    peak: z.strictObject({ value: z.number().positive(), alpha: z.number(), beta: z.number() }),
    hessian: z.strictObject({ step: z.tuple([z.number().positive(), z.number().positive()]), matrix: matrix2 }),
    laplace: z.strictObject({
      curvature: z.string(),
      precision: matrix2,
      covariance: matrix2,
      standardDeviations: z.tuple([z.number().positive(), z.number().positive()]),
      correlation: z.number().min(-1).max(1),
      values: z.array(z.number().nonnegative()),
      residual: surfaceResidual,
    }),
    kfac: z.strictObject({
      curvature: z.string(),
      precision: matrix2,
      standardDeviations: z.tuple([z.number().positive(), z.number().positive()]),
      correlation: z.number().min(-1).max(1),
      residual: surfaceResidual,
    }),
    fit: z.strictObject({
      amplitude: z.number(),
      mean: z.tuple([z.number(), z.number()]),
      covariance: matrix2,
      standardDeviations: z.tuple([z.number().positive(), z.number().positive()]),
      correlation: z.number().min(-1).max(1),
      values: z.array(z.number()),
      residual: surfaceResidual,
      converged: z.boolean(),
    }),
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

const seedSpread = z.strictObject({ mean: z.number(), standardDeviation: z.number().nullable(), min: z.number(), max: z.number() });

export const summaryRow = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  method: methodName,
  posterior: posteriorLabel,
  predictive,
  objective: objective.nullable(),
  accuracy: fraction,
  ece: fraction,
  nll: z.number().nonnegative(),
  oodSet: z.string(),
  /** AUROC against oodSet, scored by predictive entropy. */
  auroc: fraction,
  /** AUROC against oodSet, scored by the maximum probability (MSP), as Laplace Redux scores it. */
  aurocMsp: fraction,
  fpr95: fraction,
  logN: z.number().nullable(),
  logTau: z.number().nullable(),
  intervals: z.strictObject({ accuracy: interval, ece: interval, nll: interval, auroc: interval, aurocMsp: interval, fpr95: interval }),
  eceCalibrated: z.number(),
  versus: z.strictObject({ sgd: differences, temperature: differences }).nullable(),
  /** The same row over the training seeds (seed 0 is this row): mean, sample standard deviation, min and max; null with one seed. */
  seeds: z.strictObject({ count, accuracy: seedSpread, ece: seedSpread, nll: seedSpread, auroc: seedSpread, aurocMsp: seedSpread, fpr95: seedSpread }).nullable(),
});
export type SummaryRow = z.infer<typeof summaryRow>;

/** summary.json: one row per (data, model, method), the table a reviewer reads first. */
export const summaryArtifact = z.strictObject({ profile: z.string(), notes: z.array(z.string()), rows: z.array(summaryRow) });

const logPoint = z.strictObject({ logN: z.number(), logTau: z.number() });

/** demo/<data>/<model>/demo.json: what the article's playground loads beside the network and posterior files. */
export const demoArtifact = z.strictObject({
  dataset: datasetName,
  model: z.string(),
  /** Training seed of the network (0: the one every figure shows). */
  member: z.number().int().nonnegative(),
  /** The other files of the folder, by role. */
  files: z.strictObject({ model: z.string(), weights: z.string(), posterior: z.string(), meta: z.string() }),
  fit: z.strictObject({ fisher: z.string(), mcSamples: z.number().int().positive(), examples: count }),
  /** log10 N and log10 τ of the posteriors of each structure the file holds: tuned on validation NLL, and τ by the marginal likelihood. */
  posteriors: z
    .partialRecord(z.enum(['diag', 'kfac']), z.strictObject({ tuned: logPoint, marglik: logPoint }))
    .refine((posteriors) => Object.keys(posteriors).length > 0, 'a demo needs at least one posterior'),
  testImages: z.strictObject({
    set: z.string(),
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    /** pixels: height × width bytes (0–255, row-major) in base64. */
    images: z.array(z.strictObject({ index: count, label: count, pixels: z.string().regex(/^[A-Za-z0-9+/]+=*$/) })).min(1),
  }),
});

/** A tfjs-layers model.json as the checkpoints hold it (its weights file beside it). */
export const layersModelFile = z.looseObject({
  format: z.literal('layers-model'),
  modelTopology: z.looseObject({}),
  weightsManifest: z.array(z.looseObject({ paths: z.array(z.string()), weights: z.array(z.looseObject({ name: z.string() })) })).min(1),
});

/**
 * Artifacts that are not JSON (the demo's weights and posterior file): checked by
 * their sha256 in the manifest only, and by their own readers when loaded
 * (tfjs for weights, the posterior file parser for .laplace).
 */
export const binaryArtifacts: { pattern: RegExp; name: string }[] = [
  { pattern: /^demo\/[a-z-]+\/[a-z0-9-]+\/weights\.bin$/, name: 'demo weights' },
  { pattern: /^demo\/[a-z-]+\/[a-z0-9-]+\/[a-z-]+\.laplace$/, name: 'demo posterior' },
];

/** Artifact schemas by file name pattern, for the checker and the JSON Schema export. */
export const artifactSchemas: { pattern: RegExp; name: string; schema: z.ZodType }[] = [
  { pattern: /^models\.json$/, name: 'models', schema: modelsArtifact },
  { pattern: /^summary\.json$/, name: 'summary', schema: summaryArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/(seed-[0-9]+\/)?(sgd|temperature|diag|kfac|efb|last-layer|ensemble)\.json$/, name: 'method', schema: methodArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/sweep\/[a-z-]+\.json$/, name: 'sweep', schema: sweepArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/search\/[a-z-]+\.json$/, name: 'search', schema: searchArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/landscape\.json$/, name: 'landscape', schema: landscapeArtifact },
  { pattern: /^[a-z-]+\/[a-z0-9-]+\/covariance-2x2\.json$/, name: 'covariance', schema: covarianceArtifact },
  { pattern: /^demo\/[a-z-]+\/[a-z0-9-]+\/demo\.json$/, name: 'demo', schema: demoArtifact },
  { pattern: /^demo\/[a-z-]+\/[a-z0-9-]+\/model\.json$/, name: 'demo-model', schema: layersModelFile },
];
