/**
 * The figure catalogue's choices: which families of increasing depth the
 * family figures offer, worked out by hand on a small made-up zoo; what each
 * section picker offers (only what some figure of its section can draw, per
 * data set); and how captions and chart titles name the choice shown.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Spec } from '../../site/charts/common.ts';
import { depthFamilies, familyLabel, figures, getFigure, pickCaption, pickerChoices, pickerFigures, picksOf, specFor, specPath, withTitle } from '../../site/lib/figures.ts';
import { modelLabel } from '../../site/lib/names.ts';
import { loadResults, type ModelRow, type Results } from '../../site/lib/results.ts';
import { quickResultsDir } from './fixtures.ts';

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
    for (const id of ['family-calibration', 'inverse-ecdf-family']) {
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

// ---------- pickers, captions and titles on the quick-profile results ----------

const labelOf = (dataset: string) => ({ mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST' })[dataset] ?? dataset;

/**
 * The quick results with a second network, MLP-2, that has only method
 * artifacts (LeNet-5's, standing in) and only on MNIST: no landscape, search,
 * covariance or sweep, so the pickers must leave it out where no figure can
 * draw it, and on Fashion-MNIST everywhere but the structure picker.
 */
function withPartialNetwork(results: Results): Results {
  return {
    ...results,
    evaluatedModels: (dataset) => (dataset === 'mnist' ? [...results.evaluatedModels(dataset), 'mlp-2'] : results.evaluatedModels(dataset)),
    methods: (dataset, model) => (model === 'mlp-2' ? (dataset === 'mnist' ? results.methods(dataset, 'lenet5') : []) : results.methods(dataset, model)),
    method: (dataset, model, method) => (model === 'mlp-2' ? (dataset === 'mnist' ? results.method(dataset, 'lenet5', method) : null) : results.method(dataset, model, method)),
  };
}

/** Figure ids under each <Picker> of the article, in order, up to the next picker or the end of the section. */
function figuresUnderPickers(page: string): Record<string, string[]> {
  const under: Record<string, string[]> = {};
  let current: string | null = null;
  for (const [tag, kind, id] of page.matchAll(/<(Picker|Figure)\s+id="([^"]+)"|<\/section>/g)) {
    if (tag === '</section>') current = null;
    else if (kind === 'Picker') under[(current = id)] = [];
    else if (current) under[current].push(id);
  }
  return under;
}

describe('section pickers', () => {
  const results = () => loadResults(quickResultsDir());

  it('list, for each picker of the article, exactly the figures under it', () => {
    expect(pickerFigures).toEqual(figuresUnderPickers(readFileSync('site/pages/index.astro', 'utf8')));
  });

  it.each([
    ['the quick results', (r: Results) => r],
    ['a network with method artifacts on MNIST only', withPartialNetwork],
  ])('offer on %s only (data set, network, family) choices some figure of the section can draw', (_, variant) => {
    const given = variant(results());
    for (const [picker, ids] of Object.entries(pickerFigures)) {
      const section = ids.map(getFigure);
      const choices = pickerChoices(given, ids);
      expect(choices.length, picker).toBeGreaterThan(0);
      for (const { dataset, models, families } of choices) {
        const drawable = (kind: string, model: string) => section.some((figure) => figure.pick === kind && specFor(figure, given, { dataset, model }) !== null);
        for (const model of models) expect(drawable('dataset+model', model), `${picker}: ${dataset}--${model}`).toBe(true);
        for (const family of families) expect(drawable('dataset+family', family.id), `${picker}: ${dataset}--${family.id}`).toBe(true);
        expect(models.length + families.length > 0 || section.some((figure) => figure.pick === 'dataset' && specFor(figure, given, { dataset, model: 'all' }) !== null), `${picker}: ${dataset}`).toBe(true);
      }
      // And nothing drawable is left out.
      for (const figure of section.filter((candidate) => candidate.pick === 'dataset+model'))
        for (const pick of picksOf(figure, given).filter((candidate) => specFor(figure, given, candidate) !== null))
          expect(choices.find((choice) => choice.dataset === pick.dataset)?.models, `${picker}: ${figure.id} ${pick.dataset}--${pick.model}`).toContain(pick.model);
    }
  });

  it('follow the data set: a network without artifacts there is not offered', () => {
    const given = withPartialNetwork(results());
    const modelsOn = (picker: string, dataset: string) => pickerChoices(given, pickerFigures[picker]).find((choice) => choice.dataset === dataset)?.models;
    // In zoo order (models.json), as the select lists them.
    expect(modelsOn('calibration', 'mnist')).toEqual(['mlp-2', 'lenet5']);
    expect(modelsOn('calibration', 'fashion-mnist')).toEqual(['lenet5']);
    // No landscape, search or covariance for it anywhere.
    expect(modelsOn('landscape', 'mnist')).toEqual(['lenet5']);
    expect(modelsOn('regularisation', 'mnist')).toEqual(['lenet5']);
    // Figure 6 needs only the row of models.json, which every trained network has.
    expect(modelsOn('structure', 'fashion-mnist')).toEqual(given.models.models.filter((row) => row.dataset === 'fashion-mnist').map((row) => row.model));
    // The rotation figure has no Fashion-MNIST choice, though its section's other figures do.
    expect(picksOf(getFigure('shift'), given).filter((pick) => pick.dataset === 'fashion-mnist')).toEqual([]);
    expect(modelsOn('fgsm', 'fashion-mnist')).toEqual(['lenet5']);
  });
});

