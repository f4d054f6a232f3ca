/** The parts of `npm run bench` (tests/bench/index.ts), apart so a test can check them without running any. */
export interface BenchPart {
  name: string;
  /** Its script under tests/bench/, runnable alone with --help. */
  file: string;
  /** Whether it takes --backend (the others choose their own backends). */
  backend: boolean;
  measures: string;
}

/** In the order they run. */
export const benchParts: BenchPart[] = [
  { name: 'backends', file: 'backends.ts', backend: false, measures: 'native ÷ wasm: training, a KFAC fit and the linearised predictive, each backend in its own process' },
  { name: 'core', file: 'run.ts', backend: true, measures: 'GLM predictive and search vs what they replace; training throughput; fits ÷ one epoch; Monte Carlo predictive ÷ T forward passes' },
  { name: 'fits', file: 'fits.ts', backend: true, measures: 'curvature fits (exact and mc; diag, kfac, efb, last-layer) ÷ one epoch, ÷ the code before the one-pass fits, ÷ PyTorch in the same run with --torch-python (laplace-torch where installed), else ÷ laplace-torch times typed in' },
  { name: 'train-step', file: 'train-step.ts', backend: false, measures: 'training images/s: the lean step ÷ the reference step, ÷ a forward + backward pass, ÷ PyTorch on one thread; per worker layout (node)' },
  { name: 'sampled', file: 'sampled.ts', backend: true, measures: 'a Laplace task\'s sampled predictive, sampled search and Jacobian pass: new ÷ old and ÷ their arithmetic (FLOPs ÷ the same backend\'s measured matmul rate)' },
  { name: 'phases', file: 'phases.ts', backend: true, measures: 'one Laplace task of the study (full profile) phase by phase in CPU seconds ÷ its arithmetic; the fit ÷ one training epoch; peak resident memory' },
  { name: 'bootstrap', file: 'bootstrap.ts', backend: false, measures: 'bootstrap intervals and paired differences of a Laplace task at full-profile sizes: before ÷ after, ÷ their arithmetic (one read per example per resample)' },
  { name: 'queue', file: 'queue.ts', backend: true, measures: 'quick-profile wall time through the queue with 1, 2 and 3 worker processes ÷ the local run (needs redis-server)' },
  { name: 'eigen', file: 'eigen.ts', backend: false, measures: 'symmetric eigendecomposition (800 and 3,137, the KFAC factor sizes) ÷ ml-matrix, and in GFLOP/s' },
];
