/** The likelihoods by the model's output and the kind asked for; every mismatch refused in one sentence. */
import { UnsupportedModelError } from '../network.ts';
import type { Likelihood, LikelihoodKind, OutputDescription } from './likelihood.ts';
import { softmaxLikelihood } from './softmax.ts';

export function likelihoodFor(output: OutputDescription, kind: LikelihoodKind = 'classification'): Likelihood {
  const { units, activation, layerName } = output;
  if (kind === 'classification') {
    if (units >= 2 && activation !== 'sigmoid') return softmaxLikelihood(units);
  }
  throw new UnsupportedModelError(`The output layer ${layerName} (${units} unit${units === 1 ? '' : 's'}, ${activation}) does not fit likelihood "${kind}".`);
}

export { likelihoodKinds, type Likelihood, type LikelihoodKind, type OutputDescription, type Targets } from './likelihood.ts';
export { backpropVectors, crossEntropySum, softmaxOutputHessian } from './softmax.ts';
