import type { Db } from '../db/client.js';
import type { Services } from '../services/index.js';
import type { JobDefinition } from './queue.js';

export const CATALOG_SYNC_JOB = 'billing.catalog-sync';
export const OVERDUE_SUBSCRIPTIONS_JOB = 'billing.overdue-subscriptions';
/** How long after its period's end a live subscription may wait for its renewal webhook before it is fetched. */
export const RENEWAL_GRACE_MINUTES = 10;
const LIVE_STATUSES = ['ACTIVE', 'TRIALING', 'PAST_DUE'] as const;

/**
 * Subscriptions whose period ended without a renewal event reaching us: their state is fetched from Stripe (the
 * same locked refresh a webhook triggers), so a missed webhook heals within minutes. Each is fetched at most once per
 * grace period, so one that Stripe really left behind is not fetched every tick.
 */
export async function refreshOverdueSubscriptions(services: Services, prisma: Db, now = new Date(), batchSize = 100) {
  const before = new Date(now.getTime() - RENEWAL_GRACE_MINUTES * 60_000);
  const overdue = await prisma.subscription.findMany({
    where: { status: { in: [...LIVE_STATUSES] }, currentPeriodEnd: { lt: before }, updatedAt: { lt: before } },
    select: { stripeSubscriptionId: true },
    orderBy: { currentPeriodEnd: 'asc' },
    take: batchSize,
  });
  let refreshed = 0;
  for (const { stripeSubscriptionId } of overdue) {
    await services.billing.refreshSubscription(stripeSubscriptionId, { reason: 'period ended without a renewal event' });
    refreshed++;
  }
  return { overdue: overdue.length, refreshed };
}

/** Only where Stripe is configured: products and prices re-read every 5 minutes, overdue subscriptions fetched. */
export function stripeSyncJobs(services: Services, prisma: Db): JobDefinition[] {
  if (!services.billing.configured) return [];
  return [
    { name: CATALOG_SYNC_JOB, cron: '*/5 * * * *', retryLimit: 0, handler: () => services.billing.syncFromStripe() },
    {
      name: OVERDUE_SUBSCRIPTIONS_JOB,
      cron: '*/5 * * * *',
      retryLimit: 0,
      handler: () => refreshOverdueSubscriptions(services, prisma),
    },
  ];
}
