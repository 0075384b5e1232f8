import { mkdirSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { signToken } from '../src/services/auth.js';
import { TEST_JWT_SECRET } from './support/app.js';
import { FakeStripe } from './support/fake-stripe.js';
import { freePort, root, startMain, waitUntilReady, within, type RunningProcess } from './support/processes.js';

const WEBHOOK_SECRET = 'whsec_two_instances';
const REDIS_URL = 'redis://127.0.0.1:6379';

function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: 6379 });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('two instances on one database', () => {
  let dir: string;
  let database: EmbeddedDatabase;
  let fake: FakeStripe;
  const instances: { main: RunningProcess; url: string }[] = [];
  let client: pg.Client;

  beforeAll(async () => {
    mkdirSync(join(root, '.data'), { recursive: true });
    dir = mkdtempSync(join(root, '.data', 'ops-instances-'));
    chmodSync(dir, 0o755);
    database = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), persistent: true });
    fake = await FakeStripe.start();
    const redis = await redisAnswers();
    if (!redis) console.warn(`Redis does not answer at ${REDIS_URL}; the instances run without it (limits per instance)`);
    // Both start at once on an empty database: their migrations race.
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const main = startMain(
        {
          DATABASE_URL: database.url,
          PORT: String(port),
          AUTH_JWT_SECRET: TEST_JWT_SECRET,
          JOBS_ENABLED: 'true',
          STRIPE_SECRET_KEY: 'sk_test_instances',
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          STRIPE_API_HOST: '127.0.0.1',
          STRIPE_API_PORT: String(fake.port),
          STRIPE_API_PROTOCOL: 'http',
          LOG_LEVEL: 'warn',
          ...(redis ? { REDIS_URL } : {}),
        },
      );
      instances.push({ main, url: `http://127.0.0.1:${port}` });
    }
    await Promise.all(instances.map(({ main, url }) => waitUntilReady(url, main, 90_000)));
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  }, 120_000);

  afterAll(async () => {
    await client?.end();
    for (const { main } of instances) {
      if (main.child.exitCode === null) main.child.kill('SIGTERM');
      await within(main.exited, 20_000, 'exit').catch(() => main.child.kill('SIGKILL'));
    }
    await fake.close();
    await database.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrations raced safely: each applied once, and every schedule exists once', async () => {
    const { rows } = await client.query<{ name: string; times: number }>(
      `SELECT migration_name AS name, count(*)::int AS times FROM _prisma_migrations GROUP BY migration_name HAVING count(*) > 1`,
    );
    expect(rows).toEqual([]);
    const schedules = await client.query<{ name: string }>(`SELECT name FROM pgboss.schedule ORDER BY name`);
    const names = schedules.rows.map((row) => row.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['billing.catalog-sync', 'billing.overdue-subscriptions', 'maintenance.daily']));
  });

  it('a webhook delivered to both instances is processed once', async () => {
    const product = fake.product('prod_two_instances', { name: 'Twice delivered' });
    const { event, payload, signature } = fake.event('product.created', product, { secret: WEBHOOK_SECRET });
    const responses = await Promise.all(
      instances.map(({ url }) =>
        fetch(`${url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload }).then(
          async (response) => ({ status: response.status, body: await response.json() }),
        ),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(responses.map((response) => response.body.duplicate).sort()).toEqual([false, true]);
    let row: { status: string; attempts: number } | undefined;
    for (let i = 0; i < 100; i++) {
      row = (await client.query(`SELECT status, attempts FROM "WebhookEvent" WHERE id = $1`, [event.id])).rows[0];
      if (row?.status === 'PROCESSED') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(row).toEqual({ status: 'PROCESSED', attempts: 1 });
  }, 30_000);

  it('a credit movement on one instance is seen by the other at once', async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: 'two-instances', email: 'two@example.com' });
    const graphql = (url: string, query: string, variables = {}) =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      }).then((response) => response.json() as Promise<any>);
    const balance = `query { viewer { creditBalance { total } } }`;
    const before = (await graphql(instances[1]!.url, balance)).data.viewer.creditBalance.total;
    const moved = await graphql(
      instances[0]!.url,
      `mutation($input: DeductCreditsInput!) { deductCredits(input: $input) { __typename } }`,
      { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'two-instances-1' } },
    );
    expect(moved.data.deductCredits.__typename).toBe('CreditMovement');
    // AI_TEXT_CHAT costs 5 credits by default.
    expect((await graphql(instances[1]!.url, balance)).data.viewer.creditBalance.total).toBe(before - 5);
  });
});
