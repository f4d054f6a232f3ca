/**
 * Symmetric eigendecomposition A = V diag(λ) Vᵀ, in two stages:
 *
 * 1. Householder reduction to tridiagonal form, T = Z A Zᵀ with Z orthogonal.
 *    Only the lower triangle is updated (A is symmetric), and every loop runs
 *    along rows so that row-major storage is read contiguously.
 * 2. Implicit symmetric QR with Wilkinson shifts on T, chasing a bulge down the
 *    unreduced block with Givens rotations. Each rotation mixes two rows of Z
 *    (T ← P T Pᵀ, Z ← P Z keeps T = Z A Zᵀ), so at the end the rows of Z are the
 *    eigenvectors. The rotations are recorded and applied to Z in column strips
 *    that stay in cache, since columns of Z transform independently; applying
 *    them row pair by row pair would stream all of Z through memory per sweep.
 *
 * The cost is about 8 n³ flops: 4/3 n³ each for the reduction and for forming Z,
 * the rest in the rotations (about n² of them, each touching 2n entries).
 */

import { checkSquare, dot, firstNonFiniteEntry, matrix, type Matrix } from './matrix.ts';

export type SymmetricEigen = {
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** Orthonormal eigenvectors as columns: column k belongs to values[k]. */
  vectors: Matrix;
};

/**
 * Decompositions already computed, by the matrix object, with a fingerprint of its entries at
 * the time: a curvature factor is decomposed once per task although the fit (EFB's eigenbasis),
 * the posterior, the search and the evidence each ask for it (cnn-1's 3,137 × 3,137 factor
 * costs minutes). An entry lives as long as its matrix; a matrix changed in place since no
 * longer matches its fingerprint and is decomposed afresh.
 */
const decompositions = new WeakMap<Matrix, { data: Float64Array; rows: number; fingerprint: string; eigen: SymmetricEigen }>();
let computed = 0;

/**
 * A faster decomposition that a backend may offer (the native one does, in TensorFlow's float64
 * kernel: backend/native-eigen.ts): given the symmetrised row-major entries, the
 * eigenvalues ascending and the eigenvectors as columns, or null when it cannot serve now.
 */
export type SymmetricEigenAccelerator = (data: Float64Array, n: number) => { values: Float64Array; vectors: Float64Array } | null;
let accelerator: SymmetricEigenAccelerator | null = null;
/** Below this size the JavaScript decomposition takes milliseconds; the accelerator is not worth the copies. */
const acceleratedFrom = 64;

/** Use `solver` for matrices from 64 rows on (null: JavaScript only). Results then depend on the solver's rounding. */
export function setSymmetricEigenAccelerator(solver: SymmetricEigenAccelerator | null): void {
  accelerator = solver;
}

/** How many decompositions `symmetricEigen` has computed (not served from its memory), for tests and benches. */
export function symmetricEigenComputations(): number {
  return computed;
}

/** A 64-bit hash (two 32-bit lanes) of every bit of the entries, one pass. */
function fingerprintOf(data: Float64Array): string {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  let first = 0x811c9dc5 ^ data.length;
  let second = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    first = Math.imul(first ^ words[i], 0x01000193);
    second = Math.imul(second + words[i], 0x85ebca6b) ^ (second >>> 13);
  }
  return `${first >>> 0}:${second >>> 0}`;
}

/**
 * Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix.
 * The argument is symmetrised first, (a + aᵀ)/2, so rounding asymmetry in an
 * accumulated curvature matrix does no harm. Throws on non-finite entries;
 * `name` says what the matrix is in that message.
 *
 * Asked again for the same, unchanged matrix object, it returns the decomposition it
 * computed before, the very object: callers share it and must not modify it.
 */
export function symmetricEigen(a: Matrix, name = 'The matrix'): SymmetricEigen {
  checkSquare(a, 'symmetricEigen');
  const known = decompositions.get(a);
  if (known && known.data === a.data && known.rows === a.rows && known.fingerprint === fingerprintOf(a.data)) return known.eigen;
  const eigen = computeSymmetricEigen(a, name);
  computed++;
  decompositions.set(a, { data: a.data, rows: a.rows, fingerprint: fingerprintOf(a.data), eigen });
  return eigen;
}

