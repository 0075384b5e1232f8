import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { CreditsService } from './credits.js';
import type { GenerationsService } from './generations.js';
import type { StorageService } from './storage.js';

export interface MaintenanceReport {
  failedGenerationsRemoved: number;
  storageObjectsPurged: number;
  subscriptionsExpired: number;
}

export interface MaintenanceServiceDeps {
  prisma: Db;
  log: Logger;
  credits: CreditsService;
  generations: GenerationsService;
  storage: StorageService;
  config: { failedGenerationRetentionDays: number; creditPeriodDays: number };
  now?: () => Date;
}

const LIVE_STATUSES = ['ACTIVE', 'TRIALING', 'PAST_DUE'] as const;
const EXPIRY_BATCH = 200;

/** Housekeeping run daily by the job queue and on demand by `npm run maintenance`. */
export class MaintenanceService {
  private readonly now: () => Date;

  constructor(private readonly deps: MaintenanceServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async run(): Promise<MaintenanceReport> {
    const report: MaintenanceReport = {
      failedGenerationsRemoved: await this.deps.generations.removeOldFailed(this.deps.config.failedGenerationRetentionDays),
      storageObjectsPurged: await this.deps.storage.purgeDeleted(),
      subscriptionsExpired: await this.expireEndedSubscriptions(),
    };
    this.deps.log.info(report, 'maintenance done');
    return report;
  }

  /**
   * Subscriptions set to cancel at period end whose period is over, in case Stripe's `deleted` webhook never
   * arrived: the subscription becomes CANCELED and, unless the user has another live subscription, the user goes
   * back to FREE / INACTIVE with the free allowance (PREMIUM becomes USER; ADMIN and BANNED roles stay as they are).
   * Each subscription moves by a conditional UPDATE, so a webhook applying the same change concurrently wins once.
   */
  async expireEndedSubscriptions(): Promise<number> {
    const { prisma, credits } = this.deps;
    const now = this.now();
    const due = await prisma.subscription.findMany({
      where: { status: { in: [...LIVE_STATUSES] }, cancelAtPeriodEnd: true, currentPeriodEnd: { lt: now } },
      select: { id: true, userId: true, status: true, currentPeriodEnd: true },
      take: EXPIRY_BATCH,
    });
    let expired = 0;
    for (const subscription of due) {
      const changed = await prisma.$transaction(async (tx) => {
        const { count } = await tx.subscription.updateMany({
          where: { id: subscription.id, status: { in: [...LIVE_STATUSES] }, cancelAtPeriodEnd: true, currentPeriodEnd: { lt: now } },
          data: { status: 'CANCELED', endedAt: subscription.currentPeriodEnd, canceledAt: now },
        });
        if (count === 0) return false;
        await tx.subscriptionEvent.create({
          data: {
            userId: subscription.userId,
            subscriptionId: subscription.id,
            type: 'maintenance.expired',
            fromStatus: subscription.status,
            toStatus: 'CANCELED',
            data: { currentPeriodEnd: subscription.currentPeriodEnd?.toISOString() ?? null },
          },
        });
        const stillSubscribed = await tx.subscription.count({
          where: { userId: subscription.userId, status: { in: [...LIVE_STATUSES] } },
        });
        if (stillSubscribed > 0) return true;
        const user = await tx.user.findUnique({ where: { id: subscription.userId }, select: { role: true } });
        await tx.user.update({
          where: { id: subscription.userId },
          data: { tier: 'FREE', membershipStatus: 'INACTIVE', ...(user?.role === 'PREMIUM' ? { role: 'USER' } : {}) },
        });
        await credits.startAllowancePeriod(
          subscription.userId,
          {
            allowanceTotal: await credits.allowanceForTier(tx, 'FREE'),
            periodStart: now,
            periodEnd: new Date(now.getTime() + this.deps.config.creditPeriodDays * 86_400_000),
            reason: 'subscription ended',
            idempotencyKey: `subscription-ended:${subscription.id}`,
          },
          tx,
        );
        return true;
      });
      if (changed) expired++;
    }
    return expired;
  }
}
