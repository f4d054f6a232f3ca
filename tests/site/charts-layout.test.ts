/**
 * How the charts and tables sit in the article's column, in a real browser
 * (Debian's chromium through playwright-core): at 1280 px no table is wider
 * than the box it sits in, and on a 390 px phone every chart fills the
 * column and no picker stays pinned over the figures. Builds the site from the
 * quick-profile results, or uses LAYOUT_DIST (a build made with base "/").
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quickResultsDir } from './fixtures.ts';
import { serveStatic } from './serve.ts';
import { settle } from './settle.ts';

const chromiumPath = '/usr/bin/chromium';

async function buildSite(): Promise<string> {
  if (process.env.LAYOUT_DIST) return process.env.LAYOUT_DIST;
  const dist = join(mkdtempSync(join(tmpdir(), 'layout-')), 'dist');
  // Vitest puts Vite's own variables into process.env; Astro would read them back.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['BASE_URL', 'MODE', 'DEV', 'PROD', 'SSR', 'NODE_ENV', 'SITE_BASE'].includes(name)));
  await promisify(execFile)('npx', ['astro', 'build'], { env: { ...env, RESULTS_DIR: quickResultsDir(), SITE_OUT: dist }, maxBuffer: 1 << 24 });
  return dist;
}

describe.runIf(existsSync(chromiumPath))('layout in chromium', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serveStatic>>;

  beforeAll(async () => {
    server = await serveStatic(await buildSite(), '/');
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(width: number, height: number) {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.goto(server.url, { waitUntil: 'load' });
    // Charts load as they come into view: every one drawn, the playground loaded and the layout still before measuring (up to 5 minutes).
    expect(await settle(page)).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    return page;
  }

  it('at 1280 px every table fits the box it sits in, which stays inside the window', async () => {
    const page = await open(1280, 900);
    const tables = await page.$$eval('table', (nodes) =>
      nodes.map((table) => {
        const box = table.parentElement!;
        return { table: table.className, width: table.getBoundingClientRect().width, room: box.clientWidth, left: box.getBoundingClientRect().left, right: box.getBoundingClientRect().right, scrolls: getComputedStyle(box).overflowX };
      }),
    );
    expect(tables.length).toBeGreaterThan(0);
    for (const t of tables) {
      expect(t.width, t.table).toBeLessThanOrEqual(t.room + 1);
      expect(t.left, t.table).toBeGreaterThanOrEqual(0);
      expect(t.right, t.table).toBeLessThanOrEqual(1280);
      // Narrower windows scroll the table, not the page.
      expect(t.scrolls, t.table).toBe('auto');
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.close();
  }, 420_000);

  it('on a 390 px phone charts fill the column and no picker is pinned over them', async () => {
    const page = await open(390, 844);
    const charts = await page.$$eval('.chart', (nodes) =>
      nodes.map((chart) => ({ id: chart.closest('figure')?.id ?? '', svg: chart.querySelector('svg')!.getBoundingClientRect().width, room: chart.clientWidth })),
    );
    expect(charts.length).toBeGreaterThan(0);
    for (const chart of charts) expect(chart.svg, chart.id).toBeGreaterThanOrEqual(chart.room - 1);
    const pickers = await page.$$eval('form[data-picker]', (forms) => forms.map((form) => ({ position: getComputedStyle(form).position, height: form.getBoundingClientRect().height })));
    expect(pickers.length).toBeGreaterThan(0);
    // A pinned picker may cover at most 15% of the window; these are not pinned at all.
    for (const picker of pickers) expect(picker.position === 'static' || picker.position === 'relative' || picker.height <= 0.15 * 844).toBe(true);
    for (const picker of pickers) expect(['sticky', 'fixed']).not.toContain(picker.position);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.close();
  }, 420_000);
});
