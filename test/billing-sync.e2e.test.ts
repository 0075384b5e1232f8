import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestApp } from './support/app.js';
import { newUser, startBillingApp } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';

const run = promisify(execFile);
const STRANGERS = 120;
let api: TestApp;
let fake: FakeStripe;
let dataDir: string;
let subscribers: { userId: string; tier: 'PLUS' | 'PRO' }[];

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false));
  dataDir = await mkdtemp(join(tmpdir(), 'sync-stripe-test-'));
  const createCustomer = async (fields: Record<string, string>) => {
    const response = await fetch(`http://127.0.0.1:${fake.port}/v1/customers`, { method: 'POST', body: new URLSearchParams(fields) });
    return ((await response.json()) as { id: string }).id;
  };
  // Customers of other systems sharing the Stripe account come first, so ours are on the second page.
  for (let i = 0; i < STRANGERS; i++) await createCustomer({ email: `stranger-${i}@example.com` });
  subscribers = [];
  for (const [name, tier, priceId] of [
    ['sync-plus', 'PLUS', 'price_plus_month'],
    ['sync-pro', 'PRO', 'price_pro_month'],
  ] as const) {
    const { userId } = await newUser(api, name);
    const customer = await createCustomer({ email: `${name}@example.com`, 'metadata[userId]': userId });
    fake.createSubscription({ customer, priceId, metadata: { userId } });
    subscribers.push({ userId, tier });
  }
});
afterAll(async () => {
  await api.close();
  await fake.close();
  await rm(dataDir, { recursive: true, force: true });
});

function syncStripe(...args: string[]) {
  return run('node_modules/.bin/tsx', ['scripts/sync-stripe.ts', ...args], {
    env: {
      ...process.env,
      DATABASE_URL: api.db.url,
      DATA_DIR: dataDir,
      STRIPE_SECRET_KEY: 'sk_test_x',
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(fake.port),
      STRIPE_API_PROTOCOL: 'http',
      LOG_LEVEL: 'silent',
    },
  });
}

const listCalls = (resource: string) => fake.requests.filter((request) => request.method === 'GET' && request.path === `/v1/${resource}`);

describe('npm run db:sync-stripe', () => {
  it('stops on a Stripe failure, saying so, and the next run resumes after the last page it finished', async () => {
    fake.failNext('GET /v1/customers', 1, { after: 1 });
    const stopped = await syncStripe('--backfill').catch((error) => error);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('Sync stopped: injected failure. Run again to resume.');
    expect(await api.db.prisma.stripeCustomer.count()).toBe(0);

    const firstPageLast = listCalls('customers')[0];
    const requestsBefore = fake.requests.length;
    const resumed = await syncStripe('--backfill');
    const rerun = fake.requests.slice(requestsBefore);
    expect(resumed.stdout).toMatch(/Resuming at customers after cus_\w+/);
    expect(rerun.some((request) => request.path === '/v1/products' || request.path === '/v1/prices')).toBe(false);
    expect(rerun.find((request) => request.path === '/v1/customers')?.body.starting_after).toBeDefined();
    expect(firstPageLast.body.starting_after).toBeUndefined();
    expect(resumed.stdout).toContain('customers: 2, subscriptions: 2');
  }, 60_000);

  it('backfills customers and subscriptions: each subscriber gets their role, tier and allowance', async () => {
    for (const { userId, tier } of subscribers) {
      const user = await api.db.prisma.user.findUniqueOrThrow({ where: { id: userId }, include: { subscriptions: true } });
      expect({ role: user.role, tier: user.tier, membership: user.membershipStatus, subscriptions: user.subscriptions.length }).toEqual({
        role: 'PREMIUM',
        tier,
        membership: 'ACTIVE',
        subscriptions: 1,
      });
      const balance = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId } });
      expect(balance.allowanceTotal).toBe(tier === 'PLUS' ? 100 : 1000);
    }
    expect(await api.services.credits.reconcile()).toEqual([]);
  });

  it('is idempotent: running it again from the start changes nothing', async () => {
    const snapshot = async () => ({
      events: await api.db.prisma.subscriptionEvent.count(),
      ledger: await api.db.prisma.creditTransaction.count(),
      customers: await api.db.prisma.stripeCustomer.count(),
      subscriptions: await api.db.prisma.subscription.count(),
      prices: await api.db.prisma.stripePrice.count(),
    });
    const before = await snapshot();
    const again = await syncStripe('--backfill');
    expect(again.stdout).not.toContain('Resuming');
    expect(again.stdout).toContain('products: 3, prices: 3, customers: 2, subscriptions: 2');
    expect(await snapshot()).toEqual(before);
  }, 60_000);

  it('refuses to run without STRIPE_SECRET_KEY', async () => {
    const refused = await run('node_modules/.bin/tsx', ['scripts/sync-stripe.ts'], {
      env: { ...process.env, DATABASE_URL: api.db.url, DATA_DIR: dataDir, STRIPE_SECRET_KEY: '', LOG_LEVEL: 'silent' },
    }).catch((error) => error);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('STRIPE_SECRET_KEY is not set; nothing to sync.');
  }, 30_000);
});
