/**
 * What the page says about itself as a publication: who wrote it, when the
 * results were made, where its source lives, the commit it was built from
 * and how to cite it. The repository is package.json's `repository` field
 * unless SITE_REPOSITORY overrides it at build time; the commit is
 * `git rev-parse HEAD` at build time unless SITE_COMMIT overrides it.
 */
import { execFileSync } from 'node:child_process';
import packageJson from '../../package.json' with { type: 'json' };
import type { Manifest } from '../../compute/artifacts/manifest.ts';

export const author = 'the laplace-bnn-results authors';
export const defaultRepository = 'https://github.com/laplace-bnn/laplace-bnn-results';

export interface Source {
  /** The repository's web address, without a trailing slash or `.git`. */
  repository: string;
  /** The full commit hash, or null when neither SITE_COMMIT nor git gave one. */
  commit: string | null;
}

export interface Publication extends Source {
  title: string;
  author: string;
  /** The results' date, YYYY-MM-DD (the manifest's run.finishedAt). */
  date: string;
  /** The same date as a reader writes it, e.g. 1 December 2026. */
  dateText: string;
  /** Where the source is browsed at the commit (the repository itself when the commit is unknown). */
  sourceUrl: string;
  /** "commit 0123abc" or "unknown commit". */
  commitText: string;
  /** A BibTeX entry for the page. */
  bibtex: string;
}

type RepositoryField = string | { url?: string } | undefined;

/** A package.json `repository` (string or { url }) as a web address: no git+ prefix, .git suffix or trailing slash. */
export function repositoryUrl(field: RepositoryField): string | null {
  const raw = typeof field === 'string' ? field : field?.url;
  if (!raw) return null;
  const github = raw.match(/^github:(.+)$/);
  const url = github ? `https://github.com/${github[1]}` : raw;
  return url.replace(/^git\+/, '').replace(/\.git$/, '').replace(/\/+$/, '');
}

/** The HEAD commit of the checkout, or null where git is missing or this is no repository. */
export function gitHead(cwd = process.cwd()): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    return /^[0-9a-f]{7,64}$/.test(head) ? head : null;
  } catch {
    return null;
  }
}

let buildSource: Source | undefined;

/** The source the page links: environment overrides first, then package.json and git (asked once per build by default). */
export function sourceOf(env?: Record<string, string | undefined>, field: RepositoryField = packageJson.repository, head: () => string | null = gitHead): Source {
  if (env === undefined) return (buildSource ??= sourceOf(process.env, field, head));
  const repository = repositoryUrl(env.SITE_REPOSITORY || undefined) ?? repositoryUrl(field) ?? defaultRepository;
  const commit = env.SITE_COMMIT?.trim() || head();
  return { repository, commit };
}

const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** BibTeX's braces and backslashes would break the entry; titles here are plain text. */
const bib = (text: string) => text.replace(/[{}\\]/g, '');

export function publication(title: string, manifest: Pick<Manifest, 'run'>, source: Source = sourceOf()): Publication {
  const finished = new Date(manifest.run.finishedAt);
  if (Number.isNaN(finished.getTime())) throw new Error(`The manifest's run.finishedAt, "${manifest.run.finishedAt}", is not a date; rerun \`npm run reproduce\` to rewrite the manifest.`);
  const date = finished.toISOString().slice(0, 10);
  const [year, month, day] = date.split('-').map(Number);
  const short = source.commit?.slice(0, 12);
  const sourceUrl = source.commit ? `${source.repository}/tree/${source.commit}` : source.repository;
  const bibtex = [
    `@misc{laplace-bnn-results-${year},`,
    `  author = {{${bib(author.replace(/^the /, 'The '))}}},`,
    `  title = {{${bib(title)}}},`,
    `  year = {${year}},`,
    `  month = {${months[month - 1].slice(0, 3).toLowerCase()}},`,
    `  howpublished = {\\url{${source.repository}}},`,
    `  note = {Results of ${date}, ${short ? `commit ${short}` : 'unknown commit'}},`,
    '}',
  ].join('\n');
  return {
    title,
    author,
    date,
    dateText: `${day} ${months[month - 1]} ${year}`,
    ...source,
    sourceUrl,
    commitText: short ? `commit ${short}` : 'unknown commit',
    bibtex,
  };
}
