import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrations.js';
import { signToken } from '../src/services/auth.js';
import { TEST_JWT_SECRET } from './support/app.js';
import {
  freePort,
  logEntries,
  root,
  runningPostmaster,
  runScript,
  startMain,
  stopOrphanedPostgres,
  waitUntilReady,
  within,
  type RunningProcess,
} from './support/processes.js';

const ERROR_LEVEL = 50;

function scratchDir(prefix: string) {
  mkdirSync(join(root, '.data'), { recursive: true });
  const dir = mkdtempSync(join(root, '.data', prefix));
  chmodSync(dir, 0o755);
  return dir;
}

describe('npm start on the embedded PostgreSQL, with commands run alongside, then Ctrl-C', () => {
  let dataDir: string;
  let port: number;
  let main: RunningProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = scratchDir('ops-process-');
    port = await freePort();
    env = { DATA_DIR: dataDir, DATABASE_URL: '', AUTH_JWT_SECRET: TEST_JWT_SECRET, EMBEDDED_POSTGRES_PORT: '0' };
    main = startMain({ ...env, PORT: String(port), JOBS_ENABLED: 'true' }, { ownGroup: true });
    await waitUntilReady(`http://127.0.0.1:${port}`, main, 60_000);
  }, 90_000);

  afterAll(async () => {
    if (main.child.exitCode === null && main.child.signalCode === null) {
      process.kill(-main.child.pid!, 'SIGKILL');
      await main.exited;
    }
    await stopOrphanedPostgres(join(dataDir, 'postgres'));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('commands use the running database and exit 0', async () => {
    const admin = await runScript('scripts/setup-admin.ts', ['ops-admin@example.com'], env);
    expect(admin).toMatchObject({ code: 0, stderr: '' });
    expect(admin.stdout).toContain('Created ops-admin@example.com as ADMIN');

    // The server sees the user the command created: both worked on one database.
    const token = await signToken(TEST_JWT_SECRET, { sub: 'ops-admin', email: 'ops-admin@example.com', emailVerified: true }, { expiresIn: '5m' });
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(await response.json()).toEqual({ data: { viewer: { role: 'ADMIN' } } });

    const [reconcile, maintenance, migrate] = await Promise.all([
      runScript('scripts/credits-reconcile.ts', [], env),
      runScript('scripts/maintenance.ts', [], env),
      runScript('scripts/migrate.ts', ['deploy'], env),
    ]);
    expect(reconcile).toMatchObject({ code: 0, stderr: '' });
    expect(reconcile.stdout).toMatch(/^\d+ balances checked, 0 mismatched$/m);
    expect(maintenance).toMatchObject({ code: 0, stderr: '' });
    expect(maintenance.stdout).toContain('Failed generations removed: 0');
    expect(migrate).toMatchObject({ code: 0, stdout: '0 migration(s) applied.\n', stderr: '' });
  }, 90_000);

  it('failing commands exit non-zero with a line saying why', async () => {
    const [unknownMigrate, badAdmin, sync, reset] = await Promise.all([
      runScript('scripts/migrate.ts', ['sideways'], env),
      runScript('scripts/setup-admin.ts', [], env),
      runScript('scripts/sync-stripe.ts', [], { ...env, STRIPE_SECRET_KEY: '' }),
      runScript('scripts/migrate.ts', ['reset'], { ...env, NODE_ENV: 'production' }),
    ]);
    expect(unknownMigrate.code).toBe(1);
    expect(unknownMigrate.stderr).toContain('Usage:');
    expect(badAdmin.code).toBe(2);
    expect(badAdmin.stderr).toContain('Usage: npm run db:setup-admin -- <email>');
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain('STRIPE_SECRET_KEY is not set');
    expect(reset.code).toBe(1);
    expect(reset.stderr).toContain('Refusing to reset the database');
  }, 90_000);

  it('SIGINT to the whole process group (Ctrl-C) shuts down cleanly: exit 0, no error lines, database stopped', async () => {
    const postgresDir = join(dataDir, 'postgres');
    expect(runningPostmaster(postgresDir)).not.toBeNull();
    const signalled = Date.now();
    process.kill(-main.child.pid!, 'SIGINT');
    expect(await within(main.exited, 20_000, 'exit after SIGINT')).toBe(0);
    const shutdownMs = Date.now() - signalled;

    const entries = logEntries(main.stdout());
    expect(entries.filter((entry) => entry.level >= ERROR_LEVEL)).toEqual([]);
    expect(main.stderr()).toBe('');
    expect(entries.at(-1)?.msg).toBe('shutdown complete');
    expect(runningPostmaster(postgresDir)).toBeNull();
    expect(existsSync(`${postgresDir}.owner`)).toBe(false);
    expect(shutdownMs).toBeLessThan(10_000);
  }, 30_000);

  it('a command with no server running starts the embedded database, and stops it again', async () => {
    const result = await runScript('scripts/credits-reconcile.ts', [], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^1 balances checked, 0 mismatched$/m);
    expect(runningPostmaster(join(dataDir, 'postgres'))).toBeNull();
  }, 30_000);
});

