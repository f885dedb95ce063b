import pino, { type Logger } from 'pino';

/** One root logger; rooms take a child with `room` set. Secrets never reach a log line. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'urban-facility-hub' },
    redact: {
      paths: [
        'password',
        'secret',
        'secretHash',
        '*.password',
        '*.secret',
        '*.secretHash',
        'url',
        '*.url',
      ],
      censor: '[redacted]',
    },
  });
}
