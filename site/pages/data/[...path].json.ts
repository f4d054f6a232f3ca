/**
 * The artifacts the figures are drawn from, published byte for byte under
 * data/ at their path under results/ (so their sha256 still matches the
 * manifest): each figure links the files it reads. Only those files, not the
 * whole results folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIRoute, GetStaticPaths } from 'astro';
import { figureInputs } from '../../lib/figures.ts';
import { loadResults } from '../../lib/results.ts';

export const getStaticPaths = (() => {
  const results = loadResults();
  return figureInputs(results).map((path) => ({ params: { path: path.replace(/\.json$/, '') }, props: { file: join(results.dir, path) } }));
}) satisfies GetStaticPaths;

export const GET: APIRoute = ({ props }) => new Response(readFileSync(props.file as string), { headers: { 'content-type': 'application/json' } });
