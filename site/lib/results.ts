/**
 * Build-time access to the artifacts, the only way pages reach data. The
 * folder is checked first (schemas, sha256 against the manifest, nothing
 * missing or extra): the site refuses to build from results that fail it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { checkResults } from '../../compute/artifacts/check.ts';
import type { Manifest } from '../../compute/artifacts/manifest.ts';
import {
  covarianceArtifact,
  landscapeArtifact,
  methodArtifact,
  modelsArtifact,
  searchArtifact,
  summaryArtifact,
  sweepArtifact,
} from '../../compute/artifacts/schemas.ts';

export type ModelsArtifact = z.infer<typeof modelsArtifact>;
export type ModelRow = ModelsArtifact['models'][number];
export type SummaryArtifact = z.infer<typeof summaryArtifact>;
export type MethodArtifact = z.infer<typeof methodArtifact>;
export type LandscapeArtifact = z.infer<typeof landscapeArtifact>;
export type SearchArtifact = z.infer<typeof searchArtifact>;
export type CovarianceArtifact = z.infer<typeof covarianceArtifact>;
export type SweepArtifact = z.infer<typeof sweepArtifact>;
export type MethodName = MethodArtifact['method'];

export class ResultsError extends Error {
  override name = 'ResultsError';
}

export const defaultResultsDir = () => resolve(process.env.RESULTS_DIR ?? 'results');

export interface Results {
  dir: string;
  manifest: Manifest;
  models: ModelsArtifact;
  summary: SummaryArtifact;
  datasets: string[];
  /** Models with method artifacts (the Laplace treatment and baselines) on a data set, in the zoo's order. */
  evaluatedModels(dataset: string): string[];
  /** Models with a loss landscape on a data set. */
  landscapeModels(dataset: string): string[];
  /** Methods evaluated for a model, in the summary's order. */
  methods(dataset: string, model: string): MethodName[];
  method(dataset: string, model: string, method: MethodName): MethodArtifact | null;
  landscape(dataset: string, model: string): LandscapeArtifact | null;
  search(dataset: string, model: string, method: MethodName, predictive: string): SearchArtifact | null;
  searches(dataset: string, model: string): SearchArtifact[];
  covariance(dataset: string, model: string): CovarianceArtifact | null;
  /** The width sweep of one structure (fully treated networks only). */
  sweep(dataset: string, model: string, method: MethodName): SweepArtifact | null;
  /** Networks with a width sweep on a data set, in the zoo's order. */
  sweepModels(dataset: string): string[];
  modelRow(dataset: string, model: string): ModelRow | null;
  /** The training seeds a network was evaluated on, 0 (the zoo's network) first; [] where it was trained once. */
  seedMembers(dataset: string, model: string): number[];
  /** A method's artifact on the network of training seed `member` > 0 (results/<data>/<model>/seed-<k>/), or null. */
  seedMethod(dataset: string, model: string, member: number, method: MethodName): MethodArtifact | null;
}

const loaded = new Map<string, Results>();

/** Check and load a results folder once per build; throws a ResultsError naming the first bad file. */
export function loadResults(dir = defaultResultsDir()): Results {
  const cached = loaded.get(dir);
  if (cached) return cached;
  if (!existsSync(dir)) throw new ResultsError(`The site needs results in ${dir}, which does not exist; run \`npm run reproduce\` (or set RESULTS_DIR).`);
  const problems = checkResults(dir);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}; run \`npm run compute -- check --out ${dir}\`)` : '';
    throw new ResultsError(`Refusing to build the site: ${problems[0]}${more}`);
  }
  const read = <T>(path: string, schema: z.ZodType<T>): T => schema.parse(JSON.parse(readFileSync(join(dir, path), 'utf8')));
  const optional = <T>(path: string, schema: z.ZodType<T>): T | null => (existsSync(join(dir, path)) ? read(path, schema) : null);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const paths = Object.keys(manifest.artifacts);
  const models = read('models.json', modelsArtifact);
  const summary = optional('summary.json', summaryArtifact) ?? { profile: models.profile, notes: [], rows: [] };
  const zooOrder = [...new Set(models.models.map((row) => row.model))];
  const byZoo = (names: Iterable<string>) => [...new Set(names)].sort((a, b) => zooOrder.indexOf(a) - zooOrder.indexOf(b));
  const memo = new Map<string, unknown>();
  const once = <T>(key: string, make: () => T): T => {
    if (!memo.has(key)) memo.set(key, make());
    return memo.get(key) as T;
  };

  const results: Results = {
    dir,
    manifest,
    models,
    summary,
    datasets: [...new Set(models.models.map((row) => row.dataset))],
    evaluatedModels: (dataset) => byZoo(paths.filter((path) => path.startsWith(`${dataset}/`) && /\/sgd\.json$/.test(path)).map((path) => path.split('/')[1])),
    landscapeModels: (dataset) => byZoo(paths.filter((path) => path.startsWith(`${dataset}/`) && path.endsWith('/landscape.json')).map((path) => path.split('/')[1])),
    methods: (dataset, model) => summary.rows.filter((row) => row.dataset === dataset && row.model === model).map((row) => row.method),
    method: (dataset, model, method) => once(`m:${dataset}/${model}/${method}`, () => optional(`${dataset}/${model}/${method}.json`, methodArtifact)),
    landscape: (dataset, model) => once(`l:${dataset}/${model}`, () => optional(`${dataset}/${model}/landscape.json`, landscapeArtifact)),
    search: (dataset, model, method, predictive) => once(`s:${dataset}/${model}/${method}-${predictive}`, () => optional(`${dataset}/${model}/search/${method}-${predictive}.json`, searchArtifact)),
    searches: (dataset, model) =>
      paths
        .filter((path) => path.startsWith(`${dataset}/${model}/search/`))
        .map((path) => path.slice(`${dataset}/${model}/search/`.length, -'.json'.length))
        .map((name) => {
          const predictive = ['glm', 'linearised', 'sampled', 'probit'].find((candidate) => name.endsWith(`-${candidate}`)) ?? '';
          return results.search(dataset, model, name.slice(0, -predictive.length - 1) as MethodName, predictive);
        })
        .filter((search): search is SearchArtifact => search !== null),
    covariance: (dataset, model) => once(`c:${dataset}/${model}`, () => optional(`${dataset}/${model}/covariance-2x2.json`, covarianceArtifact)),
    sweep: (dataset, model, method) => once(`w:${dataset}/${model}/${method}`, () => optional(`${dataset}/${model}/sweep/${method}.json`, sweepArtifact)),
    sweepModels: (dataset) => byZoo(paths.filter((path) => path.startsWith(`${dataset}/`) && path.includes('/sweep/')).map((path) => path.split('/')[1])),
    modelRow: (dataset, model) => models.models.find((row) => row.dataset === dataset && row.model === model) ?? null,
    seedMembers: (dataset, model) => {
      const prefix = `${dataset}/${model}/seed-`;
      const members = [...new Set(paths.filter((path) => path.startsWith(prefix)).map((path) => Number(path.slice(prefix.length).split('/')[0])))].sort((a, b) => a - b);
      return members.length > 0 ? [0, ...members] : [];
    },
    seedMethod: (dataset, model, member, method) => once(`k:${dataset}/${model}/${member}/${method}`, () => optional(`${dataset}/${model}/seed-${member}/${method}.json`, methodArtifact)),
  };
  loaded.set(dir, results);
  return results;
}