function computeSymmetricEigen(a: Matrix, name: string): SymmetricEigen {
  const n = a.rows;
  const nonFinite = firstNonFiniteEntry(a);
  if (nonFinite !== null) {
    const [row, col] = nonFinite;
    throw new Error(
      `${name} has no eigendecomposition: its entry (${row}, ${col}) is ${a.data[row * n + col]}; ` +
        `find where the non-finite value comes from (a diverged model, or an overflowing or empty curvature sum).`,
    );
  }
  if (n === 0) return { values: new Float64Array(0), vectors: matrix(0, 0) };
  const accelerated = n >= acceleratedFrom ? acceleratedEigen(a) : null;
  if (accelerated) return accelerated;

  const work = lowerTriangleOfSymmetrized(a);
  const diagonal = new Float64Array(n);
  const offDiagonal = new Float64Array(n);
  const basis = tridiagonalize(work, n, diagonal, offDiagonal);
  diagonalizeTridiagonal(diagonal, offDiagonal, basis, n, name);

  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => diagonal[i] - diagonal[j]);
  const values = new Float64Array(n);
  const vectors = matrix(n, n);
  const V = vectors.data;
  for (let column = 0; column < n; column++) {
    const source = order[column];
    values[column] = diagonal[source];
    const sourceRow = source * n;
    for (let row = 0; row < n; row++) V[row * n + column] = basis[sourceRow + row];
  }
  return { values, vectors };
}

/** The accelerator's decomposition of (a + aᵀ)/2, or null when there is none, it declines, or it fails. */
function acceleratedEigen(a: Matrix): SymmetricEigen | null {
  if (!accelerator) return null;
  const n = a.rows;
  const src = a.data;
  const symmetric = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    symmetric[i * n + i] = src[i * n + i];
    for (let j = 0; j < i; j++) symmetric[i * n + j] = symmetric[j * n + i] = 0.5 * (src[i * n + j] + src[j * n + i]);
  }
  let result: ReturnType<SymmetricEigenAccelerator>;
  try {
    result = accelerator(symmetric, n);
  } catch {
    // A solver that does not converge reports an error; the JavaScript decomposition then answers.
    return null;
  }
  if (!result || result.values.length !== n || result.vectors.length !== n * n) return null;
  for (let k = 1; k < n; k++) if (!(result.values[k - 1] <= result.values[k])) return null;
  return { values: result.values, vectors: { rows: n, cols: n, data: result.vectors } as Matrix };
}

/** A row-major copy of (a + aᵀ)/2 with only the lower triangle (diagonal included) filled in. */
function lowerTriangleOfSymmetrized(a: Matrix): Float64Array {
  const n = a.rows;
  const src = a.data;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) out[i * n + j] = 0.5 * (src[i * n + j] + src[j * n + i]);
    out[i * n + i] = src[i * n + i];
  }
  return out;
}

/**
 * Reduces the symmetric matrix whose lower triangle is in `work` to tridiagonal
 * form: fills `diagonal` and `offDiagonal` (offDiagonal[k] couples k and k+1,
 * offDiagonal[n-1] = 0) and returns the orthogonal Z, row-major, with T = Z A Zᵀ.
 * `work` is overwritten: row k's upper part keeps the k-th Householder vector.
 */
