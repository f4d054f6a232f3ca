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
];
