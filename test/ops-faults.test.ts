import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { signToken } from '../src/services/auth.js';
import { TEST_JWT_SECRET } from './support/app.js';
import { FakeStripe } from './support/fake-stripe.js';
import { freePort, logEntries, root, startMain, waitUntilReady, within, type RunningProcess } from './support/processes.js';

const DEDUCT = `mutation($input: DeductCreditsInput!) {
  deductCredits(input: $input) { __typename ... on CreditMovement { transaction { idempotencyKey } } }
}`;
const OUTAGE_MS = 3000;

interface Outcome {
  key: string;
  at: number;
  status: number;
  retryAfter: string | null;
  body: string;
}

describe('the database stops for a few seconds under load, then comes back', () => {
  let dir: string;
  let pgPort: number;
  let database: EmbeddedDatabase;
  let main: RunningProcess;
  let baseUrl: string;

  beforeAll(async () => {
    mkdirSync(join(root, '.data'), { recursive: true });
    dir = mkdtempSync(join(root, '.data', 'ops-faults-'));
    chmodSync(dir, 0o755);
    pgPort = await freePort();
    database = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), port: pgPort, persistent: true });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    main = startMain({
      DATABASE_URL: database.url,
      PORT: String(port),
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      CREDITS_FREE_ALLOWANCE: '1000000',
      CREDITS_RATE_LIMIT_PER_MINUTE: '1000000',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'warn',
    });
    await waitUntilReady(baseUrl, main, 60_000);
  }, 90_000);

  afterAll(async () => {
    if (main.child.exitCode === null) {
      main.child.kill('SIGTERM');
      await within(main.exited, 20_000, 'server exit').catch(() => main.child.kill('SIGKILL'));
    }
    await database.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After during the outage, recovers by itself, and loses no acknowledged deduction', async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: 'outage-user', email: 'outage@example.com' });
    const deduct = async (): Promise<Outcome> => {
      const key = `outage-${randomUUID()}`;
      const response = await fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: DEDUCT, variables: { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: key } } }),
        signal: AbortSignal.timeout(15_000),
      }).catch(() => null);
      const at = Date.now();
      if (!response) return { key, at, status: 0, retryAfter: null, body: '' };
      return { key, at, status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
    };
    const first = await deduct();
    expect(first.status).toBe(200);
    // A user pays the configured price: a deduction that names an amount would be refused before reaching the database.
    expect(JSON.parse(first.body).data.deductCredits.__typename).toBe('CreditMovement');

    const outcomes: Outcome[] = [];
    let running = true;
    const workers = Array.from({ length: 6 }, async () => {
      while (running) outcomes.push(await deduct());
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const stoppedAt = Date.now();
    await database.stop();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    database = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), port: pgPort, persistent: true });
    const restartedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    running = false;
    await Promise.all(workers);

    const during = outcomes.filter((outcome) => outcome.at > stoppedAt && outcome.at < restartedAt);
    const unavailable = outcomes.filter((outcome) => outcome.status === 503);
    const firstSuccessAfter = outcomes.filter((outcome) => outcome.status === 200 && outcome.at >= restartedAt).map((outcome) => outcome.at).sort()[0];
    const acknowledged = outcomes.filter((outcome) => outcome.status === 200 && outcome.body.includes('"CreditMovement"'));

    expect(outcomes.filter((outcome) => outcome.status !== 200 && outcome.status !== 503)).toEqual([]);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const outcome of unavailable) {
      expect(outcome.retryAfter).toMatch(/^\d+$/);
      expect(JSON.parse(outcome.body).errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
    }
    expect(outcomes.filter((outcome) => /prisma|invocation|P\d{4}/i.test(outcome.body))).toEqual([]);
    expect(firstSuccessAfter).toBeDefined();

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ key: string }>(
        `SELECT substring("idempotencyKey" FROM '^client:deduct:(.*)$') AS key FROM "CreditTransaction" WHERE "idempotencyKey" LIKE 'client:deduct:outage-%'`,
      );
      const ledgerKeys = new Set(rows.map((row) => row.key));
      expect(acknowledged.filter((outcome) => !ledgerKeys.has(outcome.key))).toEqual([]);
      const mismatched = await client.query(`
        SELECT b."userId" FROM "CreditBalance" b
        WHERE b."allowanceRemaining" + b."grantedRemaining" <>
              (SELECT COALESCE(SUM(amount), 0) FROM "CreditTransaction" t WHERE t."userId" = b."userId")`);
      expect(mismatched.rows).toEqual([]);
      console.log(
        `outage ${restartedAt - stoppedAt} ms: ${outcomes.length} requests, ${during.length} during the outage ` +
          `(${unavailable.length} answered 503 with Retry-After, ${during.filter((outcome) => outcome.status === 200).length} 200 before the pool noticed), ` +
          `first success ${firstSuccessAfter! - restartedAt} ms after the restart; ${acknowledged.length} acknowledged deductions, ` +
          `${acknowledged.filter((outcome) => !ledgerKeys.has(outcome.key)).length} missing from the ledger; ` +
          `ledger entries from requests answered 503: ${unavailable.filter((outcome) => ledgerKeys.has(outcome.key)).length}`,
      );
    } finally {
      await client.end();
    }
    const errorLines = logEntries(main.stdout()).filter((entry) => entry.level >= 50);
    expect(errorLines.filter((entry) => JSON.stringify(entry).includes(token))).toEqual([]);
  }, 60_000);
});

