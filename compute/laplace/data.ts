/** What the Laplace code needs of a data set: inputs in batches and integer labels. */
import * as tf from '@tensorflow/tfjs-core';

export interface LaplaceData {
  count: number;
  /** Inputs [end - start, ...inputShape]; the caller disposes the tensor. */
  inputs(start: number, end: number): tf.Tensor;
  labels: Int32Array | Uint8Array | readonly number[];
}

/** Data a caller can get wrong (labels out of range, inputs of the wrong shape, an object that is not data): one sentence. */
export class LaplaceDataError extends Error {
  override name = 'LaplaceDataError';
}

/** Class indices (an array, an [n] or [n, 1] tensor, rows of one), or one-hot rows (number arrays or a [n, classes] tensor). */
export type LabelsInput = Int32Array | Uint8Array | Float32Array | readonly number[] | readonly (readonly number[])[] | tf.Tensor;

/**
 * Grey images as one row-major float array (the study's ImageSet has this shape); declared
 * here rather than imported so the library does not depend on the study's data layer.
 */
export interface GreyImages {
  count: number;
  height: number;
  width: number;
  /** count × height × width, row-major. */
  images: Float32Array;
  labels: Int32Array | Uint8Array | readonly number[];
}

/** Grey images as Laplace data ([n, height, width, 1] inputs). */
export function imageData(set: GreyImages): LaplaceData {
  const pixels = set.height * set.width;
  return {
    count: set.count,
    inputs: (start, end) => tf.tensor4d(set.images.subarray(start * pixels, end * pixels), [end - start, set.height, set.width, 1]),
    labels: set.labels,
  };
}

/** One-hot rows as class indices; anything that is not exactly one 1 among 0s is refused, naming the row. */
function fromOneHot(rows: ArrayLike<number>, count: number, classes: number): Int32Array {
  const labels = new Int32Array(count);
  for (let row = 0; row < count; row++) {
    let hot = -1;
    for (let c = 0; c < classes; c++) {
      const value = rows[row * classes + c];
      if (value === 1 && hot < 0) hot = c;
      else if (value !== 0) hot = -2;
    }
    if (hot < 0) throw new LaplaceDataError(`One-hot label row ${row} is not one 1 among 0s; pass one-hot rows or class indices.`);
    labels[row] = hot;
  }
  return labels;
}

/** Labels in any accepted form as class indices (one-hot rows converted); their range is checked against the model later. */
export function labelIndices(labels: LabelsInput): Int32Array | Uint8Array | readonly number[] {
  if (labels instanceof tf.Tensor) {
    // [n, 1] is a column of indices (a binary model's 0/1 labels, a dataset's ys of shape [1]), not one-hot rows of one class.
    if (labels.rank === 1 || (labels.rank === 2 && labels.shape[1] === 1)) return Array.from(labels.dataSync());
    if (labels.rank === 2) return fromOneHot(labels.dataSync(), labels.shape[0], labels.shape[1]!);
    throw new LaplaceDataError(`A labels tensor must be [n] class indices or [n, classes] one-hot rows, got shape [${labels.shape.join(', ')}].`);
  }
  if (labels instanceof Float32Array) return Array.from(labels);
  if (labels.length > 0 && Array.isArray(labels[0])) {
    const rows = labels as readonly (readonly number[])[];
    const classes = rows[0].length;
    if (rows.some((row) => !Array.isArray(row) || row.length !== classes)) throw new LaplaceDataError(`One-hot labels need rows of equal length (${classes}); pass one-hot rows or class indices.`);
    return classes === 1 ? rows.flat() : fromOneHot(rows.flat(), rows.length, classes);
  }
  return labels as Int32Array | Uint8Array | readonly number[];
}

/**
 * Laplace data from a tensor of inputs and the labels: class indices (an array or
 * a rank-1 tensor) or one-hot rows (arrays or a [n, classes] tensor).
 */
export function tensorData(inputs: tf.Tensor, labels: LabelsInput): LaplaceData {
  if (!(inputs instanceof tf.Tensor)) throw new LaplaceDataError('tensorData takes the inputs as a tf.Tensor [n, ...inputShape] and then the labels.');
  if (labels === undefined || labels === null) throw new LaplaceDataError('tensorData needs the labels as its second argument (class indices or one-hot rows); for prediction alone, pass the input tensor to predict.');
  const indices = labelIndices(labels);
  if (inputs.shape[0] !== indices.length) {
    throw new LaplaceDataError(`There are ${inputs.shape[0]} inputs but ${indices.length} labels; pass one label per input.`);
  }
  return {
    count: indices.length,
    inputs: (start, end) => tf.slice(inputs, start, end - start),
    labels: indices,
  };
}

