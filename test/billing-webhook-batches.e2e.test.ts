import type { FakeStripe } from './support/fake-stripe.js';
import type { TestApp } from './support/app.js';
import { newUser, postWebhook, startBillingApp, WEBHOOK_SECRET } from './support/billing.js';

// Stored Stripe events drained the way the workers drain them: each claim takes the due events of several Stripe
// objects (customers), and one object's events are applied one after another. Workers are off in this file; the
// tests claim and apply as a worker would, so what each claim holds is exact.

let api: TestApp;
let fake: FakeStripe;
let created = Math.floor(Date.now() / 1000) - 3600;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false));
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

/** Stores a signed event as Stripe's delivery would; nothing applies it yet. Each is created a second after the last. */
async function store(type: string, object: Record<string, any>, options: { created?: number } = {}) {
  const { event, payload, signature } = fake.event(type, object, { secret: WEBHOOK_SECRET, created: options.created ?? ++created });
  expect((await postWebhook(api, payload, signature)).status).toBe(200);
  return event.id as string;
}

/** Claims and applies until nothing is due, as one worker with `objects` slots would. */
async function drain(worker = 'test-worker', objects = 8) {
  for (;;) {
    const batches = await api.services.billing.claimDueWebhookBatches(worker, objects, 30);
    if (batches.length === 0) return;
    await Promise.all(batches.map((events) => api.services.billing.processClaimedWebhookBatch(events, worker)));
  }
}

async function subscriber(name: string) {
  const user = await newUser(api, name);
  const customer = `cus_${name}`;
  const subscription = fake.createSubscription({ customer, priceId: 'price_plus_month', metadata: { userId: user.userId, planKey: 'plus' } });
  return { ...user, customer, subscriptionId: subscription.id as string };
}

const events = (ids: string[]) =>
  api.db.prisma.webhookEvent.findMany({ where: { id: { in: ids } }, orderBy: [{ stripeCreated: 'asc' }, { id: 'asc' }] });
const stripeReads = (path: string) => fake.requests.filter((request) => request.method === 'GET' && request.path === path);

describe('a burst of events for one subscription', () => {
  it('is applied by one read of Stripe, ends in the latest state Stripe holds, and records each event processed once', async () => {
    const user = await subscriber('burst');
    const subscription = () => fake.subscriptions.get(user.subscriptionId)!;
    const ids = [
      await store('customer.subscription.created', subscription()),
      await store('customer.subscription.updated', subscription()),
      await store('customer.subscription.updated', fake.setSubscription(user.subscriptionId, { cancel_at_period_end: true })),
      await store('customer.subscription.updated', subscription()),
    ];
    // Stripe moved on after the last delivery: the one read made now sees it.
    fake.setSubscription(user.subscriptionId, { cancel_at_period_end: false, metadata: { ...subscription().metadata, note: 'latest' } });
    fake.advancePeriod(user.subscriptionId);

    await drain();

    expect(stripeReads(`/v1/subscriptions/${user.subscriptionId}`)).toHaveLength(1);
    const stored = await events(ids);
    expect(stored.map((event) => [event.status, event.attempts])).toEqual(ids.map(() => ['PROCESSED', 1]));
    expect(stored.every((event) => event.processedAt !== null && event.claimedBy === null)).toBe(true);
    expect(stored.map((event) => event.supersededBy)).toEqual([ids[3], ids[3], ids[3], null]);

    const row = await api.db.prisma.subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: user.subscriptionId } });
    const latest = subscription().items.data[0];
    expect(row).toMatchObject({ status: 'ACTIVE', cancelAtPeriodEnd: false, lastEventId: ids[3] });
    expect(row.currentPeriodStart!.getTime()).toBe(latest.current_period_start * 1000);
    // The allowance of the period Stripe now holds started once; the user is on the plan.
    const periods = await api.db.prisma.creditTransaction.findMany({
      where: { userId: user.userId, idempotencyKey: { startsWith: `sys:allowance-period:${user.subscriptionId}:` } },
    });
    expect(periods.map((entry) => entry.idempotencyKey)).toEqual([
      `sys:allowance-period:${user.subscriptionId}:${new Date(latest.current_period_start * 1000).toISOString()}`,
    ]);
    expect(await api.db.prisma.user.findUniqueOrThrow({ where: { id: user.userId } })).toMatchObject({ role: 'PREMIUM', tier: 'PLUS' });
  });

  it('costs the statements of one event, whatever its length', async () => {
    const statementsToDrain = async (updates: number) => {
      const user = await subscriber(`run-of-${updates}`);
      await store('customer.subscription.created', fake.subscriptions.get(user.subscriptionId)!);
      await drain();
      for (let i = 0; i < updates; i++) await store('customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!);
      api.db.queries.length = 0;
      await drain();
      return api.db.queries.length;
    };
    const one = await statementsToDrain(1);
    expect(await statementsToDrain(6)).toBe(one);
    // The claim, the empty claim that ends the drain, and the refresh: lock, one joined read, the upsert and the
    // events recorded processed, committed together.
    expect(one).toBeLessThanOrEqual(7);
  });
});

