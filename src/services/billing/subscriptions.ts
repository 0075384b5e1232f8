import type { MembershipStatus, Plan, Prisma, Role, SubscriptionStatus, Tier, User } from '../../generated/prisma/client.js';
import type { Tx } from '../../db/client.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import {
  DAY_MS,
  ENTITLED,
  GRACE,
  MEMBERSHIP,
  pickCurrentSubscription,
  systemKeys,
  toStatus,
  type BillingCore,
  type BillingIntervalValue,
  type EventContext,
  type SubscriptionWithPlan,
} from './shared.js';
import { fromUnix, idOf, subscriptionPeriod, type Stripe } from './stripe.js';

/** A subscription as read from Stripe, with when the read finished (newer reads win). */
export interface FetchedSubscription {
  subscription: Stripe.Subscription;
  fetchedAt: Date;
}

const followedEventKey = (stripeSubscriptionId: string) => `subscription-last-event:${stripeSubscriptionId}`;

/** A read of a subscription as written in a transaction: the row, and whether its current period's allowance started. */
interface WrittenSubscription {
  fetched: FetchedSubscription;
  row: SubscriptionWithPlan;
  periodStarted: boolean;
}

/**
 * Subscriptions and what they entitle a user to: the mirror row, role, tier, membership, and the allowance that
 * follows payment. Stripe is read before a transaction opens; inside it the subscription is locked, the read is
 * compared with the stored one (a read that finished earlier never overwrites a later one) and written.
 */
export class SubscriptionService {
  constructor(private readonly core: BillingCore) {}

  private get deps() {
    return this.core.deps;
  }

  // ------------------------------------------------------------------ reads

  /** The current subscription of each user, in one query (with its plan). */
  async currentSubscriptions(userIds: readonly string[]): Promise<Map<string, SubscriptionWithPlan>> {
    const rows = await this.deps.prisma.subscription.findMany({
      where: { userId: { in: [...userIds] } },
      include: { plan: true },
    });
    const byUser = new Map<string, SubscriptionWithPlan[]>();
    for (const row of rows) byUser.set(row.userId, [...(byUser.get(row.userId) ?? []), row]);
    const current = new Map<string, SubscriptionWithPlan>();
    for (const [userId, subscriptions] of byUser) current.set(userId, pickCurrentSubscription(subscriptions)!);
    return current;
  }

  private async requireCurrentSubscription(userId: string): Promise<SubscriptionWithPlan> {
    const current = (await this.currentSubscriptions([userId])).get(userId);
    if (!current || current.status === 'CANCELED' || current.status === 'INCOMPLETE_EXPIRED') {
      throw new NotFoundError('Subscription');
    }
    return current;
  }

  // ------------------------------------------------------------------ user actions

  async cancelSubscription(userId: string, atPeriodEnd: boolean): Promise<SubscriptionWithPlan> {
    const stripe = this.core.stripe;
    const current = await this.requireCurrentSubscription(userId);
    const updated = atPeriodEnd
      ? await stripe.subscriptions.update(current.stripeSubscriptionId, { cancel_at_period_end: true })
      : await stripe.subscriptions.cancel(current.stripeSubscriptionId);
    return this.store(this.fetched(updated), {
      reason: atPeriodEnd ? 'canceled at period end by the user' : 'canceled now by the user',
    });
  }

  async resumeSubscription(userId: string): Promise<SubscriptionWithPlan> {
    const stripe = this.core.stripe;
    const current = await this.requireCurrentSubscription(userId);
    if (!current.cancelAtPeriodEnd) throw new ConflictError('The subscription is not scheduled to cancel');
    const updated = await stripe.subscriptions.update(current.stripeSubscriptionId, { cancel_at_period_end: false });
    return this.store(this.fetched(updated), { reason: 'resumed by the user' });
  }

  /** Moves the subscription to another plan at the same interval; Stripe prorates and invoices the difference now. */
  async changePlan(userId: string, planKey: string): Promise<SubscriptionWithPlan> {
    const stripe = this.core.stripe;
    const current = await this.requireCurrentSubscription(userId);
    const plan = await this.deps.prisma.plan.findFirst({ where: { key: planKey, active: true } });
    if (!plan) throw new NotFoundError('Plan', planKey);
    if (plan.id === current.planId) throw new ConflictError(`You are already on the ${plan.name} plan`);
    const interval = current.interval ?? 'MONTH';
    const priceId = interval === 'MONTH' ? plan.stripeMonthlyPriceId : plan.stripeYearlyPriceId;
    if (!priceId) throw ValidationError.forField('planKey', `plan ${plan.key} has no ${interval.toLowerCase()}ly price`);
    const subscription = await stripe.subscriptions.retrieve(current.stripeSubscriptionId);
    const item = subscription.items.data[0];
    if (!item) throw new Error(`Subscription ${subscription.id} has no items`);
    const updated = await stripe.subscriptions.update(subscription.id, {
      items: [{ id: item.id, price: priceId }],
      proration_behavior: 'always_invoice',
      metadata: { ...subscription.metadata, planKey: plan.key },
    });
    return this.store(this.fetched(updated), { reason: `plan changed to ${plan.key}` });
  }

