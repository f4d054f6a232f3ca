/** Adversarial attacks on the study's networks: FGSM against the deterministic network or the Monte Carlo predictive. */
export {
  AttackError,
  checkEpsilon,
  defaultEpsilons,
  describeSource,
  fgsmSigns,
  perturbSet,
  type FgsmOptions,
  type GradientSource,
  type PerturbOptions,
} from './fgsm.ts';