function tridiagonalize(work: Float64Array, n: number, diagonal: Float64Array, offDiagonal: Float64Array): Float64Array {
  const betas = new Float64Array(n);
  // Step k updates the trailing block S ← H S H = S − v wᵀ − w vᵀ. That update is
  // deferred and fused into step k + 1's pass over the block, which applies it row
  // by row and immediately uses each updated row for the next product S v: one
  // sweep through memory per step instead of two.
  let v = new Float64Array(n);
  let w = new Float64Array(n);
  let previousV = new Float64Array(n);
  let previousW = new Float64Array(n);

  for (let k = 0; k + 2 < n; k++) {
    const first = k + 1;
    // Bring column k (rows k..n-1) up to date with the deferred update of step k − 1.
    const pvk = previousV[k];
    const pwk = previousW[k];
    for (let i = k; i < n; i++) work[i * n + k] -= previousV[i] * pwk + previousW[i] * pvk;
    diagonal[k] = work[k * n + k];

    // The column below the diagonal, x = S[k+1.., k], is sent to alpha · e_1 by the
    // reflection H = I − β v vᵀ. With v = (x − alpha · e_1) / (x0 − alpha), so that
    // v_0 = 1, β = 1 − x0 / alpha lies in [1, 2] and nothing depends on the scale of
    // the matrix; the norm itself is scaled to avoid overflow and underflow.
    let largest = 0;
    for (let i = first; i < n; i++) largest = Math.max(largest, Math.abs(work[i * n + k]));
    let beta = 0;
    let alpha = 0;
    if (largest > 0) {
      let sumOfSquares = 0;
      for (let i = first; i < n; i++) {
        const scaled = work[i * n + k] / largest;
        sumOfSquares += scaled * scaled;
      }
      const norm = largest * Math.sqrt(sumOfSquares);
      const x0 = work[first * n + k];
      // The sign opposite to x0 avoids cancellation in x0 − alpha.
      alpha = x0 > 0 ? -norm : norm;
      beta = 1 - x0 / alpha;
      const lead = x0 - alpha;
      v[first] = 1;
      for (let i = first + 1; i < n; i++) v[i] = work[i * n + k] / lead;
    } else {
      // Already reduced: H = I, but the deferred update must still be applied below.
      for (let i = first; i < n; i++) v[i] = 0;
    }
    offDiagonal[k] = alpha;
    betas[k] = beta;
    const vRow = k * n;
    for (let i = first; i < n; i++) work[vRow + i] = v[i];

    // One pass over the lower triangle of S: apply the deferred update to row i,
    // then add that row's share of S v (each S_ij with j < i feeds p_i and p_j).
    for (let i = first; i < n; i++) w[i] = 0;
    for (let i = first; i < n; i++) {
      const row = i * n;
      const vi = v[i];
      const pvi = previousV[i];
      const pwi = previousW[i];
      let sum = 0;
      for (let j = first; j < i; j++) {
        const sij = work[row + j] - (pvi * previousW[j] + pwi * previousV[j]);
        work[row + j] = sij;
        sum += sij * v[j];
        w[j] += sij * vi;
      }
      const sii = work[row + i] - 2 * pvi * pwi;
      work[row + i] = sii;
      w[i] += sum + sii * vi;
    }
    // w ← p − (β/2)(pᵀv) v with p = β S v.
    let pv = 0;
    for (let i = first; i < n; i++) {
      w[i] *= beta;
      pv += w[i] * v[i];
    }
    const halfBetaPv = 0.5 * beta * pv;
    for (let i = first; i < n; i++) w[i] -= halfBetaPv * v[i];

    [previousV, v] = [v, previousV];
    [previousW, w] = [w, previousW];
  }
  // The last deferred update reaches the trailing 2 × 2 block (indices ≥ n − 2).
  for (let i = Math.max(0, n - 2); i < n; i++) {
    for (let j = Math.max(0, n - 2); j <= i; j++) work[i * n + j] -= previousV[i] * previousW[j] + previousW[i] * previousV[j];
  }
  if (n >= 2) {
    diagonal[n - 2] = work[(n - 2) * n + (n - 2)];
    offDiagonal[n - 2] = work[(n - 1) * n + (n - 2)];
  }
  diagonal[n - 1] = work[(n - 1) * n + (n - 1)];
  offDiagonal[n - 1] = 0;

  // Z = H_{n-3} ··· H_1 H_0, built from the right starting at the last reflection:
  // while H_k is applied, the product so far acts only on indices ≥ k + 2, so only
  // rows and columns ≥ k + 1 change. Reflections go two at a time, so that each
  // row of Z is read and written once per pair:
  //   r ← r − y_a v_aᵀ − y_b v_bᵀ, y_a = β_a r·v_a, y_b = β_b (r·v_b − y_a v_a·v_b).
  const Z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Z[i * n + i] = 1;
  const vA = new Float64Array(n);
  const vB = new Float64Array(n);
  let k = n - 3;
  for (; k >= 1; k -= 2) {
    const betaA = betas[k];
    const betaB = betas[k - 1];
    const first = k; // v_b starts at index k, v_a at k + 1
    vA[first] = 0;
    for (let j = first + 1; j < n; j++) vA[j] = work[k * n + j];
    for (let j = first; j < n; j++) vB[j] = work[(k - 1) * n + j];
    const vAvB = dot(vA, first, vB, first, n - first);
    for (let i = first; i < n; i++) {
      const row = i * n;
      let dotA = 0;
      let dotB = 0;
      for (let j = first; j < n; j++) {
        const zij = Z[row + j];
        dotA += zij * vA[j];
        dotB += zij * vB[j];
      }
      const yA = betaA * dotA;
      const yB = betaB * (dotB - yA * vAvB);
      for (let j = first; j < n; j++) Z[row + j] -= yA * vA[j] + yB * vB[j];
    }
  }
  if (k === 0 && betas[0] !== 0) {
    // The odd one out, H_0, acting on indices ≥ 1.
    const beta = betas[0];
    for (let i = 1; i < n; i++) {
      const row = i * n;
      const coefficient = beta * dot(Z, row + 1, work, 1, n - 1);
      for (let j = 1; j < n; j++) Z[row + j] -= coefficient * work[j];
    }
  }
  return Z;
}

/** Rotations recorded before they are applied to the basis; bounds the buffer's memory. */
const ROTATION_BUFFER = 1 << 17;
/** Column strip width: n rows × STRIP_BYTES / 8 entries stay in cache while all rotations pass over them. */
const STRIP_BYTES = 1 << 18;

/**
 * Diagonalises the tridiagonal (diagonal, offDiagonal) in place by implicit QR
 * steps, applying every rotation to the rows of `basis` (n × n, row-major).
 */
