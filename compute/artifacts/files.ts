/** The one directory walk: results, compute sources and temp files are all found by it. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Files under `dir` whose name passes `keep`, as paths relative to `dir` with
 * '/' separators, depth first with each folder's entries sorted (so the order
 * is the same on every machine). A missing folder has no files.
 */
export function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (keep(entry)) found.push(relative(dir, path).split(sep).join('/'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return found;
}
