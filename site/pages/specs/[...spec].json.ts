/**
 * Every figure's every choice as a compiled Vega spec file: what the section
 * pickers load, and what makes a chart interactive once the Vega runtime
 * runs. Compiling here keeps the Vega-Lite compiler out of the page. The
 * spec's usermeta names the artifacts it is drawn from and the command that
 * regenerates them, so a swapped figure's links follow it. Beside each spec,
 * its phone variant (`….phone.json`, site/lib/phone.ts): what a column too
 * narrow for the desktop chart loads instead of scaling its text down.
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { buildFigure, figures, picksOf, reproduceCommand, specPath } from '../../lib/figures.ts';
import { phoneVega } from '../../lib/phone.ts';
import { toVega } from '../../lib/render.ts';
import { loadResults } from '../../lib/results.ts';

export const getStaticPaths = (async () => {
  const results = loadResults();
  const paths = [];
  for (const figure of figures) {
    for (const pick of picksOf(figure, results)) {
      const { spec, inputs } = buildFigure(figure, results, pick);
      if (!spec) continue;
      const usermeta = { inputs, command: reproduceCommand(inputs) };
      const path = specPath(figure, pick).replace(/^specs\//, '').replace(/\.json$/, '');
      paths.push({ params: { spec: path }, props: { body: JSON.stringify({ ...toVega(spec), usermeta }) } });
      const phone = await phoneVega(spec);
      paths.push({ params: { spec: `${path}.phone` }, props: { body: JSON.stringify({ ...phone.vega, usermeta: { ...usermeta, phone: true } }) } });
    }
  }
  return paths;
}) satisfies GetStaticPaths;

export const GET: APIRoute = ({ props }) => new Response(props.body as string, { headers: { 'content-type': 'application/json' } });
