/**
 * The site built from quick-profile results under a sub-path, checked as
 * HTML and then in a real browser (Debian's chromium through playwright-core):
 * every figure draws marks, sliders, tooltips and pickers work, footnotes
 * hover, the page prints without its controls, what the browser fetches
 * stays within the weight goals, the console stays clean. Full-page
 * screenshots go to .cache/test-output/.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { figures } from '../../site/lib/figures.ts';
import { allFiguresGoalBytes, firstLoadGoalBytes, pageBudgetBytes, type PageWeight } from '../../site/lib/page-weight.ts';
import { quickResultsDir, readQuick } from './fixtures.ts';
import { serveStatic } from './serve.ts';

const run = promisify(execFile);
const base = '/laplace/';
const chromiumPath = '/usr/bin/chromium';
const screenshots = '.cache/test-output';

const filesUnder = (dir: string): string[] => readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? filesUnder(join(dir, entry)) : [join(dir, entry)]));
const attributeOf = (tag: string, name: string) => tag.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1];
/** The content of a <meta> by its name or property. */
const metaContent = (html: string, key: string) => [...html.matchAll(/<meta\s[^>]*>/g)].map((match) => match[0]).find((tag) => attributeOf(tag, 'name') === key || attributeOf(tag, 'property') === key);
interface SpecFile {
  $schema?: string;
  usermeta?: { inputs: string[]; command: string | null };
}

