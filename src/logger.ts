import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'switchboard' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-twilio-signature"]', 'authToken'],
      censor: '[redacted]',
    },
  };
}

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(loggerOptions(level)).child(bindings);
}
