/** Predictive entropy of class probabilities. */

import { checkProbabilities, type Probabilities } from '../laplace/metrics/validate.ts';

/** Entropy −Σ_c p_c ln p_c of each example in nats (0 ln 0 = 0); between 0 (one-hot) and ln(classes) (uniform). */
export function entropy(probs: Probabilities, classes: number): Float64Array {
  const count = checkProbabilities(probs, classes);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const p = probs[i * classes + c];
      if (p > 0) sum -= p * Math.log(p);
    }
    out[i] = sum;
  }
  return out;
}
