import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON lines on stderr (stdout carries only the lines scripts parse); credentials redacted. */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['*.authorization', '*.password', 'req.headers.authorization', '*.headers.authorization'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