describe('a signal while npm start is still starting', () => {
  it('SIGTERM at its first ready answer, while its workers start: exit 0 promptly, no error lines, database stopped', async () => {
    const dataDir = scratchDir('ops-early-signal-');
    const port = await freePort();
    const env = { DATA_DIR: dataDir, DATABASE_URL: '', AUTH_JWT_SECRET: TEST_JWT_SECRET, EMBEDDED_POSTGRES_PORT: '0' };
    const main = startMain({ ...env, PORT: String(port), JOBS_ENABLED: 'true' }, { ownGroup: true });
    try {
      // Its log lines are written in batches: the first answer of /readyz is the earliest sign that it serves.
      const ready = () => fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status === 200, () => false);
      await within(
        (async () => {
          while (!(await ready()) && main.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 5));
        })(),
        60_000,
        'the first ready answer',
      );
      main.child.kill('SIGTERM');
      expect(await within(main.exited, 20_000, 'exit after SIGTERM')).toBe(0);
      const entries = logEntries(main.stdout());
      expect(entries.filter((entry) => entry.level >= ERROR_LEVEL)).toEqual([]);
      expect(entries.at(-1)?.msg).toBe('shutdown complete');
      expect(runningPostmaster(join(dataDir, 'postgres'))).toBeNull();
    } finally {
      if (main.child.exitCode === null && main.child.signalCode === null) process.kill(-main.child.pid!, 'SIGKILL');
      await stopOrphanedPostgres(join(dataDir, 'postgres'));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('npm run db:backup / db:restore on the embedded PostgreSQL', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let database: EmbeddedDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    dataDir = scratchDir('ops-backup-');
    env = { DATA_DIR: dataDir, DATABASE_URL: '', EMBEDDED_POSTGRES_PORT: '0' };
    // Started here as `npm start` would: the commands below find it running and use it.
    database = await startEmbeddedPostgres({ dir: join(dataDir, 'postgres'), persistent: true });
    await applyMigrations(database.url);
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client.end();
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const emails = async () =>
    (await client.query<{ email: string }>('SELECT email FROM "User" ORDER BY email')).rows.map((row) => row.email);

  it('backs up, and a restore after a change brings back exactly the data of the backup', async () => {
    const file = join(dataDir, 'backups', 'before.jsonl.gz');
    expect((await runScript('scripts/setup-admin.ts', ['kept@example.com'], env)).code).toBe(0);
    const backup = await runScript('scripts/backup.ts', ['backup', file], env);
    expect(backup).toMatchObject({ code: 0, stderr: '' });
    expect(backup.stdout).toMatch(/^Backed up \d+ rows of \d+ tables to /);

    await client.query(`UPDATE "User" SET email = 'changed@example.com', role = 'USER'`);
    const restore = await runScript('scripts/backup.ts', ['restore', file], env);
    expect(restore).toMatchObject({ code: 0, stderr: '' });
    expect(restore.stdout).toMatch(/^Restored \d+ rows from /);

    expect(await emails()).toEqual(['kept@example.com']);
    expect((await client.query('SELECT role FROM "User"')).rows).toEqual([{ role: 'ADMIN' }]);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(true);
  }, 120_000);

  it('exits 2 with its usage without a file, and 1 when the file does not exist, changing nothing', async () => {
    const [usage, missing] = await Promise.all([
      runScript('scripts/backup.ts', ['backup'], env),
      runScript('scripts/backup.ts', ['restore', join(dataDir, 'missing.jsonl.gz')], env),
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('npm run db:backup -- <file.jsonl.gz>');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('missing.jsonl.gz does not exist');
    expect(await emails()).toEqual(['kept@example.com']);
  }, 90_000);
});

describe('start-up failures', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = scratchDir('ops-broken-');
    // A data directory PostgreSQL cannot use (no configuration file): it says so, and so must the process.
    mkdirSync(join(dataDir, 'postgres'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'postgres', 'PG_VERSION'), '9\n');
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('npm start exits 1 and names the cause', async () => {
    const main = startMain({ DATA_DIR: dataDir, DATABASE_URL: '', PORT: '0', EMBEDDED_POSTGRES_PORT: '0' });
    expect(await within(main.exited, 20_000, 'exit')).toBe(1);
    expect(main.stderr()).toMatch(
      /^Failed to start: the embedded PostgreSQL in \S+ did not start \(exit code \d+\): .*postgresql\.conf.*$/m,
    );
    expect(main.stderr()).not.toContain('undefined');
  }, 30_000);

  it('a command exits 1 with the same cause on one line', async () => {
    const result = await runScript('scripts/migrate.ts', ['deploy'], { DATA_DIR: dataDir, DATABASE_URL: '', EMBEDDED_POSTGRES_PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/did not start \(exit code \d+\): .*postgresql\.conf/);
  }, 30_000);
});
