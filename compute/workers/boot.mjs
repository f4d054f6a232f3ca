// Worker threads do not inherit tsx's loader; register it, then load the TypeScript entry
// (the study's worker unless the pool was given another, as tests do).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry ?? './worker.ts');
