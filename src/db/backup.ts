import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type pg from 'pg';

/** A logical backup of the service's tables as gzipped JSON lines, and its restore in one transaction. */
const FORMAT = 'imagegen-credits-api/backup@1';

interface Header {
  format: string;
  createdAt: string;
  migrations: string[];
  tables: string[];
}

async function tablesOf(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  );
  return rows.map((row) => row.name);
}

async function appliedMigrations(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return rows.map((row) => row.name);
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function backup(client: pg.Client, file: string): Promise<{ rows: number; tables: number }> {
  // One snapshot for every table: the backup is consistent even while the server keeps writing.
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const tables = await tablesOf(client);
  const header: Header = { format: FORMAT, createdAt: new Date().toISOString(), migrations: await appliedMigrations(client), tables };
  let rowsWritten = 0;
  async function* lines() {
    yield `${JSON.stringify(header)}\n`;
    for (const table of tables) {
      const { rows } = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${quote(table)} t`);
      for (const { row } of rows) yield `{"table":${JSON.stringify(table)},"row":${row}}\n`;
      rowsWritten += rows.length;
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  await pipeline(Readable.from(lines()), createGzip(), createWriteStream(file));
  await client.query('COMMIT');
  return { rows: rowsWritten, tables: tables.length };
}

export async function restore(client: pg.Client, file: string): Promise<{ rows: number; createdAt: string }> {
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  // The iterator is taken before the first await: readline starts reading at once, and lines (or the end of a small
  // file) emitted before anyone iterates are otherwise lost, leaving the loop waiting forever.
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let header: Header | null = null;
  const batches = new Map<string, unknown[]>();
  let restored = 0;
  const flush = async (table: string) => {
    const rows = batches.get(table);
    if (!rows?.length) return;
    await client.query(`INSERT INTO ${quote(table)} SELECT * FROM json_populate_recordset(NULL::${quote(table)}, $1::json)`, [JSON.stringify(rows)]);
    restored += rows.length;
    batches.set(table, []);
  };
  await client.query('BEGIN');
  try {
    for await (const line of lines) {
      if (!line) continue;
      if (!header) {
        header = JSON.parse(line) as Header;
        if (header.format !== FORMAT) throw new Error(`${file} is not a backup made by npm run db:backup`);
        const current = await appliedMigrations(client);
        if (JSON.stringify(current) !== JSON.stringify(header.migrations)) {
          throw new Error(
            `the backup was made at migration ${header.migrations.at(-1)}, the database is at ${current.at(-1)}; ` +
              'restore into a database at the same migration (npm run db:migrate, or check out the matching version)',
          );
        }
        const tables = await tablesOf(client);
        // Foreign keys are checked by triggers; the rows arrive table by table, so they are switched off until commit.
        await client.query('SET LOCAL session_replication_role = replica');
        await client.query(`TRUNCATE ${tables.filter((table) => table !== '_prisma_migrations').map(quote).join(', ')}`);
        continue;
      }
      const { table, row } = JSON.parse(line) as { table: string; row: unknown };
      if (table === '_prisma_migrations') continue;
      const batch = batches.get(table) ?? [];
      batch.push(row);
      batches.set(table, batch);
      if (batch.length >= 500) await flush(table);
    }
    if (!header) throw new Error(`${file} is empty`);
    for (const table of batches.keys()) await flush(table);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return { rows: restored, createdAt: header.createdAt };
}
