/**
 * The results check: every artifact matches its schema and its sha256 in
 * the manifest; nothing the manifest lists is missing; nothing is there that
 * the manifest does not list. Returns one sentence per problem.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from './json.ts';
import { listArtifacts, manifestFile, type Manifest } from './manifest.ts';
import { artifactSchemas, binaryArtifacts } from './schemas.ts';

export function checkResults(outDir: string): string[] {
  const problems: string[] = [];
  const manifestPath = join(outDir, manifestFile);
  if (!existsSync(manifestPath)) return [`${manifestPath} is missing; regenerate the results with \`npm run reproduce\`.`];
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch {
    return [`${manifestPath} is not valid JSON; regenerate the results with \`npm run reproduce\`.`];
  }
  const listed = Object.keys(manifest.artifacts ?? {});
  const present = listArtifacts(outDir);
  for (const path of listed) {
    if (!present.includes(path)) problems.push(`${join(outDir, path)} is listed in the manifest but missing.`);
  }
  for (const path of present) {
    const full = join(outDir, path);
    if (!listed.includes(path)) {
      problems.push(`${full} is not listed in the manifest (an extra file, or the manifest is stale).`);
      continue;
    }
    const bytes = readFileSync(full);
    if (sha256(bytes) !== manifest.artifacts[path]) {
      problems.push(`${full} does not match its sha256 in the manifest (edited by hand, or the manifest is stale).`);
    }
    // Binary artifacts have no schema: their sha256 above is the check.
    if (binaryArtifacts.some((candidate) => candidate.pattern.test(path))) continue;
    const schema = artifactSchemas.find((candidate) => candidate.pattern.test(path));
    if (!schema) {
      problems.push(`${full} has no schema; every artifact needs one in compute/artifacts/schemas.ts.`);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      problems.push(`${full} is not valid JSON.`);
      continue;
    }
    const parsed = schema.schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push(`${full} violates the ${schema.name} schema at ${issue.path.join('.') || '(root)'}: ${issue.message}.`);
    }
  }
  return problems;
}
