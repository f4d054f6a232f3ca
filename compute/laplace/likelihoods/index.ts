/** The likelihoods by the model's output and the kind asked for; every mismatch refused in one sentence. */
import { PosteriorError } from '../errors.ts';
import { UnsupportedModelError } from '../network.ts';
import { gaussianLikelihood } from './gaussian.ts';
import { likelihoodKinds, type Likelihood, type LikelihoodKind, type OutputDescription } from './likelihood.ts';
import { sigmoidLikelihood } from './sigmoid.ts';
import { softmaxLikelihood } from './softmax.ts';

/**
 * The likelihood of a network whose output is `output`: classification is a softmax over two or more
 * units (or their logits) or one sigmoid unit; regression is a Gaussian on linear outputs.
 */
export function likelihoodFor(output: OutputDescription, kind: LikelihoodKind = 'classification'): Likelihood {
  if (!(likelihoodKinds as readonly unknown[]).includes(kind)) throw new PosteriorError(`Unknown likelihood ${JSON.stringify(kind)}; choose one of ${likelihoodKinds.join(', ')}.`);
  const { units, activation, layerName } = output;
  const layer = `The output layer ${layerName}`;
  if (kind === 'regression') {
    if (activation !== 'linear') throw new UnsupportedModelError(`${layer} ends in a ${activation}, a classifier's output; regression needs a linear output (or pass likelihood 'classification').`);
    return gaussianLikelihood(units);
  }
  if (activation === 'sigmoid') {
    if (units !== 1) throw new UnsupportedModelError(`${layer} applies a sigmoid to ${units} units, which is no distribution over classes; use a softmax over the classes, or one sigmoid unit for two classes.`);
    return sigmoidLikelihood();
  }
  if (units < 2) {
    throw new UnsupportedModelError(
      activation === 'softmax'
        ? `${layer} is a softmax over one unit, which is always 1; use one sigmoid unit for two classes.`
        : `${layer} has one linear unit, which is no classifier: pass likelihood 'regression' for a regression, or end in a sigmoid for two classes.`,
    );
  }
  return softmaxLikelihood(units);
}

export { likelihoodKinds, type Likelihood, type LikelihoodKind, type OutputDescription, type Targets } from './likelihood.ts';
export { backpropVectors, crossEntropySum, softmaxOutputHessian } from './softmax.ts';
