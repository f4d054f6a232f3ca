/** Waiting for a built page to settle in Chromium before a test measures it. */
import type { Page } from 'playwright-core';

/**
 * Bring the page to the state a reader ends up in, deterministically: every
 * chart brought into view in reading order and waited for alone (everything
 * above it is drawn by then, so it stays where it was scrolled to), then the
 * playground, which starts when its section nears the window and runs
 * TensorFlow.js on the same thread, waited for until ready (or failed), then
 * the layout until it holds still. A scroll-through raced the page: charts
 * were drawn in whatever order the observer caught them while the 390 px page
 * grew by half as phone charts replaced static ones, the playground could
 * still be loading while the checks measured, and a draw that failed once on
 * a busy machine was never tried again. Waits poll on a timer, not on
 * animation frames, which a busy renderer delays. Bounded to 5 minutes in
 * all; returns what never settled, with its state.
 */
export async function settle(page: Page): Promise<string[]> {
  const deadline = Date.now() + 300_000;
  const left = () => Math.max(1, deadline - Date.now());
  for (const chart of await page.locator('.chart[data-spec]').elementHandles()) {
    await chart.evaluate((element) => (element as Element).scrollIntoView({ block: 'center' }));
    // 'failed' may still turn: the page tries a failed chart again when it next nears the window (site/scripts/charts.ts).
    await page.waitForFunction((element) => (element as HTMLElement).dataset.state === 'interactive' || ((element as HTMLElement).dataset.state === 'failed' && Number((element as HTMLElement).dataset.tries) >= 3), chart, { polling: 100, timeout: left() }).catch(() => undefined);
  }
  const playground = page.locator('[data-playground]');
  if ((await playground.count()) > 0) {
    await playground.evaluate((element) => element.scrollIntoView({ block: 'center' }));
    await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector<HTMLElement>('[data-playground]')?.dataset.state ?? ''), undefined, { polling: 100, timeout: left() }).catch(() => undefined);
  }
  // Fonts in, and the page's height the same over two consecutive frames.
  await page.evaluate(async () => {
    await document.fonts.ready;
    // No named function inside: some TypeScript runners wrap those in a helper the page does not have.
    for (let last = -1, rounds = 0; rounds < 50 && document.body.scrollHeight !== last; rounds++) {
      last = document.body.scrollHeight;
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    }
  });
  return page.evaluate(() => [
    ...[...document.querySelectorAll<HTMLElement>('.chart[data-spec]')].filter((chart) => chart.dataset.state !== 'interactive').map((chart) => `${chart.closest('figure')?.id ?? '?'}: ${chart.dataset.state}`),
    ...[...document.querySelectorAll<HTMLElement>('[data-playground]')].filter((root) => !['ready', 'error'].includes(root.dataset.state ?? '')).map((root) => `playground: ${root.dataset.state}`),
  ]);
}