  // ------------------------------------------------------------------ reading Stripe, writing the mirror

  /** Stamped with the wall clock, not the billing clock: it orders reads of Stripe, not credit periods. */
  fetched(subscription: Stripe.Subscription): FetchedSubscription {
    return { subscription, fetchedAt: new Date() };
  }

  /** The subscription's current state from Stripe; call it before opening a transaction. */
  async fetch(stripeSubscriptionId: string): Promise<FetchedSubscription> {
    return this.fetched(await this.core.stripe.subscriptions.retrieve(stripeSubscriptionId));
  }

  /** Fetches the subscription's current state from Stripe, then locks and writes it. */
  async refreshSubscription(stripeSubscriptionId: string, context: EventContext): Promise<SubscriptionWithPlan> {
    return this.store(await this.fetch(stripeSubscriptionId), context);
  }

  /** Writes a subscription read from Stripe under its lock. */
  store(fetched: FetchedSubscription, context: EventContext): Promise<SubscriptionWithPlan> {
    return this.core.applying(context, (tx) => this.storeIn(tx, fetched, context));
  }

  async storeIn(tx: Tx, fetched: FetchedSubscription, context: EventContext): Promise<SubscriptionWithPlan> {
    return (await this.storeInReportingAllowance(tx, fetched, context)).row;
  }

  /**
   * As storeIn, and says whether the allowance period of the stored state's current period start has started (before
   * or by this write), as read under the lock: such a period needs no second start.
   */
  async storeInReportingAllowance(tx: Tx, fetched: FetchedSubscription, context: EventContext): Promise<{ row: SubscriptionWithPlan; periodStarted: boolean }> {
    await this.core.lockSubscription(tx, fetched.subscription.id);
    const known = this.writtenIn.get(tx)?.get(fetched.subscription.id);
    if (known?.fetched === fetched && (context.userId ?? known.row.userId) === known.row.userId) return this.followEvent(tx, known, context);
    await this.core.writeDeferred(tx, followedEventKey(fetched.subscription.id));
    return this.writeSubscription(tx, fetched, context);
  }

  /**
   * Each transaction's last write of each subscription, with the read it wrote. Several events of one object applied
   * in one transaction share one read (see the webhook pipeline): under the lock nothing else has written since, so
   * writing that read again would change only the event the row follows.
   */
  private readonly writtenIn = new WeakMap<Tx, Map<string, WrittenSubscription>>();

  private remember(tx: Tx, written: WrittenSubscription) {
    const byId = this.writtenIn.get(tx) ?? new Map<string, WrittenSubscription>();
    byId.set(written.row.stripeSubscriptionId, written);
    this.writtenIn.set(tx, byId);
  }

  /** The same read stored again in its transaction: at most the event the row follows moves on (as writeSubscription would). */
  private async followEvent(tx: Tx, known: WrittenSubscription, context: EventContext): Promise<{ row: SubscriptionWithPlan; periodStarted: boolean }> {
    const eventAt = context.eventAt ?? null;
    if (eventAt && (!known.row.lastEventAt || eventAt >= known.row.lastEventAt)) {
      const lastEventId = context.stripeEventId ?? null;
      const { id } = known.row;
      known.row = { ...known.row, lastEventAt: eventAt, lastEventId };
      // Only the last of the transaction's events is kept, so one UPDATE before the commit covers them all.
      await this.core.deferWrite(tx, followedEventKey(known.row.stripeSubscriptionId), () =>
        tx.subscription.update({ where: { id }, data: { lastEventAt: eventAt, lastEventId }, select: { id: true } }),
      );
    }
    return { row: known.row, periodStarted: known.periodStarted };
  }

