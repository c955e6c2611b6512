import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** A Node process of the project's, run from its TypeScript sources as `npm run …` would. */
export interface NodeProcess {
  child: ChildProcess;
  /** Peak resident memory so far (VmHWM), in bytes. */
  peakMemoryBytes(): number;
  stop(): Promise<void>;
}

export function startNodeProcess(script: string, env: Record<string, string>, args: string[] = [], nodeFlags: string[] = []): NodeProcess {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // However the bench ends, nothing it started outlives it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  return {
    child,
    peakMemoryBytes: () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resolves with the first line the process prints to stdout that `matches`. */
export function lineFrom(process: NodeProcess, matches: (line: string) => boolean, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.child.stdout! });
    const onExit = (code: number | null) => reject(new Error(`${what}: exited with ${code} first`));
    process.child.once('exit', onExit);
    lines.on('line', (line) => {
      if (!matches(line)) return;
      process.child.off('exit', onExit);
      resolve(line);
    });
  });
}

/** The Node flags `npm run api` gives the API (its heap ceiling), read from package.json so the bench runs it the same way. */
const apiNodeFlags = (): string[] => {
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  return scripts.api!.match(/--max-old-space-size=\d+/g) ?? [];
};

/** The API as `npm run api` runs it, up once /health answers. */
export async function startApiProcess(env: Record<string, string>): Promise<NodeProcess & { url: string }> {
  const api = startNodeProcess('src/server.ts', env, [], apiNodeFlags());
  api.child.stdout!.resume();
  const url = `http://127.0.0.1:${env.PORT}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (api.child.exitCode !== null) throw new Error(`the API exited with ${api.child.exitCode}`);
    if (await fetch(`${url}/health`).then((response) => response.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error('the API did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { ...api, url };
}
