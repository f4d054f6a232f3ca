/**
 * The backend-sensitive suites on another backend than the one they ask for:
 * kernels, curvature against brute force, sampling, the predictives (the GLM one too),
 * the marginal likelihood and the search.
 * `LAPLACE_BACKEND=node npx vitest run --config tests/backend/vitest.native.config.ts`
 * (what .ci/run does) runs them on the native backend. The suites start
 * wasm (or cpu) by name; native-backend.setup.ts hands each the backend
 * LAPLACE_BACKEND names instead, so their assertions, all against independent
 * computations, are checked on it.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export const backendSensitiveSuites = [
  'tests/backend/native-kernels.test.ts',
  'tests/backend/native-eigen.test.ts',
  // Child processes on node under `--cpu-prof` at 1 ms (always node, whatever LAPLACE_BACKEND says).
  'tests/backend/native-profiler.test.ts',
  'tests/backend/gradients.test.ts',
  'tests/laplace/diag.test.ts',
  'tests/laplace/kfac.test.ts',
  'tests/laplace/efb.test.ts',
  'tests/laplace/sampling.test.ts',
  'tests/laplace/predictive.test.ts',
  'tests/laplace/evidence.test.ts',
  'tests/laplace/search.test.ts',
  'tests/laplace/functional.test.ts',
  'tests/laplace/stacked.test.ts',
  'tests/laplace/jacobian-batch.test.ts',
];

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: backendSensitiveSuites,
    setupFiles: ['tests/backend/native-backend.setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
