import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { signToken } from '../src/services/auth.js';
import { TEST_JWT_SECRET } from './support/app.js';
import { WEBHOOK_SECRET } from './support/billing.js';
import { FakeStripe } from './support/fake-stripe.js';
import { freePort, root, startMain, waitUntilReady, within, type RunningProcess } from './support/processes.js';

// Background workers in real server processes sharing one database: a stored backlog of Stripe events and a queue
// of generations drained by two processes at once, and an event whose process was killed mid-way taken over.

let dir: string;
let database: EmbeddedDatabase;
let fake: FakeStripe;
let client: pg.Client;
const running: RunningProcess[] = [];

function environment(extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: database.url,
    DATA_DIR: join(dir, 'data'),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    STRIPE_SECRET_KEY: 'sk_test_workers',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(fake.port),
    STRIPE_API_PROTOCOL: 'http',
    CREDITS_RATE_LIMIT_PER_MINUTE: '100000',
    CREDITS_FREE_ALLOWANCE: '1000',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

async function startServer(env: Record<string, string>) {
  const port = await freePort();
  const main = startMain({ ...environment(env), PORT: String(port) });
  running.push(main);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(url, main, 90_000);
  return { main, url };
}

async function stopServer(main: RunningProcess) {
  if (main.child.exitCode === null && main.child.signalCode === null) main.child.kill('SIGTERM');
  await within(main.exited, 25_000, 'server exit').catch(() => main.child.kill('SIGKILL'));
}

async function deliver(url: string, type: string, object: Record<string, unknown>, created?: number) {
  const { event, payload, signature } = fake.event(type, object, { secret: WEBHOOK_SECRET, created });
  const response = await fetch(`${url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body: payload,
  });
  expect(response.status).toBe(200);
  return event.id as string;
}

async function eventually<T>(what: string, probe: () => Promise<T | null | false | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  mkdirSync(join(root, '.data'), { recursive: true });
  dir = mkdtempSync(join(root, '.data', 'ops-workers-'));
  chmodSync(dir, 0o755);
  database = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), persistent: true });
  fake = await FakeStripe.start();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
}, 120_000);

afterAll(async () => {
  fake?.releaseHeld();
  for (const main of running) await stopServer(main);
  await client?.end();
  await fake?.close();
  await database?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('two processes draining one backlog', () => {
  const PRODUCTS = 12;
  const PRICES_PER_PRODUCT = 5;
  let servers: { main: RunningProcess; url: string }[] = [];

  afterAll(async () => {
    fake.releaseHeld();
    for (const { main } of servers) await stopServer(main);
  }, 60_000);

  it('applies every stored Stripe event once, one at a time and in created order per Stripe object', async () => {
    // The backlog: each product's price events, one product's after another's, stored while no worker runs, newest
    // first on the wire.
    const receiver = await startServer({ JOBS_ENABLED: 'false' });
    const expectedOrder = new Map<string, string[]>();
    const created = Math.floor(Date.now() / 1000) - 600;
    for (let p = 0; p < PRODUCTS; p++) {
      const product = fake.product(`prod_backlog_${p}`, { name: `Backlog ${p}` });
      const prices = Array.from({ length: PRICES_PER_PRODUCT }, (_, k) =>
        fake.price(`price_backlog_${p}_${k}`, product.id, { unit_amount: 100 + k, unit_amount_decimal: String(100 + k) }),
      );
      expectedOrder.set(product.id, prices.map((price) => price.id));
      for (let k = PRICES_PER_PRODUCT - 1; k >= 0; k--) await deliver(receiver.url, 'price.updated', prices[k], created + p * PRICES_PER_PRODUCT + k);
    }
    await stopServer(receiver.main);

    // Stripe answers nothing until both workers hold claims, so both take part; then it answers slowly.
    fake.hold('GET /v1/prices/price_backlog_');
    fake.latencyMs = 20;
    servers = await Promise.all([0, 1].map(() => startServer({ JOBS_ENABLED: 'true', WEBHOOK_CONCURRENCY: '3' })));
    const claimers = await eventually('claims by both processes', async () => {
      const { rows } = await client.query(`SELECT DISTINCT "claimedBy" FROM "WebhookEvent" WHERE status = 'PROCESSING'`);
      return rows.length === 2 && fake.heldCount() === 6 ? rows : null;
    });
    expect(claimers).toHaveLength(2);
    // One event per product at a time: six claims, six different products.
    const inFlight = await client.query(`SELECT count(DISTINCT "orderingKey")::int AS products FROM "WebhookEvent" WHERE status = 'PROCESSING'`);
    expect(inFlight.rows[0].products).toBe(6);
    fake.releaseHeld();

    const events = await eventually('the backlog drained', async () => {
      const { rows } = await client.query<{ id: string; status: string; attempts: number; processedAt: Date; priceId: string; productId: string }>(`
        SELECT id, status, attempts, "processedAt", payload->'data'->'object'->>'id' AS "priceId", "orderingKey" AS "productId"
        FROM "WebhookEvent" WHERE type = 'price.updated' ORDER BY "stripeCreated", id`);
      return rows.every((row) => row.status === 'PROCESSED') ? rows : null;
    });
    fake.latencyMs = 0;
    expect(events).toHaveLength(PRODUCTS * PRICES_PER_PRODUCT);
    expect(events.every((event) => event.attempts === 1)).toBe(true);

    const fetches = fake.requests.filter((request) => request.path.startsWith('/v1/prices/price_backlog_'));
    for (const [productId, priceIds] of expectedOrder) {
      const fetched = fetches.filter((request) => priceIds.includes(request.path.split('/')[3]));
      // Each event read its price once, in the order Stripe created the events...
      expect(fetched.map((request) => request.path.split('/')[3])).toEqual(priceIds);
      // ...and each began only after the previous one of its product was recorded as applied.
      const applied = events.filter((event) => event.productId === productId);
      for (let k = 1; k < fetched.length; k++) {
        expect(fetched[k].at).toBeGreaterThanOrEqual(applied[k - 1].processedAt.getTime());
      }
    }
    const mirrored = await client.query(`SELECT count(*)::int AS count FROM "StripePrice" WHERE id LIKE 'price_backlog_%'`);
    expect(mirrored.rows[0].count).toBe(PRODUCTS * PRICES_PER_PRODUCT);
  }, 240_000);

  it('renders every queued generation once between them, charging each once', async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: 'workers-generations', email: 'workers@example.com', emailVerified: true });
    const create = (i: number) =>
      fetch(`${servers[i % 2].url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: `mutation($input: CreateImageGenerationInput!) { createImageGeneration(input: $input) { __typename } }`,
          variables: { input: { prompt: `drained ${i}` } },
        }),
      }).then((response) => response.json() as Promise<any>);
    await create(0);
    const answers = await Promise.all(Array.from({ length: 11 }, (_, i) => create(i + 1)));
    expect(answers.map((answer) => answer.data?.createImageGeneration.__typename)).toEqual(Array(11).fill('ImageGeneration'));

    const generations = await eventually('the generations rendered', async () => {
      const { rows } = await client.query<{ id: string; status: string; images: number; charges: number }>(`
        SELECT g.id, g.status,
               (SELECT count(*)::int FROM "GenerationImage" i WHERE i."generationId" = g.id) AS images,
               (SELECT count(*)::int FROM "CreditTransaction" t WHERE t."generationId" = g.id AND t.kind = 'USAGE') AS charges
        FROM "ImageGeneration" g`);
      return rows.length === 12 && rows.every((row) => row.status === 'COMPLETED' || row.status === 'FAILED') ? rows : null;
    });
    expect(generations.map((row) => [row.status, row.images, row.charges])).toEqual(Array(12).fill(['COMPLETED', 1, 1]));
    const mismatched = await client.query(`
      SELECT b."userId" FROM "CreditBalance" b
      WHERE b."allowanceRemaining" + b."grantedRemaining" <> (SELECT COALESCE(sum(amount), 0) FROM "CreditTransaction" t WHERE t."userId" = b."userId")`);
    expect(mismatched.rows).toEqual([]);
  }, 120_000);
});

