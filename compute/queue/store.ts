/**
 * What the enqueuer and the workers share through Redis besides BullMQ's own
 * keys: the queue's name, its URL checked and reached once before any work,
 * and a store of files by content hash. No filesystem is shared: a task's
 * inputs (checkpoints, fitted curvatures) and outputs (artifacts, new cache
 * files) travel as blobs under the sha256 of their bytes, and whoever reads
 * one checks that its bytes have that hash.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sha256, writeFileAtomic } from '../artifacts/json.ts';

/** A problem with the queue a user can cause or fix: a bad URL, a server that cannot be reached, a task that keeps failing. */
export class QueueError extends Error {
  override name = 'QueueError';
}

/** The BullMQ queue every study task goes through. */
export const queueName = 'laplace-study';
export const blobPrefix = `${queueName}:blob:`;

/** A file of a task's inputs or outputs: its path (relative to the results or cache folder, with /) and the sha256 of its bytes. */
export interface FileRef {
  path: string;
  sha256: string;
}

export interface QueueAddress {
  url: string;
  /** Where and how to connect: the fields ioredis and BullMQ both take. */
  options: { host: string; port: number; db: number; username?: string; password?: string; tls?: object };
}

/** A redis:// or rediss:// URL, checked without connecting. */
export function parseQueueUrl(text: string): QueueAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new QueueError(`--queue "${text}" is not a URL; give one like redis://HOST:6379.`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new QueueError(`--queue "${text}" is not a redis:// or rediss:// URL; give one like redis://HOST:6379.`);
  }
  if (url.hostname === '') throw new QueueError(`--queue "${text}" names no host; give one like redis://HOST:6379.`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new QueueError(`--queue "${text}" has "${dbText}" where a database number belongs.`);
  const options: QueueAddress['options'] = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  return { url: text, options };
}

/**
 * A connection for this side's own commands (blobs, job states). It fails a
 * command at once while the server is away instead of queueing it forever,
 * so the enqueuer can say the queue is lost rather than hang.
 */
export function openConnection(address: QueueAddress): Redis {
  const redis = new Redis({ ...address.options, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: (times) => Math.min(times * 200, 1000) });
  // Connection errors surface as failed commands; without a listener ioredis would also print each one.
  redis.on('error', () => {});
  return redis;
}

/** Connect and PING within `seconds`, or one sentence saying why not. */
export async function reachQueue(address: QueueAddress, seconds = 5): Promise<Redis> {
  const redis = openConnection(address);
  // ioredis rejects connect() with "Connection is closed"; the socket's own error (ECONNREFUSED, ENOTFOUND) says why.
  let cause: unknown = null;
  const remember = (error: unknown) => (cause ??= error);
  redis.on('error', remember);
  try {
    await withTimeout(
      (async () => {
        await redis.connect();
        await redis.ping();
      })(),
      seconds,
      'no answer',
    );
    redis.off('error', remember);
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new QueueError(`Cannot reach the queue at ${address.url}: ${describeRedisError(cause ?? error)}.`);
  }
}

export function describeRedisError(error: unknown): string {
  const failure = error as NodeJS.ErrnoException;
  // ioredis's words for "the socket is down", whatever took it down.
  if (/Stream isn't writeable|Connection is closed/.test(failure.message ?? '')) return 'no connection';
  const code = failure.code ? `${failure.code} ` : '';
  return `${code}${(failure.message ?? String(error)).replace(/^connect \w+ /, '').replace(/\.$/, '')}`.trim();
}

export async function withTimeout<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${seconds} s`)), seconds * 1000)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Remove the blobs of these hashes (those already gone are skipped); the number removed. */
export async function deleteBlobs(redis: Redis, hashes: Iterable<string>): Promise<number> {
  const keys = [...hashes].map((hash) => blobPrefix + hash);
  let removed = 0;
  for (let start = 0; start < keys.length; start += 500) removed += await redis.del(...keys.slice(start, start + 500));
  return removed;
}

/** The hashes of the files a job names: its inputs and, once it finished, its outputs. */
export function blobsOfJob(data: unknown, returnvalue: unknown): string[] {
  const refs = (list: unknown) => (Array.isArray(list) ? (list as FileRef[]).map((ref) => ref.sha256) : []);
  const job = (data ?? {}) as { inputs?: unknown };
  const result = (returnvalue ?? {}) as { artifacts?: unknown; cacheFiles?: unknown };
  return [...refs(job.inputs), ...refs(result.artifacts), ...refs(result.cacheFiles)];
}

/** Store bytes under their hash (once: a blob already there is the same bytes). */
export async function putBlob(redis: Redis, bytes: Buffer): Promise<string> {
  const hash = sha256(bytes);
  const key = blobPrefix + hash;
  if ((await redis.exists(key)) === 0) await redis.set(key, bytes);
  return hash;
}

/** The bytes stored under `hash`, checked against it. */
export async function getBlob(redis: Redis, hash: string, what: string): Promise<Buffer> {
  const bytes = await redis.getBuffer(blobPrefix + hash);
  if (bytes === null) throw new QueueError(`The queue's store has no ${what} (sha256 ${hash.slice(0, 16)}…); was the Redis database flushed during the run?`);
  const actual = sha256(bytes);
  if (actual !== hash) throw new QueueError(`${what} from the queue's store does not match its hash (sha256 ${actual.slice(0, 16)}…, expected ${hash.slice(0, 16)}…).`);
  return bytes;
}

/** Upload files under `root`, returning their references. */
export async function uploadFiles(redis: Redis, root: string, paths: string[]): Promise<FileRef[]> {
  const refs: FileRef[] = [];
  for (const path of paths) refs.push({ path, sha256: await putBlob(redis, readFileSync(join(root, path))) });
  return refs;
}

/** Make every referenced file present under `root` with its bytes, fetching (and checking) only those missing or different. */
export async function downloadFiles(redis: Redis, root: string, refs: FileRef[]): Promise<number> {
  let fetched = 0;
  for (const ref of refs) {
    if (ref.path.split('/').some((part) => part === '..' || part === '') || ref.path.startsWith('/')) {
      throw new QueueError(`A task's file "${ref.path}" is not a relative path inside its folder; refusing to write it.`);
    }
    const target = join(root, ref.path);
    if (existsSync(target) && sha256(readFileSync(target)) === ref.sha256) continue;
    writeFileAtomic(target, await getBlob(redis, ref.sha256, ref.path));
    fetched += 1;
  }
  return fetched;
}
