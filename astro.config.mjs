// The results site: static pages built from the artifacts in results/
// (or RESULTS_DIR). SITE_BASE publishes it under a sub-path, e.g. /laplace/.
// SITE_REPOSITORY and SITE_COMMIT override the source and commit the page
// links (package.json's repository and `git rev-parse HEAD`; site/lib/publication.ts).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'astro/config';
import { formatWeight, measureSite, missedGoals, pageBudgetBytes } from './site/lib/page-weight.ts';

const base = process.env.SITE_BASE ?? '/';

/** Reports each page's weight after the build, warns where a page misses its goals and fails the build when a page is over budget. */
const pageWeight = {
  name: 'page-weight',
  hooks: {
    'astro:build:done': ({ dir, logger }) => {
      const distDir = fileURLToPath(dir);
      const weights = measureSite(distDir, base.endsWith('/') ? base : `${base}/`);
      writeFileSync(`${distDir}/page-weight.json`, `${JSON.stringify(weights, null, 2)}\n`);
      for (const weight of weights) logger.info(formatWeight(weight));
      for (const sentence of weights.flatMap(missedGoals)) logger.warn(sentence);
      const over = weights.filter((weight) => weight.total.gzip > pageBudgetBytes);
      if (over.length > 0) throw new Error(`${over[0].page} weighs ${(over[0].total.gzip / 1048576).toFixed(2)} MB transferred, over the 1.5 MB page budget; make its charts lighter.`);
    },
  },
};

export default defineConfig({
  srcDir: './site',
  publicDir: './site/public',
  outDir: process.env.SITE_OUT ?? './dist',
  base,
  output: 'static',
  trailingSlash: 'ignore',
  integrations: [pageWeight],
  // The Vega runtime is one ~530 kB chunk, imported only when the first chart is drawn; page-weight.json accounts for it.
  vite: { build: { chunkSizeWarningLimit: 600 } },
});
