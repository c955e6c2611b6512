import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SpawnedProcess {
  /** Resolves with the first log line whose message matches. */
  waitForLog(pattern: RegExp): Promise<Record<string, unknown>>;
  lines: string[];
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs an entry file as `npm` would, with tsx, and reads its JSON log lines. */
export function spawnEntry(file: string, env: Record<string, string>): SpawnedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: Record<string, unknown>) => void }> = [];
  const onLine = (line: string) => {
    lines.push(line);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      parsed = { msg: line };
    }
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(String(parsed.msg))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return {
    lines,
    exited,
    kill: (signal) => child.kill(signal),
    waitForLog(pattern) {
      const seen = lines.map((line) => { try { return JSON.parse(line) as Record<string, unknown>; } catch { return { msg: line }; } })
        .find((line) => pattern.test(String(line.msg)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then((code) => reject(new Error(`exited with ${code} before logging ${pattern}:\n${lines.join('\n')}`)));
      });
    },
  };
}
