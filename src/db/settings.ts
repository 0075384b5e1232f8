import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/**
 * The connection settings from the configuration, written into the URL so every connection the service opens (the
 * Prisma pool, the job queue, migrations) gets the same ones. Parameters already in DATABASE_URL win.
 */
export function withConnectionSettings(
  url: string,
  settings: Config['database'],
  options: { statementTimeout: boolean; tls: boolean },
): string {
  const parsed = new URL(url);
  const params = parsed.searchParams;
  const setIfAbsent = (name: string, value: string | undefined) => {
    if (value !== undefined && !params.has(name)) params.set(name, value);
  };
  setIfAbsent('application_name', settings.applicationName);
  if (options.tls) {
    if (settings.sslMode || settings.sslCaFile) {
      // libpq's meaning of each sslmode (node-postgres otherwise treats `require` as `verify-full`).
      setIfAbsent('uselibpqcompat', 'true');
      setIfAbsent('sslmode', settings.sslMode ?? 'verify-full');
    }
    setIfAbsent('sslrootcert', settings.sslCaFile);
  }
  if (options.statementTimeout && settings.statementTimeoutMs > 0) {
    const existing = params.get('options');
    if (!existing?.includes('statement_timeout')) {
      params.set('options', `${existing ? `${existing} ` : ''}-c statement_timeout=${settings.statementTimeoutMs}`);
    }
  }
  return parsed.toString();
}

/** Host, port and database of a URL, for log lines: never the password. */
export function describeDatabase(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}

/**
 * Waits until the database accepts a connection, retrying with exponential back-off (0.25 s doubling to 5 s) for up
 * to `retrySeconds`: a service started beside its database (compose, a rolling restart) does not crash-loop.
 */
export async function waitForDatabase(
  url: string,
  options: { retrySeconds: number; connectTimeoutMs: number; log: Logger },
): Promise<void> {
  const deadline = Date.now() + options.retrySeconds * 1000;
  let delayMs = 250;
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.connectTimeoutMs });
    try {
      await client.connect();
      await client.query('SELECT 1');
      if (attempt > 1) options.log.info({ database: describeDatabase(url), attempt }, 'database is reachable');
      return;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (Date.now() + delayMs > deadline) {
        throw new Error(`the database at ${describeDatabase(url)} is not reachable: ${message}`, { cause: error });
      }
      options.log.warn(
        { database: describeDatabase(url), attempt, retryInMs: delayMs, reason: message },
        'database not reachable yet; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 5000);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
