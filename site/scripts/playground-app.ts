/**
 * The playground itself, imported when its section nears the viewport: starts a
 * TensorFlow.js backend (wasm, else WebGL, else plain JavaScript), fetches the
 * demo's files of the network shown and refuses any whose sha256 differs from
 * the one the build published, reads the posterior with the library's own
 * reader, and recomputes the deterministic network (the file's MAP weights)
 * and the Laplace predictions (GLM predictive, probit link; one Jacobian pass
 * for every structure of the file) whenever the input or N and τ change.
 * Stage times from the section's approach are published as data-timings.
 */
import * as tf from '@tensorflow/tfjs-core';
import { imageData, loadLaplaceFromBytes, Posterior, predictGlmTogether, type LaplaceModel } from '../../compute/laplace/browser.ts';
import { addNoise, applySigns, decodeImage, entropyOf, fgsmSign, invertImage, rotateImage } from './playground-images.ts';

type Structure = 'diag' | 'kfac';
type PosteriorLabel = 'tuned' | 'marglik';
interface FileEntry { role: string; url: string; sha256: string }
interface NetworkEntry { dataset: string; label: string; classNames: string[]; classLegend: string | null; structures: Structure[]; opening: PosteriorLabel; files: FileEntry[] }
interface Point { logN: number; logTau: number }
interface Meta {
  posteriors: Partial<Record<Structure, { tuned: Point; marglik: Point }>>;
  testImages: { set: string; height: number; width: number; images: { index: number; label: number; pixels: string }[] };
}
interface Entropy {
  max: number;
  bins: number;
  methods: { method: string; posterior: string; known: { set: string; histogram: number[] }; unknown: { set: string; histogram: number[] } }[];
}
interface Loaded { entry: NetworkEntry; meta: Meta; entropy: Entropy; laplace: LaplaceModel }

class RefusedFile extends Error {}

const hex = (buffer: ArrayBuffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');

/** A file's bytes, only when they match the sha256 the build published for it. */
async function fetchVerified(file: FileEntry): Promise<ArrayBuffer> {
  const response = await fetch(file.url);
  if (!response.ok) throw new RefusedFile(`${file.url} could not be loaded (HTTP ${response.status}).`);
  const bytes = await response.arrayBuffer();
  if (!crypto.subtle) throw new RefusedFile('This page is not served securely, so the browser cannot check the demo files’ checksums and the playground does not use them.');
  const digest = hex(await crypto.subtle.digest('SHA-256', bytes));
  if (digest !== file.sha256) throw new RefusedFile(`${file.url} does not match its published sha256, so the playground refuses to use it.`);
  return bytes;
}

/**
 * wasm where the browser has WebAssembly, else WebGL, else plain JavaScript: the first that starts.
 * wasm first because the work is one image through a small network, dispatch rather than
 * arithmetic, and WebGL compiles a shader for every new operation first (measured in
 * tests/site/playground.test.ts: most of a minute on the software WebGL of headless Chromium).
 */
async function startBackend(): Promise<string> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const [plain, simd, threaded] = await Promise.all([
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'),
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'),
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'),
    ]);
    wasm.setWasmPaths({ 'tfjs-backend-wasm.wasm': plain.default, 'tfjs-backend-wasm-simd.wasm': simd.default, 'tfjs-backend-wasm-threaded-simd.wasm': threaded.default });
    if (await tf.setBackend('wasm')) {
      const { registerWasmKernels } = await import('../../compute/backend/wasm-kernels.ts');
      registerWasmKernels();
      return 'wasm';
    }
  } catch {
    // No WebAssembly here: fall through to WebGL.
  }
  try {
    await import('@tensorflow/tfjs-backend-webgl');
    // Float32 textures keep the probabilities at the library's precision; without them WebGL rounds to float16.
    if ((await tf.setBackend('webgl')) && tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')) return 'webgl';
  } catch {
    // No WebGL either: the cpu backend always starts.
  }
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  return 'cpu';
}

