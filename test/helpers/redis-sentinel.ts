import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../src/lib/redis-server.js';
import { freePort } from './free-port.js';

export interface RedisSentinelGroup {
  /** The name the Sentinels monitor the master by. */
  masterName: string;
  /** `host:port` of every Sentinel, as `REDIS_SENTINELS` takes them. */
  sentinels: string;
  /** The port of the master when the group started, and of its replica. */
  masterPort: number;
  replicaPort: number;
  /** The port the Sentinels currently name as master. */
  currentMasterPort(): Promise<number>;
  /** Asks a Sentinel to fail over, and resolves once every Sentinel names the new master and it accepts writes. */
  failover(): Promise<number>;
  stop(): Promise<void>;
}

/** Until `check` holds, for servers that settle on their own clock (Sentinel discovery, failover). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (await check().catch(() => false)) return;
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s`);
}

/** `SENTINEL MASTER` answers a flat list of field, value. */
function fields(reply: unknown): Record<string, string> {
  const list = reply as string[];
  const result: Record<string, string> = {};
  for (let index = 0; index + 1 < list.length; index += 2) result[list[index]!] = list[index + 1]!;
  return result;
}

/**
 * A master, one replica and 3 Sentinels (quorum 2) on free loopback ports, from the `redis-server`
 * binary on PATH. Ready when every Sentinel sees the replica in sync and the two other Sentinels.
 */
export async function startRedisSentinelGroup(masterName = 'switchboard-master'): Promise<RedisSentinelGroup> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-sentinel-'));
  const servers: RedisServerHandle[] = [];
  const admins: Redis[] = [];
  const stop = async () => {
    admins.forEach((admin) => admin.disconnect());
    // Sentinels first, so none reconfigures a server while the others stop.
    await Promise.all(servers.slice(2).map((server) => server.stop()));
    await Promise.all(servers.slice(0, 2).map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const master = await startRedisServer({ port: await freePort(), dir: join(dir, 'master'), persist: false });
    servers.push(master);
    const replica = await startRedisServer({
      port: await freePort(),
      dir: join(dir, 'replica'),
      persist: false,
      args: ['--replicaof', '127.0.0.1', String(master.port)],
    });
    servers.push(replica);
    const sentinelPorts: number[] = [];
    const sentinelAdmins: Redis[] = [];
    for (let index = 0; index < 3; index += 1) {
      const sentinelDir = join(dir, `sentinel-${index}`);
      mkdirSync(sentinelDir, { recursive: true });
      // A Sentinel rewrites its configuration file: each has its own, writable.
      const configFile = join(sentinelDir, 'sentinel.conf');
      writeFileSync(
        configFile,
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 5000`,
          'sentinel announce-ip 127.0.0.1',
          '',
        ].join('\n'),
      );
      const sentinel = await startRedisServer({ port: await freePort(), dir: sentinelDir, persist: false, configFile, args: ['--sentinel'] });
      servers.push(sentinel);
      sentinelPorts.push(sentinel.port);
      sentinelAdmins.push(new Redis(sentinel.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 }));
    }

    admins.push(...sentinelAdmins);
    const replicaAdmin = new Redis(replica.port, '127.0.0.1', { lazyConnect: true });
    admins.push(replicaAdmin);
    await until(async () => /master_link_status:up/.test(await replicaAdmin.info('replication')), 'the replica in sync');
    await until(async () => {
      for (const admin of sentinelAdmins) {
        const seen = fields(await admin.call('SENTINEL', 'MASTER', masterName));
        if (seen['num-slaves'] !== '1' || seen['num-other-sentinels'] !== '2') return false;
        const replicas = (await admin.call('SENTINEL', 'REPLICAS', masterName)) as unknown[];
        if (!replicas.map(fields).some((known) => known.port === String(replica.port) && known['master-link-status'] === 'ok')) return false;
      }
      return true;
    }, 'every Sentinel sees the replica and the two other Sentinels');

    const masterPortOf = async (admin: Redis) => Number(((await admin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as string[])[1]);
    return {
      masterName,
      sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      masterPort: master.port,
      replicaPort: replica.port,
      currentMasterPort: () => masterPortOf(sentinelAdmins[0]!),
      async failover() {
        const before = await masterPortOf(sentinelAdmins[0]!);
        await sentinelAdmins[0]!.call('SENTINEL', 'FAILOVER', masterName);
        let after = before;
        await until(async () => {
          const ports = await Promise.all(sentinelAdmins.map(masterPortOf));
          after = ports[0]!;
          return after !== before && ports.every((port) => port === after);
        }, 'every Sentinel names a new master');
        const promoted = new Redis(after, '127.0.0.1', { lazyConnect: true });
        try {
          await until(async () => /role:master/.test(await promoted.info('replication')), 'the new master takes writes');
        } finally {
          promoted.disconnect();
        }
        return after;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
