import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { spawnCommand, type SpawnedCommand } from './helpers/spawn-command.js';

const started: SpawnedCommand[] = [];
afterEach(() => {
  for (const command of started.splice(0)) command.killGroup();
});

async function npmRun(script: string) {
  const port = await freePort();
  const env = {
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    PORT: String(port),
    LOG_LEVEL: 'info',
  };
  const command = spawnCommand('npm', ['run', '--silent', script], env);
  started.push(command);
  return command;
}

describe('the npm scripts, as a process manager runs them', () => {
  it.each([
    ['start', /Switchboard is listening/],
    ['api', /Server listening/],
    ['worker', /call worker started/],
  ])('npm run %s stops with every process it started when npm gets SIGTERM', async (script, ready) => {
    const command = await npmRun(script);
    await command.waitForLog(ready);
    process.kill(command.pid, 'SIGTERM');
    await command.exited;
    expect(await command.groupGone(15_000)).toBe(true);
    expect(command.lines.join('\n')).toMatch(/stopped/);
  }, 60_000);

  it('npm start says which Redis it uses, and warns when that Redis keeps nothing on disk', async () => {
    const command = await npmRun('start');
    // The harness's Redis runs without an append-only file or snapshots.
    const line = await command.waitForLog(/Redis/);
    expect(line).toMatchObject({ level: 40, redis: inject('redisUrl'), appendonly: 'no', save: '' });
    expect(line.msg).toMatch(/keeps nothing on disk.*lost/);
    await command.waitForLog(/Switchboard is listening/);
    expect(command.lines.filter((text) => /"redis":/.test(text))).toHaveLength(1);
  }, 60_000);
});
