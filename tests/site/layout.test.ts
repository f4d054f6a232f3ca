/**
 * The built page as a phone (390 px) and a desktop (1280 px) show it, in
 * Chromium, once every chart is drawn and the playground loaded: every
 * chart's text at least 10 px as drawn (font size times the SVG's scale on
 * screen), nothing wider than the window outside a box that scrolls on its own, every footnote and citation preview inside the window,
 * and on the desktop every table whole in its box. Built from the committed
 * results (LAYOUT_RESULTS overrides, e.g. a quick-profile folder), since the
 * widths to fit are those of the real figures.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from './serve.ts';
import { settle } from './settle.ts';

const chromiumPath = '/usr/bin/chromium';
const resultsDir = process.env.LAYOUT_RESULTS ?? 'results';

async function build(outDir: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['BASE_URL', 'MODE', 'DEV', 'PROD', 'SSR', 'NODE_ENV'].includes(name)));
  await promisify(execFile)('npx', ['astro', 'build'], { env: { ...env, RESULTS_DIR: resultsDir, SITE_OUT: outDir, SITE_BASE: '/' }, maxBuffer: 1 << 24 });
}

describe.skipIf(!existsSync(chromiumPath))('layout in a phone and a desktop window', () => {
  const dist = join(mkdtempSync(join(tmpdir(), 'layout-')), 'dist');
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serveStatic>>;

  beforeAll(async () => {
    await build(dist);
    server = await serveStatic(dist, '/');
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws a chart whose first draw failed (the Vega runtime’s download cut once) when it next nears the window', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 800 } });
    let cut = 0;
    await page.route(/vega\.module\.[^/]*\.js$/, (route) => (cut++ === 0 ? route.abort('connectionreset') : route.continue()));
    await page.goto(server.url, { waitUntil: 'load' });
    await page.locator('.chart[data-spec]').first().evaluate((element) => element.scrollIntoView({ block: 'center' }));
    await page.waitForFunction(() => document.querySelector<HTMLElement>('.chart[data-spec]')?.dataset.tries === '1', undefined, { polling: 100, timeout: 120_000 });
    // Still in view: the page watches it again and draws it.
    await page.waitForFunction(() => document.querySelector<HTMLElement>('.chart[data-spec]')?.dataset.state === 'interactive', undefined, { polling: 100, timeout: 120_000 });
    expect(cut).toBeGreaterThan(1);
    await page.close();
  }, 300_000);

  describe.each([390, 1280])('at %i px', (width) => {
    let page: Page;
    beforeAll(async () => {
      page = await browser.newPage({ viewport: { width, height: 800 } });
      const warnings: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'warning' || message.type() === 'error') warnings.push(message.text());
      });
      page.on('pageerror', (error) => warnings.push(error.message));
      await page.goto(server.url, { waitUntil: 'load' });
      const unsettled = await settle(page);
      expect(unsettled, `not settled at ${width} px after 5 minutes; the page warned: ${warnings.slice(0, 5).join(' | ') || 'nothing'}`).toEqual([]);
    }, 900_000);
    afterAll(async () => page?.close());

    it(width >= 1280 ? 'draws every chart in its desktop layout' : 'draws the charts too wide for the column in their phone layout', async () => {
      const layouts = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>('.chart[data-spec]')].map((chart) => ({ id: chart.closest('figure')?.id, layout: chart.dataset.layout, natural: Number(chart.dataset.naturalWidth), column: chart.clientWidth })));
      for (const chart of layouts) expect(chart.layout, chart.id).toBe(chart.column < 0.9 * chart.natural ? 'phone' : 'desktop');
      if (width >= 1280) expect(layouts.filter((chart) => chart.layout === 'phone')).toEqual([]);
      else expect(layouts.filter((chart) => chart.layout === 'phone').length).toBeGreaterThan(10);
    });

    it('draws every chart’s text at 10 px or more', async () => {
      const small = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('figure[data-figure]')].flatMap((figure) =>
          [...figure.querySelectorAll<SVGTextElement>('.chart svg text')]
            .filter((text) => (text.textContent ?? '').trim() !== '' && text.getClientRects().length > 0)
            .map((text) => {
              const matrix = text.getScreenCTM();
              const scale = matrix ? Math.hypot(matrix.a, matrix.b) : 1;
              return { figure: figure.dataset.number, text: text.textContent, size: parseFloat(getComputedStyle(text).fontSize) * scale };
            })
            .filter((entry) => entry.size < 9.95),
        ),
      );
      const figures = await page.locator('figure[data-figure] .chart svg').count();
      expect(figures).toBeGreaterThan(20);
      expect(small.map((entry) => `Figure ${entry.figure} "${entry.text}" at ${entry.size.toFixed(1)} px`)).toEqual([]);
    });

    it('has nothing wider than the window outside a box that scrolls sideways on its own', async () => {
      const report = await page.evaluate(() => {
        const scrolls = (element: Element) => ['auto', 'scroll'].includes(getComputedStyle(element).overflowX) && element.scrollWidth > element.clientWidth - 1;
        const insideScroller = (element: Element) => {
          for (let parent = element.parentElement; parent && parent !== document.body; parent = parent.parentElement) if (scrolls(parent)) return true;
          return false;
        };
        const hidden = (element: Element) => element.closest('.visually-hidden, [hidden], .footnote-pop, #vg-tooltip-element') !== null;
        const outside = [...document.body.querySelectorAll('*')]
          .filter((element) => !hidden(element) && !insideScroller(element))
          .filter((element) => {
            const rect = element.getBoundingClientRect();
            return rect.width > 0 && (rect.left < -0.5 || rect.right > window.innerWidth + 0.5);
          })
          .map((element) => `${element.tagName.toLowerCase()}.${element.className} ${Math.round(element.getBoundingClientRect().left)}–${Math.round(element.getBoundingClientRect().right)}`);
        return { page: document.documentElement.scrollWidth, window: window.innerWidth, outside: outside.slice(0, 10) };
      });
      expect(report.page).toBeLessThanOrEqual(report.window);
      expect(report.outside).toEqual([]);
    });

    it('shows every footnote and citation preview inside the window', async () => {
      const marks = page.locator('.footnote sup a, .cite-item > a');
      const count = await marks.count();
      expect(count).toBeGreaterThan(5);
      const outside: string[] = [];
      for (let index = 0; index < count; index++) {
        const mark = marks.nth(index);
        await mark.scrollIntoViewIfNeeded();
        await mark.focus();
        const box = await mark.evaluate((link) => {
          const pop = link.closest('.footnote, .cite-item')?.querySelector('.footnote-pop');
          if (!pop) return null;
          const rect = pop.getBoundingClientRect();
          return { left: rect.left, right: rect.right, top: rect.top, bottom: rect.bottom, shown: getComputedStyle(pop).display !== 'none', text: link.textContent };
        });
        if (!box || !box.shown) outside.push(`preview of ${box?.text ?? index} not shown`);
        else if (box.left < 0 || box.right > width || box.top < 0 || box.bottom > 800) outside.push(`preview of ${box.text} at ${Math.round(box.left)}–${Math.round(box.right)} × ${Math.round(box.top)}–${Math.round(box.bottom)}`);
      }
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      expect(outside).toEqual([]);
    });

    it.runIf(width >= 1280)('shows every table whole in its box, no column hidden behind a scroll', async () => {
      const cut = await page.evaluate(() =>
        [...document.querySelectorAll('table')]
          .filter((table) => table.closest('[hidden]') === null)
          .map((table) => ({ name: table.querySelector('caption')?.textContent ?? table.className, table: table.scrollWidth, box: (table.parentElement as HTMLElement).clientWidth }))
          .filter((entry) => entry.table > entry.box + 1),
      );
      expect(cut).toEqual([]);
    });

    it('makes each chart one image labelled by its text alternative, with Vega’s nodes hidden from assistive technology', async () => {
      const problems = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('figure[data-figure] .chart')].flatMap((chart) => {
          const label = document.getElementById(chart.getAttribute('aria-labelledby') ?? '');
          const svg = chart.querySelector('svg');
          const issues = [];
          if (chart.getAttribute('role') !== 'img') issues.push('no role=img');
          if (!label || (label.textContent ?? '').trim().length < 20) issues.push('no text alternative');
          if (svg && svg.getAttribute('aria-hidden') !== 'true') issues.push('svg not aria-hidden');
          if (chart.querySelector('input, select, button')) issues.push('a control inside the image');
          return issues.map((issue) => `${chart.closest('figure')?.id}: ${issue}`);
        }),
      );
      expect(problems).toEqual([]);
    });
  });
});
