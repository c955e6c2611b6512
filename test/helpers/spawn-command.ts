import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SpawnedCommand {
  pid: number;
  /** Every line the command printed, stdout and stderr together. */
  lines: string[];
  /** Resolves with the first JSON log line whose `msg` matches; rejects if the command exits first. */
  waitForLog(pattern: RegExp): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  /** Resolves once no process of the command's process group is left. */
  groupGone(timeoutMs: number): Promise<boolean>;
  /** SIGKILL to the whole group, for cleanup. */
  killGroup(): void;
}

const parse = (line: string): Record<string, unknown> => {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { msg: line };
  }
};

/** Runs a command as a process manager would: in a process group of its own, with only `env`. */
export function spawnCommand(command: string, args: string[], env: Record<string, string>, cwd = process.cwd()): SpawnedCommand {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: Record<string, unknown>) => void }> = [];
  const onLine = (line: string) => {
    lines.push(line);
    const parsed = parse(line);
    for (const waiter of [...waiters]) {
      if (!waiter.pattern.test(String(parsed.msg))) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(parsed);
    }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid!;
  const groupAlive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  return {
    pid,
    lines,
    exited,
    waitForLog(pattern) {
      const seen = lines.map(parse).find((line) => pattern.test(String(line.msg)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then((code) => reject(new Error(`${command} exited with ${code} before logging ${pattern}:\n${lines.join('\n')}`)));
      });
    },
    async groupGone(timeoutMs) {
      // The group's processes are not our children, so nothing signals their exit: look.
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
        if (!groupAlive()) return true;
      }
      return !groupAlive();
    },
    killGroup() {
      if (groupAlive()) process.kill(-pid, 'SIGKILL');
    },
  };
}
