import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RedisServerHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  port: number;
  dir: string;
  /** Append-only file on: the queue survives a restart. Off for throwaway test servers. */
  persist: boolean;
  binary?: string;
  /** A configuration file read first, e.g. a Sentinel's (which also needs `--sentinel` in `args`). */
  configFile?: string;
  /** More settings, after the defaults: `['--cluster-enabled', 'yes']`. */
  args?: string[];
}

export class RedisBinaryMissingError extends Error {
  constructor(binary: string) {
    super(`${binary} not found on PATH`);
    this.name = 'RedisBinaryMissingError';
  }
}

/** True when a Redis server answers PING at host:port within `timeoutMs`. */
export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

/** Starts a redis-server from PATH bound to loopback, and resolves once it answers. */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServerHandle> {
  const binary = options.binary ?? 'redis-server';
  mkdirSync(options.dir, { recursive: true });
  const args = [
    ...(options.configFile ? [options.configFile] : []),
    '--port', String(options.port),
    '--bind', '127.0.0.1',
    '--dir', options.dir,
    '--save', '',
    '--appendonly', options.persist ? 'yes' : 'no',
    '--daemonize', 'no',
    '--loglevel', 'warning',
    ...(options.args ?? []),
  ];
  // Its own process group: a Ctrl-C in the terminal must not stop Redis while the service drains.
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'ignore'], detached: true });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ENOENT' ? new RedisBinaryMissingError(binary) : error),
    );
    child.once('exit', (code) => resolve(new Error(`${binary} exited with code ${code} before answering`)));
  });

  const ready = (async () => {
    for (let waited = 0; waited < 10_000; waited += 50) {
      if (await redisAnswers('127.0.0.1', options.port)) return undefined;
      await sleep(50);
    }
    return new Error(`${binary} did not answer on port ${options.port} within 10 s`);
  })();

  const failure = await Promise.race([ready, exited]);
  if (failure) {
    child.kill('SIGKILL');
    throw failure;
  }
  return { url: `redis://127.0.0.1:${options.port}`, port: options.port, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}
