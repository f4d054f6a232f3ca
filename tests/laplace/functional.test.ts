/**
 * The functional covariance Σ_f(x) = J Σ Jᵀ against an explicit computation:
 * J written out one logit at a time by tf's gradients of tfjs-layers' own
 * forward pass (helpers.outputGradients), Σ the dense posterior covariance of
 * each layer built by inversion from the fitted curvature (helpers.denseLayerCovariance),
 * and the product taken in float64. On a tiny MLP and two tiny CNNs ('same' and
 * 'valid' convolutions, max and average pooling, a convolution and a dense layer
 * without bias), for every structure and both KFAC dampings.
 *
 * Then the GLM predictive built on it:
 *  - the probit link on a hand-worked two-class case;
 *  - the last-layer probit predictive (its own code) equals the GLM probit on a last-layer posterior;
 *  - the mc link with many draws equals the finite-difference linearised predictive with many
 *    weight samples, within 4 standard errors of the two Monte Carlo estimates.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import {
  disposeJacobianBatch,
  fitCurvature,
  FunctionalCovariance,
  jacobianBatch,
  Network,
  Posterior,
  predict,
  predictGlmTogether,
  tensorData,
  type CurvatureFit,
  type KfacDamping,
  type LayerMatrix,
  type Structure,
} from '../../compute/laplace/index.ts';
import { probitLink } from '../../compute/laplace/links.ts';
import { buildCnnA, buildCnnC, buildMlp, denseLayerCovariance, example, outputGradients, randomInputs, randomLabels, relativeError, type Model } from './helpers.ts';

const structures: [Structure, KfacDamping][] = [
  ['diag', 'exact'],
  ['kfac', 'exact'],
  ['kfac', 'per-factor'],
  ['efb', 'exact'],
  ['last-layer', 'exact'],
];

interface Case {
  name: string;
  model: Model;
  x: tf.Tensor;
  network: Network;
  weights: LayerMatrix[];
  fit: CurvatureFit;
}

const cases: Case[] = [];

beforeAll(async () => {
  await startBackend('wasm');
  const made: [string, Model, number[]][] = [
    ['MLP (dense tanh → dense)', buildMlp(3, 4, 3, 211, 'tanh', 'linear'), [3]],
    ['CNN A (conv same/2 relu, conv valid tanh, max-pool, dense)', buildCnnA(212), [8, 8, 2]],
    ['CNN C (conv same without bias, avg-pool, dense sigmoid without bias, dense)', buildCnnC(213), [6, 5, 2]],
  ];
  for (const [index, [name, model, shape]] of made.entries()) {
    const x = randomInputs([5, ...shape], 220 + index);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, randomLabels(5, network.classes, 230 + index)), { kinds: ['diag', 'kfac', 'efb', 'last-layer'], fisher: 'exact' });
    cases.push({ name, model, x, network, weights, fit });
  }
});

afterAll(() => {
  for (const c of cases) {
    tf.dispose([c.x, ...c.weights]);
    c.model.dispose();
  }
});

/** J Σ Jᵀ per example from the explicit Jacobian and the dense covariance, float64, [count][C·C]. */
function explicitCovariances(c: Case, posterior: Posterior): Float64Array[] {
  const classes = c.network.classes;
  const blocks = posterior.perturbedLayers.map((layer) => ({ layer, sigma: denseLayerCovariance(c.fit, posterior.structure, posterior.spec.kfacDamping, layer, posterior.n, posterior.tauOf(layer)) }));
  return Array.from({ length: c.x.shape[0] }, (_, i) => {
    const xi = example(c.x, i);
    const jacobian = Array.from({ length: classes }, (_, k) => outputGradients(c.model, xi, k)); // [class][layer] vec(W̄)
    xi.dispose();
    const out = new Float64Array(classes * classes);
    for (const { layer, sigma } of blocks) {
      const d = sigma.n;
      const projected = jacobian.map((rows) => {
        const j = rows[layer];
        return Float64Array.from({ length: d }, (_, b) => {
          let sum = 0;
          for (let a = 0; a < d; a++) sum += j[a] * sigma.data[a * d + b];
          return sum;
        });
      });
      for (let p = 0; p < classes; p++)
        for (let q = 0; q < classes; q++) {
          let sum = 0;
          for (let b = 0; b < d; b++) sum += projected[p][b] * jacobian[q][layer][b];
          out[p * classes + q] += sum;
        }
    }
    return out;
  });
}

