/**
 * summary.json, assembled from the method artifacts on disk (so it stays
 * right after `--only` runs): per (data, model, method) one row per posterior
 * the study reports (the baselines' one; for a Laplace fit the NLL-tuned GLM
 * posterior, the marginal-likelihood and textbook ones, and the original's
 * recipe where it ran), each metric with its bootstrap interval, the paired
 * differences against the deterministic network and temperature scaling, and
 * the spread over training seeds where the model has several.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonArtifact } from '../artifacts/json.ts';
import { listArtifacts } from '../artifacts/manifest.ts';
import { methodArtifact, summaryArtifact, type SummaryRow } from '../artifacts/schemas.ts';
import { acrossSeeds } from '../metrics/bootstrap.ts';
import { modelNames } from '../models/zoo.ts';
import { posteriorLabels, seedsFor, type Profile } from '../study.ts';

const methodOrder = ['sgd', 'temperature', 'ensemble', 'diag', 'kfac', 'efb', 'last-layer'];
const posteriorOrder = ['map', ...posteriorLabels];
const methodFile = /^([a-z-]+)\/([a-z0-9-]+)\/(sgd|temperature|ensemble|diag|kfac|efb|last-layer)\.json$/;
const seedMetrics = ['accuracy', 'ece', 'nll', 'auroc', 'aurocMsp', 'fpr95'] as const;

type Variant = ReturnType<typeof methodArtifact.parse>['variants'][number];

/** The variants a summary row is made of: one per posterior label, the NLL-tuned one for `tuned`. */
function reported(variants: Variant[]): Variant[] {
  return variants.filter((variant) => variant.posterior !== 'tuned' || variant.objective === 'nll');
}

function metricsOf(variant: Variant) {
  const other = variant.ood.unknown[0];
  return { accuracy: variant.calibration.accuracy, ece: variant.calibration.ece, nll: variant.calibration.nll, auroc: other.auroc, aurocMsp: other.aurocMsp, fpr95: other.fpr95 };
}

export function writeSummary(outDir: string, profile: Profile): number {
  const rows: SummaryRow[] = [];
  const floors: number[] = [];
  for (const path of listArtifacts(outDir)) {
    const match = methodFile.exec(path);
    if (!match) continue;
    const artifact = methodArtifact.parse(JSON.parse(readFileSync(join(outDir, path), 'utf8')));
    // The same method of the model's other training seeds, where they were evaluated.
    const replicas = seedsFor(profile, artifact.model)
      .slice(1)
      .map((member) => join(outDir, match[1], match[2], `seed-${member}`, `${match[3]}.json`))
      .filter((file) => existsSync(file))
      .map((file) => methodArtifact.parse(JSON.parse(readFileSync(file, 'utf8'))));
    for (const variant of reported(artifact.variants)) {
      const other = variant.ood.unknown[0];
      const metrics = metricsOf(variant);
      const replicaVariants = replicas.map((replica) => reported(replica.variants).find((candidate) => candidate.posterior === variant.posterior)).filter((entry) => entry !== undefined);
      const values = [metrics, ...replicaVariants.map(metricsOf)];
      floors.push(variant.calibration.eceCalibrated.mean);
      rows.push({
        dataset: artifact.dataset,
        model: artifact.model,
        method: artifact.method,
        posterior: variant.posterior,
        predictive: variant.predictive,
        objective: variant.objective,
        ...metrics,
        oodSet: other.set,
        logN: variant.logN,
        logTau: variant.logTau,
        intervals: {
          accuracy: variant.calibration.intervals.accuracy,
          ece: variant.calibration.intervals.ece,
          nll: variant.calibration.intervals.nll,
          auroc: other.intervals.auroc,
          aurocMsp: other.intervals.aurocMsp,
          fpr95: other.intervals.fpr95,
        },
        eceCalibrated: variant.calibration.eceCalibrated.mean,
        versus: variant.versus,
        seeds:
          values.length < 2
            ? null
            : {
                count: values.length,
                ...(Object.fromEntries(
                  seedMetrics.map((metric) => {
                    const { seeds: _count, ...spread } = acrossSeeds(values.map((entry) => entry[metric]));
                    return [metric, spread];
                  }),
                ) as Record<(typeof seedMetrics)[number], { mean: number; standardDeviation: number | null; min: number; max: number }>),
              },
      });
    }
  }
  const rank = (row: SummaryRow) => [profile.datasets.indexOf(row.dataset), modelNames.indexOf(row.model), methodOrder.indexOf(row.method), posteriorOrder.indexOf(row.posterior)];
  rows.sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || ra[3] - rb[3];
  });
  const percent = (value: number) => `${(100 * value).toFixed(2)}%`;
  const settings = profile.laplace.bootstrap;
  const notes = [
    `Intervals are 95% percentile-bootstrap intervals over the test images (${settings.resamples} seeded resamples; the known and the unknown set resampled independently for AUROC and FPR95). "versus" gives this row minus the deterministic network (sgd) and minus temperature scaling, each from resamples both share: where such an interval contains 0 the two are indistinguishable on these images.`,
    `"seeds" is the same row over ${profile.seeds.count} training seeds of ${profile.seeds.models.join(', ')} (seed 0 is this row; the others are evaluated on the test set and the other data set only): mean, sample standard deviation, min and max.`,
    floors.length > 0
      ? `ECE is biased upward on a finite test set: a perfectly calibrated classifier with the same confidences (labels drawn from its own probabilities, ${settings.eceFloorDraws} draws, ${profile.laplace.evaluation.testSubset ?? 'all'} test images, 10 bins) would score ${percent(Math.min(...floors))} to ${percent(Math.max(...floors))} over these rows (eceCalibrated). An ECE near its row's eceCalibrated is as calibrated as this test set can show.`
      : 'No method artifacts were found.',
    'Posteriors: tuned = N and τ minimising validation NLL (GLM predictive, probit link); marglik = τ maximising the marginal likelihood at N = the training-set size; textbook = that N and τ = N·λ, untuned (λ the weight decay; 5e-4 for the networks trained without it); original = the original study\'s recipe (sampled network, validation error + ECE).',
  ];
  if (rows.length > 0) writeJsonArtifact(join(outDir, 'summary.json'), summaryArtifact.parse({ profile: profile.name, notes, rows }));
  return rows.length;
}
