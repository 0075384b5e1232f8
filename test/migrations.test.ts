import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { applyMigrations, diffMigrationsToSchema, isEmptyMigration } from '../src/db/migrations.js';
import { withClient } from './support/database.js';

// The suite's own server (the embedded one, or DATABASE_URL's), started by the jest global setup; never a guess.
const serverUrl = suiteServerUrl();

function suiteServerUrl(): string {
  const url = process.env.TEST_SERVER_URL;
  if (!url) throw new Error('The jest global setup did not run (TEST_SERVER_URL is missing)');
  return url;
}
const throwawayDatabases: string[] = [];

const onServer = <T>(run: (client: pg.Client) => Promise<T>) => withClient(serverUrl, run);

async function createThrowawayDatabase(): Promise<string> {
  const name = `migrations_test_${randomUUID().replaceAll('-', '')}`;
  await onServer((client) => client.query(`CREATE DATABASE "${name}"`));
  throwawayDatabases.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropThrowawayDatabases() {
  await onServer(async (client) => {
    for (const name of throwawayDatabases) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}


async function recordedMigrations(databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ migration_name: string; finished_at: Date | null }>(
      'SELECT migration_name, finished_at FROM _prisma_migrations WHERE rolled_back_at IS NULL ORDER BY migration_name',
    );
    return rows;
  } finally {
    await client.end();
  }
}

const migrationNames = readdirSync(fileURLToPath(new URL('../prisma/migrations', import.meta.url)), {
  withFileTypes: true,
})
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

afterAll(dropThrowawayDatabases);

describe('migrations', () => {
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await createThrowawayDatabase();
  });

  it('has an init migration', () => {
    expect(migrationNames[0]).toMatch(/^\d{14}_init$/);
  });

  it('applies every migration folder to an empty database', async () => {
    const { applied } = await applyMigrations(databaseUrl);
    expect(applied).toEqual(migrationNames);
  });

  it('the committed migrations produce exactly what schema.prisma describes', async () => {
    const sql = await diffMigrationsToSchema(databaseUrl);
    expect(isEmptyMigration(sql) ? '' : sql).toBe('');
  });

  it('applies nothing the second time', async () => {
    expect(await applyMigrations(databaseUrl)).toEqual({ applied: [] });
  });

  it('records each migration as finished in _prisma_migrations', async () => {
    const rows = await recordedMigrations(databaseUrl);
    expect(rows.map((row) => row.migration_name)).toEqual(migrationNames);
    const init = rows.find((row) => row.migration_name.endsWith('_init'));
    expect(init?.finished_at).toBeInstanceOf(Date);
  });

  it('records a new database\'s migrations as the engine does when it applies them one at a time', async () => {
    // A function in `public` makes a database not new (the engine itself minds only tables): it gets the engine.
    const engineUrl = await createThrowawayDatabase();
    await withClient(engineUrl, (client) => client.query(`CREATE FUNCTION public.unrelated() RETURNS int LANGUAGE sql AS 'SELECT 1'`));
    const newUrl = await createThrowawayDatabase();
    expect((await applyMigrations(engineUrl)).applied).toEqual(migrationNames);
    expect((await applyMigrations(newUrl)).applied).toEqual(migrationNames);

    const history = (url: string) =>
      withClient(url, async (client) => ({
        columns: (
          await client.query(
            `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
             FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
          )
        ).rows,
        indexes: (await client.query(`SELECT indexdef FROM pg_indexes WHERE tablename = '_prisma_migrations'`)).rows,
        rows: (
          await client.query(
            `SELECT migration_name, checksum, logs, rolled_back_at, applied_steps_count, length(id) AS id_length,
                    finished_at >= started_at AS finished_after_start
             FROM _prisma_migrations ORDER BY migration_name`,
          )
        ).rows,
      }));
    const [fromEngine, fromNew] = await Promise.all([history(engineUrl), history(newUrl)]);
    expect(fromNew).toEqual(fromEngine);
    expect(fromNew.rows).toHaveLength(migrationNames.length);
    expect(await applyMigrations(newUrl)).toEqual({ applied: [] });
  });

  it('applies each migration once when two callers migrate at the same time', async () => {
    const freshUrl = await createThrowawayDatabase();
    const results = await Promise.all([applyMigrations(freshUrl), applyMigrations(freshUrl)]);
    expect(results.flatMap((result) => result.applied)).toEqual(migrationNames);
    expect((await recordedMigrations(freshUrl)).map((row) => row.migration_name)).toEqual(migrationNames);
  });
});
