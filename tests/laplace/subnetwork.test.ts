/**
 * Subnetwork Laplace (Daxberger et al. 2021) against the full Laplace restricted to the chosen
 * indices, built here in float64 from tf's own per-example gradients of tfjs-layers models
 * (helpers.ts), on a tiny MLP (P = 43) and a tiny CNN (P = 110):
 *  - the fitted k × k Fisher is the dense GGN (exact Fisher, Σ_c p_c g_c g_cᵀ) with the chosen rows
 *    and columns picked, and the full structure's fit restricted the same way;
 *  - variances are the diagonal of (N·F_S + τ·I)⁻¹ at S and 0 elsewhere; the GLM functional
 *    covariance is J_S Σ_S J_Sᵀ with J the logits' Jacobian; samples leave every other weight exactly
 *    at the MAP and have covariance Σ_S at S (5,000 draws);
 *  - the evidence is −N·CE − τ/2‖W*_S‖² + k/2 log τ − ½ log det(N·F_S + τ·I) (laplace-torch's: the
 *    fixed weights carry no prior), and a posterior file reloads bit for bit;
 *  - the largest-variance heuristic picks the k largest marginal variances of a diag Laplace, sorted here;
 *  - more than the full structure's parameter limit is refused in one sentence.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import {
  disposeJacobianBatch,
  fitCurvature,
  fitLaplace,
  FunctionalCovariance,
  jacobianBatch,
  logMarginalLikelihood,
  Network,
  Posterior,
  PosteriorError,
  posteriorFromBytes,
  posteriorToBytes,
  predict,
  regressionData,
  searchHyperparameters,
  evaluatePoint,
  tensorData,
  TooManyParametersError,
} from '../../compute/laplace/index.ts';
import { largestVarianceSubnetwork } from '../../compute/laplace/structures/index.ts';
import { addOuter, buildCnnA, buildMlp, concat, example, exampleGradients, invert, logDetSpd, outputGradients, probabilities, randomInputs, randomLabels, relativeError, scaleAddIdentity, zeros, type Dense, type Model } from './helpers.ts';

beforeAll(async () => {
  await startBackend('wasm');
});

/** Rows and columns `indices` of a P × P matrix. */
function restricted(matrix: Dense, indices: ArrayLike<number>): Dense {
  const k = indices.length;
  const out = zeros(k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out.data[a * k + b] = matrix.data[indices[a] * matrix.n + indices[b]];
  return out;
}

const cases = [
  { name: 'MLP', model: () => buildMlp(4, 5, 3, 931, 'relu', 'linear'), shape: [4], chosen: [0, 3, 7, 12, 19, 24, 25, 30, 33, 41, 42] },
  { name: 'CNN A', model: () => buildCnnA(932), shape: [8, 8, 2], chosen: [1, 5, 17, 40, 55, 56, 70, 80, 81, 99, 105, 109] },
];

describe.each(cases)('subnetwork structure on $name', ({ model: build, shape, chosen }) => {
  const count = 9;
  const n = 40;
  const tau = 0.7;
  let model: Model;
  let x: tf.Tensor;
  let labels: Int32Array;
  let p: Float32Array;
  let classes: number;
  let ggn: Dense;

  beforeAll(() => {
    model = build();
    x = randomInputs([count, ...shape], 933);
    p = probabilities(model, x);
    classes = p.length / count;
    labels = randomLabels(count, classes, 934);
    // The exact Fisher (the GGN of the softmax) from per-example gradients of −log p_c, weighted p_c.
    const rows: Float64Array[][] = [];
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      rows.push(Array.from({ length: classes }, (_, c) => concat(exampleGradients(model, xi, c))));
      xi.dispose();
    }
    ggn = zeros(rows[0][0].length);
    rows.forEach((perClass, i) => perClass.forEach((g, c) => addOuter(ggn, g, g, p[i * classes + c] / count)));
    return () => {
      x.dispose();
      model.dispose();
    };
  });

  async function fitted(kinds: ('subnetwork' | 'full' | 'diag')[], options: { subnetworkIndices?: number[]; subnetworkCount?: number }) {
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const fit = await fitCurvature(network, weights, tensorData(x, labels), { kinds, fisher: 'exact', batchSize: 4, ...options });
    return { network, weights, fit };
  }

  it('its Fisher is the dense GGN and the full structure restricted to the chosen indices', async () => {
    const shuffled = [...chosen].reverse();
    const { weights, fit } = await fitted(['subnetwork', 'full'], { subnetworkIndices: shuffled });
    tf.dispose(weights);
    expect(Array.from(fit.subnetwork!.indices)).toEqual(chosen);
    expect(relativeError(fit.subnetwork!.fisher.data, restricted(ggn, chosen).data)).toBeLessThanOrEqual(1e-5);
    const full = { n: fit.full!.rows, data: fit.full!.data };
    expect(relativeError(fit.subnetwork!.fisher.data, restricted(full, chosen).data)).toBeLessThanOrEqual(1e-6);
  });

  it('variances, the functional covariance, samples and the evidence are those of the restricted dense Laplace', async () => {
    const { network, weights, fit } = await fitted(['subnetwork'], { subnetworkIndices: chosen });
    const posterior = new Posterior(network, weights, fit, { structure: 'subnetwork', n, tau, kfacDamping: 'exact' });
    const precision = scaleAddIdentity(restricted(ggn, chosen), n, tau);
    const sigma = invert(precision);
    const k = chosen.length;
    const parameters = ggn.n;

    const expectedVariances = new Float64Array(parameters);
    chosen.forEach((index, a) => (expectedVariances[index] = sigma.data[a * k + a]));
    expect(relativeError(concat(posterior.marginalVariances()), expectedVariances)).toBeLessThanOrEqual(1e-4);

    // J_S Σ_S J_Sᵀ per example, J_S the logits' Jacobian at the chosen parameters.
    const direct: number[] = [];
    for (let i = 0; i < count; i++) {
      const xi = example(x, i);
      const rows = Array.from({ length: classes }, (_, c) => {
        const full = concat(outputGradients(model, xi, c));
        return chosen.map((index) => full[index]);
      });
      xi.dispose();
      for (let c = 0; c < classes; c++)
        for (let d = 0; d < classes; d++) {
          let sum = 0;
          for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) sum += rows[c][a] * sigma.data[a * k + b] * rows[d][b];
          direct.push(sum);
        }
    }
    const functional = new FunctionalCovariance(posterior);
    const batch = jacobianBatch(network, weights, x, posterior.perturbedLayers);
    const covariance = functional.covariance(batch).arraySync().flat(2);
    disposeJacobianBatch(batch);
    functional.dispose();
    const error = relativeError(covariance, direct);
    console.log(`subnetwork GLM covariance against J_S Σ_S J_Sᵀ: relative error ${error.toExponential(1)}`);
    expect(error).toBeLessThanOrEqual(1e-4);

    // Samples: W* exactly off S; covariance Σ_S at S.
    const mapValues = concat(weights.map((w) => Float64Array.from(w.dataSync())));
    const samples = posterior.sample(3, 5);
    const isChosen = new Set(chosen);
    for (const sample of samples) {
      const values = concat(sample.map((w) => Float64Array.from(w.dataSync())));
      values.forEach((value, index) => {
        if (!isChosen.has(index)) expect(value).toBe(mapValues[index]);
      });
      expect(chosen.some((index) => values[index] !== mapValues[index])).toBe(true);
      sample.forEach((w, layer) => w !== weights[layer] && w.dispose());
    }
    const draws = posterior.sampleDeviations(5000, 13);
    const empirical = zeros(k);
    for (const perLayer of draws) {
      const delta = concat(perLayer.map((t) => Float64Array.from(t.dataSync())));
      delta.forEach((value, index) => {
        if (!isChosen.has(index)) expect(value).toBe(0);
      });
      const picked = chosen.map((index) => delta[index]);
      addOuter(empirical, picked, picked, 1 / draws.length);
    }
    tf.dispose(draws.flat());
    const sampleError = relativeError(empirical.data, sigma.data);
    console.log(`subnetwork sample covariance (5,000 draws): relative error ${sampleError.toExponential(1)}`);
    expect(sampleError).toBeLessThanOrEqual(0.1);

    const crossEntropy = -Array.from(labels).reduce((sum, y, i) => sum + Math.log(p[i * classes + y]), 0) / count;
    const squaredNorm = chosen.reduce((sum, index) => sum + mapValues[index] ** 2, 0);
    const evidence = -n * crossEntropy - (tau / 2) * squaredNorm + (k / 2) * Math.log(tau) - 0.5 * logDetSpd(precision);
    expect(Math.abs(logMarginalLikelihood(posterior) - evidence)).toBeLessThanOrEqual(1e-6 * Math.abs(evidence));

    const bytes = await posteriorToBytes(posterior, model.toJSON(undefined, false));
    const { posterior: again } = await posteriorFromBytes(bytes);
    expect(again.structure).toBe('subnetwork');
    expect(Array.from(again.curvature.subnetwork!.indices)).toEqual(chosen);
    expect(Array.from(again.curvature.subnetwork!.fisher.data)).toEqual(Array.from(fit.subnetwork!.fisher.data));
    expect(Array.from(await posteriorToBytes(again, model.toJSON(undefined, false)))).toEqual(Array.from(bytes));
    const data = tensorData(x, labels);
    for (const options of [{ predictive: 'glm' as const }, { predictive: 'sampled' as const, samples: 4 }]) {
      expect(Array.from(await predict(again, data, options))).toEqual(Array.from(await predict(posterior, data, options)));
    }
    expect(() => posterior.withHyperparameters(n, network.layers.map(() => tau))).toThrow(/one τ for all/);
    again.dispose();
    again.network.dispose();
    posterior.dispose();
    network.dispose();
  });

  it('the largest-variance heuristic picks the k largest diag Laplace variances', async () => {
    const k = 10;
    const { network, weights, fit } = await fitted(['subnetwork', 'diag'], { subnetworkCount: k });
    // A diag Laplace's marginal variances, ranked here (ties to the lower index): any scalar τ and N give the same order.
    for (const [diagN, diagTau] of [[n, tau], [1000, 3]]) {
      const diag = new Posterior(network, weights, fit, { structure: 'diag', n: diagN, tau: diagTau, kfacDamping: 'exact' });
      const variances = concat(diag.marginalVariances());
      const top = Array.from(variances.keys())
        .sort((a, b) => variances[b] - variances[a] || a - b)
        .slice(0, k)
        .sort((a, b) => a - b);
      expect(Array.from(fit.subnetwork!.indices)).toEqual(top);
      expect(Array.from(largestVarianceSubnetwork(diag, k))).toEqual(top);
    }
    expect(relativeError(fit.subnetwork!.fisher.data, restricted(ggn, Array.from(fit.subnetwork!.indices)).data)).toBeLessThanOrEqual(1e-5);
    tf.dispose(weights);
    network.dispose();
  });
});

