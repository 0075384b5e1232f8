import { loadConfig, type Config } from '../src/config.js';
import type { Db } from '../src/db/client.js';
import { openDatabase } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import { createServices, type Services } from '../src/services/index.js';

/**
 * A command-line tool prints its own result; the server's info logs would only bury it. It fails at once when the
 * database does not answer, instead of retrying like the server does at start.
 */
export function loadCommandConfig(): Config {
  return loadConfig({ LOG_LEVEL: 'warn', DATABASE_START_RETRY_SECONDS: '0', ...process.env });
}

const interruptSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * On Ctrl-C (or SIGTERM, SIGHUP) runs `cleanup` (stopping an embedded database this command started, which runs in
 * its own process group and would otherwise outlive it) and exits 130 / 143 / 129. Returns the remover.
 */
export function cleanUpOnInterrupt(cleanup: () => Promise<void>): () => void {
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  const handler = (signal: (typeof interruptSignals)[number]) => {
    process.stderr.write(`Interrupted (${signal}); stopping.\n`);
    cleanup().finally(() => process.exit(codes[signal]));
  };
  for (const signal of interruptSignals) process.once(signal, handler);
  return () => {
    for (const signal of interruptSignals) process.removeListener(signal, handler);
  };
}

/**
 * Opens the database (DATABASE_URL, or the embedded one under DATA_DIR, migrated; a running `npm start`'s embedded
 * database is used as it is), builds the services, runs the command and closes everything, also when it throws.
 */
export async function withServices<T>(
  run: (services: Services, prisma: Db) => Promise<T>,
  config: Config = loadCommandConfig(),
): Promise<T> {
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, log);
  const services = createServices({ prisma: database.prisma, config, log });
  const removeInterruptHandler = cleanUpOnInterrupt(() => database.close());
  try {
    return await run(services, database.prisma);
  } finally {
    removeInterruptHandler();
    await services.close();
    await database.close();
  }
}

/**
 * Runs a command's main with its arguments; a failure prints its message alone and exits 1. The exit is explicit:
 * the exit code must not depend on what else (a library's exit hook) runs when the event loop empties.
 */
export function runCommand(main: (args: string[]) => Promise<number | void>) {
  main(process.argv.slice(2)).then(
    (exitCode) => process.exit(exitCode ?? 0),
    (error: unknown) => {
      process.stderr.write(`${describeError(error)}\n`);
      process.exit(1);
    },
  );
}

/** An error's message, with its cause when it has one; never the bare `undefined` of a rejection without a reason. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
    return `${error.message || error.name}${cause}`;
  }
  return error === undefined ? 'failed without a reason (a promise rejected with no error)' : String(error);
}
