/**
 * Temperature scaling (Guo, Pleiss, Sun & Weinberger 2017): one scalar T > 0
 * divides every logit, p = softmax(z / T), with T chosen to minimise the mean
 * negative log-likelihood on held-out (validation) data. The argmax, and so the
 * accuracy, never changes; only the confidence does.
 *
 * The search. Write β = 1/T and, for logits z_i and labels y_i,
 *   f(β)   = mean_i [ logsumexp(β z_i) − β z_{i,y_i} ],
 *   f'(β)  = mean_i [ E_{p_i}[z_i] − z_{i,y_i} ],
 *   f''(β) = mean_i Var_{p_i}[z_i] ≥ 0,
 * with p_i = softmax(β z_i). f is convex in β (a log-sum-exp of linear
 * functions), hence unimodal in log T, and f' is increasing, so the minimiser
 * is the one root of f'. We find it by Newton's method on β, kept inside a
 * bracket [β_lo, β_hi] on which f' changes sign; a Newton step that leaves the
 * bracket, or that does not at least halve the step before last, is replaced
 * by a bisection at the bracket's geometric mean. Working with f' rather than
 * with f keeps full precision at the flat minimum, where values of f differ by
 * less than their rounding error.
 *
 * Search range: T ∈ [0.01, 100] by default (β ∈ [0.01, 100]); fitted
 * temperatures of real networks are of order 1 (Guo et al. report 1–3), and a
 * value at either end means the validation data do not pin T down (e.g. every
 * example right with a growing margin as T → 0). In that case the end of the
 * range is returned and `fitTemperatureDetailed` says so in `atBoundary`.
 * Tolerance: stop when a step changes log T by less than 1e-10, or the bracket
 * is narrower than that in log T (relative precision of T about 1e-10); at most
 * 200 iterations. All arithmetic is float64.
 */
import type { Labels } from '../metrics/index.ts';

export type Logits = Float32Array | Float64Array;

export interface TemperatureOptions {
  /** Lower end of the search range for T (default 0.01). */
  minTemperature?: number;
  /** Upper end of the search range for T (default 100). */
  maxTemperature?: number;
}

export interface TemperatureFit {
  /** The fitted temperature T. */
  temperature: number;
  /** Mean NLL at the fitted T. */
  nll: number;
  /** Mean NLL at T = 1 (the uncalibrated network), for comparison. */
  nllAtOne: number;
  /** 'lower' or 'upper' when the minimum lies at (or beyond) an end of the search range; otherwise null. */
  atBoundary: 'lower' | 'upper' | null;
  /** Evaluations of f' (one pass over the data each). */
  evaluations: number;
}

export const defaultTemperatureRange = { minTemperature: 0.01, maxTemperature: 100 } as const;
const logTolerance = 1e-10;
const maxIterations = 200;

function checkTemperature(temperature: number): void {
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new Error(`The temperature must be a positive finite number, got ${temperature}.`);
  }
}

/** Checks logits (and labels, when given); returns the number of rows. */
function checkLogits(logits: Logits, classes: number, labels?: Labels): number {
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`The number of classes must be an integer of at least 2, got ${classes}.`);
  if (logits.length === 0) throw new Error('The logits are empty; there must be at least one example.');
  if (logits.length % classes !== 0) throw new Error(`The logits have ${logits.length} entries, which is not a multiple of classes = ${classes}.`);
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) throw new Error(`The logit at row ${Math.floor(i / classes)}, class ${i % classes} is ${logits[i]}, not a finite number.`);
  }
  const count = logits.length / classes;
  if (labels) {
    if (labels.length !== count) throw new Error(`There are ${labels.length} labels but ${count} rows of logits.`);
    for (let i = 0; i < count; i++) {
      const label = labels[i];
      if (!Number.isInteger(label) || label < 0 || label >= classes) throw new Error(`Label ${i} is ${label}, not an integer in [0, ${classes}).`);
    }
  }
  return count;
}

interface Moments {
  /** mean NLL at β */
  value: number;
  /** d/dβ */
  first: number;
  /** d²/dβ² */
  second: number;
}

