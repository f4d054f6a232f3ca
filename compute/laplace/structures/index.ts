/** The posterior structures by name: each a file of its own implementing PosteriorStructure (structure.ts). */
import type { CurvatureKind } from '../curvature.ts';
import { diagStructure } from './diag.ts';
import { efbStructure } from './efb.ts';
import { fullStructure } from './full.ts';
import { infStructure } from './inf.ts';
import { lowrankStructure } from './lowrank.ts';
import { kfacStructure } from './kfac.ts';
import { lastLayerStructure } from './last-layer.ts';
import type { PosteriorStructure } from './structure.ts';
import { subnetworkStructure } from './subnetwork.ts';

const structures: Record<CurvatureKind, PosteriorStructure> = { diag: diagStructure, kfac: kfacStructure, efb: efbStructure, 'last-layer': lastLayerStructure, full: fullStructure, lowrank: lowrankStructure, inf: infStructure, subnetwork: subnetworkStructure };

export function structureOf(kind: CurvatureKind): PosteriorStructure {
  return structures[kind];
}

export { kfacEigen } from './kfac.ts';
export { lastLayerEigen } from './last-layer.ts';
export { checkFullSize, fullEigen, fullParameterLimit } from './full.ts';
export { lowrankDefaults } from './lowrank.ts';
export { infDefaults, type InfFactors } from './inf.ts';
export { largestVarianceIndices, largestVarianceSubnetwork, subnetworkDefaults, type SubnetworkFit } from './subnetwork.ts';
export type { JointSampler, LayerBasis, LayerSampler, PosteriorStructure } from './structure.ts';