/** A network's demo.json, entropy histograms and posterior file, each checked against its published sha256. */
async function loadNetwork(entry: NetworkEntry, backend: Promise<unknown>, mark: (stage: string) => void): Promise<Loaded> {
  const fileOf = (role: string) => entry.files.find((file) => file.role === role)!;
  const [metaBytes, posteriorBytes, entropyBytes] = await Promise.all(['meta', 'posterior', 'entropy'].map((role) => fetchVerified(fileOf(role))));
  mark('files');
  // The posterior's weights become tensors, so the backend must be running first.
  await backend;
  const text = (bytes: ArrayBuffer) => JSON.parse(new TextDecoder().decode(bytes));
  const laplace = await loadLaplaceFromBytes(posteriorBytes, fileOf('posterior').url);
  mark('posterior');
  return { entry, meta: text(metaBytes) as Meta, entropy: text(entropyBytes) as Entropy, laplace };
}

export async function startPlayground(root: HTMLElement): Promise<void> {
  const $ = <T extends Element>(selector: string) => root.querySelector<T>(selector)!;
  const message = $<HTMLElement>('[data-message]');
  const say = (text: string, error = false) => {
    message.textContent = text;
    if (error) message.dataset.error = '';
    else delete message.dataset.error;
  };
  // Milliseconds from the section's first approach to each stage, published as data-timings once the first prediction shows.
  const startedAt = Number(root.dataset.startedAt ?? performance.now());
  const timings: Record<string, number> = {};
  const mark = (stage: string) => {
    if (!timings.ready) timings[stage] = Math.round(performance.now() - startedAt);
  };
  mark('script');
  say('Loading TensorFlow.js, the network and its posteriors…');
  const networks = (JSON.parse(root.dataset.config!) as { networks: NetworkEntry[] }).networks;
  // The files download while the backend starts.
  const backend = startBackend().then((name) => {
    root.dataset.backend = name;
    mark('backend');
  });
  const loadedNetworks = new Map<string, Promise<Loaded>>();
  const load = (entry: NetworkEntry) => {
    let loading = loadedNetworks.get(entry.dataset);
    if (!loading) {
      loading = loadNetwork(entry, backend, mark);
      loadedNetworks.set(entry.dataset, loading);
      // A failed load may be retried by choosing the network again.
      loading.catch(() => loadedNetworks.delete(entry.dataset));
    }
    return loading;
  };
  let current: Loaded;
  try {
    current = await load(networks[0]);
  } catch (error) {
    root.dataset.state = 'error';
    say(error instanceof RefusedFile ? error.message : `The playground could not load its files: ${(error as Error).message}`, true);
    return;
  }

  const pad = $<HTMLCanvasElement>('[data-pad]');
  const seen = $<HTMLCanvasElement>('[data-seen]');
  const datasetSelect = root.querySelector<HTMLSelectElement>('[data-dataset]');
  const imageSelect = $<HTMLSelectElement>('[data-image]');
  const rotateInput = $<HTMLInputElement>('[data-rotate]');
  const noiseInput = $<HTMLInputElement>('[data-noise]');
  const invertInput = $<HTMLInputElement>('[data-invert]');
  const epsilonInput = $<HTMLInputElement>('[data-epsilon]');
  const structureSelect = $<HTMLSelectElement>('[data-structure]');
  const logNInput = $<HTMLInputElement>('[data-log-n]');
  const logTauInput = $<HTMLInputElement>('[data-log-tau]');
  const radios = [...root.querySelectorAll<HTMLInputElement>('[data-posterior]')];

  const size = () => ({ height: current.meta.testImages.height, width: current.meta.testImages.width });
  const structures = () => current.entry.structures;
  const deterministicOf = (image: Float32Array) => {
    const { network, mapWeights } = current.laplace.posterior;
    return tf.tidy(() => tf.softmax(network.forward(tf.tensor(image, [1, ...network.inputShape]), mapWeights)));
  };

  let base: Float32Array = new Float32Array(0);
  let label: number | null = null;
  let points: Partial<Record<Structure, Point>> = {};
  let posteriorLabel: PosteriorLabel | 'custom' = 'tuned';
  const posteriors = new Map<string, Posterior>();
  const posteriorAt = (structure: Structure, point: Point) => {
    const key = `${current.entry.dataset} ${structure} ${point.logN} ${point.logTau}`;
    let posterior = posteriors.get(key);
    if (!posterior) {
      const source = current.laplace.posterior;
      // The file holds its structures' curvature and one MAP: the same curvature at the slider's N and τ, no refit.
      posterior = new Posterior(source.network, source.mapWeights, source.curvature, { structure, n: 10 ** point.logN, tau: 10 ** point.logTau, kfacDamping: 'exact' });
      posteriors.set(key, posterior);
    }
    return posterior;
  };

  const draw = (canvas: HTMLCanvasElement, image: Float32Array) => {
    const { height, width } = size();
    const context = canvas.getContext('2d')!;
    const data = context.createImageData(width, height);
    image.forEach((value, i) => {
      const grey = Math.round(255 * value);
      data.data.set([grey, grey, grey, 255], 4 * i);
    });
    context.putImageData(data, 0, 0);
  };

  const showSliders = () => {
    const point = points[structureSelect.value as Structure]!;
    logNInput.value = String(point.logN);
    logTauInput.value = String(point.logTau);
    $<HTMLOutputElement>('[data-log-n-value]').value = point.logN.toFixed(2);
    $<HTMLOutputElement>('[data-log-tau-value]').value = point.logTau.toFixed(2);
  };

  const usePosterior = (chosen: PosteriorLabel) => {
    posteriorLabel = chosen;
    for (const radio of radios) radio.checked = radio.value === chosen;
    points = Object.fromEntries(structures().map((structure) => [structure, { ...current.meta.posteriors[structure]![chosen] }]));
    showSliders();
  };

  /** The input as the networks see it: rotated, inverted, noised, then attacked. */
  const input = () => {
    const { height, width } = size();
    let image = rotateImage(base, height, width, Number(rotateInput.value));
    if (invertInput.checked) image = invertImage(image);
    image = addNoise(image, Number(noiseInput.value), 1);
    const epsilon = Number(epsilonInput.value);
    if (epsilon > 0) {
      const source = current.laplace.posterior;
      // The true label of a test image; for a drawing, the deterministic network's own prediction.
      const prediction = deterministicOf(image);
      const target = label ?? argmax(prediction.dataSync());
      prediction.dispose();
      image = applySigns(image, fgsmSign(source.network, source.mapWeights, image, target), epsilon);
    }
    return image;
  };

  const rows = (method: string) => $<HTMLTableRowElement>(`tr[data-method="${method}"]`);
  const showRow = (method: string, probabilities: Float32Array) => {
    const row = rows(method);
    row.dataset.probabilities = JSON.stringify(Array.from(probabilities));
    const cells = row.querySelectorAll('td:not([data-entropy])');
    probabilities.forEach((p, c) => {
      const bar = cells[c].querySelector<HTMLElement>('.bar')!;
      bar.style.height = `${(100 * p).toFixed(1)}%`;
      cells[c].setAttribute('title', `${current.entry.classNames[c]}: ${(100 * p).toFixed(2)}%`);
    });
    const h = entropyOf(probabilities);
    row.querySelector<HTMLElement>('[data-entropy]')!.textContent = h.toFixed(3);
    return h;
  };

  const drawHistogram = (structure: Structure, value: number) => {
    const shown = posteriorLabel === 'marglik' ? 'marglik' : 'tuned';
    const { entropy } = current;
    const entry = entropy.methods.find((candidate) => candidate.method === structure && candidate.posterior === shown);
    const svg = $<SVGSVGElement>('[data-histogram]');
    if (!entry) return;
    const peak = Math.max(...entry.known.histogram, ...entry.unknown.histogram, 1e-9);
    const step = 300 / entropy.bins;
    const path = (histogram: number[]) => histogram.map((f, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(80 - (75 * f) / peak).toFixed(1)} H${((i + 1) * step).toFixed(1)}`).join(' ');
    const x = (300 * Math.min(value, entropy.max)) / entropy.max;
    svg.innerHTML =
      `<path d="${path(entry.known.histogram)}" fill="none" stroke="#4c78a8" stroke-width="1.5"/>` +
      `<path d="${path(entry.unknown.histogram)}" fill="none" stroke="#f58518" stroke-width="1.5"/>` +
      `<line x1="0" x2="300" y1="80" y2="80" stroke="#888"/>` +
      `<line data-marker x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="0" y2="80" stroke="#000" stroke-width="2"/>` +
      `<text x="2" y="89" font-size="8">0</text><text x="270" y="89" font-size="8">${entropy.max.toFixed(2)} nats</text>`;
    svg.dataset.value = String(value);
    $<HTMLElement>('[data-histogram-caption]').textContent =
      `The input's entropy under ${structure.toUpperCase()} (black line, ${value.toFixed(3)} nats) against the study's ${shown === 'tuned' ? 'tuned' : 'marginal-likelihood'} ${structure.toUpperCase()} posterior on ${entry.known.set} (blue, known) and ${entry.unknown.set} (orange, unknown).`;
  };

  let running = false;
  let again = false;
  const update = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    root.dataset.state = 'computing';
    try {
      do {
        again = false;
        const image = input();
        draw(seen, image);
        const { height, width } = size();
        const data = imageData({ count: 1, height, width, images: image, labels: new Uint8Array(1) });
        const deterministic = deterministicOf(image);
        const sgd = Float32Array.from(await deterministic.data());
        deterministic.dispose();
        mark('deterministic');
        const values: Record<string, number> = { sgd: showRow('sgd', sgd) };
        // One Jacobian pass for every structure: the posteriors share the network and its MAP weights.
        const shown = structures();
        const laplace = await predictGlmTogether(shown.map((structure) => posteriorAt(structure, points[structure]!)), data, { link: 'probit' });
        shown.forEach((structure, index) => (values[structure] = showRow(structure, laplace[index])));
        mark('laplace');
        drawHistogram(structureSelect.value as Structure, values[structureSelect.value]);
        $<HTMLElement>('[data-outputs]').dataset.input = btoa(String.fromCharCode(...new Uint8Array(image.buffer)));
      } while (again);
      if (!timings.ready) {
        mark('ready');
        root.dataset.timings = JSON.stringify(timings);
      }
      root.dataset.state = 'ready';
      const which = posteriorLabel === 'custom' ? 'N and τ from the sliders' : posteriorLabel === 'tuned' ? 'the tuned posteriors' : 'the marginal-likelihood posteriors';
      say(`Running on TensorFlow.js’s ${root.dataset.backend} backend in this browser: LeNet-5 on ${current.entry.label} and its posteriors from the study, ${which}.`);
    } catch (error) {
      root.dataset.state = 'error';
      say(`The playground failed to compute a prediction: ${(error as Error).message}`, true);
    } finally {
      running = false;
    }
  };

  /** Shows a network: its test images, its structures' rows and sliders, its opening posterior, its first test image. */
  const showNetwork = (loaded: Loaded) => {
    current = loaded;
    const { entry, meta } = loaded;
    const article = (name: string) => (/^[aeiou8]/i.test(name) ? 'an' : 'a');
    imageSelect.replaceChildren(new Option('drawing', ''));
    for (const image of meta.testImages.images) {
      const name = entry.classNames[image.label];
      imageSelect.add(new Option(`test image ${image.index + 1} (${article(name)} ${name.toLowerCase()})`, String(image.index)));
    }
    for (const structure of ['diag', 'kfac'] as Structure[]) {
      rows(structure).hidden = !entry.structures.includes(structure);
      structureSelect.querySelector<HTMLOptionElement>(`option[value="${structure}"]`)!.hidden = !entry.structures.includes(structure);
    }
    if (!entry.structures.includes(structureSelect.value as Structure)) structureSelect.value = entry.structures[entry.structures.length - 1];
    root.querySelectorAll<HTMLElement>('th[data-class]').forEach((cell, index) => (cell.title = entry.classNames[index]));
    const legend = $<HTMLElement>('[data-class-legend]');
    legend.textContent = entry.classLegend ?? '';
    legend.hidden = !entry.classLegend;
    for (const method of ['sgd', 'diag', 'kfac']) delete rows(method).dataset.probabilities;
    usePosterior(entry.opening);
    // Open on the first test image, so the outputs mean something before the reader draws.
    const opening = meta.testImages.images[0];
    imageSelect.value = String(opening.index);
    base = decodeImage(opening.pixels);
    label = opening.label;
    draw(pad, base);
  };

  // Drawing: a soft round brush in image pixels, onto the current image.
  let drawing = false;
  let lastUpdate = 0;
  const paint = (event: PointerEvent) => {
    const { height, width } = size();
    const box = pad.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width - 0.5;
    const py = ((event.clientY - box.top) / box.height) * height - 0.5;
    for (let y = Math.floor(py - 2); y <= Math.ceil(py + 2); y++) {
      for (let x = Math.floor(px - 2); x <= Math.ceil(px + 2); x++) {
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
        const strength = Math.max(0, Math.min(1, 1.6 - Math.hypot(x - px, y - py)));
        base[y * width + x] = Math.max(base[y * width + x], strength);
      }
    }
    draw(pad, base);
    if (performance.now() - lastUpdate > 200) {
      lastUpdate = performance.now();
      void update();
    }
  };
  pad.addEventListener('pointerdown', (event) => {
    drawing = true;
    pad.setPointerCapture(event.pointerId);
    if (imageSelect.value !== '') {
      // A stroke on a test image makes it a drawing of the reader's: the FGSM label is then the prediction.
      imageSelect.value = '';
      label = null;
    }
    paint(event);
  });
  pad.addEventListener('pointermove', (event) => drawing && paint(event));
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    void update();
  };
  pad.addEventListener('pointerup', finish);
  pad.addEventListener('pointercancel', finish);

  $<HTMLButtonElement>('[data-clear]').addEventListener('click', () => {
    base = new Float32Array(size().height * size().width);
    imageSelect.value = '';
    label = null;
    draw(pad, base);
    void update();
  });
  imageSelect.addEventListener('change', () => {
    const chosen = current.meta.testImages.images.find((image) => String(image.index) === imageSelect.value);
    base = chosen ? decodeImage(chosen.pixels) : new Float32Array(size().height * size().width);
    label = chosen ? chosen.label : null;
    draw(pad, base);
    void update();
  });
  const outputs: [HTMLInputElement, string, (value: number) => string][] = [
    [rotateInput, '[data-rotate-value]', (value) => `${value}°`],
    [noiseInput, '[data-noise-value]', (value) => value.toFixed(2)],
    [epsilonInput, '[data-epsilon-value]', (value) => value.toFixed(2)],
  ];
  for (const [control, outputSelector, format] of outputs) {
    control.addEventListener('input', () => {
      $<HTMLOutputElement>(outputSelector).value = format(Number(control.value));
      void update();
    });
  }
  invertInput.addEventListener('change', () => void update());
  for (const radio of radios) {
    radio.addEventListener('change', () => {
      usePosterior(radio.value as PosteriorLabel);
      void update();
    });
  }
  structureSelect.addEventListener('change', () => {
    showSliders();
    void update();
  });
  for (const [control, key] of [[logNInput, 'logN'], [logTauInput, 'logTau']] as const) {
    control.addEventListener('input', () => {
      points[structureSelect.value as Structure] = { ...points[structureSelect.value as Structure]!, [key]: Number(control.value) };
      posteriorLabel = 'custom';
      for (const radio of radios) radio.checked = false;
      showSliders();
      void update();
    });
  }
  datasetSelect?.addEventListener('change', async () => {
    const entry = networks.find((candidate) => candidate.dataset === datasetSelect.value)!;
    root.dataset.state = 'loading';
    say(`Loading LeNet-5 on ${entry.label} and its posterior…`);
    try {
      showNetwork(await load(entry));
    } catch (error) {
      root.dataset.state = 'error';
      say(error instanceof RefusedFile ? error.message : `The playground could not load its files: ${(error as Error).message}`, true);
      return;
    }
    await update();
  });

  showNetwork(current);
  await update();
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
