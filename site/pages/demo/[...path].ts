/**
 * The playground's files under demo/, per network: its posterior file and
 * demo.json of results/demo/ byte for byte (so their sha256 is the manifest's, which the page checks),
 * and the entropy histograms site/lib/demo.ts derives from the method artifacts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIRoute, GetStaticPaths } from 'astro';
import { demoSetup } from '../../lib/demo.ts';
import { loadResults } from '../../lib/results.ts';

export const getStaticPaths = (() => {
  const results = loadResults();
  const setup = demoSetup(results);
  if (!setup) return [];
  return setup.networks.flatMap((network) =>
    network.files.map((file) => ({
      params: { path: file.path.slice('demo/'.length) },
      props: file.role === 'entropy' ? { text: network.entropyText } : { file: join(results.dir, file.path) },
    })),
  );
}) satisfies GetStaticPaths;

export const GET: APIRoute = ({ props }) => {
  const body = typeof props.text === 'string' ? props.text : readFileSync(props.file as string);
  return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
};
