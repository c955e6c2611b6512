import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from '../logger.js';

export interface Running {
  close(): Promise<void>;
}

/** A reason not to start that one log line explains, with no stack trace. */
export class StartupFailure extends Error {
  constructor(message: string, readonly fields: Record<string, unknown> = {}) {
    super(message);
    this.name = 'StartupFailure';
  }
}

export interface ProcessOptions {
  /** False for a process that serves no API, so HOST without keys is no exposure. Default true. */
  servesApi?: boolean;
}

/** How long a drain may take before the process gives up and exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 30_000;
/** npm forwards the terminal's Ctrl-C, so one keypress can arrive twice: that is not a second request. */
const DUPLICATE_SIGNAL_MS = 1_000;

/**
 * The shared life of an entry file: read `.env` and the configuration once, start, and on SIGTERM
 * or SIGINT close everything in order. A second signal, a moment later, exits at once.
 */
export async function runProcess(
  name: string,
  start: (config: Readonly<Config>, logger: Logger) => Promise<Running>,
  { servesApi = true }: ProcessOptions = {},
) {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env, { servesApi });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL, { process: name });

  // Signals are heard from the start: one that arrives while starting stops the process once it is up.
  const starting = start(config, logger);
  let stoppingSince: number | undefined;
  const stop = async (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < DUPLICATE_SIGNAL_MS) return;
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, `${name} draining`);
    const timer = setTimeout(() => {
      logger.error(`${name} did not drain within ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    try {
      await (await starting).close();
      logger.info(`${name} stopped`);
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, `${name} failed while draining`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', stop).on('SIGINT', stop);

  try {
    await starting;
  } catch (error) {
    if (error instanceof StartupFailure) logger.fatal(error.fields, error.message);
    else logger.fatal({ err: error }, `${name} could not start`);
    process.exit(1);
  }
}
