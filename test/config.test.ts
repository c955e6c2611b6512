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
