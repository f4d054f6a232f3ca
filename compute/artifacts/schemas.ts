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
});

export const modelsArtifact = z.strictObject({
  profile: z.string(),
  subsets: z.strictObject({ train: count.nullable(), validation: count.nullable(), test: count.nullable() }),
  split: z.strictObject({ validationSize: count, splitSeed: z.number().int() }),
  models: z.array(modelRow),
});

export type ModelsArtifact = z.infer<typeof modelsArtifact>;

/** Artifact schemas by file name pattern, for the checker and the JSON Schema export. */
export const artifactSchemas: { pattern: RegExp; name: string; schema: z.ZodType }[] = [
  { pattern: /^models\.json$/, name: 'models', schema: modelsArtifact },
];