describe('SIGKILL while webhook events are stored but not yet processed', () => {
  let dir: string;
  let database: EmbeddedDatabase;
  let fake: FakeStripe;
  let main: RunningProcess | undefined;

  beforeAll(async () => {
    mkdirSync(join(root, '.data'), { recursive: true });
    dir = mkdtempSync(join(root, '.data', 'ops-sigkill-'));
    chmodSync(dir, 0o755);
    database = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), persistent: true });
    fake = await FakeStripe.start();
  }, 60_000);

  afterAll(async () => {
    if (main && main.child.exitCode === null && main.child.signalCode === null) {
      main.child.kill('SIGTERM');
      await within(main.exited, 20_000, 'server exit').catch(() => main!.child.kill('SIGKILL'));
    }
    await fake.close();
    await database.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('processes them after the restart', async () => {
    const secret = 'whsec_sigkill_test';
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: database.url,
      PORT: String(port),
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      STRIPE_SECRET_KEY: 'sk_test_sigkill',
      STRIPE_WEBHOOK_SECRET: secret,
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(fake.port),
      STRIPE_API_PROTOCOL: 'http',
      LOG_LEVEL: 'warn',
    };
    // Workers off: the events are acknowledged and stored, and stay unprocessed until the kill.
    main = startMain({ ...env, JOBS_ENABLED: 'false' });
    await waitUntilReady(baseUrl, main, 60_000);
    const product = fake.product('prod_after_kill', { name: 'Survives a kill' });
    const deliveries = [fake.event('product.created', product, { secret }), fake.event('product.updated', product, { secret })];
    for (const { payload, signature } of deliveries) {
      const response = await fetch(`${baseUrl}/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body: payload,
      });
      expect(response.status).toBe(200);
    }
    main.child.kill('SIGKILL');
    await main.exited;
    // Nothing of it is left answering: the port is free for the restart.
    expect(await fetch(`${baseUrl}/healthz`).then(() => 'answered', () => 'refused')).toBe('refused');

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const ids = deliveries.map(({ event }) => event.id);
      const statuses = async () =>
        (await client.query<{ status: string }>(`SELECT status FROM "WebhookEvent" WHERE id = ANY($1) ORDER BY id`, [ids])).rows.map((row) => row.status);
      expect(await statuses()).toEqual(['PENDING', 'PENDING']);

      main = startMain({ ...env, JOBS_ENABLED: 'true' });
      await waitUntilReady(baseUrl, main, 60_000);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await statuses()).some((status) => status !== 'PROCESSED')) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(await statuses()).toEqual(['PROCESSED', 'PROCESSED']);
      const mirrored = await client.query(`SELECT name FROM "StripeProduct" WHERE id = 'prod_after_kill'`);
      expect(mirrored.rows).toEqual([{ name: 'Survives a kill' }]);
    } finally {
      await client.end();
    }
  }, 90_000);
});
