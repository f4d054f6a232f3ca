/**
 * Makes the build-time SVG charts interactive: when a figure comes near the
 * viewport its compiled Vega spec is fetched and drawn again by the Vega
 * runtime (tooltips through vega-tooltip, sliders, selections). The specs
 * are compiled from Vega-Lite at build time, so the page never loads the
 * Vega-Lite compiler, and the runtime itself is loaded with the first chart
 * that needs it. Section pickers swap every switchable figure of their
 * section to the chosen data set, network and family of networks, the
 * figure's data links and command follow the spec's usermeta, its caption
 * names the choice, and a figure that has nothing for it says so in place.
 * The network and family lists follow the data set (the form's data-choices).
 */
import type { Spec as VegaSpec, View } from 'vega';

interface Choice {
  dataset: string;
  model: string;
  /** Family of increasing depth, for the family figures. */
  family: string;
  /** How readers see them named: the selected options' texts. */
  labels: { dataset: string; model: string; family: string };
}

/** What Picker.astro offers per data set: [value, label] pairs for the network and family selects. */
type Choices = Record<string, { models: [string, string][]; families: [string, string][] }>;

/** What the spec files carry beside the chart (see site/pages/specs/[...spec].json.ts). */
interface FigureSpec extends VegaSpec {
  usermeta?: { inputs?: string[]; command?: string | null };
}

type TooltipHandler = Parameters<View['tooltip']>[0];

let runtime: Promise<{ vega: typeof import('vega'); tooltip: TooltipHandler }> | undefined;

function loadRuntime() {
  if (!runtime) {
    runtime = Promise.all([import('vega'), import('vega-tooltip')]).then(([vega, { Handler }]) => ({ vega, tooltip: new Handler().call as TooltipHandler }));
    // A failed load (a dropped connection) may be tried again by the next chart.
    runtime.catch(() => (runtime = undefined));
  }
  return runtime;
}

/** Each spec file is fetched once, however often a picker comes back to it. */
const specs = new Map<string, Promise<FigureSpec>>();

function fetchSpec(url: string): Promise<FigureSpec> {
  let spec = specs.get(url);
  if (!spec) {
    spec = fetch(url).then((response) => {
      if (!response.ok) throw new Error(`could not load ${url} (HTTP ${response.status})`);
      return response.json() as Promise<FigureSpec>;
    });
    spec.catch(() => specs.delete(url));
    specs.set(url, spec);
  }
  return spec;
}

const views = new WeakMap<HTMLElement, View>();
/** The spec each chart should end up showing: a draw that finishes after a newer choice gives way. */
const wanted = new WeakMap<HTMLElement, string>();

function showSources(figure: HTMLElement | null, meta: FigureSpec['usermeta'], missing = false): void {
  const source = figure?.querySelector<HTMLElement>('[data-source]');
  if (!figure || !source || (!missing && !meta?.inputs)) return;
  const data = document.createElement('span');
  data.className = 'figure-data';
  const inputs = missing ? [] : (meta?.inputs ?? []);
  if (missing) data.textContent = 'No result file for this choice.';
  else if (inputs.length === 0) data.textContent = 'An illustration: drawn from no result file.';
  else {
    data.append('Data: ');
    inputs.forEach((path, index) => {
      if (index > 0) data.append(', ');
      const link = document.createElement('a');
      link.href = `${figure.dataset.base ?? '/'}data/${path}`;
      link.dataset.input = path;
      link.textContent = path;
      data.append(link);
    });
    data.append('.');
  }
  source.replaceChildren(data);
  if (inputs.length > 0 && meta?.command) {
    const command = document.createElement('span');
    command.className = 'figure-command';
    const code = document.createElement('code');
    code.textContent = meta.command;
    command.append('Regenerate: ', code);
    source.append(' ', command);
  }
}

/**
 * A desktop chart shown in a column narrower than 90% of its width would
 * shrink its 11 px text below 10 px: there the phone variant of the spec
 * (site/lib/phone.ts), laid out for the column at full text size, is drawn.
 */
function fitted(chart: HTMLElement, url: string): string {
  const natural = Number(chart.dataset.naturalWidth ?? 0);
  return natural > 0 && chart.clientWidth < 0.9 * natural ? url.replace(/\.json$/, '.phone.json') : url;
}

/** Draws a chart may try before it stays static. */
const maxTries = 3;

