/**
 * Lets other work run between batches: setImmediate in Node (as before), a
 * zero timeout in browsers, which have no setImmediate.
 */
export const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => (typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate(resolve) : setTimeout(resolve, 0)));
