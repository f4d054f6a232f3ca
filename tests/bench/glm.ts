/**
 * The library's closed-form pieces against what they replace, as ratios measured in one run:
 *  - GLM probit predictive on 1,000 test images ÷ the 30-sample central-difference linearised
 *    predictive (goal ≤ 0.5), and diag, kfac, efb and last-layer together, sharing one pass of
 *    Jacobian statistics ÷ one structure's linearised predictive (goal ≤ 1);
 *  - one further (N, τ) point of the cached search ÷ one forward pass over the 1,000 validation
 *    images (goal ≤ 0.05): (time of the 29 × 29 grid − time of a 1-point grid) / 840;
 *  - marginal-likelihood tuning of τ ÷ one training epoch over the 55,000 training images,
 *    extrapolated from the timed epoch (goal ≤ 0.5);
 *  - peak tensor memory of the GLM predictive at its default batch (goal under 2 GB on cnn-3).
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadDataset, subset } from '../../compute/data/index.ts';
import {
  fitCurvature,
  forEachJacobianBatch,
  FunctionalCovariance,
  imageData,
  Network,
  optimizeMarginalLikelihood,
  Posterior,
  predict,
  probitLink,
  searchHyperparameters,
  type CurvatureKind,
  type KfacDamping,
} from '../../compute/laplace/index.ts';
import { initializeWeights, trainModel } from '../../compute/models/train.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';

const seconds = async (work: () => Promise<unknown> | unknown) => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

export async function benchGlm(modelNames: string[]): Promise<{ predictive: Record<string, unknown>[]; search: Record<string, unknown>[]; memory: Record<string, unknown>[] }> {
  const { train, validation, test } = loadDataset('mnist');
  const testData = imageData(subset(test, 1000));
  const validationData = imageData(subset(validation, 1000));
  const predictiveRows: Record<string, unknown>[] = [];
  const searchRows: Record<string, unknown>[] = [];
  const memoryRows: Record<string, unknown>[] = [];
  for (const name of modelNames) {
    const spec = getModelSpec(name);
    const model = buildModel(spec);
    initializeWeights(model, 1);
    await trainModel(model, subset(train, 512), spec.recipe, 1, 1, name); // warm-up and a non-random MAP
    const epochSet = subset(train, 2048);
    const epoch = ((await seconds(() => trainModel(model, epochSet, spec.recipe, 1, 2, name))) * train.count) / epochSet.count;
    const network = new Network(model);
    const weights = network.matricesFromModel(model);
    const kinds: CurvatureKind[] = ['diag', 'kfac', 'efb', 'last-layer'];
    const fit = await fitCurvature(network, weights, imageData(subset(train, 1024)), { kinds });
    const posteriors = kinds.map((structure) => new Posterior(network, weights, fit, { structure, n: train.count, tau: 1, kfacDamping: 'exact' as KfacDamping }));
    const [diag, kfac] = posteriors;

    await predict(kfac, imageData(subset(test, 100)), { predictive: 'glm' }); // warm-up
    const linearised = await seconds(() => predict(kfac, testData, { predictive: 'linearised', samples: 30, difference: 'central' }));
    const glmKfac = await seconds(() => predict(kfac, testData, { predictive: 'glm' }));
    const glmDiag = await seconds(() => predict(diag, testData, { predictive: 'glm' }));
    // All four structures on one pass of Jacobian statistics.
    const together = await seconds(async () => {
      const covariances = posteriors.map((posterior) => new FunctionalCovariance(posterior));
      await forEachJacobianBatch(network, weights, testData, covariances, 100, async (batch) => {
        for (const covariance of covariances) {
          const probabilities = tf.tidy(() => probitLink(batch.logits, covariance.variancesOf(batch)));
          await probabilities.data();
          probabilities.dispose();
        }
      });
      covariances.forEach((covariance) => covariance.dispose());
    });
    predictiveRows.push(
      { model: name, what: 'glm probit (kfac) ÷ linearised T = 30 central (kfac)', 'seconds': `${round(glmKfac)} ÷ ${round(linearised)}`, ratio: round(glmKfac / linearised, 2), goal: '≤ 0.5' },
      { model: name, what: 'glm probit (diag) ÷ linearised T = 30 central (kfac)', 'seconds': `${round(glmDiag)} ÷ ${round(linearised)}`, ratio: round(glmDiag / linearised, 2), goal: '≤ 0.5' },
      { model: name, what: 'glm probit, 4 structures on one pass ÷ one linearised', 'seconds': `${round(together)} ÷ ${round(linearised)}`, ratio: round(together / linearised, 2), goal: '≤ 1' },
    );

    // Cached search: marginal cost of a point against one forward pass over the validation images.
    const forward = await seconds(async () => {
      for (let start = 0; start < validationData.count; start += 500) {
        const out = tf.tidy(() => tf.softmax(network.forward(validationData.inputs(start, Math.min(validationData.count, start + 500)), weights)));
        await out.data();
        out.dispose();
      }
    });
    const one = await seconds(() => searchHyperparameters(kfac, validationData, { gridSize: 1, logNRange: [7, 7], logTauRange: [3, 3] }));
    const full = await seconds(() => searchHyperparameters(kfac, validationData));
    const perPoint = (full - one) / 840;
    searchRows.push({ model: name, 'search 1 point s': round(one), 'search 841 points s': round(full), 'further point ms': round(1000 * perPoint), 'forward pass ms': round(1000 * forward), ratio: round(perPoint / forward, 2), goal: '≤ 0.05' });
    // Cold: copies of the KFAC factors, so the eigendecompositions the predictive cached are redone and counted.
    const cold = { ...fit, kfac: fit.kfac!.map((factors) => ({ a: { ...factors.a }, g: { ...factors.g } })) };
    for (const posterior of [new Posterior(network, weights, cold, { structure: 'kfac', n: train.count, tau: 1, kfacDamping: 'exact' }), diag]) {
      const tuning = await seconds(() => optimizeMarginalLikelihood(posterior, { perLayer: true }));
      searchRows.push({ model: name, 'marglik tuning': `${posterior.structure}, per-layer τ`, 'tuning s': round(tuning), 'epoch s (55k images)': round(epoch), ratio: round(tuning / epoch, 3), goal: '≤ 0.5' });
    }

    const profile = await tf.profile(async () => {
      await predict(kfac, testData, { predictive: 'glm' });
    });
    memoryRows.push({ model: name, 'glm probit (kfac), batch 100: peak tensor MB': round(profile.peakBytes / 2 ** 20), goal: name === 'cnn-3' ? '< 2048' : '-' });
    tf.dispose(weights);
    model.dispose();
  }
  return { predictive: predictiveRows, search: searchRows, memory: memoryRows };
}
