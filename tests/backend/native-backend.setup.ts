/**
 * For tests/backend/vitest.native.config.ts: every `startBackend(name)` in a
 * suite starts the backend LAPLACE_BACKEND names instead (default node), and
 * the suite fails at once when that backend cannot start, rather than
 * passing on another one.
 */
import { vi } from 'vitest';

vi.mock('../../compute/backend/index.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../compute/backend/index.ts')>();
  const wanted = process.env.LAPLACE_BACKEND || 'node';
  return {
    ...original,
    startBackend: async () => {
      const info = await original.startBackend(wanted);
      if (info.name !== wanted) throw new Error(`asked for backend ${wanted}, got ${info.name}`);
      return info;
    },
  };
});
