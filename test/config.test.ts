import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('gives the contract defaults with nothing set, and the simulated carrier', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 3000,
      CALL_WORKER_CONCURRENCY: 5,
      CALL_RATE_MAX: 10,
      CALL_RATE_WINDOW_MS: 60_000,
      CALL_ATTEMPTS: 3,
      CALL_BACKOFF_MS: 2_000,
      carrier: 'simulated',
      redisUrl: 'redis://127.0.0.1:6379',
      redisUrlDefaulted: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('feeds campaigns a second of the dial rate ahead, at least twice a worker\'s concurrency, unless CAMPAIGN_HOPPER_SIZE says otherwise', () => {
    expect(loadConfig({}).campaignHopperSize).toBe(10);
    expect(loadConfig({ CALL_RATE_MAX: '50', CALL_RATE_WINDOW_MS: '1000' }).campaignHopperSize).toBe(50);
    expect(loadConfig({ CALL_RATE_MAX: '50', CALL_RATE_WINDOW_MS: '1000', CAMPAIGN_HOPPER_SIZE: '7' }).campaignHopperSize).toBe(7);
    expect(() => loadConfig({ CAMPAIGN_HOPPER_SIZE: '0' })).toThrow(ConfigError);
  });

  it('treats an empty assignment as unset', () => {
    expect(loadConfig({ REDIS_URL: '', PORT: '' })).toMatchObject({ redisUrlDefaulted: true, PORT: 3000 });
  });

  it('dials through Twilio when all three credentials are set', () => {
    const config = loadConfig({
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'secret',
      TWILIO_PHONE_NUMBER: '+14155550100',
      REDIS_URL: 'rediss://user:pass@redis.example.com:6380',
    });
    expect(config).toMatchObject({ carrier: 'twilio', redisUrl: 'rediss://user:pass@redis.example.com:6380', redisUrlDefaulted: false });
  });

  it('names every bad variable at once', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', CALL_RATE_MAX: '0', REDIS_URL: 'localhost:6379', LOG_LEVEL: 'loud' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const names = (error as ConfigError).problems.map((problem) => problem.split(':')[0]);
      expect(names.sort()).toEqual(['CALL_RATE_MAX', 'LOG_LEVEL', 'PORT', 'REDIS_URL']);
      expect((error as Error).message).toContain('PORT');
    }
  });

  it('refuses a partial set of Twilio credentials, naming the missing ones', () => {
    expect(() => loadConfig({ TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}` })).toThrow(/TWILIO_AUTH_TOKEN.*\n.*TWILIO_PHONE_NUMBER/);
  });

  it('refuses a malformed account SID', () => {
    expect(() => loadConfig({ TWILIO_ACCOUNT_SID: 'nope', TWILIO_AUTH_TOKEN: 'x', TWILIO_PHONE_NUMBER: '+14155550100' })).toThrow(/TWILIO_ACCOUNT_SID/);
  });
});

describe('loadConfig: where Redis is', () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('is one server at REDIS_URL by default, its user, password and TLS taken from the URL', () => {
    expect(loadConfig({}).redis).toEqual({ mode: 'standalone', url: 'redis://127.0.0.1:6379', tls: false });
    expect(loadConfig({ REDIS_URL: 'rediss://app:s%40cret@redis.example.com:6380' }).redis).toEqual({
      mode: 'standalone',
      url: 'rediss://app:s%40cret@redis.example.com:6380',
      username: 'app',
      password: 's@cret',
      tls: true,
    });
  });

  it('reads a cluster from its seed nodes, with credentials and TLS from their own variables', () => {
    const config = loadConfig({
      REDIS_MODE: 'cluster',
      REDIS_CLUSTER_NODES: 'node-a.example.com:7000, 10.0.0.2:7001,[::1]:7002',
      QUEUE_PREFIX: '{switchboard}',
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD: 'secret',
      REDIS_TLS: 'true',
    });
    expect(config.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'node-a.example.com', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 'secret',
      tls: true,
    });
    // Only a standalone Redis left unset may be replaced by a private one.
    expect(config.redisUrlDefaulted).toBe(false);
  });

  it('refuses a cluster whose QUEUE_PREFIX has no non-empty hash tag, naming QUEUE_PREFIX', () => {
    for (const prefix of ['switchboard', 'switch{}board', 'switch}{board', '{}{switchboard}']) {
      expect(problemsOf({ REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: '127.0.0.1:7000', QUEUE_PREFIX: prefix })).toEqual([
        expect.stringMatching(/^QUEUE_PREFIX: .*hash tag.*\{switchboard\}/),
      ]);
    }
    for (const prefix of ['{switchboard}', 'app:{calls}', '{tenant-1}:switchboard']) {
      expect(problemsOf({ REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: '127.0.0.1:7000', QUEUE_PREFIX: prefix })).toEqual([]);
    }
  });

  it('refuses a cluster without seed nodes or with one that is not host:port', () => {
    expect(problemsOf({ REDIS_MODE: 'cluster', QUEUE_PREFIX: '{sb}' })).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES: required with REDIS_MODE=cluster/)]);
    expect(problemsOf({ REDIS_MODE: 'cluster', QUEUE_PREFIX: '{sb}', REDIS_CLUSTER_NODES: '127.0.0.1:7000,redis.example.com' })).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_NODES: "redis.example.com" is not host:port/),
    ]);
    expect(problemsOf({ REDIS_MODE: 'cluster', QUEUE_PREFIX: '{sb}', REDIS_CLUSTER_NODES: '127.0.0.1:70000' })).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES:/)]);
  });

  it('reads a Sentinel group, the master password from REDIS_URL when REDIS_PASSWORD is unset', () => {
    const config = loadConfig({
      REDIS_MODE: 'sentinel',
      REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      REDIS_URL: 'rediss://:master-secret@ignored.example.com:6379',
    });
    expect(config.redis).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      masterName: 'mymaster',
      sentinelPassword: 'sentinel-secret',
      password: 'master-secret',
      tls: true,
    });
  });

  it('refuses a Sentinel group without its Sentinels or master name, naming each', () => {
    expect(problemsOf({ REDIS_MODE: 'sentinel' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINELS: required with REDIS_MODE=sentinel/),
      expect.stringMatching(/^REDIS_SENTINEL_NAME: required with REDIS_MODE=sentinel/),
    ]);
  });

  it('refuses variables of another mode, so a forgotten REDIS_MODE is not silently standalone', () => {
    expect(problemsOf({ REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES: read only with REDIS_MODE=cluster; REDIS_MODE is standalone/)]);
    expect(problemsOf({ REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINELS: read only with REDIS_MODE=sentinel/),
      expect.stringMatching(/^REDIS_SENTINEL_NAME: read only with REDIS_MODE=sentinel/),
    ]);
    expect(problemsOf({ REDIS_MODE: 'clustered' })).toEqual([expect.stringMatching(/^REDIS_MODE:/)]);
    expect(problemsOf({ REDIS_TLS: 'maybe' })).toEqual([expect.stringMatching(/^REDIS_TLS:/)]);
  });
});

describe('how answered calls reach the voice agent', () => {
  const twilio = { TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'secret', TWILIO_PHONE_NUMBER: '+14155550100' };
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('speaks the message by default; with the simulated carrier the built-in agent takes bridged and streamed calls', () => {
    expect(loadConfig({ PORT: '4100' })).toMatchObject({
      CALL_CONNECT_MODE: 'say',
      AMD_ON_HUMAN: 'connect',
      AMD_ON_MACHINE: 'connect',
      agentDialTarget: 'sip:agent@simulated-agent.invalid',
      agentStreamUrl: 'ws://127.0.0.1:4100/simulator/agent/stream',
    });
    expect(loadConfig({ PUBLIC_URL: 'https://calls.example.com' }).agentStreamUrl).toBe('wss://calls.example.com/simulator/agent/stream');
  });

  it('has no agent through Twilio until one is configured', () => {
    expect(loadConfig(twilio)).toMatchObject({ agentDialTarget: undefined, agentStreamUrl: undefined });
    expect(loadConfig({ ...twilio, AGENT_DIAL_TARGET: '+14155550999', AGENT_STREAM_URL: 'wss://agent.example.com/s' })).toMatchObject({
      agentDialTarget: '+14155550999',
      agentStreamUrl: 'wss://agent.example.com/s',
    });
  });

  it('refuses a default mode whose agent is not configured, a ws:// stream for Twilio, and a machine policy without PUBLIC_URL', () => {
    expect(problemsOf({ ...twilio, CALL_CONNECT_MODE: 'agent' })).toEqual([expect.stringMatching(/^AGENT_DIAL_TARGET: required with CALL_CONNECT_MODE=agent/)]);
    expect(problemsOf({ ...twilio, CALL_CONNECT_MODE: 'stream' })).toEqual([expect.stringMatching(/^AGENT_STREAM_URL: required with CALL_CONNECT_MODE=stream/)]);
    expect(problemsOf({ ...twilio, AGENT_STREAM_URL: 'ws://agent.example.com/s' })).toEqual([expect.stringMatching(/^AGENT_STREAM_URL: Twilio opens Media Streams over wss:\/\/ only/)]);
    expect(problemsOf({ ...twilio, AMD_ON_MACHINE: 'voicemail' })).toEqual([expect.stringMatching(/PUBLIC_URL/)]);
    expect(problemsOf({ ...twilio, AMD_ON_MACHINE: 'voicemail', PUBLIC_URL: 'https://calls.example.com' })).toEqual([]);
    expect(problemsOf({ CALL_CONNECT_MODE: 'dial', AMD_ON_HUMAN: 'maybe', AGENT_STREAM_URL: 'https://agent.example.com' }).map((problem) => problem.split(':')[0]).sort()).toEqual([
      'AGENT_STREAM_URL',
      'AMD_ON_HUMAN',
      'CALL_CONNECT_MODE',
    ]);
  });

  it('accepts machine among the outcomes to redial', () => {
    expect(loadConfig({ REDIAL_ON: 'busy,machine' }).REDIAL_ON).toEqual(['busy', 'machine']);
  });
});
