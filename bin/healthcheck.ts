import { existsSync } from 'node:fs';
import { loadConfig } from '../src/config.js';

/**
 * The container's health check, one command for every process the image runs: the API answers
 * /health on PORT, a worker on WORKER_METRICS_PORT. The first port that accepts a connection
 * decides; exits 0 when its /health answers 200, 1 otherwise or when neither port is served.
 */
if (existsSync('.env')) process.loadEnvFile('.env');
const config = loadConfig(process.env, { servesApi: false });
const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
const ports = [config.PORT, config.WORKER_METRICS_PORT].filter((port): port is number => port !== undefined);

async function probe(port: number): Promise<'healthy' | 'unhealthy' | 'not served'> {
  try {
    const response = await fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? 'healthy' : 'unhealthy';
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    return code === 'ECONNREFUSED' ? 'not served' : 'unhealthy';
  }
}

for (const port of ports) {
  const result = await probe(port);
  if (result === 'not served') continue;
  console.log(`${host}:${port}/health: ${result}`);
  process.exit(result === 'healthy' ? 0 : 1);
}
console.log(`nothing serves /health on ${ports.map((port) => `${host}:${port}`).join(' or ')}`);
process.exit(1);
