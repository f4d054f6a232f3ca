/**
 * What the queue tests start: their own redis-server (a free loopback port, a
 * temporary folder, no persistence), queue workers and enqueuing runs as
 * child processes (node itself with tsx's loader, so a pid is the process
 * that computes and SIGKILL reaches it), and, where this machine lets root
 * make them, network namespaces joined to the host by veth pairs.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const redisInstalled = spawnSync('redis-server', ['--version']).status === 0;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A redis-server of this test's own, listening on loopback and on `extraBinds` (the hosts' ends of veth pairs). */
export async function startRedis(extraBinds: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'queue-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', ['127.0.0.1', ...extraBinds].join(' '), '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let tries = 0; ; tries++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') break;
    if (tries > 100 || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A child running a TypeScript entry, its output collected as it comes. */
export interface Running {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number>;
  /** Resolves when the output matches `pattern` (rejects when the process ends first). */
  waitFor(pattern: RegExp, seconds: number): Promise<RegExpMatchArray>;
}

export function runTs(entry: string, args: string[], wrapper: string[] = []): Running {
  const command = [...wrapper, process.execPath, '--import', 'tsx', entry, ...args];
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1', QUEUE_STATUS_SECONDS: '1' } });
  let text = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exit = new Promise<number>((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return {
    child,
    output: () => text,
    exit,
    waitFor(pattern, seconds) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no output matching ${pattern} within ${seconds} s; output so far:\n${text.slice(-3000)}`)), seconds * 1000);
        const check = () => {
          const match = text.match(pattern);
          if (match) done(null, match);
        };
        const done = (error: Error | null, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(match!);
        };
        listeners.add(check);
        void exit.then(() => setTimeout(() => done(new Error(`the process ended (output:\n${text.slice(-3000)})`)), 50));
        check();
      });
    },
  };
}

export function startWorker(url: string, name: string, backend: string, wrapper: string[] = []): Running {
  const cache = mkdtempSync(join(tmpdir(), `queue-worker-${name}-`));
  return runTs('compute/queue/worker.ts', ['--queue', url, '--backend', backend, '--workers', '1', '--cache', cache, '--name', name, '--lock-seconds', '4'], wrapper);
}

/** Stop a child by its pid, and wait for it. */
export async function stop(running: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill(signal);
  await running.exit;
}

export interface Namespace {
  name: string;
  /** The host's end of its veth pair: the address Redis listens on for it. */
  hostAddress: string;
  /** Run a command inside it. */
  wrapper: string[];
  remove(): void;
}

/**
 * A network namespace with one veth pair to the host (10.231.N.1 on the
 * host, 10.231.N.2 inside): a worker in it reaches Redis only over that
 * address. Null, with the reason, where the machine does not allow it
 * (not root, no iproute2, no CAP_NET_ADMIN).
 */
export function makeNamespace(index: number): Namespace | { reason: string } {
  const name = `queue-test-${process.pid}-${index}`;
  const [hostEnd, innerEnd] = [`qh${process.pid % 10000}n${index}`, `qi${process.pid % 10000}n${index}`];
  const subnet = `10.231.${(process.pid % 200) + index}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  // Each part may be missing (a half-made namespace, or one already gone).
  const remove = () => {
    try {
      ip('link', 'del', hostEnd);
    } catch {}
    try {
      ip('netns', 'del', name);
    } catch {}
  };
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', innerEnd);
    ip('link', 'set', innerEnd, 'netns', name);
    ip('addr', 'add', `${subnet}.1/24`, 'dev', hostEnd);
    ip('link', 'set', hostEnd, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${subnet}.2/24`, 'dev', innerEnd);
    ip('netns', 'exec', name, 'ip', 'link', 'set', innerEnd, 'up');
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (error) {
    remove();
    return { reason: ((error as { stderr?: Buffer }).stderr?.toString() || (error as Error).message).trim() };
  }
  return {
    name,
    hostAddress: `${subnet}.1`,
    wrapper: ['ip', 'netns', 'exec', name],
    remove,
  };
}
