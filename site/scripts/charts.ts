/**
 * Makes the build-time SVG charts interactive: when a figure comes near the
 * viewport its spec is fetched and drawn again by vega-embed (tooltips,
 * sliders, selections). Section pickers swap every switchable figure of their
 * section to the chosen data set, network and family of networks.
 */
import embed from 'vega-embed';

interface Choice {
  dataset: string;
  model: string;
  /** Family of increasing depth, for the family figures. */
  family: string;
}

const views = new WeakMap<HTMLElement, { finalize(): void }>();

async function draw(chart: HTMLElement, url: string): Promise<void> {
  chart.dataset.state = 'loading';
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`could not load ${url} (HTTP ${response.status})`);
    const spec = (await response.json()) as { description?: string };
    const target = document.createElement('div');
    target.className = 'chart-view';
    const result = await embed(target, spec as never, { actions: false, renderer: 'svg' });
    views.get(chart)?.finalize();
    views.set(chart, result);
    chart.replaceChildren(target);
    chart.dataset.spec = url;
    chart.dataset.state = 'interactive';
    const alt = document.getElementById(chart.getAttribute('aria-describedby') ?? '');
    if (alt && spec.description) alt.textContent = spec.description;
  } catch (error) {
    // The static SVG stays; say why it is not interactive instead of failing silently.
    chart.dataset.state = 'failed';
    console.warn(`Chart not made interactive: ${(error as Error).message}`);
  }
}

function specUrl(figure: HTMLElement, choice: Choice): string | null {
  const kind = figure.dataset.pickKind;
  const base = figure.dataset.base ?? '/';
  const id = figure.dataset.figure;
  const second = kind === 'dataset' ? 'all' : kind === 'dataset+family' ? choice.family : choice.model;
  const key = `${choice.dataset}--${second}`;
  if (!(figure.dataset.available ?? '').split(' ').includes(key)) return null;
  return kind === 'dataset' ? `${base}specs/${id}/${choice.dataset}.json` : `${base}specs/${id}/${key}.json`;
}

function showMissing(chart: HTMLElement, choice: Choice): void {
  views.get(chart)?.finalize();
  views.delete(chart);
  const note = document.createElement('p');
  note.className = 'chart-missing';
  const what = chart.closest<HTMLElement>('figure')?.dataset.pickKind === 'dataset+family' ? 'this family' : choice.model;
  note.textContent = `Not computed for ${what} on this data set in these results.`;
  chart.replaceChildren(note);
  chart.dataset.spec = '';
  chart.dataset.state = 'missing';
}

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const chart = entry.target as HTMLElement;
      observer.unobserve(chart);
      if (chart.dataset.state === 'static' && chart.dataset.spec) void draw(chart, chart.dataset.spec);
    }
  },
  { rootMargin: '600px 0px' },
);

for (const chart of document.querySelectorAll<HTMLElement>('.chart[data-spec]')) observer.observe(chart);

for (const form of document.querySelectorAll<HTMLFormElement>('form[data-picker]')) {
  form.hidden = false;
  const section = form.closest('section') ?? document.body;
  form.addEventListener('change', () => {
    const data = new FormData(form);
    const choice: Choice = { dataset: String(data.get('dataset') ?? 'mnist'), model: String(data.get('model') ?? 'lenet5'), family: String(data.get('family') ?? '') };
    for (const figure of section.querySelectorAll<HTMLElement>('figure[data-figure]')) {
      if (figure.dataset.pickKind === 'none') continue;
      const chart = figure.querySelector<HTMLElement>('.chart');
      if (!chart) continue;
      observer.unobserve(chart);
      const url = specUrl(figure, choice);
      if (url) void draw(chart, url);
      else showMissing(chart, choice);
    }
  });
}