  /**
   * Records a Stripe-shaped subscription for its user (the seed and the sync use this): the mirror row, a
   * subscription event when anything changed, the user's role/tier/membership, and the allowance.
   */
  async recordSubscription(subscription: Stripe.Subscription, context: Partial<EventContext> = {}) {
    return this.store(this.fetched(subscription), { reason: 'recorded', ...context });
  }

  /**
   * One read after the lock gives what the write compares with: the customer's user, their subscriptions with plans
   * (this one's stored state among them) and which allowance periods of this subscription have started.
   */
  private userInclude(stripeSubscriptionId: string) {
    return {
      stripeCustomer: true,
      subscriptions: { include: { plan: true } },
      creditTransactions: {
        where: { idempotencyKey: { startsWith: systemKeys.allowancePeriodsOf(stripeSubscriptionId) } },
        select: { idempotencyKey: true },
      },
    } satisfies Prisma.UserInclude;
  }

  private async writeSubscription(tx: Tx, fetched: FetchedSubscription, context: EventContext): Promise<{ row: SubscriptionWithPlan; periodStarted: boolean }> {
    const { subscription, fetchedAt } = fetched;
    const customerId = idOf(subscription.customer as string | { id: string })!;
    const include = this.userInclude(subscription.id);
    const customer = await tx.stripeCustomer.findUnique({ where: { id: customerId }, include: { user: { include } } });
    const userId = context.userId ?? customer?.userId ?? subscription.metadata?.userId ?? null;
    const user = !userId ? null : customer?.userId === userId ? customer.user : await tx.user.findUnique({ where: { id: userId }, include });
    const previous =
      user?.subscriptions.find((row) => row.stripeSubscriptionId === subscription.id) ??
      (await tx.subscription.findUnique({ where: { stripeSubscriptionId: subscription.id }, include: { plan: true } }));
    if (previous?.stripeFetchedAt && previous.stripeFetchedAt > fetchedAt) {
      // A later read of this subscription is already stored; this one is older.
      return { row: previous, periodStarted: false };
    }
    if (!user) throw new Error(`Subscription ${subscription.id}: no user for customer ${customerId}`);
    if (!customer && !user.stripeCustomer) {
      await tx.stripeCustomer.create({ data: { id: customerId, userId: user.id } });
    }

    const item = subscription.items?.data?.[0];
    const price = item?.price;
    const previousPlanStillPriced =
      price && previous?.plan && previous.stripePriceId === price.id && (previous.plan.stripeMonthlyPriceId === price.id || previous.plan.stripeYearlyPriceId === price.id);
    const plan = previousPlanStillPriced ? previous.plan : await this.planFor(tx, price?.id ?? null, subscription.metadata?.planKey ?? null);
    const recurring = price?.recurring?.interval;
    const interval: BillingIntervalValue | null = recurring === 'year' ? 'YEAR' : recurring === 'month' ? 'MONTH' : null;
    const period = subscriptionPeriod(subscription);
    const status = toStatus(subscription.status);

    const eventAt = context.eventAt ?? null;
    const newer = eventAt && (!previous?.lastEventAt || eventAt >= previous.lastEventAt);
    const data = {
      stripeCustomerId: customerId,
      userId: user.id,
      planId: plan?.id ?? null,
      stripePriceId: price?.id ?? null,
      interval,
      status,
      currentPeriodStart: period.start,
      currentPeriodEnd: period.end,
      trialStart: fromUnix(subscription.trial_start),
      trialEnd: fromUnix(subscription.trial_end),
      cancelAtPeriodEnd: subscription.cancel_at_period_end,
      canceledAt: fromUnix(subscription.canceled_at),
      endedAt: fromUnix(subscription.ended_at),
      stripeFetchedAt: fetchedAt,
      ...(newer ? { lastEventAt: eventAt, lastEventId: context.stripeEventId ?? null } : {}),
    };
    // Without a relation to read back, Prisma sends one INSERT ... ON CONFLICT DO UPDATE.
    const stored = await tx.subscription.upsert({
      where: { stripeSubscriptionId: subscription.id },
      create: { stripeSubscriptionId: subscription.id, ...data },
      update: data,
    });
    const row: SubscriptionWithPlan = { ...stored, plan };

    const watched = ['status', 'planId', 'cancelAtPeriodEnd', 'currentPeriodStart', 'currentPeriodEnd', 'trialEnd'] as const;
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const field of watched) {
      const before = previous?.[field] ?? null;
      const after = row[field] ?? null;
      const same = before instanceof Date && after instanceof Date ? before.getTime() === after.getTime() : before === after;
      if (!same) changes[field] = { from: before, to: after };
    }
    if (!previous || Object.keys(changes).length) {
      await tx.subscriptionEvent.create({
        data: {
          userId: user.id,
          subscriptionId: row.id,
          type: !previous ? 'created' : changes.status ? 'status_changed' : 'updated',
          fromStatus: previous?.status ?? null,
          toStatus: row.status,
          stripeEventId: context.stripeEventId ?? null,
          data: { reason: context.reason, changes } as unknown as Prisma.InputJsonObject,
        },
      });
    }

