import { loadConfig, type Config } from '../src/config.js';
import type { Db } from '../src/db/client.js';
import { openDatabase } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import { createServices, type Services } from '../src/services/index.js';

/** A command-line tool prints its own result; the server's info logs would only bury it. */
export function loadCommandConfig(): Config {
  return loadConfig({ LOG_LEVEL: 'warn', ...process.env });
}

/**
 * Opens the database (DATABASE_URL, or the embedded one under DATA_DIR, migrated), builds the services, runs the
 * command and closes everything, also when it throws.
 */
export async function withServices<T>(
  run: (services: Services, prisma: Db) => Promise<T>,
  config: Config = loadCommandConfig(),
): Promise<T> {
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, log);
  const services = createServices({ prisma: database.prisma, config, log });
  try {
    return await run(services, database.prisma);
  } finally {
    await services.close();
    await database.close();
  }
}

/** Runs a command's main with its arguments; a failure prints its message alone and exits 1. */
export function runCommand(main: (args: string[]) => Promise<number | void>) {
  main(process.argv.slice(2)).then(
    (exitCode) => process.exit(exitCode ?? 0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
