import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createPrismaClient, type Db, type QueryEvent } from './client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { applyMigrations } from './migrations.js';
import { waitForDatabase, withConnectionSettings } from './settings.js';

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
    onLog: (message) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
  });
  log.info(
    { port: embedded.port, startedHere: embedded.owned },
    embedded.owned ? 'embedded PostgreSQL is ready' : 'embedded PostgreSQL is already running (another process owns it); using it',
  );
  return { url: embedded.url, embedded };
}

export async function openDatabase(
  config: Config,
  log: Logger,
  options: { onQuery?: (event: QueryEvent) => void } = {},
): Promise<Database> {
  const { url: baseUrl, embedded } = await resolveDatabaseUrl(config, log);
  const settings = config.database;
  // Migrations may run longer than any request should: no statement timeout for them.
  const migrationUrl = withConnectionSettings(baseUrl, settings, { statementTimeout: false, tls: !embedded });
  const url = withConnectionSettings(baseUrl, settings, { statementTimeout: true, tls: !embedded });
  try {
    if (!embedded) {
      await waitForDatabase(migrationUrl, { retrySeconds: settings.startRetrySeconds, connectTimeoutMs: settings.connectTimeoutMs, log });
    }
    const { applied } = await applyMigrations(migrationUrl, { log: (message) => log.info(message) });
    if (applied.length) log.info({ applied }, 'migrations applied');
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const prisma = createPrismaClient(url, {
    poolSize: settings.poolSize,
    connectTimeoutMs: settings.connectTimeoutMs,
    preparedStatements: settings.preparedStatements,
    onQuery: options.onQuery,
  });
  return {
    url,
    prisma,
    embedded: embedded !== null,
    async close() {
      await prisma.$disconnect();
      await embedded?.stop();
    },
  };
}
