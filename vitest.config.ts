import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // TensorFlow.js backends are process-global; one file at a time per worker keeps them apart.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
