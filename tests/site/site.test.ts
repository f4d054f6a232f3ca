/**
 * The site built from quick-profile results under a sub-path, checked as
 * HTML and then in a real browser (Debian's chromium through playwright-core):
 * every figure draws marks, sliders and pickers work, footnotes hover, the
 * console stays clean. Full-page screenshots go to .cache/test-output/.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { figures } from '../../site/lib/figures.ts';
import { pageBudgetBytes, type PageWeight } from '../../site/lib/page-weight.ts';
import { quickResultsDir, readQuick } from './fixtures.ts';
import { serveStatic } from './serve.ts';

const run = promisify(execFile);
const base = '/laplace/';
const chromiumPath = '/usr/bin/chromium';
const screenshots = '.cache/test-output';

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
    expect(existsSync(join(dist, 'specs/reliability-sgd/fashion-mnist--lenet5.json'))).toBe(true);
  });

  it('reads its numbers from the artifacts', () => {
    const models = readQuick<{ models: { dataset: string; model: string; testAccuracy: number }[] }>('models.json');
    const lenet = models.models.find((row) => row.dataset === 'mnist' && row.model === 'lenet5')!;
    expect(html).toContain(`LeNet-5 reaches ${(100 * lenet.testAccuracy).toFixed(2)}% test accuracy on MNIST`);
    const summary = readQuick<{ rows: { dataset: string; model: string; method: string; ece: number }[] }>('summary.json');
    const tableRows = html.slice(html.indexOf('<table class="summary"')).split('<tr').length - 2;
    expect(tableRows).toBe(summary.rows.length);
  });

  it('numbers footnotes and references in order, each with a way back', () => {
    const marks = [...html.matchAll(/id="fnref-(\d+)"/g)].map((match) => Number(match[1]));
    expect(marks.length).toBeGreaterThan(5);
    expect([...new Set(marks)].sort((a, b) => a - b)).toEqual(marks.map((_, index) => index + 1).slice(0, new Set(marks).size));
    for (const n of marks) expect(html).toContain(`<li id="fn-${n}">`);
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
      await page.goto(server.url, { waitUntil: 'load' });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it('makes every figure interactive with drawn marks', async () => {
      // Scroll through the page so every chart comes into view and is drawn by vega-embed.
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
      const figure = page.locator('#figure-reliability-sgd');
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
      await expect.poll(() => page.locator('#figure-family-sgd .chart').getAttribute('data-spec'), { timeout: 20_000 }).toContain(`fashion-mnist--${family}`);
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

    it('logs no errors to the console', () => {
      expect(consoleErrors.join("\n")).toBe("");
    });
  });
});