describe('what a figure names', () => {
  const results = () => loadResults(quickResultsDir());

  it('captions start with the network (or family) and data set shown', () => {
    const given = results();
    expect(pickCaption(getFigure('reliability'), given, { dataset: 'mnist', model: 'lenet5' })).toBe('LeNet-5 on MNIST.');
    expect(pickCaption(getFigure('reliability'), given, { dataset: 'fashion-mnist', model: 'mlp-2-overconfident' })).toBe('MLP-2 (overconfident) on Fashion-MNIST.');
    expect(pickCaption(getFigure('architectures-sgd'), given, { dataset: 'fashion-mnist', model: 'all' })).toBe('Fashion-MNIST.');
    const family = depthFamilies(given, 'mnist')[0];
    expect(pickCaption(getFigure('family-calibration'), given, { dataset: 'mnist', model: family.id })).toBe(`${familyLabel(family)} on MNIST.`);
    expect(pickCaption(getFigure('gaussian'), given, { dataset: 'all', model: 'all' })).toBeNull();
  });

  it('every data-driven spec has a title naming its choice; illustrations have none', () => {
    const given = results();
    let titled = 0;
    for (const figure of figures) {
      for (const pick of picksOf(figure, given)) {
        const spec = specFor(figure, given, pick) as { title?: { text: string } } | null;
        if (!spec) continue;
        if (figure.pick === 'none') {
          expect(spec.title, figure.id).toBeUndefined();
          continue;
        }
        const text = spec.title?.text ?? '';
        expect(text, `${figure.id} ${pick.dataset}--${pick.model}`).toMatch(new RegExp(` · ${labelOf(pick.dataset)}$`));
        if (figure.pick === 'dataset+model') expect(text.startsWith(`${modelLabel(pick.model)} · `), `${figure.id}: ${text}`).toBe(true);
        if (figure.pick === 'dataset+family') expect(text.startsWith(`${familyLabel(depthFamilies(given, pick.dataset).find((family) => family.id === pick.model)!)} · `), `${figure.id}: ${text}`).toBe(true);
        titled++;
      }
    }
    expect(titled).toBeGreaterThan(figures.length);
  });

  it('moves a title the builder gave below the choice, in its colour', () => {
    const spec = withTitle({ title: { text: 'KFAC Laplace, glm', color: '#E69F00' }, mark: 'point' } as Spec, 'LeNet-5 · MNIST') as unknown as { title: Record<string, unknown> };
    expect(spec.title).toMatchObject({ text: 'LeNet-5 · MNIST', subtitle: ['KFAC Laplace, glm'], subtitleColor: '#E69F00' });
    expect((withTitle({ mark: 'point' } as Spec, 'MNIST') as unknown as { title: Record<string, unknown> }).title).toMatchObject({ text: 'MNIST' });
  });
});
