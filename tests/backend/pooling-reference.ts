/**
 * Average pooling by explicit loops (TensorFlow's padding: 'same' puts
 * floor(total/2) above/left and the rest below/right; each window averages its
 * cells inside the input), and the exact gradient of Σ w ⊙ avgPool(x) that
 * follows from it: every input cell collects w_o / count_o from each window o
 * that holds it. No TensorFlow.js in here.
 */
export interface PoolGeometry {
  height: number;
  width: number;
  channels: number;
  pool: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
}

function axis(size: number, filter: number, stride: number, padding: 'same' | 'valid') {
  const outputs = padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - filter) / stride) + 1;
  const total = padding === 'same' ? Math.max((outputs - 1) * stride + filter - size, 0) : 0;
  const before = Math.floor(total / 2);
  /** Input indices of window o, clipped to the input. */
  const cells = (o: number) => {
    const out: number[] = [];
    for (let k = 0; k < filter; k++) {
      const index = o * stride + k - before;
      if (index >= 0 && index < size) out.push(index);
    }
    return out;
  };
  return { outputs, cells };
}

export function outputShape(g: PoolGeometry): [number, number] {
  return [axis(g.height, g.pool[0], g.strides[0], g.padding).outputs, axis(g.width, g.pool[1], g.strides[1], g.padding).outputs];
}

/** avgPool of one example x [H, W, C] (row-major), [outH, outW, C]. */
export function averagePoolByHand(x: ArrayLike<number>, g: PoolGeometry): Float64Array {
  const rows = axis(g.height, g.pool[0], g.strides[0], g.padding);
  const cols = axis(g.width, g.pool[1], g.strides[1], g.padding);
  const out = new Float64Array(rows.outputs * cols.outputs * g.channels);
  for (let i = 0; i < rows.outputs; i++)
    for (let j = 0; j < cols.outputs; j++) {
      const [rs, cs] = [rows.cells(i), cols.cells(j)];
      for (let c = 0; c < g.channels; c++) {
        let sum = 0;
        for (const r of rs) for (const q of cs) sum += x[(r * g.width + q) * g.channels + c];
        out[(i * cols.outputs + j) * g.channels + c] = sum / (rs.length * cs.length);
      }
    }
  return out;
}

/** ∂/∂x of Σ w ⊙ avgPool(x) for one example, [H, W, C]; w is [outH, outW, C]. */
export function averagePoolGradientByHand(w: ArrayLike<number>, g: PoolGeometry): Float64Array {
  const rows = axis(g.height, g.pool[0], g.strides[0], g.padding);
  const cols = axis(g.width, g.pool[1], g.strides[1], g.padding);
  const dx = new Float64Array(g.height * g.width * g.channels);
  for (let i = 0; i < rows.outputs; i++)
    for (let j = 0; j < cols.outputs; j++) {
      const [rs, cs] = [rows.cells(i), cols.cells(j)];
      for (let c = 0; c < g.channels; c++) {
        const share = w[(i * cols.outputs + j) * g.channels + c] / (rs.length * cs.length);
        for (const r of rs) for (const q of cs) dx[(r * g.width + q) * g.channels + c] += share;
      }
    }
  return dx;
}

/** Geometries with uneven padding, overlapping and skipping windows, non-square pools. */
export const poolGeometries: PoolGeometry[] = [
  { height: 3, width: 3, channels: 1, pool: [2, 2], strides: [2, 2], padding: 'same' },
  { height: 5, width: 5, channels: 2, pool: [2, 2], strides: [2, 2], padding: 'same' },
  { height: 4, width: 4, channels: 2, pool: [3, 3], strides: [1, 1], padding: 'same' },
  { height: 5, width: 6, channels: 3, pool: [2, 3], strides: [1, 2], padding: 'same' },
  { height: 7, width: 5, channels: 1, pool: [3, 2], strides: [3, 3], padding: 'same' },
  { height: 6, width: 6, channels: 2, pool: [2, 2], strides: [2, 2], padding: 'valid' },
  { height: 6, width: 5, channels: 2, pool: [3, 2], strides: [2, 1], padding: 'valid' },
];

export const describeGeometry = (g: PoolGeometry) => `${g.height}×${g.width}×${g.channels}, pool ${g.pool.join('×')}, strides ${g.strides.join('×')}, '${g.padding}'`;
