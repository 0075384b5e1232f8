import { CATALOG_SYNC_JOB, OVERDUE_SUBSCRIPTIONS_JOB, RENEWAL_GRACE_MINUTES, refreshOverdueSubscriptions, stripeSyncJobs } from '../src/jobs/stripe-sync.js';
import type { TestApp } from './support/app.js';
import { startTestApp } from './support/app.js';
import { newUser, startBillingApp } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';

let api: TestApp;
let fake: FakeStripe;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(true));
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

describe('scheduled Stripe sync', () => {
  it('with Stripe configured, the catalog sync and the overdue-subscription fetch are scheduled every 5 minutes', async () => {
    const schedules = await api.db.prisma.$queryRaw<{ name: string; cron: string; timezone: string }[]>`
      SELECT name, cron, timezone FROM pgboss.schedule WHERE name IN (${CATALOG_SYNC_JOB}, ${OVERDUE_SUBSCRIPTIONS_JOB}) ORDER BY name`;
    expect(schedules).toEqual([
      { name: CATALOG_SYNC_JOB, cron: '*/5 * * * *', timezone: 'UTC' },
      { name: OVERDUE_SUBSCRIPTIONS_JOB, cron: '*/5 * * * *', timezone: 'UTC' },
    ]);
  });

  it('without Stripe there is nothing to schedule', async () => {
    const plain = await startTestApp();
    try {
      expect(stripeSyncJobs(plain.services, plain.db.prisma)).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it('the catalog job mirrors a product and price whose webhooks never arrived', async () => {
    fake.product('prod_missed_webhook', { name: 'Studio' });
    fake.price('price_missed_webhook', 'prod_missed_webhook', { unit_amount: 4900, unit_amount_decimal: '4900', type: 'one_time', recurring: null });
    const job = stripeSyncJobs(api.services, api.db.prisma).find((definition) => definition.name === CATALOG_SYNC_JOB)!;
    await job.handler({});
    expect(await api.db.prisma.stripeProduct.findUnique({ where: { id: 'prod_missed_webhook' }, select: { name: true } })).toEqual({ name: 'Studio' });
    expect(await api.db.prisma.stripePrice.count({ where: { id: 'price_missed_webhook' } })).toBe(1);
  });

  it('a subscription whose period passed without a renewal event is fetched, once per grace period', async () => {
    const { userId } = await newUser(api, 'overdue-renewal');
    const subscription = fake.createSubscription({ customer: 'cus_overdue', priceId: 'price_plus_month', metadata: { userId } });
    await api.services.billing.recordSubscription(subscription as never, { userId });
    // Stripe renewed it; the invoice.paid webhook was lost. Our copy still shows the old period, ended an hour ago.
    const ended = new Date(Date.now() - 60 * 60_000);
    await api.db.prisma.$executeRaw`
      UPDATE "Subscription" SET "currentPeriodEnd" = ${ended}, "updatedAt" = ${ended}
      WHERE "stripeSubscriptionId" = ${subscription.id}`;
    const renewed = fake.advancePeriod(subscription.id);
    fake.requests.length = 0;

    expect(await refreshOverdueSubscriptions(api.services, api.db.prisma)).toEqual({ overdue: 1, refreshed: 1 });
    const row = await api.db.prisma.subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscription.id } });
    expect(row.currentPeriodEnd?.getTime()).toBe(renewed.items.data[0].current_period_end * 1000);
    expect(fake.requests.filter((request) => request.path === `/v1/subscriptions/${subscription.id}`)).toHaveLength(1);

    // Up to date now: the next tick leaves it alone; one that is merely within the grace period is not fetched either.
    expect(await refreshOverdueSubscriptions(api.services, api.db.prisma)).toEqual({ overdue: 0, refreshed: 0 });
    const justEnded = new Date(Date.now() - (RENEWAL_GRACE_MINUTES - 1) * 60_000);
    await api.db.prisma.$executeRaw`
      UPDATE "Subscription" SET "currentPeriodEnd" = ${justEnded}, "updatedAt" = ${ended}
      WHERE "stripeSubscriptionId" = ${subscription.id}`;
    expect(await refreshOverdueSubscriptions(api.services, api.db.prisma)).toEqual({ overdue: 0, refreshed: 0 });
  });
});
