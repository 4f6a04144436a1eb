/** The process logger: pino JSON lines, or readable lines in dev mode. Never give it a token or a secret. @module */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { dev?: boolean; level?: string } = {}): Logger {
  const level = options.level ?? process.env.AIRCLUTCH_LOG_LEVEL ?? 'info';
  if (!options.dev) return pino({ level });
  return pino({
    level,
    transport: {
      target: 'pino-pretty',
      options: {
        colorize: process.stdout.isTTY && !process.env.NO_COLOR,
        // An access line's fields are in its message already (`GET /api/v1/runs 200 in 14 ms`).
        ignore: 'pid,hostname,method,path,statusCode,responseTime',
        translateTime: 'HH:MM:ss.l',
      },
    },
  });
}