describe("one customer's events", () => {
  it('apply in created order, whatever the order they arrived in; another object\'s event ends a run', async () => {
    const user = await subscriber('ordered');
    await store('customer.subscription.created', fake.subscriptions.get(user.subscriptionId)!);
    await drain();
    const invoice = fake.invoice(user.subscriptionId, { paid: true });
    const base = ++created;
    created += 10;
    // Delivered newest first.
    const sent = [
      ['customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!, base + 4],
      ['customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!, base + 3],
      ['invoice.paid', invoice, base + 2],
      ['customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!, base + 1],
    ] as const;
    const ids: string[] = [];
    for (const [type, object, at] of sent) ids.unshift(await store(type, object, { created: at }));
    const readsBefore = fake.requests.length;
    api.db.queries.length = 0;

    await drain();

    // The subscription is read once for the claimed events, and what they write commits together.
    const reads = fake.requests.slice(readsBefore).map((request) => `${request.method} ${request.path}`);
    expect(reads).toEqual([`GET /v1/subscriptions/${user.subscriptionId}`, `GET /v1/invoices/${invoice.id}`]);
    expect(api.db.queries.filter((query) => query === 'COMMIT')).toHaveLength(1);
    const stored = await events(ids);
    expect(stored.map((event) => event.id)).toEqual(ids);
    expect(stored.map((event) => event.supersededBy)).toEqual([null, null, ids[3], null]);
    const applied = stored.map((event) => event.processedAt!.getTime());
    expect(applied).toEqual([...applied].sort((a, b) => a - b));
    expect(await api.db.prisma.payment.count({ where: { stripeInvoiceId: invoice.id, status: 'PAID' } })).toBe(1);
  });

  it('go on after a failed run: each event of the run is failed with its back-off, the next object is applied', async () => {
    const user = await subscriber('failed-run');
    await store('customer.subscription.created', fake.subscriptions.get(user.subscriptionId)!);
    await drain();
    const failed = [
      await store('customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!),
      await store('customer.subscription.updated', fake.setSubscription(user.subscriptionId, { cancel_at_period_end: true })),
    ];
    const invoice = fake.invoice(user.subscriptionId, { paid: true });
    const after = await store('invoice.paid', invoice);
    fake.failNext(`GET /v1/subscriptions/${user.subscriptionId}`);

    await drain();

    const stored = await events([...failed, after]);
    expect(stored.map((event) => [event.status, event.attempts])).toEqual([
      ['FAILED', 1],
      ['FAILED', 1],
      ['PROCESSED', 1],
    ]);
    // Each retries after its own first back-off (5 s), counted from the failure, which came before the invoice.
    const invoiceAppliedAt = stored[2]!.processedAt!.getTime();
    for (const event of stored.slice(0, 2)) {
      expect(event.lastError).toContain('injected failure');
      expect(event.nextAttemptAt!.getTime() - invoiceAppliedAt).toBeGreaterThan(2_500);
      expect(event.nextAttemptAt!.getTime() - invoiceAppliedAt).toBeLessThanOrEqual(5_000);
      expect(event.supersededBy).toBeNull();
    }
    // The invoice re-read the subscription after the failure, so the later state is stored all the same.
    expect(await api.db.prisma.subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: user.subscriptionId } })).toMatchObject({
      cancelAtPeriodEnd: true,
    });
    for (const id of failed) expect(await api.services.billing.processWebhookEvent(id)).toMatchObject({ status: 'PROCESSED' });
    expect((await events(failed)).map((event) => [event.status, event.attempts])).toEqual([
      ['PROCESSED', 2],
      ['PROCESSED', 2],
    ]);
  });

  it('go on after a run that fails where the runs write together: that run alone is failed, the others are applied', async () => {
    const user = await subscriber('shared-failure');
    // A second subscription of the same customer naming no known user: with the customer not stored yet, its write
    // finds no user and fails.
    const orphan = fake.createSubscription({ customer: user.customer, priceId: 'price_plus_month', metadata: { userId: '00000000-0000-4000-8000-000000000000' } });
    const failed = await store('customer.subscription.created', orphan);
    const applied = await store('customer.subscription.created', fake.subscriptions.get(user.subscriptionId)!);

    await drain();

    const stored = await events([failed, applied]);
    expect(stored.map((event) => [event.status, event.attempts])).toEqual([
      ['FAILED', 1],
      ['PROCESSED', 1],
    ]);
    expect(stored[0]!.lastError).toContain('no user for customer');
    expect(await api.db.prisma.subscription.findUnique({ where: { stripeSubscriptionId: user.subscriptionId } })).toMatchObject({ status: 'ACTIVE' });
    expect(await api.db.prisma.subscription.findUnique({ where: { stripeSubscriptionId: orphan.id } })).toBeNull();
    // Now that the customer is known, the retry stores the second subscription for its user.
    expect(await api.services.billing.processWebhookEvent(failed)).toMatchObject({ status: 'PROCESSED' });
    expect(await api.db.prisma.subscription.findUnique({ where: { stripeSubscriptionId: orphan.id } })).toMatchObject({ userId: user.userId });
  });
});

describe('claims', () => {
  it('two claimers at once never share a customer; each takes a customer\'s due events together, oldest first, up to its limit', async () => {
    const customers = await Promise.all([0, 1, 2, 3].map((i) => subscriber(`claimed-${i}`)));
    const stored = new Map<string, string[]>();
    for (const user of customers) {
      const subscription = fake.subscriptions.get(user.subscriptionId)!;
      stored.set(user.customer, [
        await store('customer.subscription.created', subscription),
        await store('customer.subscription.updated', subscription),
        await store('customer.subscription.updated', subscription),
      ]);
    }

    const [first, second] = await Promise.all([
      api.services.billing.claimDueWebhookBatches('claimer-a', 2, 30, 2),
      api.services.billing.claimDueWebhookBatches('claimer-b', 2, 30, 2),
    ]);
    const taken = [...first!, ...second!];
    const customerOf = (eventId: string) => [...stored].find(([, ids]) => ids.includes(eventId))![0];
    const claimedCustomers = taken.map((batch) => customerOf(batch[0]!.id));
    expect(new Set(claimedCustomers).size).toBe(claimedCustomers.length);
    expect(claimedCustomers.length).toBeGreaterThanOrEqual(2);
    for (const batch of taken) {
      // The customer's two oldest events; the third waits for this claim to finish.
      expect(batch.map((event) => event.id)).toEqual(stored.get(customerOf(batch[0]!.id))!.slice(0, 2));
    }
    // While their events are claimed, nobody else takes the later event of those customers.
    const third = await api.services.billing.claimDueWebhookBatches('claimer-c', 8, 30);
    expect(third.filter((batch) => claimedCustomers.includes(customerOf(batch[0]!.id)))).toEqual([]);

    for (const batch of third) await api.services.billing.processClaimedWebhookBatch(batch, 'claimer-c');
    await Promise.all([
      ...first!.map((batch) => api.services.billing.processClaimedWebhookBatch(batch, 'claimer-a')),
      ...second!.map((batch) => api.services.billing.processClaimedWebhookBatch(batch, 'claimer-b')),
    ]);
    await drain();
    const all = await events([...stored.values()].flat());
    expect(all.map((event) => [event.status, event.attempts])).toEqual(all.map(() => ['PROCESSED', 1]));
  });
});
