/**
 * The figure catalogue's choices: which families of increasing depth the
 * family figures offer, worked out by hand on a small made-up zoo.
 */
import { describe, expect, it } from 'vitest';
import { depthFamilies, getFigure, picksOf, specPath } from '../../site/lib/figures.ts';
import type { ModelRow, Results } from '../../site/lib/results.ts';

/** Only what depthFamilies and picksOf read: the rows of models.json, the evaluated models and the data sets. */
function fakeResults(rows: { model: string; family: ModelRow['family']; depth: number }[], evaluated: string[]): Results {
  const modelRows = rows.map((row) => ({ ...row, dataset: 'mnist' }) as ModelRow);
  return {
    datasets: ['mnist'],
    models: { models: modelRows },
    evaluatedModels: (dataset: string) => (dataset === 'mnist' ? evaluated : []),
    modelRow: (dataset: string, model: string) => modelRows.find((row) => row.dataset === dataset && row.model === model) ?? null,
  } as unknown as Results;
}

const zoo = [
  { model: 'mlp-1', family: 'mlp', depth: 1 },
  { model: 'mlp-3', family: 'mlp', depth: 3 },
  { model: 'mlp-2', family: 'mlp', depth: 2 },
  { model: 'lenet5', family: 'lenet', depth: 1 },
  { model: 'cnn-2', family: 'cnn', depth: 2 },
  { model: 'cnn-1', family: 'cnn', depth: 1 },
  { model: 'mlp-2-overconfident', family: 'mlp', depth: 2 },
] as const;

describe('families of increasing depth', () => {
  it('offers every family with two evaluated networks, shallow to deep, without the overconfident variant', () => {
    const results = fakeResults([...zoo], ['mlp-1', 'mlp-2', 'mlp-3', 'lenet5', 'cnn-1', 'cnn-2', 'mlp-2-overconfident']);
    expect(depthFamilies(results, 'mnist')).toEqual([
      { id: 'mlp', label: 'MLP family', models: ['mlp-1', 'mlp-2', 'mlp-3'] },
      { id: 'cnn', label: 'CNN family', models: ['cnn-1', 'cnn-2'] },
    ]);
  });

  it('leaves out a family with one evaluated network', () => {
    const results = fakeResults([...zoo], ['mlp-1', 'mlp-3', 'lenet5', 'cnn-2']);
    expect(depthFamilies(results, 'mnist').map((family) => [family.id, family.models])).toEqual([['mlp', ['mlp-1', 'mlp-3']]]);
  });

  it('falls back to every evaluated network when no family has two, and to nothing when none is evaluated', () => {
    expect(depthFamilies(fakeResults([...zoo], ['lenet5', 'cnn-1']), 'mnist')).toEqual([{ id: 'all', label: 'evaluated networks', models: ['lenet5', 'cnn-1'] }]);
    expect(depthFamilies(fakeResults([...zoo], []), 'mnist')).toEqual([]);
  });

  it('gives each family figure one choice and one spec file per (data set, family)', () => {
    const results = fakeResults([...zoo], ['mlp-1', 'mlp-2', 'cnn-1', 'cnn-2']);
    for (const id of ['family-sgd', 'family-laplace', 'inverse-ecdf-family']) {
      const figure = getFigure(id);
      const picks = picksOf(figure, results);
      expect(picks).toEqual([
        { dataset: 'mnist', model: 'mlp' },
        { dataset: 'mnist', model: 'cnn' },
      ]);
      expect(specPath(figure, picks[1])).toBe(`specs/${id}/mnist--cnn.json`);
    }
  });
});