describe('functional covariance J Σ Jᵀ', () => {
  for (const [structure, damping] of structures) {
    it(`${structure}${structure === 'kfac' ? ` (${damping} damping)` : ''}: equals the explicit Jacobian times the dense covariance on every network`, () => {
      for (const c of cases) {
        // Two hyperparameter settings: one scalar τ, one per-layer τ (the marginal likelihood's).
        const layerTau = c.network.layers.map((_, layer) => 0.7 + 0.9 * layer);
        const settings = [
          { posterior: new Posterior(c.network, c.weights, c.fit, { structure, n: 30, tau: 1.5, kfacDamping: damping }), route: 'rotate-jacobian' as const },
          { posterior: new Posterior(c.network, c.weights, c.fit, { structure, n: 30, tau: 1, layerTau, kfacDamping: damping }), route: 'rotate-factors' as const },
        ];
        // Both ways of rotating a convolution's Jacobians, one per setting.
        for (const { posterior, route } of settings) {
          const expected = explicitCovariances(c, posterior);
          const functional = new FunctionalCovariance(posterior, { convolutionRoute: route });
          const batch = jacobianBatch(c.network, c.weights, c.x, functional.layers.map((basis) => basis.layer));
          const full = functional.covariance(batch);
          const diagonal = functional.variancesOf(batch);
          const [fullValues, diagonalValues] = [full.dataSync(), diagonal.dataSync()];
          tf.dispose([full, diagonal]);
          disposeJacobianBatch(batch);
          functional.dispose();
          const classes = c.network.classes;
          const flat = Float64Array.from(expected.flatMap((m) => Array.from(m)));
          const expectedDiagonal = Float64Array.from(expected.flatMap((m) => Array.from({ length: classes }, (_, k) => m[k * classes + k])));
          const error = relativeError(fullValues, flat);
          console.log(`${c.name}, ${structure}/${damping}${posterior.spec.layerTau ? ', per-layer τ' : ''}: relative error of Σ_f ${error.toExponential(1)}`);
          expect(Math.max(...expectedDiagonal)).toBeGreaterThan(1e-3); // the posterior moves the logits
          expect(error).toBeLessThan(1e-4);
          expect(relativeError(diagonalValues, expectedDiagonal)).toBeLessThan(1e-4);
        }
      }
    });
  }

  it('computes one batch of Jacobian statistics that serves every structure', () => {
    const c = cases[1];
    const covariances = structures.map(([structure, damping]) => new FunctionalCovariance(new Posterior(c.network, c.weights, c.fit, { structure, n: 30, tau: 1.5, kfacDamping: damping })));
    const layers = [...new Set(covariances.flatMap((f) => f.layers.map((basis) => basis.layer)))].sort();
    const shared = jacobianBatch(c.network, c.weights, c.x, layers);
    for (const functional of covariances) {
      const own = jacobianBatch(c.network, c.weights, c.x, functional.layers.map((basis) => basis.layer));
      const [a, b] = [functional.variancesOf(shared), functional.variancesOf(own)];
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      tf.dispose([a, b]);
      disposeJacobianBatch(own);
      functional.dispose();
    }
    disposeJacobianBatch(shared);
  });
});

describe('GLM predictive', () => {
  it('of several posteriors on one pass equals each one predicted alone', async () => {
    for (const c of cases) {
      const posteriors = structures.map(([structure, damping]) => new Posterior(c.network, c.weights, c.fit, { structure, n: 30, tau: 1.5, kfacDamping: damping }));
      const data = tensorData(c.x, new Int32Array(c.x.shape[0]));
      for (const link of ['probit', 'mc'] as const) {
        const together = await predictGlmTogether(posteriors, data, { link, samples: 50, seed: 3, batchSize: 2 });
        for (const [index, posterior] of posteriors.entries()) {
          const alone = await predict(posterior, data, { predictive: 'glm', link, samples: 50, seed: 3, batchSize: 2 });
          // Bit for bit on wasm; the native backend may round a product of another batch shape differently
          // (last-layer alone needs no backward pass, so its logits come from an unreplicated forward pass).
          expect(Math.max(...Array.from(alone, (p, i) => Math.abs(p - together[index][i])))).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('probit link: a hand-worked two-class case', () => {
    // μ = (1, −1), σ² = (8/π, 0): scaled logits (1/√2, −1), p_0 = 1/(1 + e^(−1 − 1/√2)).
    const mean = tf.tensor2d([[1, -1]]);
    const variances = tf.tensor2d([[8 / Math.PI, 0]]);
    const p = probitLink(mean, variances).dataSync();
    tf.dispose([mean, variances]);
    const p0 = 1 / (1 + Math.exp(-1 - 1 / Math.SQRT2));
    expect(p[0]).toBeCloseTo(p0, 6);
    expect(p[1]).toBeCloseTo(1 - p0, 6);
  });

  it('on a last-layer posterior equals the last-layer probit predictive', async () => {
    for (const c of [cases[0], cases[1]]) {
      const posterior = new Posterior(c.network, c.weights, c.fit, { structure: 'last-layer', n: 30, tau: 1.5, kfacDamping: 'exact' });
      const data = tensorData(c.x, new Int32Array(c.x.shape[0]));
      const [glm, probit] = [await predict(posterior, data, { predictive: 'glm', link: 'probit' }), await predict(posterior, data, { predictive: 'probit' })];
      const largest = Math.max(...Array.from(glm, (p, i) => Math.abs(p - probit[i])));
      expect(largest).toBeLessThan(1e-6);
    }
  });

  it('mc link with many draws equals the linearised predictive with many weight samples (4 standard errors)', async () => {
    const c = cases[1];
    const data = tensorData(c.x, new Int32Array(c.x.shape[0]));
    for (const [structure, damping] of structures) {
      const posterior = new Posterior(c.network, c.weights, c.fit, { structure, n: 3, tau: 0.5, kfacDamping: damping });
      const draws = 4000;
      const samples = 2000;
      const mc = await predict(posterior, data, { predictive: 'glm', link: 'mc', samples: draws, seed: 5 });
      const linearised = await predict(posterior, data, { predictive: 'linearised', samples, seed: 6, batchSize: 5 });
      const probit = await predict(posterior, data, { predictive: 'glm', link: 'probit' });
      // Each probability is a mean of T terms in [0, 1]: its standard error is at most √(p(1 − p)/T).
      let worst = 0;
      let spread = 0;
      mc.forEach((p, i) => {
        const q = linearised[i];
        const se = Math.sqrt(Math.max(p * (1 - p), 1e-12) / draws + Math.max(q * (1 - q), 1e-12) / samples);
        worst = Math.max(worst, Math.abs(p - q) / se);
        spread = Math.max(spread, Math.abs(p - probit[i]));
      });
      console.log(`${structure}/${damping}: mc link vs linearised, max |Δp|/SE ${worst.toFixed(2)}; probit differs from mc by up to ${spread.toFixed(3)}`);
      expect(worst).toBeLessThan(4);
      expect(spread).toBeGreaterThan(1e-3); // wide enough that the links differ visibly
    }
  });
});