describe('subnetwork structure for regression (one linear output)', () => {
  it('its Fisher is Σ J_Sᵀ J_S / n and its functional variance J_S Σ_S J_Sᵀ', async () => {
    const model = buildMlp(3, 4, 1, 941, 'tanh', 'linear');
    const count = 7;
    const x = randomInputs([count, 3], 942);
    const targets = tf.tensor1d(Array.from({ length: count }, (_, i) => Math.sin(i)));
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const chosen = [2, 5, 11, 15, 16, 17, 18, 20];
    const fit = await fitCurvature(network, weights, regressionData(x, targets), { kinds: ['subnetwork'], likelihood: 'regression', fisher: 'exact', subnetworkIndices: chosen });
    const rows = Array.from({ length: count }, (_, i) => {
      const xi = example(x, i);
      const full = concat(outputGradients(model, xi, 0));
      xi.dispose();
      return chosen.map((index) => full[index]);
    });
    const k = chosen.length;
    const fisher = zeros(k);
    rows.forEach((row) => addOuter(fisher, row, row, 1 / count));
    expect(relativeError(fit.subnetwork!.fisher.data, fisher.data)).toBeLessThanOrEqual(1e-5);
    const posterior = new Posterior(network, weights, fit, { structure: 'subnetwork', n: 20, tau: 0.5, kfacDamping: 'exact', sigma: 0.5 });
    // Data scale N/σ² = 80.
    const sigma = invert(scaleAddIdentity(fisher, 80, 0.5));
    const direct = rows.map((row) => row.reduce((sum, left, a) => sum + left * row.reduce((inner, right, b) => inner + sigma.data[a * k + b] * right, 0), 0));
    const functional = new FunctionalCovariance(posterior);
    const batch = jacobianBatch(network, weights, x, posterior.perturbedLayers);
    const covariance = functional.covariance(batch).arraySync().flat(2);
    disposeJacobianBatch(batch);
    functional.dispose();
    expect(relativeError(covariance, direct)).toBeLessThanOrEqual(1e-4);
    posterior.dispose();
    network.dispose();
    tf.dispose([x, targets]);
  });
});