/**
 * Laplace data for a regression: inputs [n, ...inputShape] and real targets, [n] or [n, outputs]
 * (a tensor, a flat array, or rows), kept as the row-major flat array the Gaussian likelihood reads.
 */
export function regressionData(inputs: tf.Tensor, targets: tf.Tensor | ArrayLike<number> | readonly (readonly number[])[]): LaplaceData {
  if (!(inputs instanceof tf.Tensor)) throw new LaplaceDataError('regressionData takes the inputs as a tf.Tensor [n, ...inputShape] and then the targets.');
  if (targets === undefined || targets === null) throw new LaplaceDataError('regressionData needs the targets as its second argument ([n] or [n, outputs] real numbers).');
  let values: number[];
  if (targets instanceof tf.Tensor) {
    if (targets.rank < 1 || targets.rank > 2) throw new LaplaceDataError(`A targets tensor must be [n] or [n, outputs], got shape [${targets.shape.join(', ')}].`);
    values = Array.from(targets.dataSync());
  } else if ((targets as ArrayLike<unknown>).length > 0 && Array.isArray((targets as ArrayLike<unknown>)[0])) {
    values = (targets as readonly (readonly number[])[]).flat();
  } else values = Array.from(targets as ArrayLike<number>);
  const count = inputs.shape[0];
  if (count === 0 || values.length % count !== 0) throw new LaplaceDataError(`There are ${count} inputs but ${values.length} target values; pass one target (or one row of targets) per input.`);
  return { count, inputs: (start, end) => tf.slice(inputs, start, end - start), labels: values };
}

const isLaplaceData = (value: unknown): value is LaplaceData =>
  typeof value === 'object' && value !== null && typeof (value as LaplaceData).inputs === 'function' && typeof (value as LaplaceData).count === 'number';

/** A tf.data.Dataset as far as this library needs one: something with an async iterator of elements (tfjs-data is not a dependency). */
interface DatasetLike {
  iterator(): Promise<{ next(): Promise<IteratorResult<unknown>> }>;
}
const isDatasetLike = (value: unknown): value is DatasetLike => typeof value === 'object' && value !== null && typeof (value as DatasetLike).iterator === 'function';

/** What predict, fit and tune take: LaplaceData, or (predict) a tensor of inputs, or a tf.data.Dataset. */
export type DataInput = LaplaceData | tf.Tensor | DatasetLike;

/** A value a caller passed where something else belongs, in a few words for an error sentence. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value instanceof tf.Tensor) return `a tf.Tensor of shape [${value.shape.join(', ')}]`;
  return typeof value === 'object' ? `an object with keys ${Object.keys(value).slice(0, 4).join(', ') || '(none)'}` : `a ${typeof value}`;
}

/** A dataset's elements (each a tensor of inputs, `{ xs, ys }` or `[xs, ys]`, batched or not) gathered into one input tensor and, when every element has them, labels. */
async function fromDataset(dataset: DatasetLike, inputRank: number): Promise<{ inputs: tf.Tensor; labels: tf.Tensor | null }> {
  const iterator = await dataset.iterator();
  const xs: tf.Tensor[] = [];
  const ys: tf.Tensor[] = [];
  try {
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
      const element = step.value as tf.Tensor | { xs?: unknown; ys?: unknown } | unknown[];
      const [x, y] = element instanceof tf.Tensor ? [element, undefined] : Array.isArray(element) ? element : [element?.xs, element?.ys];
      if (!(x instanceof tf.Tensor)) throw new LaplaceDataError('A dataset element must be a tensor of inputs, { xs, ys } or [xs, ys]; map the dataset to one of these.');
      xs.push(x);
      if (y instanceof tf.Tensor) ys.push(y);
    }
    if (xs.length === 0) throw new LaplaceDataError('The dataset is empty; pass one with at least one element.');
    // Elements of the model's input rank are single examples (stacked); one more axis is a batch (concatenated).
    const unbatched = xs[0].rank === inputRank;
    const join = (parts: tf.Tensor[]) => (unbatched ? tf.stack(parts) : tf.concat(parts));
    if (xs.some((x) => x.rank !== xs[0].rank || x.shape.slice(unbatched ? 0 : 1).join() !== xs[0].shape.slice(unbatched ? 0 : 1).join())) {
      throw new LaplaceDataError('The dataset\'s elements have inputs of different shapes; every element needs the same shape.');
    }
    return { inputs: join(xs), labels: ys.length === xs.length ? join(ys) : null };
  } finally {
    tf.dispose([...xs, ...ys]);
  }
}

