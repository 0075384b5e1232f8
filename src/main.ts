import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig, type Config } from './config.js';
import { EmbeddedPostgresError } from './db/embedded.js';
import { connectDatabase, startDatabase, type Database, type RunningDatabase } from './db/index.js';
import { createLogger, type Logger } from './logger.js';
import type { Runtime } from './runtime.js';

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
  // A new embedded database (initdb, server start, migrations) is made mostly by other processes and takes about as
  // long as loading the API's modules (Prisma client, schema, Apollo): it starts before any of them is imported, so
  // the two happen at once on the two cores of a small machine.
  const starting = startDatabase(config, log);
  const modules = loadServingModules();
  modules.catch(() => undefined);
  const database = await starting;
  // The embedded database runs in its own process group: a failed start must stop it, or it outlives the process.
  await startServing(config, log, database, modules).catch(async (error: unknown) => {
    await database.close().catch(() => undefined);
    throw error;
  });
}

async function loadServingModules() {
  const [{ createApp }, { createRuntime }, { createPrismaClient }, { queryObserver }] = await Promise.all([
    import('./server.js'),
    import('./runtime.js'),
    import('./db/client.js').then(async (client) => {
      await client.preloadQueryCompiler();
      return client;
    }),
    import('./db/observe.js'),
  ]);
  return { createApp, createRuntime, createPrismaClient, queryObserver };
}

async function startServing(
  config: Config,
  log: Logger,
  running: RunningDatabase,
  loading: ReturnType<typeof loadServingModules>,
) {
  // Migrations need none of the API's modules: they start as soon as the server answers.
  const migrated = running.migrate();
  migrated.catch(() => undefined);
  const modules = await loading.catch(async (error: unknown) => {
    await migrated.catch(() => undefined);
    throw error;
  });
  const database = connectDatabase(running, config, modules.createPrismaClient, {
    onQuery: modules.queryObserver({ slowQueryMs: config.database.slowQueryMs, log }),
  });
  try {
    const runtime = modules.createRuntime({ config, log, prisma: database.prisma, databaseUrl: database.url });
    const app = modules.createApp({ config, log, prisma: database.prisma, services: runtime.services });
    // The job queue's own schema and queues (a second's work on a new database), the HTTP app and Prisma's first
    // connection do not depend on the migrations: all are set up at once. All end before a failure is reported; the
    // migrations' comes first.
    const settled = await Promise.allSettled([migrated, runtime.queue.start(), app, database.prisma.$connect()]);
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    await serve(config, log, database, runtime, await app);
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}

async function serve(
  config: Config,
  log: Logger,
  database: Database,
  runtime: Runtime,
  app: FastifyInstance,
) {
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

  await runtime.prepare();
  // A signal during the steps above leaves the rest to the shutdown, which waits for the step under way.
  if (shuttingDown) return;
  const address = await app.listen({ host: config.host, port: config.port });
  log.info({ address, graphql: `${address}/graphql`, ide: config.graphql.ide ? `${address}/graphiql` : null }, 'listening');
  if (shuttingDown) return;
  // Requests are served from here on; the workers take the queue's jobs and the tables' rows, which wait meanwhile.
  await runtime.startWorkers();
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
