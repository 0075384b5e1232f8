import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { backup, restore } from '../src/db/backup.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/** A client whose BEGIN answers late, as a loaded database does: the file is read to its end before the restore asks. */
function slowToBegin(client: pg.Client, delayMs: number): pg.Client {
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return async (...args: unknown[]) => {
        if (args[0] === 'BEGIN') await new Promise((resolve) => setTimeout(resolve, delayMs));
        return query(...args);
      };
    },
  });
}

describe('backup and restore', () => {
  let database: TestDatabase;
  let client: pg.Client;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase({ poolSize: 2 });
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    dir = mkdtempSync(join(tmpdir(), 'backup-test-'));
  });
  afterAll(async () => {
    await client.end();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const emails = async () => (await client.query<{ email: string }>('SELECT email FROM "User" ORDER BY email')).rows.map((row) => row.email);

  it('restores every row of a small backup even when the database is slow to open the transaction', async () => {
    await client.query(`INSERT INTO "User" (id, email, "updatedAt") VALUES (gen_random_uuid(), 'kept-1@example.com', now()), (gen_random_uuid(), 'kept-2@example.com', now())`);
    const file = join(dir, 'small.jsonl.gz');
    const written = await backup(client, file);
    expect(written.rows).toBeGreaterThanOrEqual(2);

    await client.query(`UPDATE "User" SET email = 'changed-' || email`);
    await client.query(`INSERT INTO "User" (id, email, "updatedAt") VALUES (gen_random_uuid(), 'added@example.com', now())`);
    const restored = await restore(slowToBegin(client, 300), file);

    const migrations = (await client.query('SELECT 1 FROM _prisma_migrations')).rowCount;
    // The migrations table is checked against, not restored.
    expect(restored.rows).toBe(written.rows - migrations!);
    expect(await emails()).toEqual(['kept-1@example.com', 'kept-2@example.com']);
  });
});
