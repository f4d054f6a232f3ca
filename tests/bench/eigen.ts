/**
 * compute/laplace/linalg/eigen.ts against ml-matrix's EigenvalueDecomposition (JAMA's tred2 + tql2) on
 * random symmetric positive semi-definite matrices of the sizes the study decomposes (the
 * last-layer Fisher of LeNet-5 is 850 × 850, cnn-1's KFAC factor 3,137 × 3,137), as the ratio
 * of CPU times measured in one run, interleaved.
 *
 *   npx tsx tests/bench/eigen.ts [--sizes 800,3137] [--repeats 2]
 */
import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import { parseArgs } from 'node:util';
import { symmetricEigen, type Matrix } from '../../compute/laplace/linalg/index.ts';
import { Random } from '../../compute/laplace/random.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '800,3137' }, repeats: { type: 'string', default: '2' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('Usage: npx tsx tests/bench/eigen.ts [--sizes 800,3137] [--repeats 2]\n\nCPU time of ml-matrix\'s EigenvalueDecomposition ÷ that of compute/laplace/linalg\'s symmetricEigen, per size.');
  process.exit(0);
}
const sizes = values.sizes!.split(',').map(Number);
const repeats = Number(values.repeats);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(repeats) || repeats < 1) throw new Error('--sizes takes positive integers separated by commas and --repeats a positive integer.');

const cpuSeconds = (work: () => unknown) => {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

/** B Bᵀ / n for a random n × (n/2) matrix B: symmetric, positive semi-definite, half its eigenvalues zero, like a curvature factor from fewer examples than rows. */
function curvatureLike(n: number, random: Random): Matrix {
  const k = Math.max(1, Math.floor(n / 2));
  const b = Float64Array.from({ length: n * k }, () => random.normal());
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let l = 0; l < k; l++) sum += b[i * k + l] * b[j * k + l];
      data[i * n + j] = data[j * n + i] = sum / n;
    }
  }
  return { rows: n, cols: n, data };
}

const random = new Random(5);
for (const n of sizes) {
  const ratios: number[] = [];
  let ours = 0;
  for (let r = 0; r < repeats; r++) {
    // A fresh matrix object each time, so symmetricEigen decomposes it rather than recalling it.
    const a = curvatureLike(n, random);
    const rows = Array.from({ length: n }, (_, i) => Array.from(a.data.subarray(i * n, (i + 1) * n)));
    ours = cpuSeconds(() => symmetricEigen(a));
    const theirs = cpuSeconds(() => new EigenvalueDecomposition(new MlMatrix(rows), { assumeSymmetric: true }));
    ratios.push(theirs / ours);
    console.log(`n = ${n}: symmetricEigen ${ours.toFixed(1)} s, ml-matrix ${theirs.toFixed(1)} s CPU`);
  }
  console.log(`n = ${n}: ml-matrix / symmetricEigen = ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} (flops ≈ 8n³/3 + rotations: ${((8 * n ** 3) / 1e9).toFixed(1)} GFLOP upper estimate, ${((8 * n ** 3) / 1e9 / ours).toFixed(2)} GFLOP/s for ours)`);
}
