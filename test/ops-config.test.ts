import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ConfigError, loadConfig } from '../src/config.js';
import { createPrismaClient, preparedQuery } from '../src/db/client.js';
import { waitForDatabase, withConnectionSettings } from '../src/db/settings.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase } from './support/database.js';
import { freePort, root, runScript, startMain, userEnvironment, within } from './support/processes.js';

const PRODUCTION = {
  NODE_ENV: 'production',
  AUTH_JWT_SECRET: 'a-production-secret-that-is-long-enough-0123',
  STORAGE_SIGNING_SECRET: 'a-production-storage-secret-0123456789',
};

describe('unsafe defaults', () => {
  it('production without DATABASE_URL is refused with the reason and the opt-in', () => {
    expect(() => loadConfig(PRODUCTION)).toThrow(ConfigError);
    expect(() => loadConfig(PRODUCTION)).toThrow(/DATABASE_URL: required in production .*EMBEDDED_DATABASE_IN_PRODUCTION=true/);
    const optedIn = loadConfig({ ...PRODUCTION, EMBEDDED_DATABASE_IN_PRODUCTION: 'true' });
    expect(optedIn.warnings).toEqual(expect.arrayContaining([expect.stringContaining('embedded PostgreSQL in production')]));
    expect(loadConfig({ ...PRODUCTION, DATABASE_URL: 'postgresql://db.internal/app' }).database.url).toBe('postgresql://db.internal/app');
  });

  it('npm start in production without DATABASE_URL exits 1 naming the variable, before touching any database', async () => {
    const main = startMain({ ...PRODUCTION, DATABASE_URL: '', DATA_DIR: join(tmpdir(), 'never-created-by-this-test') });
    expect(await within(main.exited, 20_000, 'exit')).toBe(1);
    expect(main.stderr()).toContain('DATABASE_URL: required in production');
    expect(main.stdout()).toBe('');
  }, 30_000);

  it('development with the public default JWT secret warns; with a secret or JWKS it does not', () => {
    const warning = expect.stringContaining('AUTH_JWT_SECRET is not set');
    expect(loadConfig({}).warnings).toEqual([warning]);
    expect(loadConfig({ AUTH_JWT_SECRET: 'a-development-secret-long-enough-0123456' }).warnings).toEqual([]);
    expect(loadConfig({ AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json' }).warnings).toEqual([]);
  });

  it('the warning is logged when the server starts', async () => {
    const port = await freePort();
    const main = startMain({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/postgres', AUTH_JWT_SECRET: '', PORT: String(port), DATABASE_START_RETRY_SECONDS: '0' });
    expect(await within(main.exited, 20_000, 'exit')).toBe(1);
    const warnings = main.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((entry) => entry.level === 40);
    expect(warnings.map((entry) => entry.msg)).toEqual(expect.arrayContaining([expect.stringContaining('AUTH_JWT_SECRET is not set')]));
    expect(main.stderr()).toMatch(/^Failed to start: .*the database at 127\.0\.0\.1:1\/postgres is not reachable: .*ECONNREFUSED/m);
  }, 30_000);

  it('`npm run -s token` prints the token alone, so TOKEN=$(npm run -s token -- --sub alice) works', async () => {
    const { stdout, stderr } = await promisify(execFile)('npm', ['run', '-s', 'token', '--', '--sub', 'alice'], {
      cwd: root,
      env: userEnvironment({ AUTH_JWT_SECRET: '' }),
    });
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(stderr).toBe('');
  }, 30_000);
});

describe('database connection settings', () => {
  const settings = (env: Record<string, string>) => loadConfig(env).database;

  it('are written into the URL every connection uses, without overriding what DATABASE_URL says', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n');
    try {
      const url = new URL(
        withConnectionSettings(
          'postgresql://app:pw@db.internal:5432/app',
          settings({ DATABASE_SSL_MODE: 'verify-full', DATABASE_SSL_CA_FILE: caFile, DATABASE_STATEMENT_TIMEOUT_MS: '5000', DATABASE_APPLICATION_NAME: 'api-eu-1' }),
          { statementTimeout: true, tls: true },
        ),
      );
      expect(Object.fromEntries(url.searchParams)).toEqual({
        application_name: 'api-eu-1',
        uselibpqcompat: 'true',
        sslmode: 'verify-full',
        sslrootcert: caFile,
        options: '-c statement_timeout=5000',
      });
      const explicit = new URL(
        withConnectionSettings('postgresql://db.internal/app?sslmode=require&application_name=mine', settings({ DATABASE_SSL_MODE: 'verify-full' }), {
          statementTimeout: false,
          tls: true,
        }),
      );
      expect(explicit.searchParams.get('sslmode')).toBe('require');
      expect(explicit.searchParams.get('application_name')).toBe('mine');
      expect(explicit.searchParams.has('options')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => loadConfig({ DATABASE_SSL_MODE: 'sometimes' })).toThrow('DATABASE_SSL_MODE: must be disable, require, verify-ca or verify-full');
    expect(() => loadConfig({ DATABASE_SSL_CA_FILE: '/nonexistent/ca.pem' })).toThrow('DATABASE_SSL_CA_FILE: /nonexistent/ca.pem does not exist');
  });

  it('statement timeout and application name reach PostgreSQL', async () => {
    const url = withConnectionSettings(
      process.env.TEST_SERVER_URL!,
      settings({ DATABASE_STATEMENT_TIMEOUT_MS: '200', DATABASE_APPLICATION_NAME: 'ops-settings-test' }),
      { statementTimeout: true, tls: false },
    );
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT current_setting('statement_timeout') AS timeout, current_setting('application_name') AS name`);
      expect(rows[0]).toEqual({ timeout: '200ms', name: 'ops-settings-test' });
      await expect(client.query('SELECT pg_sleep(2)')).rejects.toThrow('canceling statement due to statement timeout');
    } finally {
      await client.end();
    }
  });

  it.each([
    ['by default the statements stay prepared on the connection', {}, true],
    ['DATABASE_PREPARED_STATEMENTS=false leaves none prepared, as a pooler in transaction mode needs', { DATABASE_PREPARED_STATEMENTS: 'false' }, false],
  ])('%s', async (_name, env, expectPrepared) => {
    const database = await createTestDatabase({ poolSize: 1 });
    // One connection, so the statements below and the look at what it holds prepared meet on the same session.
    const prisma = createPrismaClient(database.url, { poolSize: 1, preparedStatements: settings(env).preparedStatements });
    try {
      await prisma.featureCost.findMany();
      await preparedQuery(prisma, 'ops_config_probe', 'SELECT $1::int AS n', [1]);
      const prepared = await prisma.$queryRawUnsafe<{ name: string }[]>('SELECT name FROM pg_prepared_statements');
      const names = prepared.map((row) => row.name);
      if (expectPrepared) expect(names).toEqual(expect.arrayContaining(['ops_config_probe', expect.stringMatching(/^p[0-9a-f]{20}$/)]));
      else expect(names).toEqual([]);
    } finally {
      await prisma.$disconnect();
      await database.drop();
    }
  });

  it('at start, a database that does not answer yet is retried with back-off until the limit', async () => {
    const lines: string[] = [];
    const log = createLogger('info', {}, { write: (line: string) => void lines.push(line) });
    const started = Date.now();
    await expect(
      waitForDatabase(`postgresql://postgres@127.0.0.1:${await freePort()}/postgres`, { retrySeconds: 2, connectTimeoutMs: 500, log }),
    ).rejects.toThrow(/is not reachable: .*ECONNREFUSED/);
    const elapsed = Date.now() - started;
    const retries = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'database not reachable yet; retrying');
    expect(retries.map((entry) => entry.retryInMs)).toEqual([250, 500, 1000].slice(0, retries.length));
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(4000);
  });

  it('a command does not wait: an unreachable database fails it at once with exit code 1', async () => {
    const started = Date.now();
    const result = await runScript('scripts/credits-reconcile.ts', [], { DATABASE_URL: `postgresql://postgres@127.0.0.1:${await freePort()}/postgres` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not reachable/);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