function diagonalizeTridiagonal(diagonal: Float64Array, offDiagonal: Float64Array, basis: Float64Array, n: number, name: string): void {
  const d = diagonal;
  const e = offDiagonal;
  // Off-diagonals below eps · ‖T‖ are zero to working precision; a backward-stable
  // decomposition of a dense matrix cannot do better than that absolute accuracy.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + Math.abs(e[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0));
  const tolerance = Number.EPSILON * norm;

  const rotationRow = new Int32Array(ROTATION_BUFFER);
  const rotationCos = new Float64Array(ROTATION_BUFFER);
  const rotationSin = new Float64Array(ROTATION_BUFFER);
  let rotationCount = 0;
  const stripWidth = Math.max(8, Math.min(n, Math.floor(STRIP_BYTES / 8 / n)));
  const flush = (): void => {
    for (let j0 = 0; j0 < n; j0 += stripWidth) {
      const j1 = Math.min(n, j0 + stripWidth);
      let r = 0;
      while (r < rotationCount) {
        const k = rotationRow[r];
        if (r + 3 < rotationCount && rotationRow[r + 3] === k + 3 && rotationRow[r + 1] === k + 1 && rotationRow[r + 2] === k + 2) {
          // Four rotations of one sweep on rows k..k+4: the value carried from one
          // rotation to the next stays in a register instead of going through memory.
          const c0 = rotationCos[r];
          const s0 = rotationSin[r];
          const c1 = rotationCos[r + 1];
          const s1 = rotationSin[r + 1];
          const c2 = rotationCos[r + 2];
          const s2 = rotationSin[r + 2];
          const c3 = rotationCos[r + 3];
          const s3 = rotationSin[r + 3];
          const o0 = k * n;
          const o1 = o0 + n;
          const o2 = o1 + n;
          const o3 = o2 + n;
          const o4 = o3 + n;
          for (let j = j0; j < j1; j++) {
            let carried = basis[o0 + j];
            let next = basis[o1 + j];
            basis[o0 + j] = c0 * carried + s0 * next;
            carried = c0 * next - s0 * carried;
            next = basis[o2 + j];
            basis[o1 + j] = c1 * carried + s1 * next;
            carried = c1 * next - s1 * carried;
            next = basis[o3 + j];
            basis[o2 + j] = c2 * carried + s2 * next;
            carried = c2 * next - s2 * carried;
            next = basis[o4 + j];
            basis[o3 + j] = c3 * carried + s3 * next;
            basis[o4 + j] = c3 * next - s3 * carried;
          }
          r += 4;
          continue;
        }
        const c = rotationCos[r];
        const s = rotationSin[r];
        const upper = k * n;
        const lower = upper + n;
        for (let j = j0; j < j1; j++) {
          const zu = basis[upper + j];
          const zl = basis[lower + j];
          basis[upper + j] = c * zu + s * zl;
          basis[lower + j] = c * zl - s * zu;
        }
        r++;
      }
    }
    rotationCount = 0;
  };

  const maxSteps = 30 * n + 30;
  let steps = 0;
  let hi = n - 1;
  while (hi > 0) {
    if (Math.abs(e[hi - 1]) <= tolerance) {
      e[hi - 1] = 0;
      hi--;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && Math.abs(e[lo - 1]) > tolerance) lo--;
    if (lo > 0) e[lo - 1] = 0;
    if (++steps > maxSteps) {
      throw new Error(`${name}: the symmetric eigendecomposition did not converge after ${maxSteps} QR steps; check the matrix for extreme entries.`);
    }
    if (rotationCount + (hi - lo) > ROTATION_BUFFER) flush();

    // Wilkinson shift: the eigenvalue of the trailing 2 × 2 block nearer to d[hi].
    const half = 0.5 * (d[hi - 1] - d[hi]);
    const coupling = e[hi - 1];
    const root = Math.hypot(half, coupling);
    const shift = d[hi] - coupling * (coupling / (half + (half >= 0 ? root : -root)));

    // The first rotation is that of a QR step on T − shift · I; the rest chase the
    // bulge it creates at (k + 2, k) down and out of the block.
    let x = d[lo] - shift;
    let z = e[lo];
    for (let k = lo; k < hi; k++) {
      const r = Math.hypot(x, z);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : z / r;
      if (k > lo) e[k - 1] = r;
      const a = d[k];
      const b = d[k + 1];
      const f = e[k];
      const cc = c * c;
      const ss = s * s;
      const cs = c * s;
      d[k] = cc * a + 2 * cs * f + ss * b;
      d[k + 1] = ss * a - 2 * cs * f + cc * b;
      e[k] = cs * (b - a) + (cc - ss) * f;
      if (k + 1 < hi) {
        z = s * e[k + 1];
        e[k + 1] *= c;
        x = e[k];
      }
      rotationRow[rotationCount] = k;
      rotationCos[rotationCount] = c;
      rotationSin[rotationCount] = s;
      rotationCount++;
    }
  }
  flush();
}

