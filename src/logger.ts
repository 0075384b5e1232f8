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
  // Asynchronous writes: a line per request no longer costs a blocking write(2) each; what is buffered is flushed
  // when the process exits.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
