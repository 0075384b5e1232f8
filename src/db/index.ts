import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Db, QueryEvent } from './client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { databaseTemplateContents } from './template.js';

// Both load pg, which `npm start` does not need before PostgreSQL is on its way: they are imported when used.
const loadMigrations = () => import('./migrations.js');
const loadSettings = () => import('./settings.js');

export interface Database {
  url: string;
  prisma: Db;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * Resolves the database URL: DATABASE_URL when set, otherwise an embedded PostgreSQL kept under DATA_DIR.
 * The caller owns the returned `stop`.
 */
export async function resolveDatabaseUrl(
  config: Config,
  log: Logger,
): Promise<{ url: string; embedded: EmbeddedDatabase | null }> {
  if (config.database.url) return { url: config.database.url, embedded: null };
  const dir = join(config.database.dataDir, 'postgres');
  log.info({ dir }, 'DATABASE_URL is not set: using the embedded PostgreSQL');
  const embedded = await startEmbeddedPostgres({
    dir,
    port: config.database.embeddedPort,
    persistent: true,
    useTemplate: config.database.embeddedTemplate,
    templateContents: databaseTemplateContents(),
    onLog: (message) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
  });
  log.info(
    { port: embedded.port, startedHere: embedded.owned },
    embedded.owned ? 'embedded PostgreSQL is ready' : 'embedded PostgreSQL is already running (another process owns it); using it',
  );
  return { url: embedded.url, embedded };
}

/** A database server that answers, before migrations and before any client of the service's own connects to it. */
export interface RunningDatabase {
  /** With the service's connection settings (statement timeout included). */
  url: string;
  embedded: boolean;
  /** Applies pending migrations (logged). */
  migrate(): Promise<void>;
  /** Stops the embedded database if this process started it. */
  close(): Promise<void>;
}

/**
 * Starts (or finds) the database server and waits until it answers. Loads nothing heavy (no Prisma client): a new
 * embedded database is prepared by other processes while this one loads the rest of the service.
 */
export async function startDatabase(config: Config, log: Logger): Promise<RunningDatabase> {
  const resolving = resolveDatabaseUrl(config, log);
  const loadingSettings = loadSettings();
  const loadingMigrations = loadMigrations();
  loadingSettings.catch(() => undefined);
  loadingMigrations.catch(() => undefined);
  const { url: baseUrl, embedded } = await resolving;
  const { waitForDatabase, withConnectionSettings } = await loadingSettings;
  const settings = config.database;
  // Migrations may run longer than any request should: no statement timeout for them.
  const migrationUrl = withConnectionSettings(baseUrl, settings, { statementTimeout: false, tls: !embedded });
  const url = withConnectionSettings(baseUrl, settings, { statementTimeout: true, tls: !embedded });
  if (!embedded) {
    await waitForDatabase(migrationUrl, { retrySeconds: settings.startRetrySeconds, connectTimeoutMs: settings.connectTimeoutMs, log });
  }
  return {
    url,
    embedded: embedded !== null,
    async migrate() {
      const { applyMigrations } = await loadingMigrations;
      const { applied } = await applyMigrations(migrationUrl, { log: (message) => log.info(message) });
      if (applied.length) log.info({ applied }, 'migrations applied');
    },
    close: async () => embedded?.stop(),
  };
}

/** The service's Prisma client on a running database; closing disconnects it, then stops the database. */
export function connectDatabase(
  running: RunningDatabase,
  config: Config,
  createPrismaClient: typeof import('./client.js').createPrismaClient,
  options: { onQuery?: (event: QueryEvent) => void } = {},
): Database {
  const prisma = createPrismaClient(running.url, {
    poolSize: config.database.poolSize,
    connectTimeoutMs: config.database.connectTimeoutMs,
    preparedStatements: config.database.preparedStatements,
    onQuery: options.onQuery,
  });
  return {
    url: running.url,
    prisma,
    embedded: running.embedded,
    async close() {
      await prisma.$disconnect();
      await running.close();
    },
  };
}

/** The database, started, migrated and connected. */
export async function openDatabase(
  config: Config,
  log: Logger,
  options: { onQuery?: (event: QueryEvent) => void } = {},
): Promise<Database> {
  const running = await startDatabase(config, log);
  try {
    await running.migrate();
    const { createPrismaClient } = await import('./client.js');
    return connectDatabase(running, config, createPrismaClient, options);
  } catch (error) {
    await running.close();
    throw error;
  }
}
