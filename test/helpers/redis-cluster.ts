import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { redisAnswers, startRedisServer, type RedisServerHandle } from '../../src/lib/redis-server.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface ClusterNode {
  id: string;
  port: number;
  address: string;
  role: 'master' | 'replica';
}

export interface RedisClusterHandle {
  nodes: ClusterNode[];
  /** The master serving the slot of `key` (or of a hash tag such as `{abc}`). */
  ownerOf(key: string): Promise<ClusterNode>;
  /** `host:port` of every node except the given ones, for seeding a client away from them. */
  seedsExcept(...excluded: ClusterNode[]): string;
  /** The replica that follows `master` now. */
  replicaOf(master: ClusterNode): Promise<ClusterNode>;
  /** `CLUSTER FAILOVER` on `replica`: it takes its master's slots over, with its master's agreement. */
  failover(replica: ClusterNode): Promise<void>;
  /** SIGKILL of the node's redis-server: no goodbye, as when a machine is lost. */
  kill(node: ClusterNode): Promise<void>;
  /** Until `node` is a master serving its slots and every live node sees the cluster ok. */
  promoted(node: ClusterNode, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Until `check` holds, for a cluster that settles on its own clock (gossip, slot agreement). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (await check().catch(() => false)) return;
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s`);
}

/**
 * A Redis Cluster of `masters` masters, each with one replica, on free loopback ports, from the
 * `redis-server` and `redis-cli` binaries on PATH. Ready when every node sees the whole cluster ok.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cluster-'));
  const servers: RedisServerHandle[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let index = 0; index < masters * 2; index += 1) {
      // The bus port is chosen too: the default (port + 10000) may be taken or above 65535.
      servers.push(
        await startRedisServer({
          port: await freePort(),
          dir: join(dir, `node-${index}`),
          persist: false,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(await freePort()), '--cluster-announce-ip', '127.0.0.1', '--cluster-node-timeout', '2000'],
        }),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    const admins = servers.map((server) => new Redis(server.url, { lazyConnect: true }));
    try {
      await until(
        async () => {
          for (const admin of admins) {
            const info = String(await admin.call('CLUSTER', 'INFO'));
            if (!/cluster_state:ok/.test(info) || !info.includes(`cluster_known_nodes:${servers.length}`)) return false;
          }
          return true;
        },
        'every node sees the cluster ok',
      );
      let nodes: ClusterNode[] = [];
      await until(async () => {
        nodes = parseClusterNodes(String(await admins[0]!.call('CLUSTER', 'NODES')));
        return nodes.filter((node) => node.role === 'replica').length === masters;
      }, `${masters} replicas`);
      // A replica counts once it has its master's data and follows its writes.
      await until(async () => {
        for (const [index, admin] of admins.entries()) {
          if (nodes.find((node) => node.port === servers[index]!.port)?.role !== 'replica') continue;
          if (!/master_link_status:up/.test(String(await admin.info('replication')))) return false;
        }
        return true;
      }, 'every replica in sync');
      const live = [...nodes];
      return {
        nodes,
        async ownerOf(key) {
          const admin = new Redis(servers[0]!.url);
          try {
            const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', key));
            const owner = slotOwner(String(await admin.call('CLUSTER', 'NODES')), slot);
            return nodes.find((node) => node.id === owner)!;
          } finally {
            admin.disconnect();
          }
        },
        seedsExcept: (...excluded) =>
          nodes
            .filter((node) => !excluded.some((other) => other.id === node.id))
            .map((node) => node.address)
            .join(','),
        async replicaOf(master) {
          const text = await onAny(live, (admin) => admin.call('CLUSTER', 'NODES'));
          const line = String(text).trim().split('\n').find((entry) => entry.split(' ')[3] === master.id && !entry.split(' ')[2]!.includes('fail'));
          if (!line) throw new Error(`no replica follows ${master.address}`);
          return nodes.find((node) => node.id === line.split(' ')[0])!;
        },
        async failover(replica) {
          await withAdmin(replica, (admin) => admin.call('CLUSTER', 'FAILOVER'));
        },
        async kill(node) {
          if (!live.some((other) => other.id === node.id)) throw new Error(`${node.address} is not running`);
          const pid = Number(/^process_id:(\d+)/m.exec(await withAdmin(node, (admin) => admin.info('server')))?.[1]);
          process.kill(pid, 'SIGKILL');
          live.splice(live.findIndex((other) => other.id === node.id), 1);
          await until(async () => !(await redisAnswers('127.0.0.1', node.port)), `${node.address} gone`);
        },
        async promoted(node, timeoutMs = 20_000) {
          await until(async () => /^role:master/m.test(await withAdmin(node, (admin) => admin.info('replication'))), `${node.address} a master`, timeoutMs);
          await until(
            async () => {
              for (const other of live) {
                if (!/cluster_state:ok/.test(String(await withAdmin(other, (admin) => admin.call('CLUSTER', 'INFO'))))) return false;
              }
              return true;
            },
            'every live node sees the cluster ok',
            timeoutMs,
          );
        },
        stop,
      };
    } finally {
      admins.forEach((admin) => admin.disconnect());
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

async function withAdmin<T>(node: ClusterNode, use: (admin: Redis) => Promise<T>): Promise<T> {
  const admin = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    return await use(admin);
  } finally {
    admin.disconnect();
  }
}

/** The first answer of any of `nodes`, for questions every node can answer. */
async function onAny<T>(nodes: ClusterNode[], use: (admin: Redis) => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (const node of nodes) {
    try {
      return await withAdmin(node, use);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <master id> ... <slot ranges>`. */
function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, endpoint, flags] = line.split(' ') as [string, string, string];
      const address = endpoint.split('@')[0]!;
      return { id, address, port: Number(address.split(':')[1]), role: flags.includes('master') ? 'master' : 'replica' };
    });
}

function slotOwner(text: string, slot: number): string {
  for (const line of text.trim().split('\n')) {
    const fields = line.split(' ');
    if (!fields[2]!.includes('master')) continue;
    for (const range of fields.slice(8)) {
      const [from, to = from] = range.split('-').map(Number) as [number, number?];
      if (slot >= from && slot <= to!) return fields[0]!;
    }
  }
  throw new Error(`no master owns slot ${slot}`);
}
