/** A worker for the pool's tests: the real task loop with tasks that count calls or break the backend. */
import { serveTasks } from '../../compute/workers/serve.ts';

// A worker started while this is set cannot start, as when a backend fails to load.
if (process.env.POOL_TEST_FAIL_START) throw new Error('the backend cannot start');

let calls = 0;
await serveTasks(
  {
    // How many tasks this worker has run: a fresh worker starts again at 1.
    count: async () => ++calls,
    // An ordinary failure: the worker stays usable.
    fail: async () => {
      calls++;
      throw new RangeError('bad parameter');
    },
    // What a wasm heap overflow or an emscripten abort throws.
    trap: async () => {
      calls++;
      throw new WebAssembly.RuntimeError('Aborted(memory access out of bounds)');
    },
  },
  'cpu',
);