describe('subnetwork limits and fitLaplace', () => {
  it('refuses more parameters than the full structure takes, and bad indices, in one sentence', async () => {
    const model = buildMlp(3, 4, 2, 935);
    const x = randomInputs([12, 3], 936);
    const labels = randomLabels(12, 2, 937);
    const data = tensorData(x, labels);
    await expect(fitLaplace(model, data, { curvature: 'subnetwork', subnetworkCount: 3001 })).rejects.toThrow(TooManyParametersError);
    await expect(fitLaplace(model, data, { curvature: 'subnetwork', subnetworkCount: 3001 })).rejects.toThrow(/at most 3,000 parameters .* but 3,001 were asked for; choose fewer\.$/);
    await expect(fitLaplace(model, data, { curvature: 'subnetwork', subnetworkCount: 40 })).rejects.toThrow(/exceeds the network's 26 parameters/);
    await expect(fitLaplace(model, data, { curvature: 'subnetwork', subnetworkIndices: [1, 1] })).rejects.toThrow(PosteriorError);
    await expect(fitLaplace(model, data, { curvature: 'subnetwork', subnetworkIndices: [26] })).rejects.toThrow(/from 0 to 25/);
    await expect(fitLaplace(model, data, { curvature: 'diag', subnetworkCount: 4 })).rejects.toThrow(/applies only to the subnetwork curvature/);

    const laplace = await fitLaplace(model, data, { curvature: 'subnetwork', subnetworkCount: 8 });
    expect(laplace.posterior.structure).toBe('subnetwork');
    expect(laplace.posterior.curvature.subnetwork!.indices.length).toBe(8);
    expect(laplace.tau).toBeGreaterThan(0);
    expect((await laplace.predict(data)).length).toBe(24);
    // The search runs on cached statistics (the basis is fixed), and agrees with a posterior made at its best point.
    const search = await searchHyperparameters(laplace.posterior, data, { gridSize: 3 });
    expect(search.statistics).toBe('cached');
    const best = search.best.nll;
    const direct = await evaluatePoint(laplace.posterior, data, best.logN, best.logTau, 'glm', 1, 0);
    expect(Math.abs(direct.nll - best.nll)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(best.nll)));
    laplace.dispose();
    x.dispose();
    model.dispose();
  });
});