describe('two processes draining bursts of subscription events', () => {
  it('each customer is taken by one of them: one read of Stripe per burst, every event recorded once, the latest state stored', async () => {
    const CUSTOMERS = 8;
    const UPDATES = 3;
    fake.product('prod_plus', { name: 'Plus' });
    fake.price('price_plus_month', 'prod_plus', {
      unit_amount: 900,
      unit_amount_decimal: '900',
      type: 'recurring',
      recurring: { interval: 'month', interval_count: 1, meter: null, usage_type: 'licensed', trial_period_days: null },
      metadata: { planKey: 'plus' },
    });
    const receiver = await startServer({ JOBS_ENABLED: 'false' });
    const created = Math.floor(Date.now() / 1000) - 600;
    const bursts: { userId: string; subscriptionId: string; eventIds: string[] }[] = [];
    for (let c = 0; c < CUSTOMERS; c++) {
      const token = await signToken(TEST_JWT_SECRET, { sub: `burst-${c}`, email: `burst-${c}@example.com`, emailVerified: true });
      const answer = (await (
        await fetch(`${receiver.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ viewer { id } }' }),
        })
      ).json()) as { data: { viewer: { id: string } } };
      const userId = Buffer.from(answer.data.viewer.id, 'base64').toString().split(':')[1]!;
      const subscription = fake.createSubscription({ customer: `cus_burst_${c}`, priceId: 'price_plus_month', metadata: { userId, planKey: 'plus' } });
      const eventIds = [await deliver(receiver.url, 'customer.subscription.created', subscription, created + c * 10)];
      for (let u = 1; u <= UPDATES; u++) eventIds.push(await deliver(receiver.url, 'customer.subscription.updated', subscription, created + c * 10 + u));
      // Stripe moves on after the last delivery.
      fake.setSubscription(subscription.id, { cancel_at_period_end: true });
      bursts.push({ userId, subscriptionId: subscription.id, eventIds });
    }
    await stopServer(receiver.main);

    const readsBefore = fake.requests.length;
    const workers = await Promise.all([0, 1].map(() => startServer({ JOBS_ENABLED: 'true', WEBHOOK_CONCURRENCY: '2' })));
    try {
      const rows = await eventually('the bursts applied', async () => {
        const { rows } = await client.query<{ id: string; status: string; attempts: number; supersededBy: string | null }>(
          `SELECT id, status, attempts, "supersededBy" FROM "WebhookEvent" WHERE "orderingKey" LIKE 'cus_burst_%'`,
        );
        return rows.length === CUSTOMERS * (UPDATES + 1) && rows.every((row) => row.status === 'PROCESSED') ? rows : null;
      });
      const byId = new Map(rows.map((row) => [row.id, row]));
      const reads = fake.requests.slice(readsBefore);
      for (const { userId, subscriptionId, eventIds } of bursts) {
        const last = eventIds[eventIds.length - 1]!;
        expect(eventIds.map((id) => byId.get(id)!.attempts)).toEqual(eventIds.map(() => 1));
        expect(eventIds.map((id) => byId.get(id)!.supersededBy)).toEqual([...eventIds.slice(1).map(() => last), null]);
        expect(reads.filter((request) => request.path === `/v1/subscriptions/${subscriptionId}`)).toHaveLength(1);
        const stored = await client.query(`SELECT status, "cancelAtPeriodEnd", "lastEventId" FROM "Subscription" WHERE "stripeSubscriptionId" = $1`, [subscriptionId]);
        expect(stored.rows).toEqual([{ status: 'ACTIVE', cancelAtPeriodEnd: true, lastEventId: last }]);
        const periods = await client.query(
          `SELECT count(*)::int AS count FROM "CreditTransaction" WHERE "userId" = $1 AND "idempotencyKey" LIKE 'sys:allowance-period:%'`,
          [userId],
        );
        expect(periods.rows[0].count).toBe(1);
      }
    } finally {
      for (const { main } of workers) await stopServer(main);
    }
  }, 240_000);
});

describe('a worker killed mid-event', () => {
  it('the restarted process takes the event over once its claim runs out, and applies it once', async () => {
    const env = { JOBS_ENABLED: 'true', WEBHOOK_CLAIM_SECONDS: '3' };
    const product = fake.product('prod_crash_pickup', { name: 'Before the crash' });
    const first = await startServer(env);
    fake.hold('GET /v1/products/prod_crash_pickup');
    (product as { name?: string }).name = 'After the crash';
    const eventId = await deliver(first.url, 'product.updated', product);
    await eventually('the worker reading Stripe', async () => fake.heldCount() === 1);
    // While it waits on Stripe the live worker renews its claim, so nobody takes the event from it.
    const claimedUntil = async () =>
      (await client.query<{ claimedUntil: Date }>(`SELECT "claimedUntil" FROM "WebhookEvent" WHERE id = $1`, [eventId])).rows[0].claimedUntil;
    const firstClaimEnds = await claimedUntil();
    await eventually('the claim renewed', async () => (await claimedUntil()).getTime() > firstClaimEnds.getTime());

    first.main.child.kill('SIGKILL');
    await first.main.exited;
    fake.releaseHeld();
    const interrupted = await client.query(`SELECT status, attempts FROM "WebhookEvent" WHERE id = $1`, [eventId]);
    expect(interrupted.rows[0]).toEqual({ status: 'PROCESSING', attempts: 1 });

    const second = await startServer(env);
    const row = await eventually('the event applied after the restart', async () => {
      const { rows } = await client.query(`SELECT status, attempts FROM "WebhookEvent" WHERE id = $1`, [eventId]);
      return rows[0]?.status === 'PROCESSED' ? rows[0] : null;
    });
    expect(row).toEqual({ status: 'PROCESSED', attempts: 2 });
    const mirrored = await client.query(`SELECT name FROM "StripeProduct" WHERE id = 'prod_crash_pickup'`);
    expect(mirrored.rows).toEqual([{ name: 'After the crash' }]);
    expect(fake.requests.filter((request) => request.path === '/v1/products/prod_crash_pickup')).toHaveLength(2);
    await stopServer(second.main);
  }, 180_000);
});
