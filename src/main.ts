import { ConfigError, loadConfig, type Config } from './config.js';
import { EmbeddedPostgresError } from './db/embedded.js';
import { openDatabase, type Database } from './db/index.js';
import { queryObserver } from './db/observe.js';
import { createLogger, type Logger } from './logger.js';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable and its meaning.\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function main() {
  const config = readConfig();
  const log = createLogger(config.logLevel);
  for (const warning of config.warnings) log.warn(warning);
  // Loading the API's modules takes about as long as starting a new database: both happen at once.
  const modules = loadServingModules();
  modules.catch(() => undefined);
  const database = await openDatabase(config, log, { onQuery: queryObserver({ slowQueryMs: config.database.slowQueryMs, log }) });
  // The embedded database runs in its own process group: a failed start must stop it, or it outlives the process.
  await startServing(config, log, database, modules).catch(async (error: unknown) => {
    await database.close().catch(() => undefined);
    throw error;
  });
}

async function loadServingModules() {
  const [{ createApp }, { createRuntime }] = await Promise.all([import('./server.js'), import('./runtime.js')]);
  return { createApp, createRuntime };
}

async function startServing(
  config: Config,
  log: Logger,
  database: Database,
  modules: ReturnType<typeof loadServingModules>,
) {
  const { createApp, createRuntime } = await modules;
  const runtime = createRuntime({ config, log, prisma: database.prisma, databaseUrl: database.url });
  const app = await createApp({ config, log, prisma: database.prisma, services: runtime.services });

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down: no new requests, finishing in-flight ones');
    const forceExit = setTimeout(() => {
      log.error('shutdown took longer than 25 s; exiting');
      process.exit(1);
    }, 25_000);
    forceExit.unref();
    try {
      await app.close();
      await runtime.stop();
      await database.close();
      log.info('shutdown complete');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await runtime.start();
  const address = await app.listen({ host: config.host, port: config.port });
  log.info({ address, graphql: `${address}/graphql`, ide: config.graphql.ide ? `${address}/graphiql` : null }, 'listening');
}

function describeStartFailure(error: unknown): string {
  // The database's own words say what to fix; a stack trace into the start-up code would only bury them.
  if (error instanceof EmbeddedPostgresError) return error.message;
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `\nCaused by: ${error.cause.stack ?? error.cause.message}` : '';
    return `${error.stack ?? error.message}${cause}`;
  }
  return error === undefined ? 'a start-up step failed without giving a reason' : String(error);
}

main().catch((error) => {
  process.stderr.write(`Failed to start: ${describeStartFailure(error)}\n`);
  process.exit(1);
});