    const subscriptions = [...user.subscriptions.filter((other) => other.id !== row.id), row];
    await this.applyEntitlement(tx, user.id, context, { user, subscriptions });
    const periodStarted = await this.followPlan(tx, row, previous, user.creditTransactions.map((movement) => movement.idempotencyKey));
    this.remember(tx, { fetched, row, periodStarted });
    return { row, periodStarted };
  }

  /** The plan that sells this price, else the one the subscription's metadata names (one statement). */
  private async planFor(tx: Tx, priceId: string | null, planKey: string | null): Promise<Plan | null> {
    const candidates = [
      ...(priceId ? [{ stripeMonthlyPriceId: priceId }, { stripeYearlyPriceId: priceId }] : []),
      ...(planKey ? [{ key: planKey }] : []),
    ];
    if (candidates.length === 0) return null;
    const plans = await tx.plan.findMany({ where: { OR: candidates } });
    const sells = (plan: Plan) => priceId !== null && (plan.stripeMonthlyPriceId === priceId || plan.stripeYearlyPriceId === priceId);
    return plans.find(sells) ?? plans.find((plan) => plan.key === planKey) ?? null;
  }

  // ------------------------------------------------------------------ allowance that follows payment

  /**
   * The first period of a subscription starts its allowance when the subscription is first seen entitled: Stripe
   * makes a subscription active only once its first invoice is paid, and a trial period needs no payment. Later
   * periods start only from a paid invoice (see startPaidPeriod). Inside a period already started, a dearer plan
   * raises the allowance by the difference; a cheaper one waits for the next period (or a yearly plan's next month).
   * `startedKeys` are the keys of the subscription's allowance periods started so far. Says whether the current
   * period's allowance has started.
   */
  private async followPlan(tx: Tx, row: SubscriptionWithPlan, previous: SubscriptionWithPlan | null, startedKeys: (string | null)[]): Promise<boolean> {
    if (!row.currentPeriodStart) return false;
    const started = startedKeys.includes(systemKeys.allowancePeriod(row.stripeSubscriptionId, row.currentPeriodStart));
    if (!ENTITLED.has(row.status) || !row.plan) return started;
    if (startedKeys.length === 0) {
      await this.startPaidPeriod(tx, row, { reason: `subscription to ${row.plan.key} started` });
      return true;
    }
    if (!started) return false;
    // Entitled on the same plan in the same period as the stored state: that write already followed this plan.
    const unchanged =
      previous !== null &&
      ENTITLED.has(previous.status) &&
      previous.planId === row.planId &&
      previous.currentPeriodStart?.getTime() === row.currentPeriodStart.getTime();
    if (unchanged) return true;
    await this.deps.credits.changePlanAllowance(
      row.userId,
      {
        allowanceTotal: row.plan.creditsPerPeriod,
        reason: `plan changed to ${row.plan.key} inside the period`,
        idempotencyKey: systemKeys.allowanceRaise(row.stripeSubscriptionId, row.currentPeriodStart, row.plan.creditsPerPeriod),
      },
      tx,
    );
    return true;
  }

  /**
   * Starts the allowance of the subscription's current period, once per subscription and period start whatever
   * the number of invoices or deliveries. Paid time renews by itself only until the period ends (monthly for a
   * yearly plan); after that, only the next paid period does.
   */
  async startPaidPeriod(tx: Tx, row: SubscriptionWithPlan, options: { reason: string; paymentId?: string | null }) {
    if (!row.plan) return;
    const now = this.core.now();
    const periodStart = row.currentPeriodStart ?? now;
    const written = this.writtenIn.get(tx)?.get(row.stripeSubscriptionId);
    if (written && written.row.currentPeriodStart?.getTime() === periodStart.getTime()) written.periodStarted = true;
    await this.deps.credits.startAllowancePeriod(
      row.userId,
      {
        allowanceTotal: row.plan.creditsPerPeriod,
        periodStart,
        periodEnd: row.currentPeriodEnd ?? new Date(periodStart.getTime() + this.deps.periodDays * DAY_MS),
        paid: { monthly: row.interval === 'YEAR' },
        reason: options.reason,
        idempotencyKey: systemKeys.allowancePeriod(row.stripeSubscriptionId, periodStart),
        paymentId: options.paymentId ?? null,
      },
      tx,
    );
  }

  // ------------------------------------------------------------------ entitlement

  /**
   * Subscriptions set to cancel at period end whose period is over, for when Stripe's `deleted` event never arrives:
   * each becomes CANCELED by a conditional UPDATE under the subscription's lock, and the user's role, tier,
   * membership and allowance follow exactly as they would for the webhook. Returns how many it expired.
   */
  async expireEndedSubscriptions(batchSize = 200): Promise<number> {
    const now = this.core.now();
    const endedAndCanceling = {
      status: { in: ['ACTIVE', 'TRIALING', 'PAST_DUE', 'UNPAID'] as SubscriptionStatus[] },
      cancelAtPeriodEnd: true,
      currentPeriodEnd: { lt: now },
    };
    const due = await this.deps.prisma.subscription.findMany({ where: endedAndCanceling, take: batchSize });
    let expired = 0;
    for (const subscription of due) {
      const changed = await this.core.transaction(async (tx) => {
        await this.core.lockSubscription(tx, subscription.stripeSubscriptionId);
        const { count } = await tx.subscription.updateMany({
          where: { id: subscription.id, ...endedAndCanceling },
          data: { status: 'CANCELED', endedAt: subscription.currentPeriodEnd, canceledAt: now },
        });
        if (count === 0) return false;
        await tx.subscriptionEvent.create({
          data: {
            userId: subscription.userId,
            subscriptionId: subscription.id,
            type: 'subscription.period_ended',
            fromStatus: subscription.status,
            toStatus: 'CANCELED',
            data: { currentPeriodEnd: subscription.currentPeriodEnd?.toISOString() ?? null },
          },
        });
        await this.applyEntitlement(tx, subscription.userId, { reason: 'subscription period ended' });
        return true;
      });
      if (changed) expired++;
    }
    return expired;
  }

  /**
   * Role, membership and tier follow the user's current subscription; ADMIN and BANNED are never touched. When the
   * last paid tier ends, the free rolling allowance comes back. `known` is the user and their subscriptions as the
   * caller read them after its lock, with its own write applied.
   */
  private async applyEntitlement(
    tx: Tx,
    userId: string,
    context: EventContext,
    known?: { user: Pick<User, 'role' | 'tier' | 'membershipStatus'>; subscriptions: SubscriptionWithPlan[] },
  ) {
    const subscriptions = known?.subscriptions ?? (await tx.subscription.findMany({ where: { userId }, include: { plan: true } }));
    const current = pickCurrentSubscription(subscriptions);
    const user = known?.user ?? (await tx.user.findUniqueOrThrow({ where: { id: userId } }));
    const entitled = !!current && ENTITLED.has(current.status);
    const membershipStatus: MembershipStatus = current ? MEMBERSHIP[current.status] : 'INACTIVE';
    const tier: Tier =
      current && (entitled || GRACE.has(current.status)) ? (current.plan?.tier ?? user.tier) : 'FREE';
    const role: Role = user.role === 'ADMIN' || user.role === 'BANNED' ? user.role : entitled ? 'PREMIUM' : 'USER';
    if (user.role === role && user.tier === tier && user.membershipStatus === membershipStatus) return;
    await tx.user.update({ where: { id: userId }, data: { role, tier, membershipStatus } });
    await tx.subscriptionEvent.create({
      data: {
        userId,
        subscriptionId: current?.id ?? null,
        type: 'entitlement_changed',
        fromStatus: user.membershipStatus,
        toStatus: membershipStatus,
        stripeEventId: context.stripeEventId ?? null,
        data: {
          reason: context.reason,
          role: { from: user.role, to: role },
          tier: { from: user.tier, to: tier },
        },
      },
    });
    if (user.tier !== 'FREE' && tier === 'FREE' && current) {
      const now = this.core.now();
      await this.deps.credits.startAllowancePeriod(
        userId,
        {
          allowanceTotal: await this.deps.credits.allowanceForTier(tx, 'FREE'),
          periodStart: now,
          periodEnd: new Date(now.getTime() + this.deps.periodDays * DAY_MS),
          reason: 'subscription ended',
          idempotencyKey: systemKeys.subscriptionEnded(current.stripeSubscriptionId),
        },
        tx,
      );
    }
  }
}
