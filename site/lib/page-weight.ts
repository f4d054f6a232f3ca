/**
 * Page weight of a built page: its HTML, the scripts and styles it loads
 * (following module imports, static and dynamic), and the chart specs its
 * figures fetch. Sizes are raw and gzip-compressed, the latter being what a
 * static host sends. Two totals matter to a reader:
 * - first load: the HTML, its styles and every script, the lazily imported
 *   chart runtime included, since any figure in view (a tall window, a link
 *   to a figure) brings it in at once;
 * - all figures: the first load plus every figure's spec, what reading
 *   (scrolling) through the whole page costs.
 * The playground (site/components/Playground.astro) is counted apart, in
 * `demo`: its entry script, everything that script imports that the article
 * does not, and its files under demo/. It loads only when its section comes
 * into view, and its budget is its own.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

interface Size {
  raw: number;
  gzip: number;
}

export interface PageWeight {
  page: string;
  html: Size;
  /** Every script, those loaded with the page and those imported later. */
  scripts: Size & { files: number };
  /** The scripts the page loads itself, following their static imports. */
  entryScripts: Size & { files: number };
  /** The scripts only imported dynamically (the chart runtime), with their own static imports. */
  lazyScripts: Size & { files: number };
  styles: Size & { files: number };
  /** The chart specs the figures fetch for their default choice. */
  data: Size & { files: number };
  firstLoad: Size;
  allFigures: Size;
  /** The playground: its scripts, its files (posteriors, images, histograms), and the wasm binaries (one of three builds is fetched, as the browser supports); `files` lists them all, relative to dist/. */
  demo: { scripts: Size & { files: number }; data: Size & { files: number }; wasm: Size & { files: number }; total: Size; files: string[] };
  /** Everything above: the same as allFigures. */
  total: Size;
}

/** The article page must stay under this many bytes transferred (gzip); the build fails over it. */
export const pageBudgetBytes = 1.5 * 1024 * 1024;
/** Goals, in bytes transferred (gzip): the first load and a read through every figure. The build warns over them. */
export const firstLoadGoalBytes = 400 * 1024;
export const allFiguresGoalBytes = 1024 * 1024;

const sizes = (bytes: Buffer) => ({ raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? allFiles(join(dir, entry)) : [join(dir, entry)]));
}

function htmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return htmlFiles(path);
    return entry.endsWith('.html') ? [path] : [];
  });
}

/** Resolve a URL from the page to a file in dist/, or null when it is external. */
function toFile(distDir: string, base: string, url: string, from: string): string | null {
  if (/^[a-z]+:/i.test(url) || url.startsWith('//')) return null;
  const path = url.startsWith('/') ? join(distDir, url.slice(base.length - 1).replace(/^\/+/, '')) : resolve(dirname(from), url);
  return existsSync(path) ? path : null;
}