/** f, f', f'' at β = 1/T, in one pass (inputs already checked). */
function moments(logits: Logits, labels: Labels, classes: number, beta: number): Moments {
  const count = logits.length / classes;
  let value = 0;
  let first = 0;
  let second = 0;
  for (let row = 0; row < count; row++) {
    const start = row * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, beta * logits[start + c]);
    let sum = 0;
    let weighted = 0;
    let weightedSquares = 0;
    for (let c = 0; c < classes; c++) {
      const z = logits[start + c];
      const e = Math.exp(beta * z - max);
      sum += e;
      weighted += e * z;
      weightedSquares += e * z * z;
    }
    const mean = weighted / sum;
    const label = logits[start + labels[row]];
    value += max + Math.log(sum) - beta * label;
    first += mean - label;
    second += Math.max(weightedSquares / sum - mean * mean, 0);
  }
  return { value: value / count, first: first / count, second: second / count };
}

/** Mean negative log-likelihood of softmax(logits / T) against the labels. */
export function temperatureNll(logits: Logits, labels: Labels, classes: number, temperature: number): number {
  checkTemperature(temperature);
  checkLogits(logits, classes, labels);
  return moments(logits, labels, classes, 1 / temperature).value;
}

/** softmax(logits / T) row by row, [count × classes] like the logits. T = 1 is the plain softmax. */
export function applyTemperature(logits: Logits, classes: number, temperature: number): Float32Array {
  checkTemperature(temperature);
  checkLogits(logits, classes);
  const beta = 1 / temperature;
  const out = new Float32Array(logits.length);
  const row = new Float64Array(classes);
  for (let start = 0; start < logits.length; start += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, beta * logits[start + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += row[c] = Math.exp(beta * logits[start + c] - max);
    for (let c = 0; c < classes; c++) out[start + c] = row[c] / sum;
  }
  return out;
}

/** The NLL-minimising temperature with the details of the search (see the module comment). */
export function fitTemperatureDetailed(logits: Logits, labels: Labels, classes: number, options: TemperatureOptions = {}): TemperatureFit {
  const minTemperature = options.minTemperature ?? defaultTemperatureRange.minTemperature;
  const maxTemperature = options.maxTemperature ?? defaultTemperatureRange.maxTemperature;
  checkTemperature(minTemperature);
  checkTemperature(maxTemperature);
  if (!(minTemperature < maxTemperature)) throw new Error(`The temperature range must have minTemperature < maxTemperature, got [${minTemperature}, ${maxTemperature}].`);
  checkLogits(logits, classes, labels);

  let evaluations = 0;
  const at = (beta: number) => {
    evaluations++;
    return moments(logits, labels, classes, beta);
  };
  const nllAtOne = moments(logits, labels, classes, 1).value;
  const finish = (beta: number, atBoundary: TemperatureFit['atBoundary'], value?: number): TemperatureFit => ({
    temperature: 1 / beta,
    nll: value ?? moments(logits, labels, classes, beta).value,
    nllAtOne,
    atBoundary,
    evaluations,
  });

  // β bracket: f' < 0 at lo, > 0 at hi, or the minimum is at an end.
  let lo = 1 / maxTemperature;
  let hi = 1 / minTemperature;
  const atLo = at(lo);
  if (atLo.first >= 0) return finish(lo, 'upper', atLo.value);
  const atHi = at(hi);
  if (atHi.first <= 0) return finish(hi, 'lower', atHi.value);

  let beta = lo < 1 && 1 < hi ? 1 : Math.sqrt(lo * hi);
  let step = Math.log(hi / lo);
  let stepBefore = step;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const m = at(beta);
    if (m.first === 0) return finish(beta, null, m.value);
    if (m.first < 0) lo = beta;
    else hi = beta;
    const newton = m.second > 0 ? beta - m.first / m.second : Number.NaN;
    let next: number;
    if (newton > lo && newton < hi && Math.abs(Math.log(newton / beta)) < 0.5 * Math.abs(stepBefore)) next = newton;
    else next = Math.sqrt(lo * hi);
    stepBefore = step;
    step = Math.log(next / beta);
    beta = next;
    if (Math.abs(step) < logTolerance || Math.log(hi / lo) < logTolerance) break;
  }
  return finish(beta, null);
}

/** The temperature T in [0.01, 100] (by default) that minimises the mean NLL of softmax(logits / T) on the given data. */
export function fitTemperature(logits: Logits, labels: Labels, classes: number, options: TemperatureOptions = {}): number {
  return fitTemperatureDetailed(logits, labels, classes, options).temperature;
}
