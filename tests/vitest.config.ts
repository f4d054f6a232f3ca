import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The config lives in tests/ to keep the top level as the design card has it; tests run from the project root.
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['tests/**/*.test.ts'],
    // One cold quick-profile run shared by the pipeline and site tests.
    globalSetup: ['tests/quick-results.setup.ts'],
    // TensorFlow.js backends are process-global; one file at a time per worker keeps them apart.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