async function build(resultsDir: string, outDir: string) {
  // Vitest puts Vite's own variables (BASE_URL, MODE, ...) into process.env; Astro would read them back.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['BASE_URL', 'MODE', 'DEV', 'PROD', 'SSR', 'NODE_ENV'].includes(name)));
  try {
    const { stdout, stderr } = await run('npx', ['astro', 'build'], { env: { ...env, RESULTS_DIR: resultsDir, SITE_OUT: outDir, SITE_BASE: base }, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('site', () => {
  const dist = join(mkdtempSync(join(tmpdir(), 'site-')), 'dist');
  let built: Awaited<ReturnType<typeof build>>;
  let html = '';

  beforeAll(async () => {
    built = await build(quickResultsDir(), dist);
    if (built.code === 0) html = readFileSync(join(dist, 'index.html'), 'utf8');
  }, 600_000);

  it('builds from the quick-profile results under a sub-path', () => {
    expect(built.code, built.stderr + built.stdout).toBe(0);
    expect(html).toContain('<h1>Bayesian neural networks by Laplace approximation</h1>');
    // Assets and specs are addressed under the base path, so dist/ can be published at /laplace/.
    expect(html).toMatch(/src="\/laplace\/_astro\/[^"]+\.js"/);
    expect(html).toMatch(/data-spec="\/laplace\/specs\//);
  });

  it('draws every figure of the catalogue on the page as SVG, each with a text alternative', () => {
    for (const figure of figures) {
      const start = html.indexOf(`id="figure-${figure.id}"`);
      expect(start, figure.id).toBeGreaterThan(0);
      const block = html.slice(start, html.indexOf('</figure>', start));
      expect(block, figure.id).toMatch(/<svg[^>]*class="marks"/);
      expect(block, figure.id).toMatch(/class="mark-[a-z]+ role-mark/);
      expect(block, figure.id).not.toContain('chart-missing');
      const alt = block.match(/class="visually-hidden chart-alt"[^>]*>([^<]+)</)?.[1] ?? '';
      expect(alt.length, figure.id).toBeGreaterThan(30);
    }
  });

  it('publishes a spec file for every choice a figure offers', () => {
    const specs = [...html.matchAll(/data-spec="\/laplace\/([^"]+)"/g)].map((match) => match[1]);
    expect(specs.length).toBe(figures.length);
    for (const spec of specs) expect(existsSync(join(dist, spec)), spec).toBe(true);
    // Every choice the picker can make for a figure has its spec file.
    for (const [, id, kind, available] of html.matchAll(/id="figure-([a-z-]+)" data-figure="[^"]+" data-pick-kind="([a-z+]+)" data-base="[^"]+" data-available="([^"]*)"/g)) {
      for (const key of available.split(' ').filter(Boolean)) {
        const [dataset, model] = key.split('--');
        const path = kind === 'none' ? `specs/${id}.json` : kind === 'dataset' ? `specs/${id}/${dataset}.json` : `specs/${id}/${dataset}--${model}.json`;
        expect(existsSync(join(dist, path)), path).toBe(true);
      }
    }
    expect(existsSync(join(dist, 'specs/reliability/fashion-mnist--lenet5.json'))).toBe(true);
  });

  it('reads its numbers from the artifacts', () => {
    const models = readQuick<{ models: { dataset: string; model: string; testAccuracy: number }[] }>('models.json');
    const lenet = models.models.find((row) => row.dataset === 'mnist' && row.model === 'lenet5')!;
    const testCount = readQuick<{ testCount: number }>('mnist/lenet5/sgd.json').testCount;
    expect(html).toContain(`LeNet-5 reaches ${(100 * lenet.testAccuracy).toFixed(2)}% accuracy on the ${testCount.toLocaleString('en')} MNIST test images`);
    const summary = readQuick<{ rows: { dataset: string; model: string; method: string; ece: number }[] }>('summary.json');
    // One data row per summary row; the groups' header rows carry no data-row.
    const table = html.slice(html.indexOf('<table class="summary"'), html.indexOf('</table>', html.indexOf('<table class="summary"')));
    expect(table.match(/<tr data-row/g)?.length).toBe(summary.rows.length);
    expect(table.match(/<tbody data-group=/g)?.length).toBe(new Set(summary.rows.map((row) => `${row.dataset}--${row.model}`)).size);
  });

  it('compares with Laplace Redux by the maximum-probability AUROC, like for like, and shows it beside the entropy AUROC in the results table', () => {
    interface Unknown { auroc: number; aurocMsp: number; intervals: Record<'auroc' | 'aurocMsp', { low: number; high: number }> }
    const unknown = readQuick<{ variants: { ood: { unknown: Unknown[] } }[] }>('mnist/lenet5/sgd.json').variants[0].ood.unknown[0];
    const f = (x: number) => x.toFixed(3);
    const row = html.match(/<tr data-reference="MAP">([\s\S]*?)<\/tr>/)?.[1] ?? '';
    // Published 0.989 (max. probability), then ours by the same score and by entropy, each with its interval.
    // (Each interval on a line of its own under its value, so the table fits its column at 1280 px.)
    const cells = [...row.matchAll(/<td>(.*?)<\/td>/g)].map((match) => match[1].replace(/<br\s*\/?>/g, ' '));
    expect(cells.slice(-3)).toEqual(['0.989', `${f(unknown.aurocMsp)} (${f(unknown.intervals.aurocMsp.low)}–${f(unknown.intervals.aurocMsp.high)})`, `${f(unknown.auroc)} (${f(unknown.intervals.auroc.low)}–${f(unknown.intervals.auroc.high)})`]);
    const where = 0.989 < unknown.intervals.aurocMsp.low ? 'below' : 0.989 > unknown.intervals.aurocMsp.high ? 'above' : 'within';
    const text = html.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ');
    expect(text).toContain(`reaches AUROC ${f(unknown.aurocMsp)} (95% interval ${f(unknown.intervals.aurocMsp.low)}–${f(unknown.intervals.aurocMsp.high)}); theirs, 0.989, lies ${where} our interval`);
    expect(text).not.toContain('we did not compute their score');
    // The results table: a column of the maximum-probability AUROC, one value per summary row.
    const summary = readQuick<{ rows: { aurocMsp: number }[] }>('summary.json');
    const table = html.slice(html.indexOf('<table class="summary"'), html.indexOf('</table>', html.indexOf('<table class="summary"')));
    const headers = [...table.matchAll(/data-sort>([^<]+)</g)].map((match) => match[1]);
    const column = headers.indexOf('AUROC (max. prob.)');
    expect(column).toBe(headers.indexOf('AUROC') + 1);
    const values = [...table.matchAll(/<tr data-row[^>]*>([\s\S]*?)<\/tr>/g)].map((match) => Number([...match[1].matchAll(/<td data-value="([^"]+)"/g)][column - 1][1]));
    expect(values).toEqual(summary.rows.map((r) => r.aurocMsp));
  });

  it('numbers footnotes and references in order, each with a way back', () => {
    // Marks read 1, 2, 3 in the order they appear (numbered on the rendered page), each with its note in the list.
    const marks = [...html.matchAll(/id="fnref-([a-z0-9-]+)"[^>]*data-footnote="[^"]+">(\d+)</g)].map((match) => ({ key: match[1], n: Number(match[2]) }));
    expect(marks.length).toBeGreaterThan(5);
    expect(marks.map((mark) => mark.n)).toEqual(marks.map((_, index) => index + 1));
    for (const mark of marks) expect(html).toContain(`<li id="fn-${mark.key}" data-footnote-item="${mark.key}">`);
    const references = [...html.matchAll(/<li id="ref-(\d+)">/g)].map((match) => Number(match[1]));
    expect(references).toEqual(references.map((_, index) => index + 1));
    const cited = new Set([...html.matchAll(/href="#ref-(\d+)"/g)].map((match) => Number(match[1])));
    expect(cited.size).toBe(references.length);
  });

  it('reports its page weight and stays under the budget', () => {
    const weights = JSON.parse(readFileSync(join(dist, 'page-weight.json'), 'utf8')) as PageWeight[];
    const article = weights.find((weight) => weight.page === 'index.html')!;
    expect(article.scripts.files).toBeGreaterThan(0);
    expect(article.data.files).toBe(figures.length);
    expect(article.total.gzip).toBeLessThan(pageBudgetBytes);
    expect(built.stdout).toMatch(/index\.html: \d+ kB transferred/);
  });

  it('meets the weight goals: first load at most 400 kB transferred, every figure at most 1 MB', () => {
    const article = (JSON.parse(readFileSync(join(dist, 'page-weight.json'), 'utf8')) as PageWeight[]).find((weight) => weight.page === 'index.html')!;
    expect(article.firstLoad.gzip).toBeLessThanOrEqual(firstLoadGoalBytes);
    expect(article.allFigures.gzip).toBeLessThanOrEqual(allFiguresGoalBytes);
    expect(article.allFigures.gzip).toBe(article.firstLoad.gzip + article.data.gzip);
    // The chart runtime is imported when the first chart needs it; what the page itself loads is small.
    expect(article.lazyScripts.files).toBeGreaterThan(0);
    expect(article.entryScripts.gzip).toBeLessThan(16 * 1024);
    expect(built.stdout).toMatch(/first load \d+ kB \(\d+ kB raw\), all figures \d+ kB \(\d+ kB raw\)/);
  });

  it('ships compiled Vega, never the Vega-Lite compiler', () => {
    for (const file of filesUnder(join(dist, 'specs'))) {
      const spec = JSON.parse(readFileSync(file, 'utf8')) as SpecFile;
      expect(spec.$schema, relative(dist, file)).toMatch(/\/schema\/vega\/v5/);
    }
    for (const file of filesUnder(join(dist, '_astro')).filter((path) => path.endsWith('.js'))) {
      const code = readFileSync(file, 'utf8');
      // Messages only the Vega-Lite compiler has.
      expect(code, relative(dist, file)).not.toContain('Make sure the specification includes at least one of the following properties');
      expect(code, relative(dist, file)).not.toContain('Cannot project a selection');
    }
  });

  it('links every section from a table of contents near the top, and each section heading to itself', () => {
    const sections = [...html.matchAll(/<section\b[^>]*\sid="([^"]+)"/g)].map((match) => match[1]);
    expect(sections.length).toBeGreaterThan(10);
    expect(sections).toContain('networks');
    const toc = html.match(/<nav class="toc"[\s\S]*?<\/nav>/)?.[0] ?? '';
    expect([...toc.matchAll(/href="#([^"]+)"/g)].map((match) => match[1])).toEqual(sections);
    // Near the top: after the header, before the first section.
    expect(html.indexOf('<nav class="toc"')).toBeGreaterThan(html.indexOf('</header>'));
    expect(html.indexOf('<nav class="toc"')).toBeLessThan(html.indexOf('<section'));
    for (const id of sections) {
      const heading = html.slice(html.indexOf(`<section id="${id}"`)).match(/<h2[^>]*>([\s\S]*?)<\/h2>/)?.[1] ?? '';
      expect(heading, id).toContain(`<a class="heading-anchor" href="#${id}"`);
      expect(heading, id).toMatch(/>#<\/a>$/);
    }
  });

  it('numbers each figure with a permalink to it', () => {
    const numbers = [...html.matchAll(/<a class="figure-number" href="#([^"]+)"[^>]*>Figure (\d+)\.<\/a>/g)];
    // The findings' overview opens the page unnumbered; every other figure is numbered in reading order.
    expect(html).toMatch(/<a class="figure-number" href="#figure-forest"[^>]*>Overview\.<\/a>/);
    expect(numbers.map((match) => match[1]).sort()).toEqual(figures.filter((figure) => figure.id !== 'forest').map((figure) => `figure-${figure.id}`).sort());
    expect(numbers.map((match) => Number(match[2]))).toEqual(numbers.map((_, index) => index + 1));
    for (const [, anchor] of numbers) expect(html.match(new RegExp(`id="${anchor}"`, 'g')), anchor).toHaveLength(1);
  });

  it('links under each figure the artifacts it is drawn from, published byte for byte, and the command that regenerates them', () => {
    const experiment: Record<string, string> = { 'loss-surface': 'landscape', 'curvature-sizes': 'models', reliability: 'laplace', search: 'laplace', 'n-tau': 'laplace' };
    for (const figure of figures) {
      const start = html.indexOf(`id="figure-${figure.id}"`);
      const block = html.slice(start, html.indexOf('</figure>', start));
      const source = block.slice(block.indexOf('data-source'));
      const links = [...source.matchAll(/<a href="\/laplace\/data\/([^"]+)" data-input="([^"]+)">/g)];
      // An illustration reads no result file; the forest plot, drawn for no choice, reads the summary.
      if (figure.pick === 'none' && figure.id !== 'forest') {
        expect(links, figure.id).toHaveLength(0);
        expect(source, figure.id).toContain('drawn from no result file');
        continue;
      }
      expect(links.length, figure.id).toBeGreaterThan(0);
      for (const [, path, input] of links) {
        expect(input).toBe(path);
        expect(readFileSync(join(dist, 'data', path)).equals(readFileSync(join(quickResultsDir(), path))), path).toBe(true);
      }
      const command = source.match(/Regenerate: <code>([^<]+)<\/code>/)?.[1];
      expect(command, figure.id).toMatch(/^npm run reproduce -- --only (models|laplace|ensemble|landscape)(,(models|laplace|ensemble|landscape))*$/);
      if (experiment[figure.id]) expect(command, figure.id).toBe(`npm run reproduce -- --only ${experiment[figure.id]}`);
    }
    // Every choice's spec names its inputs, all published; and only those are published.
    const used = new Set<string>();
    for (const file of filesUnder(join(dist, 'specs'))) {
      const meta = (JSON.parse(readFileSync(file, 'utf8')) as SpecFile).usermeta!;
      for (const path of meta.inputs) used.add(path);
      expect(meta.command === null, relative(dist, file)).toBe(meta.inputs.length === 0);
    }
    const published = filesUnder(join(dist, 'data')).map((file) => relative(join(dist, 'data'), file));
    expect(published.sort()).toEqual([...used].sort());
    expect(published).toContain('models.json');
    expect(published).toContain('summary.json');
  });

  it('says who wrote it, when the results were made, the source and commit, and how to cite it', async () => {
    const manifest = readQuick<{ run: { finishedAt: string } }>('manifest.json');
    const date = manifest.run.finishedAt.slice(0, 10);
    const repository = (JSON.parse(readFileSync('package.json', 'utf8')) as { repository: string }).repository;
    const commit = await run('git', ['rev-parse', 'HEAD']).then(({ stdout }) => stdout.trim(), () => null);
    const byline = html.match(/<p class="byline published">[\s\S]*?<\/p>/)?.[0] ?? '';
    expect(byline).toContain('By <span class="author">the laplace-bnn-results authors</span>');
    expect(byline).toContain(`<time datetime="${date}">`);
    expect(byline).toContain(`<a href="${repository}" class="source-link">`);
    if (commit) expect(byline).toContain(`<a href="${repository}/tree/${commit}" class="commit-link"><code>commit ${commit.slice(0, 12)}</code></a>`);
    else expect(byline).toContain('unknown commit');
    const cite = html.slice(html.indexOf('<section id="cite"'));
    const bibtex = cite.match(/<pre class="bibtex"><code>([\s\S]*?)<\/code><\/pre>/)?.[1] ?? '';
    expect(bibtex).toMatch(/^@misc\{[a-z0-9-]+,\n/);
    expect(bibtex).toContain('author = {{The laplace-bnn-results authors}}');
    expect(bibtex).toContain('title = {{Bayesian neural networks by Laplace approximation}}');
    expect(bibtex).toContain(`year = {${date.slice(0, 4)}}`);
    expect(bibtex).toContain(`\\url{${repository}}`);
    expect(bibtex).toContain(`Results of ${date}, ${commit ? `commit ${commit.slice(0, 12)}` : 'unknown commit'}`);
  });

  it('has social-preview metadata: Open Graph and Twitter card title and description', () => {
    const title = html.match(/<title>([^<]+)<\/title>/)?.[1];
    const description = attributeOf(metaContent(html, 'description') ?? '', 'content');
    expect(title).toBe('Bayesian neural networks by Laplace approximation');
    expect(description?.length).toBeGreaterThan(50);
    for (const key of ['og:title', 'twitter:title']) expect(attributeOf(metaContent(html, key) ?? '', 'content'), key).toBe(title);
    for (const key of ['og:description', 'twitter:description']) expect(attributeOf(metaContent(html, key) ?? '', 'content'), key).toBe(description);
    expect(attributeOf(metaContent(html, 'og:type') ?? '', 'content')).toBe('article');
    expect(attributeOf(metaContent(html, 'twitter:card') ?? '', 'content')).toBe('summary');
    // No preview image: nothing the page names may live elsewhere.
    expect(metaContent(html, 'og:image')).toBeUndefined();
  });

  it('refuses to build from results that fail the check, naming the file', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'bad-results-')), 'results');
    cpSync(quickResultsDir(), bad, { recursive: true });
    const path = join(bad, 'mnist/lenet5/kfac.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"accuracy": 0.', '"accuracy": 1.'));
    const refused = await build(bad, join(bad, '..', 'dist'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/Refusing to build the site: .*mnist\/lenet5\/kfac\.json does not match its sha256/);
  }, 300_000);

  describe.runIf(existsSync(chromiumPath))('in chromium', () => {
    let browser: Browser;
    let server: Awaited<ReturnType<typeof serveStatic>>;
    let page: Page;
    const consoleErrors: string[] = [];
    /** Every file of the site the article's browser asked for, as paths in dist/, in order; and those asked for before any scrolling. */
    const fetched: string[] = [];
    let fetchedAtLoad: string[] = [];
    /** Bytes a static host would send for these requests: each file gzip-compressed, as often as it was asked for. */
    const transferred = (paths: string[]) => {
      const bytes = paths.reduce((total, path) => total + gzipSync(readFileSync(join(dist, path)), { level: 9 }).length, 0);
      return { bytes, files: paths.length };
    };

    beforeAll(async () => {
      server = await serveStatic(dist, base);
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(error.message));
      // The playground's files have their own budget (page-weight.json's demo; tests/site/playground.test.ts): not the article's.
      const article = (JSON.parse(readFileSync(join(dist, 'page-weight.json'), 'utf8')) as PageWeight[]).find((weight) => weight.page === 'index.html')!;
      const demoFiles = new Set(article.demo.files);
      page.on('request', (request) => {
        const path = new URL(request.url()).pathname;
        const file = path.slice(base.length) === '' ? 'index.html' : path.slice(base.length);
        if (path.startsWith(base) && !demoFiles.has(file)) fetched.push(file);
      });
      await page.goto(server.url, { waitUntil: 'load' });
      // The charts near the top bring in the runtime and their specs at once: that belongs to the first load.
      await page.waitForLoadState('networkidle');
      fetchedAtLoad = [...fetched];
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it('makes every figure interactive with drawn marks', async () => {
      // Scroll through the page so every chart comes into view and is drawn by the Vega runtime.
      const height = await page.evaluate(() => document.body.scrollHeight);
      for (let y = 0; y < height; y += 700) {
        await page.evaluate((top) => window.scrollTo(0, top), y);
        await page.waitForTimeout(50);
      }
      await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((chart) => (chart as HTMLElement).dataset.state === 'interactive'), undefined, { timeout: 60_000 });
      const marks = await page.$$eval('figure[data-figure]', (nodes) =>
        nodes.map((node) => ({ id: (node as HTMLElement).dataset.figure, marks: node.querySelectorAll('.chart-view svg g.role-mark > *').length })),
      );
      expect(marks).toHaveLength(figures.length);
      for (const figure of marks) expect(figure.marks, figure.id).toBeGreaterThan(0);
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, 'site-desktop.png'), fullPage: true });
    }, 120_000);

    it('fetches at most 400 kB transferred at first and 1 MB through every figure, each spec once, without Vega-Lite', () => {
      const first = transferred(fetchedAtLoad);
      const all = transferred(fetched);
      console.info(`Browser fetched ${(first.bytes / 1024).toFixed(0)} kB gzip in ${first.files} files at first load, ${(all.bytes / 1024).toFixed(0)} kB in ${all.files} files after every figure.`);
      expect(fetchedAtLoad).toContain('index.html');
      // The first load as page-weight.json counts it (the chart runtime included) bounds what this window fetched before scrolling.
      const article = (JSON.parse(readFileSync(join(dist, 'page-weight.json'), 'utf8')) as PageWeight[]).find((weight) => weight.page === 'index.html')!;
      if (!fetchedAtLoad.some((path) => path.startsWith('specs/'))) expect(first.bytes).toBeLessThanOrEqual(article.firstLoad.gzip);
      expect(first.bytes).toBeLessThanOrEqual(firstLoadGoalBytes);
      expect(all.bytes).toBeLessThanOrEqual(allFiguresGoalBytes);
      const specs = fetched.filter((path) => path.startsWith('specs/'));
      expect(specs).toHaveLength(figures.length);
      expect(new Set(specs).size).toBe(specs.length);
      expect(fetched.filter((path) => /vega-lite|vega-embed/.test(path))).toEqual([]);
    });

    it('opens a figure’s permalink at the figure, within the first-load goal with the runtime and the figure’s spec', async () => {
      const reader = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const asked: string[] = [];
      reader.on('request', (request) => {
        const path = new URL(request.url()).pathname;
        if (path.startsWith(base)) asked.push(path.slice(base.length) === '' ? 'index.html' : path.slice(base.length));
      });
      reader.on('pageerror', (error) => consoleErrors.push(error.message));
      await reader.goto(`${server.url}#figure-search`, { waitUntil: 'load' });
      await expect.poll(() => reader.locator('#figure-search .chart').getAttribute('data-state'), { timeout: 20_000 }).toBe('interactive');
      await reader.waitForLoadState('networkidle');
      // At the top of the window, below the section's sticky picker rather than under it.
      const top = await reader.locator('#figure-search').evaluate((node) => node.getBoundingClientRect().top);
      const pickerBottom = await reader.locator('form[data-picker="regularisation"]').evaluate((node) => node.getBoundingClientRect().bottom);
      expect(top).toBeGreaterThanOrEqual(pickerBottom - 1);
      expect(top).toBeLessThan(120);
      expect(asked).toContain('specs/search/mnist--lenet5.json');
      expect(asked.some((path) => /^_astro\/vega\.module\.[^/]+\.js$/.test(path))).toBe(true);
      expect(transferred(asked).bytes).toBeLessThanOrEqual(firstLoadGoalBytes);
      await reader.close();
    });

    it('shows a tooltip over a chart mark', async () => {
      const figure = page.locator('#figure-reliability');
      await figure.scrollIntoViewIfNeeded();
      await expect.poll(() => figure.locator('.chart').getAttribute('data-state'), { timeout: 20_000 }).toBe('interactive');
      // The middle of the largest bar.
      const point = await figure.locator('.chart-view svg').evaluate((svg) => {
        const boxes = [...svg.querySelectorAll('g.mark-rect.role-mark path')].map((path) => path.getBoundingClientRect()).filter((box) => box.width > 2 && box.height > 2);
        const box = boxes.sort((a, b) => b.width * b.height - a.width * a.height)[0];
        return box ? { x: box.x + box.width / 2, y: box.y + box.height / 2 } : null;
      });
      expect(point).not.toBeNull();
      await page.mouse.move(point!.x, point!.y);
      const tooltip = page.locator('#vg-tooltip-element');
      await expect.poll(() => tooltip.evaluate((node) => node.classList.contains('visible')).catch(() => false), { timeout: 10_000 }).toBe(true);
      expect(await tooltip.textContent()).toMatch(/\d/);
      await page.mouse.move(0, 0);
    });

    it('moves the Gaussian when a slider moves', async () => {
      const figure = page.locator('#figure-gaussian');
      await figure.scrollIntoViewIfNeeded();
      const shape = () => figure.locator('.chart-view svg g.role-mark path').first().getAttribute('d');
      const before = await shape();
      const slider = figure.locator('input[type="range"]').first();
      await slider.evaluate((input: HTMLInputElement) => {
        input.value = String(Number(input.min) + 0.8 * (Number(input.max) - Number(input.min)));
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
      await expect.poll(shape, { timeout: 10_000 }).not.toBe(before);
    });

    it('shows a footnote on hover and on keyboard focus', async () => {
      const note = page.locator('.footnote').first();
      await note.scrollIntoViewIfNeeded();
      await expect.poll(() => note.locator('.footnote-pop').isVisible()).toBe(false);
      await note.hover();
      await expect.poll(() => note.locator('.footnote-pop').isVisible()).toBe(true);
      await page.mouse.move(0, 0);
      await note.locator('a').focus();
      await expect.poll(() => note.locator('.footnote-pop').isVisible()).toBe(true);
    });

    it('swaps a chart when the data-set picker changes', async () => {
      const figure = page.locator('#figure-reliability');
      await figure.scrollIntoViewIfNeeded();
      const spec = () => figure.locator('.chart').getAttribute('data-spec');
      expect(await spec()).toContain('mnist--lenet5');
      const alt = await figure.locator('.chart-alt').textContent();
      await page.locator('form[data-picker="calibration"] select[name="dataset"]').selectOption('fashion-mnist');
      await expect.poll(spec, { timeout: 20_000 }).toContain('fashion-mnist--lenet5');
      await expect.poll(() => figure.locator('.chart').getAttribute('data-state'), { timeout: 20_000 }).toBe('interactive');
      expect(await figure.locator('.chart-alt').textContent()).not.toBe(alt);
      expect(await figure.locator('.chart-view svg g.role-mark > *').count()).toBeGreaterThan(0);
      // The family figures of the section follow the data set too, to the family the family select names.
      const family = await page.locator('form[data-picker="calibration"] select[name="family"]').inputValue();
      expect(family).not.toBe('');
      await expect.poll(() => page.locator('#figure-family-calibration .chart').getAttribute('data-spec'), { timeout: 20_000 }).toContain(`fashion-mnist--${family}`);
      // The data link follows the chart to the other data set's artifact.
      const input = figure.locator('[data-source] a[data-input]');
      await expect.poll(() => input.last().getAttribute('data-input')).toBe('fashion-mnist/lenet5/sgd.json');
      expect(await input.last().getAttribute('href')).toBe(`${base}data/fashion-mnist/lenet5/sgd.json`);
      expect(await figure.locator('[data-source] code').textContent()).toBe('npm run reproduce -- --only laplace');
      // Back to MNIST: the spec fetched at first is drawn again without being fetched again.
      await page.locator('form[data-picker="calibration"] select[name="dataset"]').selectOption('mnist');
      await expect.poll(spec, { timeout: 20_000 }).toContain('/mnist--lenet5');
      await expect.poll(() => figure.locator('.chart').getAttribute('data-state'), { timeout: 20_000 }).toBe('interactive');
      expect(fetched.filter((path) => path === 'specs/reliability/mnist--lenet5.json')).toHaveLength(1);
      expect(await input.last().getAttribute('data-input')).toBe('mnist/lenet5/sgd.json');
    });

    it('prints without controls or sticky elements, keeps figures whole and shows outside links’ addresses', async () => {
      await page.emulateMedia({ media: 'print' });
      try {
        const report = await page.evaluate(() => {
          const shown = (node: Element) => node.getClientRects().length > 0 && getComputedStyle(node).visibility !== 'hidden';
          const after = (selector: string) => {
            const link = document.querySelector(selector);
            return link ? getComputedStyle(link, '::after').content : null;
          };
          return {
            pickers: document.querySelectorAll('form[data-picker]').length,
            shownControls: [...document.querySelectorAll('form[data-picker], .vega-bind, input, select')].filter(shown).length,
            pinned: [...document.querySelectorAll('body *')].filter((node) => ['sticky', 'fixed'].includes(getComputedStyle(node).position) && shown(node)).map((node) => `${node.tagName}.${node.className}`),
            figureBreaks: [...new Set([...document.querySelectorAll('figure')].map((node) => getComputedStyle(node).breakInside))],
            external: after('a[href^="http"]'),
            internal: after('a[href^="#ref-"]'),
          };
        });
        expect(report.pickers).toBeGreaterThan(0);
        expect(report.shownControls).toBe(0);
        expect(report.pinned).toEqual([]);
        expect(report.figureBreaks).toEqual(['avoid']);
        expect(report.external).toMatch(/attr\(href\)|https?:/);
        expect(report.internal).toMatch(/^(none|normal)$/);
      } finally {
        await page.emulateMedia({ media: 'screen' });
      }
      // On screen the pickers are back, and sticky.
      expect(await page.locator('form[data-picker="calibration"]').evaluate((form) => getComputedStyle(form).position)).toBe('sticky');
    });

    it('fits a phone-width screen without sideways scrolling of the page', async () => {
      const phone = await browser.newPage({ viewport: { width: 375, height: 800 }, isMobile: true });
      phone.on('pageerror', (error) => consoleErrors.push(error.message));
      await phone.goto(server.url, { waitUntil: 'load' });
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(1);
      // Every figure uses the width there is (a wide figure once shrank to a sliver on phones).
      const widths = await phone.$$eval('figure[data-figure]', (nodes) => nodes.map((node) => ({ id: (node as HTMLElement).dataset.figure, width: node.getBoundingClientRect().width })));
      for (const figure of widths) expect(figure.width, figure.id).toBeGreaterThan(330);
      await phone.screenshot({ path: join(screenshots, 'site-phone.png'), fullPage: true });
      await phone.close();
    });

    it('sorts the summary table within each group from its headers, by the numbers, and keeps every table inside its column at 1280 px', async () => {
      const wide = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      wide.on('pageerror', (error) => consoleErrors.push(error.message));
      await wide.goto(server.url, { waitUntil: 'load' });
      const table = wide.locator('table.summary');
      await expect.poll(() => table.getAttribute('data-sortable')).toBe('ready');
      type Row = { dataset: string; model: string; accuracy: number; ece: number };
      const rows = readQuick<{ rows: Row[] }>('summary.json').rows;
      const [dataset, model] = [rows[0].dataset, rows[0].model];
      const inGroup = rows.filter((row) => row.dataset === dataset && row.model === model);
      expect(inGroup.length).toBeGreaterThan(2);
      const header = (name: string) => wide.locator('table.summary thead th').filter({ has: wide.getByRole('button', { name, exact: true }) });
      /** A column's data-value down one group, as the page now orders it. */
      const column = (group: string, name: string) =>
        header(name).evaluate((th, key) => [...document.querySelectorAll(`table.summary tbody[data-group="${key}"] tr[data-row]`)].map((row) => Number((row as HTMLTableRowElement).cells[(th as HTMLTableCellElement).cellIndex].dataset.value)), group);
      const key = `${dataset}--${model}`;
      const ascending = (values: number[]) => [...values].sort((a, b) => a - b);
      expect(await column(key, 'ECE')).toEqual(inGroup.map((row) => row.ece));
      // A click sorts lower-is-better ECE best first, a second (by keyboard) reverses it.
      await header('ECE').getByRole('button').click();
      expect(await header('ECE').getAttribute('aria-sort')).toBe('ascending');
      expect(await column(key, 'ECE')).toEqual(ascending(inGroup.map((row) => row.ece)));
      await header('ECE').getByRole('button').press('Enter');
      expect(await header('ECE').getAttribute('aria-sort')).toBe('descending');
      expect(await column(key, 'ECE')).toEqual(ascending(inGroup.map((row) => row.ece)).reverse());
      // Higher-is-better accuracy starts from the top, in every group, each still led by its header row.
      await header('Accuracy').getByRole('button').press(' ');
      expect(await header('Accuracy').getAttribute('aria-sort')).toBe('descending');
      expect(await header('ECE').getAttribute('aria-sort')).toBeNull();
      for (const group of new Set(rows.map((row) => `${row.dataset}--${row.model}`))) {
        const accuracies = rows.filter((row) => `${row.dataset}--${row.model}` === group).map((row) => row.accuracy);
        expect(await column(group, 'Accuracy'), group).toEqual(ascending(accuracies).reverse());
      }
      expect(await table.locator('tbody').evaluateAll((bodies) => bodies.every((body) => (body as HTMLTableSectionElement).rows[0].classList.contains('group')))).toBe(true);
      // Nothing scrolls sideways at 1280 px: each table fits the box that would scroll it.
      const fits = await wide.$$eval('table', (tables) =>
        tables.map((node) => {
          const box = node.parentElement?.classList.contains('table-scroll') ? node.parentElement : node;
          return { summary: node.classList.contains('summary'), table: node.getBoundingClientRect().width, box: box.clientWidth, overflow: box.scrollWidth - box.clientWidth };
        }),
      );
      const summaryFit = fits.find((fit) => fit.summary)!;
      console.info(`Summary table ${summaryFit.table.toFixed(0)} px wide in a ${summaryFit.box} px box at 1280 px.`);
      for (const fit of fits) expect(fit.overflow, JSON.stringify(fit)).toBeLessThanOrEqual(1);
      expect(await wide.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      await wide.close();
    });

    it('names the network and data set shown in each caption as a picker changes, and says in place when a figure has none', async () => {
      const { modelLabel } = await import('../../site/lib/names.ts');
      // The calibration picker; the quick profile evaluates only LeNet-5 there, so then the first picker offering two networks.
      const ids = ['calibration', ...(await page.$$eval('form[data-picker]', (forms) => forms.map((form) => form.getAttribute('data-picker') ?? '')))];
      let id = '';
      for (const candidate of ids) {
        if ((await page.locator(`form[data-picker="${candidate}"] select[name="model"] option`).count()) < 2) continue;
        id = candidate;
        break;
      }
      expect(id).not.toBe('');
      const form = page.locator(`form[data-picker="${id}"]`);
      const options = await form.locator('select[name="model"] option').evaluateAll((nodes) => nodes.map((node) => ({ value: (node as HTMLOptionElement).value, text: node.textContent })));
      for (const option of options) expect(option.text).toBe(modelLabel(option.value));
      const figure = (await form.getAttribute('data-figures'))!.split(' ')[0];
      const shown = page.locator(`#figure-${figure} [data-shown]`);
      await shown.scrollIntoViewIfNeeded();
      expect(await shown.textContent()).toBe('LeNet-5 on MNIST.');
      const other = options.find((option) => option.value !== 'lenet5')!.value;
      await form.locator('select[name="model"]').selectOption(other);
      await expect.poll(() => shown.textContent()).toBe(`${modelLabel(other)} on MNIST.`);
      await form.locator('select[name="model"]').selectOption('lenet5');
      await expect.poll(() => shown.textContent()).toBe('LeNet-5 on MNIST.');
      // The rotation figure has nothing for Fashion-MNIST: it says so in its place, while the FGSM figure beside it follows.
      const fgsm = page.locator('form[data-picker="fgsm"]');
      await fgsm.scrollIntoViewIfNeeded();
      await fgsm.locator('select[name="dataset"]').selectOption('fashion-mnist');
      await expect.poll(() => page.locator('#figure-fgsm-panel [data-shown]').textContent()).toBe('LeNet-5 on Fashion-MNIST.');
      const shift = page.locator('#figure-shift');
      if (!(await shift.getAttribute('data-available'))!.includes('fashion-mnist--')) {
        await expect.poll(() => shift.locator('.chart').getAttribute('data-state')).toBe('missing');
        expect(await shift.locator('.chart-missing').textContent()).toMatch(new RegExp(`^No Figure ${await shift.getAttribute('data-number')} for LeNet-5 on Fashion-MNIST: .+\\.$`));
      }
      await fgsm.locator('select[name="dataset"]').selectOption('mnist');
      await expect.poll(() => shift.locator('.chart').getAttribute('data-state'), { timeout: 20_000 }).toBe('interactive');
    });

    it('logs no errors to the console', () => {
      expect(consoleErrors.join("\n")).toBe("");
    });
  });
});