async function draw(chart: HTMLElement, url: string): Promise<void> {
  wanted.set(chart, url);
  chart.dataset.state = 'loading';
  try {
    const chosen = fitted(chart, url);
    const [{ vega, tooltip }, spec] = await Promise.all([loadRuntime(), fetchSpec(chosen)]);
    if (wanted.get(chart) !== url) return;
    const target = document.createElement('div');
    target.className = 'chart-view';
    const view = new vega.View(vega.parse(spec), { renderer: 'svg', logLevel: vega.Warn });
    view.tooltip(tooltip);
    // Inputs bound to the chart (sliders) go beside the image, where assistive technology can reach them.
    const controls = chart.parentElement?.querySelector<HTMLElement>('.chart-controls') ?? undefined;
    controls?.replaceChildren();
    await view.initialize(target, controls).runAsync();
    // The figure's container is one image with its text alternative; Vega's nodes inside are hidden from assistive technology.
    target.querySelector('svg')?.setAttribute('aria-hidden', 'true');
    if (wanted.get(chart) !== url) {
      view.finalize();
      return;
    }
    views.get(chart)?.finalize();
    views.set(chart, view);
    chart.replaceChildren(target);
    chart.dataset.spec = url;
    chart.dataset.state = 'interactive';
    // Which layout is drawn, for readers' tools and the layout test: the desktop spec or its phone variant.
    chart.dataset.layout = chosen === url ? 'desktop' : 'phone';
    const alt = document.getElementById(chart.getAttribute('aria-labelledby') ?? '');
    if (alt && spec.description) alt.textContent = spec.description;
    showSources(chart.closest<HTMLElement>('figure'), spec.usermeta);
  } catch (error) {
    if (wanted.get(chart) !== url) return;
    // The static SVG stays; say why it is not interactive instead of failing silently.
    chart.dataset.state = 'failed';
    console.warn(`Chart not made interactive: ${(error as Error).message}`);
    // A failure can pass (a dropped connection, a machine too busy to answer in time), and the observer has let go of
    // the chart: watch it again, so that it tries once more when it next nears the window, a few times at most.
    const tries = Number(chart.dataset.tries ?? 0) + 1;
    chart.dataset.tries = String(tries);
    if (url === chart.dataset.spec && tries < maxTries) {
      setTimeout(() => {
        if (chart.dataset.state !== 'failed' || wanted.get(chart) !== url) return;
        chart.dataset.state = 'static';
        observer.observe(chart);
      }, 1000 * tries);
    }
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

/** The network or family a figure would show for a choice, as named on the page; null for a figure of every network. */
function subjectOf(figure: HTMLElement, choice: Choice): string | null {
  const kind = figure.dataset.pickKind;
  if (kind === 'dataset+model') return choice.labels.model || 'any network';
  if (kind === 'dataset+family') return choice.labels.family || 'any family';
  return null;
}

/** The caption's opening, as Figure.astro writes it at build time: "LeNet-5 on MNIST." */
function showShown(figure: HTMLElement, choice: Choice): void {
  const shown = figure.querySelector<HTMLElement>('[data-shown]');
  if (!shown) return;
  const subject = subjectOf(figure, choice);
  shown.textContent = subject ? `${subject} on ${choice.labels.dataset}.` : `${choice.labels.dataset}.`;
}

function showMissing(chart: HTMLElement, choice: Choice): void {
  wanted.set(chart, '');
  views.get(chart)?.finalize();
  views.delete(chart);
  const figure = chart.closest<HTMLElement>('figure');
  const subject = figure ? subjectOf(figure, choice) : null;
  const what = subject ? `${subject} on ${choice.labels.dataset}` : choice.labels.dataset;
  const note = document.createElement('p');
  note.className = 'chart-missing';
  // Said in place of the chart, so the previous choice's chart is never left standing for this one.
  note.textContent = `No Figure ${figure?.dataset.number ?? ''} for ${what}: ${figure?.dataset.missing ?? 'these results hold no artifact it is drawn from'}.`;
  chart.replaceChildren(note);
  chart.dataset.spec = '';
  chart.dataset.state = 'missing';
  chart.parentElement?.querySelector('.chart-controls')?.replaceChildren();
  const alt = document.getElementById(chart.getAttribute('aria-labelledby') ?? '');
  if (alt) alt.textContent = note.textContent;
  showSources(figure, undefined, true);
}

/** Fill a select with a data set's options, keeping its value where the new list has it, else the default, else the first. */
function refill(select: HTMLSelectElement | null, options: [string, string][], preferred: string): void {
  if (!select) return;
  const keep = [select.value, preferred].find((value) => options.some(([candidate]) => candidate === value)) ?? options[0]?.[0];
  select.replaceChildren(
    ...options.map(([value, label]) => {
      const option = document.createElement('option');
      option.value = value;
      option.textContent = label;
      option.selected = value === keep;
      return option;
    }),
  );
  select.disabled = options.length === 0;
}

const selectedText = (select: HTMLSelectElement | null) => select?.selectedOptions[0]?.textContent ?? '';

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
  // The figures this picker switches (a section may hold two pickers); without a list, every figure of its section.
  // Attributes, not form.dataset: a form's named controls shadow its properties, and the data-set select is named "dataset".
  const ids = form.getAttribute('data-figures')?.split(' ').filter(Boolean);
  const switched = () => [...section.querySelectorAll<HTMLElement>('figure[data-figure]')].filter((figure) => !ids || ids.includes(figure.dataset.figure ?? ''));
  const choices = JSON.parse(form.getAttribute('data-choices') ?? '{}') as Choices;
  const select = (name: string) => form.querySelector<HTMLSelectElement>(`select[name="${name}"]`);
  form.addEventListener('change', (event) => {
    // A new data set brings its own networks and families.
    const dataset = select('dataset')?.value ?? 'mnist';
    if ((event.target as HTMLElement | null)?.getAttribute('name') === 'dataset' && choices[dataset]) {
      refill(select('model'), choices[dataset].models, 'lenet5');
      refill(select('family'), choices[dataset].families, '');
    }
    const choice: Choice = {
      dataset,
      model: select('model')?.value ?? 'lenet5',
      family: select('family')?.value ?? '',
      labels: { dataset: selectedText(select('dataset')), model: selectedText(select('model')), family: selectedText(select('family')) },
    };
    for (const figure of switched()) {
      if (figure.dataset.pickKind === 'none') continue;
      const chart = figure.querySelector<HTMLElement>('.chart');
      if (!chart) continue;
      observer.unobserve(chart);
      showShown(figure, choice);
      const url = specUrl(figure, choice);
      if (url) void draw(chart, url);
      else showMissing(chart, choice);
    }
  });
}
