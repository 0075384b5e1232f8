import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createPrismaClient, type Db } from '../../src/db/client.js';

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface TestDatabase {
  url: string;
  prisma: Db;
  /** SQL statements Prisma sent since the last reset; for assertions about batching. */
  queries: string[];
  drop(): Promise<void>;
}

/** Runs `run` on a connection of its own to `url`, closed afterwards whatever happens. */
export async function withClient<T>(url: string | undefined, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** `SELECT 1` on a connection of its own: whether the server at `url` accepts these credentials. */
export const selectOne = (url: string): Promise<number> =>
  withClient(url, async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0].one);

const admin = <T>(run: (client: pg.Client) => Promise<T>) => withClient(process.env.TEST_SERVER_URL, run);

/** A fresh database, cloned from the migrated template, for one test file. */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_SERVER_URL;
  const template = process.env.TEST_TEMPLATE_DATABASE;
  if (!serverUrl || !template) throw new Error('The jest global setup did not run (TEST_SERVER_URL is missing)');
  const parentPid = template.replace('test_template_', '');
  const name = `test_${parentPid}_${randomBytes(6).toString('hex')}`;
  await admin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        return;
      } catch (error) {
        // Two workers cloning the template at the same instant: PostgreSQL refuses one; it waits and retries.
        if (attempt >= 20 || !/being accessed by other users/.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  });
  const url = withDatabase(serverUrl, name);
  const queries: string[] = [];
  const prisma = createPrismaClient(url, { poolSize: options.poolSize ?? Number(process.env.TEST_POOL_SIZE ?? 20), onQuery: (event) => queries.push(event.query) });
  return {
    url,
    prisma,
    queries,
    async drop() {
      await prisma.$disconnect();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
