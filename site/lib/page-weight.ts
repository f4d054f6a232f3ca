/**
 * Page weight of a built page: its HTML, the scripts and styles it loads
 * (following module imports), and the chart specs its figures fetch. Sizes
 * are raw and gzip-compressed, the latter being what a static host sends.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface PageWeight {
  page: string;
  html: { raw: number; gzip: number };
  scripts: { raw: number; gzip: number; files: number };
  styles: { raw: number; gzip: number; files: number };
  data: { raw: number; gzip: number; files: number };
  total: { raw: number; gzip: number };
}

/** The article page must stay under this many bytes transferred (gzip). */
export const pageBudgetBytes = 1.5 * 1024 * 1024;

const sizes = (bytes: Buffer) => ({ raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });

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
  const scripts = new Set<string>();
  const queue = attribute(/<script[^>]*\ssrc="([^"]+)"/g).map((url) => toFile(distDir, base, url, htmlPath)).filter((path): path is string => path !== null);
  // Follow static and dynamic imports of the bundled scripts.
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (scripts.has(file)) continue;
    scripts.add(file);
    const code = readFileSync(file, 'utf8');
    for (const match of code.matchAll(/(?:import|from)\s*\(?\s*["']([^"']+\.js)["']/g)) {
      const next = toFile(distDir, base, match[1], file);
      if (next) queue.push(next);
    }
  }
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
  const page = { html: sizes(html), scripts: sum(scripts), styles: sum(styles), data: sum(data) };
  return {
    page: relative(distDir, htmlPath),
    ...page,
    total: {
      raw: page.html.raw + page.scripts.raw + page.styles.raw + page.data.raw,
      gzip: page.html.gzip + page.scripts.gzip + page.styles.gzip + page.data.gzip,
    },
  };
}

export function measureSite(distDir: string, base = '/'): PageWeight[] {
  return htmlFiles(distDir).sort().map((path) => measurePage(distDir, path, base));
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} kB`;

export function formatWeight(weight: PageWeight): string {
  return `${weight.page}: ${kb(weight.total.gzip)} transferred (${kb(weight.total.raw)} raw) = HTML ${kb(weight.html.gzip)} + JavaScript ${kb(weight.scripts.gzip)} in ${weight.scripts.files} files + CSS ${kb(weight.styles.gzip)} + chart data ${kb(weight.data.gzip)} in ${weight.data.files} files`;
}
