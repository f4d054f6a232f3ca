/**
 * The symmetric eigendecomposition in TensorFlow's own float64 kernel (SelfAdjointEigV2, Eigen's
 * tridiagonal QR) when the native backend is running. The JavaScript decomposition
 * (linalg/eigen.ts) streams the whole trailing block through memory at every Householder step;
 * on a 2,570 × 2,570 last-layer Fisher (an MLP's) it took 44 s against 16 s here, and a
 * 1,000 × 1,000 one 2.8 s against 0.4 s (this project's 2-core machines).
 *
 * tfjs-node moves only float32 in and out, so the float64 matrix crosses as two float32 halves,
 * hi = fl32(a) and lo = fl32(a − hi), summed in float64 inside TensorFlow; the results come back
 * the same way. That carries 48 of float64's 53 significand bits both ways, far below the
 * decomposition's own rounding relative to the largest eigenvalue. The kernel runs on the
 * calling thread, so the result does not depend on the thread pool.
 */
import * as tf from '@tensorflow/tfjs-core';

const backendName = 'tensorflow';
// TensorFlow's C API enums (tensorflow/c/tf_datatype.h, tf_attrtype.h): tfjs-node's binding exports only some of them.
const TF_FLOAT = 1;
const TF_DOUBLE = 2;

interface Binding {
  TF_ATTR_TYPE: number;
  TF_ATTR_BOOL: number;
  createTensor(shape: number[], dtype: number, values: Float32Array): number;
  executeOp(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: number[], outputs: number): { id: number; shape: number[]; dtype: number }[];
  tensorDataSync(id: number): Float32Array;
  deleteTensor(id: number): void;
}

/** The running native backend's binding, or null on any other backend. */
function binding(): Binding | null {
  if (tf.getBackend() !== backendName) return null;
  const candidate = (tf.backend() as unknown as { binding?: Partial<Binding> }).binding;
  return candidate && typeof candidate.executeOp === 'function' && typeof candidate.createTensor === 'function' ? (candidate as Binding) : null;
}

/**
 * Eigenvalues (ascending) and eigenvectors (columns of a row-major n × n array) of the symmetric
 * matrix whose row-major entries are `data`, computed by TensorFlow in float64; null when the
 * native backend is not the one running.
 */
export function nativeSymmetricEigen(data: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } | null {
  const b = binding();
  if (!b) return null;
  const made: number[] = [];
  const run = (name: string, attrs: { name: string; type: number; value: unknown }[], inputs: number[], outputs = 1) => {
    const ids = b.executeOp(name, attrs, inputs, outputs).map((output) => output.id);
    made.push(...ids);
    return ids;
  };
  const type = (value: number) => ({ name: 'T', type: b.TF_ATTR_TYPE, value });
  const cast = (id: number, from: number, to: number) =>
    run('Cast', [{ name: 'SrcT', type: b.TF_ATTR_TYPE, value: from }, { name: 'DstT', type: b.TF_ATTR_TYPE, value: to }, { name: 'Truncate', type: b.TF_ATTR_BOOL, value: false }], [id])[0];
  const upload = (values: Float64Array, shape: number[]) => {
    const hi = Float32Array.from(values);
    const lo = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) lo[i] = values[i] - hi[i];
    const ids = [b.createTensor(shape, TF_FLOAT, hi), b.createTensor(shape, TF_FLOAT, lo)];
    made.push(...ids);
    return run('AddV2', [type(TF_DOUBLE)], [cast(ids[0], TF_FLOAT, TF_DOUBLE), cast(ids[1], TF_FLOAT, TF_DOUBLE)])[0];
  };
  const download = (id: number) => {
    const hi = cast(id, TF_DOUBLE, TF_FLOAT);
    const lo = cast(run('Sub', [type(TF_DOUBLE)], [id, cast(hi, TF_FLOAT, TF_DOUBLE)])[0], TF_DOUBLE, TF_FLOAT);
    const [high, low] = [b.tensorDataSync(hi), b.tensorDataSync(lo)];
    const out = new Float64Array(high.length);
    for (let i = 0; i < out.length; i++) out[i] = high[i] + low[i];
    return out;
  };
  try {
    const [values, vectors] = run('SelfAdjointEigV2', [type(TF_DOUBLE), { name: 'compute_v', type: b.TF_ATTR_BOOL, value: true }], [upload(data, [n, n])], 2);
    return { values: download(values), vectors: download(vectors) };
  } finally {
    for (const id of made) b.deleteTensor(id);
  }
}
