// The results site: static pages built from the artifacts in results/
// (or RESULTS_DIR). SITE_BASE publishes it under a sub-path, e.g. /laplace/.
import { defineConfig } from 'astro/config';

export default defineConfig({
  srcDir: './site',
  publicDir: './site/public',
  outDir: process.env.SITE_OUT ?? './dist',
  base: process.env.SITE_BASE ?? '/',
  output: 'static',
  trailingSlash: 'ignore',
});