export function measurePage(distDir: string, htmlPath: string, base = '/'): PageWeight {
  const html = readFileSync(htmlPath);
  const text = html.toString('utf8');
  const attribute = (pattern: RegExp) => [...text.matchAll(pattern)].map((match) => match[1].replace(/&amp;/g, '&'));
  // Follow the bundled scripts' static imports from the page's own scripts, then from those only imported dynamically.
  const entryScripts = new Set<string>();
  const lazyScripts = new Set<string>();
  const dynamic: string[] = [];
  const follow = (start: string[], into: Set<string>, skip: Set<string>, dynamic: string[]) => {
    const queue = [...start];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (into.has(file) || skip.has(file)) continue;
      into.add(file);
      const code = readFileSync(file, 'utf8');
      for (const match of code.matchAll(/(?:\bimport\s*|\bfrom\s*)(\(?)\s*["']([^"']+\.js)["']/g)) {
        const next = toFile(distDir, base, match[2], file);
        if (next) (match[1] === '(' ? dynamic : queue).push(next);
      }
    }
  };
  const pageScripts = attribute(/<script[^>]*\ssrc="([^"]+)"/g).map((url) => toFile(distDir, base, url, htmlPath)).filter((path): path is string => path !== null);
  // Astro names a component's bundled script after the component.
  const isDemoEntry = (file: string) => /(^|[/\\])Playground\.astro_astro_type_script/.test(file);
  follow(pageScripts.filter((file) => !isDemoEntry(file)), entryScripts, new Set(), dynamic);
  while (dynamic.length > 0) follow(dynamic.splice(0), lazyScripts, entryScripts, dynamic);
  const scripts = new Set([...entryScripts, ...lazyScripts]);
  const demoScripts = new Set<string>();
  const demoDynamic: string[] = [];
  follow(pageScripts.filter(isDemoEntry), demoScripts, scripts, demoDynamic);
  while (demoDynamic.length > 0) follow(demoDynamic.splice(0), demoScripts, scripts, demoDynamic);
  const demoWasm = new Set(
    [...demoScripts].flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/["']([^"']+\.wasm)["']/g)].map((match) => toFile(distDir, base, match[1], file)).filter((path): path is string => path !== null)),
  );
  const demoDir = join(distDir, 'demo');
  const demoData = new Set(existsSync(demoDir) ? allFiles(demoDir) : []);
  const styles = new Set(attribute(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g).map((url) => toFile(distDir, base, url, htmlPath)).filter((path): path is string => path !== null));
  const data = new Set(attribute(/data-spec="([^"]+)"/g).map((url) => toFile(distDir, base, url, htmlPath)).filter((path): path is string => path !== null));
  const sum = (files: Set<string>) => {
    const total = { raw: 0, gzip: 0, files: files.size };
    for (const file of files) {
      const size = sizes(readFileSync(file));
      total.raw += size.raw;
      total.gzip += size.gzip;
    }
    return total;
  };
  const page = { html: sizes(html), scripts: sum(scripts), entryScripts: sum(entryScripts), lazyScripts: sum(lazyScripts), styles: sum(styles), data: sum(data) };
  const add = (...parts: Size[]) => ({ raw: parts.reduce((total, part) => total + part.raw, 0), gzip: parts.reduce((total, part) => total + part.gzip, 0) });
  const firstLoad = add(page.html, page.styles, page.scripts);
  const allFigures = add(firstLoad, page.data);
  const demoParts = { scripts: sum(demoScripts), data: sum(demoData), wasm: sum(demoWasm) };
  const demo = {
    ...demoParts,
    total: add(demoParts.scripts, demoParts.data),
    files: [...demoScripts, ...demoData, ...demoWasm].map((file) => relative(distDir, file).split('\\').join('/')).sort(),
  };
  return { page: relative(distDir, htmlPath), ...page, firstLoad, allFigures, total: allFigures, demo };
}

export function measureSite(distDir: string, base = '/'): PageWeight[] {
  return htmlFiles(distDir).sort().map((path) => measurePage(distDir, path, base));
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} kB`;

export function formatWeight(weight: PageWeight): string {
  return (
    `${weight.page}: ${kb(weight.total.gzip)} transferred (${kb(weight.total.raw)} raw) = HTML ${kb(weight.html.gzip)} + JavaScript ${kb(weight.scripts.gzip)} in ${weight.scripts.files} files` +
    ` (${kb(weight.entryScripts.gzip)} with the page, ${kb(weight.lazyScripts.gzip)} with the first chart) + CSS ${kb(weight.styles.gzip)} + chart data ${kb(weight.data.gzip)} in ${weight.data.files} files;` +
    ` first load ${kb(weight.firstLoad.gzip)} (${kb(weight.firstLoad.raw)} raw), all figures ${kb(weight.allFigures.gzip)} (${kb(weight.allFigures.raw)} raw)` +
    (weight.demo.files.length > 0
      ? `; playground apart: ${kb(weight.demo.total.gzip)} (${kb(weight.demo.total.raw)} raw) = JavaScript ${kb(weight.demo.scripts.gzip)} in ${weight.demo.scripts.files} files + files ${kb(weight.demo.data.gzip)} (${kb(weight.demo.data.raw)} raw) in ${weight.demo.data.files}, and ${kb(weight.demo.wasm.gzip)} of wasm in ${weight.demo.wasm.files} builds, of which the browser fetches one`
      : '')
  );
}

/** Sentences for the goals a page misses, for the build to warn with. */
export function missedGoals(weight: PageWeight): string[] {
  const missed: string[] = [];
  if (weight.firstLoad.gzip > firstLoadGoalBytes) missed.push(`${weight.page}: first load ${kb(weight.firstLoad.gzip)} transferred, over the ${kb(firstLoadGoalBytes)} goal.`);
  if (weight.allFigures.gzip > allFiguresGoalBytes) missed.push(`${weight.page}: all figures ${kb(weight.allFigures.gzip)} transferred, over the ${kb(allFiguresGoalBytes)} goal.`);
  return missed;
}