/** The model's side of the checks: what its inputs look like and how many classes it has. */
export interface DataExpectations {
  inputShape: readonly number[];
  classes: number;
  /** 'classes' (default): labels are class indices; 'real': targets of a regression, only checked to be finite. */
  labelKind?: 'classes' | 'real';
  /** 'real' only: targets per input (the regression's outputs), flattened row-major in the labels; default 1. */
  outputs?: number;
}

/**
 * Any accepted form of data as LaplaceData, checked against the model: the
 * inputs' shape (before tfjs meets it in a matMul), and for fitting and tuning
 * the labels (one per input, whole numbers from 0 to classes − 1). `dispose`
 * frees what was made here (the tensors gathered from a dataset).
 */
export async function checkedData(input: DataInput, model: DataExpectations, purpose: 'fit' | 'tune' | 'predict'): Promise<{ data: LaplaceData; dispose(): void }> {
  const owned: tf.Tensor[] = [];
  const needsLabels = purpose !== 'predict';
  const what = { fit: 'fitLaplace', tune: 'tune', predict: 'predict' }[purpose];
  let data: LaplaceData;
  if (input instanceof tf.Tensor) {
    if (needsLabels) throw new LaplaceDataError(`${what} needs labels as well as inputs; pass tensorData(inputs, labels).`);
    data = { count: input.shape[0] ?? 0, inputs: (start, end) => tf.slice(input, start, end - start), labels: [] };
  } else if (isLaplaceData(input)) {
    data = input;
  } else if (isDatasetLike(input)) {
    const gathered = await fromDataset(input, model.inputShape.length);
    owned.push(gathered.inputs);
    if (gathered.labels) owned.push(gathered.labels);
    if (needsLabels && !gathered.labels) {
      tf.dispose(owned);
      throw new LaplaceDataError(`${what} needs labels: map the dataset to { xs, ys } or [xs, ys] elements.`);
    }
    try {
      data = gathered.labels ? tensorData(gathered.inputs, gathered.labels) : { count: gathered.inputs.shape[0], inputs: (start, end) => tf.slice(gathered.inputs, start, end - start), labels: [] };
    } catch (error) {
      tf.dispose(owned);
      throw error;
    }
  } else {
    throw new LaplaceDataError(`${what} takes LaplaceData (tensorData(inputs, labels) or imageData(set))${needsLabels ? '' : ', a tf.Tensor of inputs'} or a tf.data.Dataset, not ${describeValue(input)}.`);
  }
  const dispose = () => tf.dispose(owned);
  try {
    if (!(Number.isSafeInteger(data.count) && data.count >= 0)) throw new LaplaceDataError(`The data's count must be a whole number, got ${data.count}.`);
    if (data.count > 0) {
      const first = data.inputs(0, 1);
      const shape = first.shape.slice(1);
      first.dispose();
      if (shape.length !== model.inputShape.length || shape.some((size, index) => size !== model.inputShape[index])) {
        throw new LaplaceDataError(`The inputs have shape [n, ${shape.join(', ')}], but the model takes [n, ${model.inputShape.join(', ')}]; reshape them.`);
      }
    }
    if (needsLabels && model.labelKind === 'real') {
      const perInput = model.outputs ?? 1;
      if (data.labels.length !== data.count * perInput) throw new LaplaceDataError(`There are ${data.count} inputs but ${data.labels.length} target values; pass ${perInput === 1 ? 'one target' : `${perInput} targets (one per output)`} per input.`);
      const bad = Array.from(data.labels).findIndex((value) => !Number.isFinite(value));
      if (bad >= 0) throw new LaplaceDataError(`Target ${data.labels[bad]} at index ${bad} is not a finite number.`);
    } else if (needsLabels) {
      const labels = labelIndices(data.labels as LabelsInput);
      if (labels.length !== data.count) throw new LaplaceDataError(`There are ${data.count} inputs but ${labels.length} labels; pass one label per input.`);
      for (let index = 0; index < labels.length; index++) {
        const label = labels[index];
        if (!(Number.isInteger(label) && label >= 0 && label < model.classes)) {
          throw new LaplaceDataError(`Label ${label} at index ${index} is not a class of this model: labels must be whole numbers from 0 to ${model.classes - 1} (or one-hot rows of ${model.classes}).`);
        }
      }
      if (labels !== data.labels) data = { count: data.count, inputs: data.inputs, labels };
    }
  } catch (error) {
    dispose();
    throw error;
  }
  return { data, dispose };
}
