/**
 * The online marginal-likelihood example (compute/laplace/examples/online-marglik.ts), run short:
 * every update's Adam steps on log τ through the differentiable evidence raise the float64
 * evidence of that update's refitted posterior, and the last update ends at the per-layer optimum
 * that optimizeMarginalLikelihood's golden-section search finds on the same posterior.
 */
import { beforeAll, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { optimizeMarginalLikelihood } from '../../compute/laplace/index.ts';
import { onlineMarginalLikelihood } from '../../compute/laplace/examples/online-marglik.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

it('online τ updates climb the evidence to its optimum', async () => {
  const { model, updates } = await onlineMarginalLikelihood({ examples: 90, epochs: 20, every: 10, steps: 80, seed: 3 });
  expect(updates.map((update) => update.epoch)).toEqual([10, 20]);
  for (const update of updates) {
    console.log(`epoch ${update.epoch}: τ ${update.tauBefore.map((t) => t.toPrecision(3))} → ${update.tauAfter.map((t) => t.toPrecision(3))}, evidence ${update.evidenceBefore.toFixed(4)} → ${update.evidenceAfter.toFixed(4)}`);
    expect(update.evidenceAfter).toBeGreaterThanOrEqual(update.evidenceBefore);
  }
  const last = updates[updates.length - 1];
  const optimum = optimizeMarginalLikelihood(last.laplace.posterior, { perLayer: true });
  const best = optimum.tau as number[];
  console.log(`last update τ ${last.tauAfter.map((t) => t.toPrecision(4))}, golden-section optimum ${best.map((t) => t.toPrecision(4))}; evidence ${last.evidenceAfter.toFixed(5)} against ${optimum.logEvidence.toFixed(5)}`);
  expect(last.evidenceAfter).toBeGreaterThanOrEqual(optimum.logEvidence - 1e-3);
  last.tauAfter.forEach((tau, layer) => expect(Math.abs(Math.log10(tau) - Math.log10(best[layer]))).toBeLessThanOrEqual(0.05));
  for (const update of updates) update.laplace.dispose();
  model.dispose();
});
