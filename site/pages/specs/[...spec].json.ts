/**
 * Every figure's every choice as a Vega-Lite spec file: what the section
 * pickers load, and what makes a chart interactive once vega-embed runs.
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { figures, picksOf, specFor, specPath } from '../../lib/figures.ts';
import { loadResults } from '../../lib/results.ts';

export const getStaticPaths = (() => {
  const results = loadResults();
  return figures.flatMap((figure) =>
    picksOf(figure, results).flatMap((pick) => {
      const spec = specFor(figure, results, pick);
      if (!spec) return [];
      const path = specPath(figure, pick).replace(/^specs\//, '').replace(/\.json$/, '');
      return [{ params: { spec: path }, props: { body: JSON.stringify(spec) } }];
    }),
  );
}) satisfies GetStaticPaths;

export const GET: APIRoute = ({ props }) => new Response(props.body as string, { headers: { 'content-type': 'application/json' } });
