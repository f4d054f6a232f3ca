/**
 * Every figure's every choice as a compiled Vega spec file: what the section
 * pickers load, and what makes a chart interactive once the Vega runtime
 * runs. Compiling here keeps the Vega-Lite compiler out of the page. The
 * spec's usermeta names the artifacts it is drawn from and the command that
 * regenerates them, so a swapped figure's links follow it.
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { buildFigure, figures, picksOf, reproduceCommand, specPath } from '../../lib/figures.ts';
import { toVega } from '../../lib/render.ts';
import { loadResults } from '../../lib/results.ts';

export const getStaticPaths = (() => {
  const results = loadResults();
  return figures.flatMap((figure) =>
    picksOf(figure, results).flatMap((pick) => {
      const { spec, inputs } = buildFigure(figure, results, pick);
      if (!spec) return [];
      const vega = { ...toVega(spec), usermeta: { inputs, command: reproduceCommand(inputs) } };
      const path = specPath(figure, pick).replace(/^specs\//, '').replace(/\.json$/, '');
      return [{ params: { spec: path }, props: { body: JSON.stringify(vega) } }];
    }),
  );
}) satisfies GetStaticPaths;

export const GET: APIRoute = ({ props }) => new Response(props.body as string, { headers: { 'content-type': 'application/json' } });
