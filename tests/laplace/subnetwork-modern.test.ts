/**
 * Subnetwork Laplace on a residual graph with BatchNormalization, a depthwise convolution, a 1×1
 * projection, Add and gelu (modern-helpers.ts), on the cpu backend (wasm lacks the depthwise
 * convolution's input gradient): its k × k Fisher is the dense GGN built from tf.variableGrads
 * through tfjs-layers' own model.apply, rows and columns picked, and its GLM functional covariance
 * is J_S Σ_S J_Sᵀ with J_S the logits' gradients there.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { disposeJacobianBatch, fitCurvature, FunctionalCovariance, jacobianBatch, Network, Posterior, tensorData } from '../../compute/laplace/index.ts';
import { addOuter, concat, example, invert, probabilities, randomInputs, randomLabels, relativeError, scaleAddIdentity, zeros, type Dense } from './helpers.ts';
import { blockGradients, buildResidual, logitAt, logSoftmaxAt } from './modern-helpers.ts';

beforeAll(async () => {
  await startBackend('cpu');
});

/** Rows and columns `indices` of a P × P matrix. */
function restricted(matrix: Dense, indices: ArrayLike<number>): Dense {
  const k = indices.length;
  const out = zeros(k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out.data[a * k + b] = matrix.data[indices[a] * matrix.n + indices[b]];
  return out;
}

describe('subnetwork structure on a residual graph (BatchNormalization, depthwise convolution, Add, gelu)', () => {
  it('its Fisher and functional covariance are the dense ones restricted, from tf.variableGrads through model.apply', async () => {
    const model = buildResidual(938);
    const count = 5;
    const x = randomInputs([count, 6, 6, 2], 939);
    const labels = randomLabels(count, 3, 940);
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const parameters = network.totalParameters;
    const chosen = Array.from({ length: Math.ceil(parameters / 9) }, (_, i) => i * 9);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds: ['subnetwork'], fisher: 'exact', batchSize: 2, subnetworkIndices: chosen });
    const p = probabilities(model, x);
    const ggn = zeros(parameters);
    const jacobians: number[][][] = [];
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      for (let c = 0; c < 3; c++) {
        const g = concat(blockGradients(model, logSoftmaxAt(model, xi, c)));
        addOuter(ggn, g, g, p[i * 3 + c] / count);
      }
      jacobians.push(Array.from({ length: 3 }, (_, c) => Array.from(concat(blockGradients(model, logitAt(model, xi, c)))).filter((_, index) => chosen.includes(index))));
      xi.dispose();
    }
    expect(relativeError(fit.subnetwork!.fisher.data, restricted(ggn, chosen).data)).toBeLessThanOrEqual(1e-4);
    const posterior = new Posterior(network, weights, fit, { structure: 'subnetwork', n: 30, tau: 2, kfacDamping: 'exact' });
    const sigma = invert(scaleAddIdentity(restricted(ggn, chosen), 30, 2));
    const k = chosen.length;
    const direct = jacobians.flatMap((rows) =>
      rows.flatMap((left) =>
        rows.map((right) => {
          let sum = 0;
          for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) sum += left[a] * sigma.data[a * k + b] * right[b];
          return sum;
        }),
      ),
    );
    const functional = new FunctionalCovariance(posterior);
    const batch = jacobianBatch(network, weights, x, posterior.perturbedLayers);
    const covariance = functional.covariance(batch).arraySync().flat(2);
    disposeJacobianBatch(batch);
    functional.dispose();
    expect(relativeError(covariance, direct)).toBeLessThanOrEqual(1e-4);
    posterior.dispose();
    network.dispose();
    x.dispose();
  });
});
