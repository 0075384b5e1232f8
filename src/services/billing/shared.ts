import type { MembershipStatus, Plan, Subscription, SubscriptionStatus } from '../../generated/prisma/client.js';
import type { Db, Tx } from '../../db/client.js';
import type { Logger } from '../../logger.js';
import type { CreditsService } from '../credits.js';
import type { JobSender } from '../index.js';
import { createStripeClient, requireStripe, type Stripe, type StripeConfig } from './stripe.js';

export type BillingIntervalValue = 'MONTH' | 'YEAR';
export type SubscriptionWithPlan = Subscription & { plan: Plan | null };

export interface CheckoutOutcome {
  sessionId: string;
  mode: 'subscription' | 'payment';
  userId: string;
  planKey: string | null;
  packKey: string | null;
  creditsGranted: number;
  stripeSubscriptionId: string | null;
  subscriptionStatus: SubscriptionStatus | null;
  appliedAt: string;
}

export interface EventContext {
  stripeEventId?: string | null;
  eventAt?: Date | null;
  reason: string;
  userId?: string | null;
  /**
   * Runs last inside the transaction that applies the event (see BillingCore.applying): the webhook pipeline records
   * the event as processed there, so applying it and recording it commit together.
   */
  recordApplied?: (tx: Tx) => Promise<void>;
}

export interface BillingServiceDeps {
  prisma: Db;
  log: Logger;
  stripe: StripeConfig;
  credits: CreditsService;
  periodDays: number;
  jobs: JobSender;
  now?: () => Date;
}

export const ENTITLED = new Set<SubscriptionStatus>(['ACTIVE', 'TRIALING']);
export const GRACE = new Set<SubscriptionStatus>(['PAST_DUE', 'UNPAID']);
const RANK: Record<SubscriptionStatus, number> = {
  ACTIVE: 0,
  TRIALING: 0,
  PAST_DUE: 1,
  UNPAID: 1,
  PAUSED: 2,
  INCOMPLETE: 3,
  CANCELED: 4,
  INCOMPLETE_EXPIRED: 5,
};
export const MEMBERSHIP: Record<SubscriptionStatus, MembershipStatus> = {
  ACTIVE: 'ACTIVE',
  TRIALING: 'ACTIVE',
  PAST_DUE: 'PAST_DUE',
  UNPAID: 'PAST_DUE',
  PAUSED: 'INACTIVE',
  INCOMPLETE: 'INACTIVE',
  CANCELED: 'CANCELED',
  INCOMPLETE_EXPIRED: 'CANCELED',
};
export const DAY_MS = 86_400_000;

/** The subscription that decides a user's entitlement: entitled first, then grace, then the newest. */
export function pickCurrentSubscription<T extends Subscription>(subscriptions: T[]): T | null {
  return (
    [...subscriptions].sort(
      (a, b) =>
        RANK[a.status] - RANK[b.status] ||
        (b.currentPeriodEnd?.getTime() ?? 0) - (a.currentPeriodEnd?.getTime() ?? 0) ||
        b.createdAt.getTime() - a.createdAt.getTime(),
    )[0] ?? null
  );
}

export function daysUntilRenewal(subscription: Subscription, now = new Date()): number | null {
  if (!ENTITLED.has(subscription.status) || subscription.cancelAtPeriodEnd || !subscription.currentPeriodEnd) return null;
  return Math.max(0, Math.ceil((subscription.currentPeriodEnd.getTime() - now.getTime()) / DAY_MS));
}

export function toStatus(status: string): SubscriptionStatus {
  return status.toUpperCase() as SubscriptionStatus;
}

export function errorMessage(error: unknown) {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);
}

/**
 * Keys of the server's own credit movements. They all start with `sys:`, a namespace no client key can enter, so
 * a client cannot send one first and make the server's movement a replay.
 */
export const systemKeys = {
  allowancePeriod: (stripeSubscriptionId: string, periodStart: Date) =>
    `sys:allowance-period:${stripeSubscriptionId}:${periodStart.toISOString()}`,
  allowancePeriodsOf: (stripeSubscriptionId: string) => `sys:allowance-period:${stripeSubscriptionId}:`,
  allowanceRaise: (stripeSubscriptionId: string, periodStart: Date, allowanceTotal: number) =>
    `sys:allowance-raise:${stripeSubscriptionId}:${periodStart.toISOString()}:${allowanceTotal}`,
  subscriptionEnded: (stripeSubscriptionId: string) => `sys:subscription-ended:${stripeSubscriptionId}`,
  checkout: (sessionId: string) => `sys:checkout:${sessionId}`,
  refund: (chargeId: string, amountRefunded: number) => `sys:refund:${chargeId}:${amountRefunded}`,
};

/**
 * What every part of billing shares: the dependencies, the Stripe client, the clock and the transaction settings.
 * Stripe is called only outside transactions; a transaction locks, compares with what is stored, and writes.
 */
export class BillingCore {
  readonly stripeClient: Stripe | null;
  readonly now: () => Date;

  constructor(readonly deps: BillingServiceDeps) {
    this.stripeClient = createStripeClient(deps.stripe);
    this.now = deps.now ?? (() => new Date());
  }

  get stripe(): Stripe {
    return requireStripe(this.stripeClient);
  }

  /** Writes of each open transaction (see transaction) left to just before it commits, by key. */
  private readonly deferred = new WeakMap<Tx, Map<string, () => Promise<unknown>>>();

  transaction<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
    return this.deps.prisma.$transaction(
      async (tx) => {
        const deferred = new Map<string, () => Promise<unknown>>();
        this.deferred.set(tx, deferred);
        const result = await run(tx);
        for (const key of deferred.keys()) await this.writeDeferred(tx, key);
        this.deferred.delete(tx);
        return result;
      },
      { timeout: 30_000, maxWait: 15_000 },
    );
  }

  /**
   * Leaves `write` to just before `tx` commits, replacing the one left under `key` before: of several writes of
   * the same columns only the last is sent. Writes at once in a transaction not opened by `transaction`.
   */
  async deferWrite(tx: Tx, key: string, write: () => Promise<unknown>): Promise<void> {
    const deferred = this.deferred.get(tx);
    if (deferred) deferred.set(key, write);
    else await write();
  }

  /** Sends the write left under `key`, if any, now: before a statement that reads or writes what it covers. */
  async writeDeferred(tx: Tx, key: string): Promise<void> {
    const deferred = this.deferred.get(tx);
    const write = deferred?.get(key);
    if (!write) return;
    deferred!.delete(key);
    await write();
  }

  /** The transaction that applies what `context` describes; its recordApplied, if any, runs last inside it. */
  applying<T>(context: Pick<EventContext, 'recordApplied'>, run: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transaction(async (tx) => {
      const result = await run(tx);
      await context.recordApplied?.(tx);
      return result;
    });
  }

  /** Subscription locks taken by each open transaction: a transaction-scoped lock is taken once. */
  private readonly heldLocks = new WeakMap<Tx, Set<string>>();

  async lockSubscription(tx: Tx, stripeSubscriptionId: string) {
    const held = this.heldLocks.get(tx) ?? new Set<string>();
    if (held.has(stripeSubscriptionId)) return;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`stripe-subscription:${stripeSubscriptionId}`}))`;
    held.add(stripeSubscriptionId);
    this.heldLocks.set(tx, held);
  }
}
