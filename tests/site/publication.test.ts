/**
 * The page as a publication, piece by piece and without a build: the
 * repository and commit it names (and how environment variables override
 * them), its citation, the table of contents and heading anchors made from
 * rendered sections, the inputs and commands each figure declares, and how
 * page weight splits scripts loaded with the page from those loaded later.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { experimentNames } from '../../compute/study.ts';
import { addHeadingAnchors, sectionsOf, tableOfContents } from '../../site/lib/contents.ts';
import { buildFigure, experimentOf, figureInputs, getFigure, reproduceCommand } from '../../site/lib/figures.ts';
import { measurePage, missedGoals } from '../../site/lib/page-weight.ts';
import { author, defaultRepository, gitHead, publication, repositoryUrl, sourceOf } from '../../site/lib/publication.ts';
import { loadResults } from '../../site/lib/results.ts';
import { quickResultsDir } from './fixtures.ts';

const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { repository: string };
const manifest = { run: { finishedAt: '2026-03-04T23:59:00.000Z', node: 'v20', platform: 'linux-x64', stages: {} } };

describe('source and commit', () => {
  it('takes the repository from package.json, which names the project on GitHub', () => {
    expect(packageJson.repository).toBe(defaultRepository);
    expect(sourceOf({}, packageJson.repository, () => 'a'.repeat(40))).toEqual({ repository: defaultRepository, commit: 'a'.repeat(40) });
  });

  it('lets SITE_REPOSITORY and SITE_COMMIT override package.json and git', () => {
    const source = sourceOf({ SITE_REPOSITORY: 'https://example.org/fork/laplace.git', SITE_COMMIT: ' 0123456789abcdef ' }, packageJson.repository, () => {
      throw new Error('git must not be asked when SITE_COMMIT is set');
    });
    expect(source).toEqual({ repository: 'https://example.org/fork/laplace', commit: '0123456789abcdef' });
  });

  it('reads the repository field in its npm forms', () => {
    expect(repositoryUrl('git+https://github.com/a/b.git')).toBe('https://github.com/a/b');
    expect(repositoryUrl({ url: 'https://github.com/a/b/' })).toBe('https://github.com/a/b');
    expect(repositoryUrl('github:a/b')).toBe('https://github.com/a/b');
    expect(repositoryUrl(undefined)).toBeNull();
  });

  it('says "unknown commit" where git gives none, instead of failing', () => {
    expect(gitHead(mkdtempSync(join(tmpdir(), 'not-a-repository-')))).toBeNull();
    const page = publication('A title', manifest, sourceOf({}, packageJson.repository, () => null));
    expect(page.commit).toBeNull();
    expect(page.commitText).toBe('unknown commit');
    expect(page.sourceUrl).toBe(defaultRepository);
    expect(page.bibtex).toContain('unknown commit');
  });

  it('links the source at the commit and dates the page by the results', () => {
    const commit = 'fedcba9876543210fedcba9876543210fedcba98';
    const page = publication('Laplace {and} friends', manifest, { repository: 'https://github.com/a/b', commit });
    expect(page.author).toBe(author);
    expect(page.author).toBe('the laplace-bnn-results authors');
    expect(page.date).toBe('2026-03-04');
    expect(page.dateText).toBe('4 March 2026');
    expect(page.sourceUrl).toBe(`https://github.com/a/b/tree/${commit}`);
    expect(page.commitText).toBe('commit fedcba987654');
    expect(page.bibtex.split('\n')).toEqual([
      '@misc{laplace-bnn-results-2026,',
      '  author = {{The laplace-bnn-results authors}},',
      '  title = {{Laplace and friends}},',
      '  year = {2026},',
      '  month = {mar},',
      '  howpublished = {\\url{https://github.com/a/b}},',
      '  note = {Results of 2026-03-04, commit fedcba987654},',
      '}',
    ]);
    expect(() => publication('A title', { run: { ...manifest.run, finishedAt: 'yesterday' } })).toThrow(/run\.finishedAt/);
  });
});

describe('table of contents and heading anchors', () => {
  const html = [
    '<header><h1>Title</h1></header>',
    '<p>Intro</p>',
    '<section id="one">\n  <h2>First <em>part</em></h2><p>…</p></section>',
    '<section class="wide" id="two"><h2 class="x">Second &amp; last</h2></section>',
    '<section id="bare"><p>No heading of its own</p></section>',
  ].join('');

  it('lists every section with an id, in order, by its heading', () => {
    expect(sectionsOf(html)).toEqual([
      { id: 'one', title: 'First part' },
      { id: 'two', title: 'Second &amp; last' },
      { id: 'bare', title: 'bare' },
    ]);
    const nav = tableOfContents(sectionsOf(html));
    expect([...nav.matchAll(/href="#([^"]+)"/g)].map((match) => match[1])).toEqual(['one', 'two', 'bare']);
    expect(tableOfContents([])).toBe('');
  });

  it('adds a link to its section at the end of each heading, keeping the section and heading attributes', () => {
    const anchored = addHeadingAnchors(html);
    expect(anchored).toContain('<section id="one">\n  <h2>First <em>part</em><a class="heading-anchor" href="#one" aria-label="Link to the section First part">#</a></h2>');
    expect(anchored).toContain('<section class="wide" id="two"><h2 class="x">Second &amp; last<a class="heading-anchor" href="#two"');
    expect(anchored.match(/heading-anchor/g)).toHaveLength(2);
    expect(anchored).toContain('<section id="bare"><p>No heading of its own</p>');
  });
});

describe('figure inputs and commands', () => {
  it('names the experiment that writes each artifact, with compute/study.ts’s names', () => {
    const cases = { 'models.json': 'models', 'mnist/lenet5/landscape.json': 'landscape', 'mnist/lenet5/ensemble.json': 'ensemble', 'mnist/lenet5/kfac.json': 'laplace', 'mnist/lenet5/search/kfac-glm.json': 'laplace', 'mnist/lenet5/covariance-2x2.json': 'laplace' };
    for (const [path, experiment] of Object.entries(cases)) {
      expect(experimentOf(path), path).toBe(experiment);
      expect(experimentNames).toContain(experimentOf(path));
    }
    expect(reproduceCommand(['mnist/lenet5/ensemble.json', 'mnist/lenet5/sgd.json'])).toBe('npm run reproduce -- --only laplace,ensemble');
    expect(reproduceCommand(['models.json'])).toBe('npm run reproduce -- --only models');
    expect(reproduceCommand([])).toBeNull();
  });

  it('records what each figure reads from the quick results', () => {
    const results = loadResults(quickResultsDir());
    const inputs = (id: string, dataset = 'mnist', model = 'lenet5') => buildFigure(getFigure(id), results, { dataset, model }).inputs;
    expect(inputs('loss-surface')).toEqual(['mnist/lenet5/landscape.json']);
    expect(inputs('curvature-sizes')).toEqual(['models.json']);
    expect(inputs('reliability', 'fashion-mnist')).toEqual(['fashion-mnist/lenet5/kfac.json', 'fashion-mnist/lenet5/sgd.json']);
    expect(inputs('n-tau')).toEqual(['mnist/lenet5/covariance-2x2.json']);
    expect(inputs('search')).toEqual(['mnist/lenet5/search/kfac-glm.json']);
    expect(buildFigure(getFigure('gaussian'), results, { dataset: 'all', model: 'all' }).inputs).toEqual([]);
    // One network, every method: one file per method of the summary, the ensemble among them where it was trained.
    const methods = [...new Set(results.methods('mnist', 'lenet5'))];
    expect(inputs('methods-calibration')).toEqual(methods.map((method) => `mnist/lenet5/${method}.json`).sort());
    expect(reproduceCommand(inputs('methods-calibration'))).toBe(methods.includes('ensemble') ? 'npm run reproduce -- --only laplace,ensemble' : 'npm run reproduce -- --only laplace');
    // The published set is what the figures read, and nothing of results/ they do not; the sweeps are Figure 21's.
    const published = figureInputs(results);
    expect(published).toContain('mnist/lenet5/landscape.json');
    expect(published).toContain('mnist/lenet5/sweep/kfac.json');
    expect(inputs('sweep')).toEqual(['diag', 'efb', 'kfac', 'last-layer'].map((method) => `mnist/lenet5/sweep/${method}.json`));
    // The forest plot of the findings reads the summary's paired differences and, for its paired seed band, the
    // seed folders' artifacts; no other figure reads a seed folder.
    expect(published).toContain('summary.json');
    const forest = inputs('forest');
    expect(forest).toContain('summary.json');
    expect(forest.filter((path) => path !== 'summary.json').every((path) => /^[a-z-]+\/[a-z0-9-]+\/seed-\d+\/[a-z-]+\.json$/.test(path))).toBe(true);
    expect(forest.length).toBeGreaterThan(1);
    expect(published.filter((path) => path.includes('/seed-'))).toEqual(forest.filter((path) => path.includes('/seed-')));
  });
});

describe('page weight', () => {
  it('counts the scripts loaded with the page apart from those imported later, and both totals', () => {
    const dist = mkdtempSync(join(tmpdir(), 'weight-'));
    mkdirSync(join(dist, '_astro'));
    mkdirSync(join(dist, 'specs'));
    const files: Record<string, string> = {
      'index.html': '<html><script type="module" src="/_astro/entry.js"></script><div class="chart" data-spec="/specs/a.json"></div><div data-spec="/specs/b.json"></div></html>',
      '_astro/entry.js': 'import{s}from"./shared.js";const r=()=>import("./runtime.js");' + 'x'.repeat(300),
      '_astro/shared.js': 'export const s=1;' + 'y'.repeat(200),
      '_astro/runtime.js': 'import{s}from"./shared.js";import"./runtime-part.js";' + 'z'.repeat(5000),
      '_astro/runtime-part.js': 'export{};' + 'w'.repeat(700),
      '_astro/unused.js': 'never imported',
      'specs/a.json': JSON.stringify({ a: 'a'.repeat(900) }),
      'specs/b.json': JSON.stringify({ b: [1, 2, 3] }),
    };
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dist, path), text);
    const size = (...paths: string[]) => ({
      raw: paths.reduce((total, path) => total + Buffer.byteLength(files[path]), 0),
      gzip: paths.reduce((total, path) => total + gzipSync(files[path], { level: 9 }).length, 0),
    });
    const weight = measurePage(dist, join(dist, 'index.html'));
    expect(weight.entryScripts).toEqual({ ...size('_astro/entry.js', '_astro/shared.js'), files: 2 });
    expect(weight.lazyScripts).toEqual({ ...size('_astro/runtime.js', '_astro/runtime-part.js'), files: 2 });
    expect(weight.data).toEqual({ ...size('specs/a.json', 'specs/b.json'), files: 2 });
    const scripts = ['_astro/entry.js', '_astro/shared.js', '_astro/runtime.js', '_astro/runtime-part.js'];
    expect(weight.firstLoad).toEqual(size('index.html', ...scripts));
    expect(weight.allFigures).toEqual(size('index.html', ...scripts, 'specs/a.json', 'specs/b.json'));
    expect(missedGoals(weight)).toEqual([]);
    expect(missedGoals({ ...weight, firstLoad: { raw: 0, gzip: 500 * 1024 } })).toEqual(['index.html: first load 500 kB transferred, over the 400 kB goal.']);
  });
});
