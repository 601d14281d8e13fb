import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Operational logs: JSON lines. Secrets must never reach them; as a second
 * line of defence the usual credential fields are censored wherever they appear.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keyrelay' },
      redact: {
        paths: ['secret', 'token', 'authorization', '*.secret', '*.token', '*.authorization', 'headers.authorization', 'headers["x-api-key"]', 'headers["x-goog-api-key"]'],
        censor: '[REDACTED]',
      },
    },
    destination as never,
  );
}
