import { maskRedisUrl } from './redis-url.js';

export interface RedisNode {
  host: string;
  port: number;
}

/** Credentials and transport shared by the cluster's nodes, or by the master Sentinel names. */
export interface RedisAuth {
  username?: string;
  password?: string;
  tls: boolean;
}

/** Where the service's Redis is and how to reach it, derived once from configuration. */
export type RedisTarget =
  | ({ mode: 'standalone'; url: string } & RedisAuth)
  | ({ mode: 'cluster'; nodes: RedisNode[] } & RedisAuth)
  | ({ mode: 'sentinel'; sentinels: RedisNode[]; masterName: string; sentinelPassword?: string } & RedisAuth);

/** `host:port,host:port` (an IPv6 host in brackets) as nodes, or a message saying what is wrong. */
export function parseNodeList(value: string): RedisNode[] | string {
  const nodes: RedisNode[] = [];
  for (const item of value.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(item);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) return `"${item}" is not host:port`;
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return nodes.length > 0 ? nodes : 'name at least one host:port';
}

/**
 * True when every key under `prefix` hashes to one cluster slot: Redis hashes only what lies
 * between the key's first `{` and the first `}` after it, and the whole key when that is empty.
 */
export const hasHashTag = (prefix: string) => /^[^{]*\{[^}]+\}/.test(prefix);

const listNodes = (nodes: RedisNode[]) => nodes.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');

/** The target for logs and messages, never with a password. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.mode === 'standalone') return maskRedisUrl(target.url);
  if (target.mode === 'cluster') return `the Redis Cluster seeded at ${listNodes(target.nodes)}`;
  return `the master "${target.masterName}" of the Sentinels at ${listNodes(target.sentinels)}`;
}
