/**
 * summary.json, assembled from the method artifacts on disk (so it stays
 * right after `--only` runs): one row per (data, model, method) from the
 * method's first variant, the one the study reports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonArtifact } from '../artifacts/json.ts';
import { listArtifacts } from '../artifacts/manifest.ts';
import { methodArtifact, summaryArtifact, type SummaryRow } from '../artifacts/schemas.ts';
import { modelNames } from '../models/zoo.ts';
import type { Profile } from '../study.ts';

const methodOrder = ['sgd', 'temperature', 'ensemble', 'diag', 'kfac', 'efb', 'last-layer'];
const methodFile = /^([a-z-]+)\/([a-z0-9-]+)\/(sgd|temperature|ensemble|diag|kfac|efb|last-layer)\.json$/;

export function writeSummary(outDir: string, profile: Profile): number {
  const rows: SummaryRow[] = [];
  for (const path of listArtifacts(outDir)) {
    if (!methodFile.test(path)) continue;
    const artifact = methodArtifact.parse(JSON.parse(readFileSync(join(outDir, path), 'utf8')));
    const primary = artifact.variants[0];
    const other = primary.ood.unknown[0];
    rows.push({
      dataset: artifact.dataset,
      model: artifact.model,
      method: artifact.method,
      accuracy: primary.calibration.accuracy,
      ece: primary.calibration.ece,
      nll: primary.calibration.nll,
      oodSet: other.set,
      auroc: other.auroc,
      fpr95: other.fpr95,
      logN: primary.logN,
      logTau: primary.logTau,
    });
  }
  const rank = (row: SummaryRow) => [profile.datasets.indexOf(row.dataset), modelNames.indexOf(row.model), methodOrder.indexOf(row.method)];
  rows.sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2];
  });
  if (rows.length > 0) writeJsonArtifact(join(outDir, 'summary.json'), summaryArtifact.parse({ profile: profile.name, rows }));
  return rows.length;
}
