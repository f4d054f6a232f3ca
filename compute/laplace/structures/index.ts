/** The posterior structures by name: each a file of its own implementing PosteriorStructure (structure.ts). */
import type { CurvatureKind } from '../curvature.ts';
import { diagStructure } from './diag.ts';
import { efbStructure } from './efb.ts';
import { kfacStructure } from './kfac.ts';
import { lastLayerStructure } from './last-layer.ts';
import type { PosteriorStructure } from './structure.ts';

const structures: Record<CurvatureKind, PosteriorStructure> = { diag: diagStructure, kfac: kfacStructure, efb: efbStructure, 'last-layer': lastLayerStructure };

export function structureOf(kind: CurvatureKind): PosteriorStructure {
  return structures[kind];
}

export { kfacEigen } from './kfac.ts';
export { lastLayerEigen } from './last-layer.ts';
export type { LayerBasis, LayerSampler, PosteriorStructure } from './structure.ts';
