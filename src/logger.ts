import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'imagegen-credits-api', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["stripe-signature"]', 'req.headers.cookie', 'headers.authorization'],
      censor: '[redacted]',
    },
  };
  return pino(options, destination ?? logDestination());
}

/**
 * Where log lines go (stdout by default): written asynchronously and gathered into one write(2) per 4 KB or per
 * 200 ms, whichever comes first, since a write per line costs a busy server more than the line itself. What is
 * buffered is written when the process exits.
 */
export function logDestination(dest: number | string = 1): DestinationStream {
  return pino.destination({ dest, sync: false, minLength: 4096, periodicFlush: 200 });
}
