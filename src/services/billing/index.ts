import type {
  CreditPack,
  MembershipStatus,
  Plan,
  Prisma,
  Role,
  Subscription,
  SubscriptionStatus,
  Tier,
  WebhookEvent,
} from '../../generated/prisma/client.js';
import type { Db, Tx } from '../../db/client.js';
import type { Logger } from '../../logger.js';
import { recordAdminAction } from '../audit.js';
import type { CreditsService } from '../credits.js';
import {
  BillingNotConfiguredError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  WebhookPayloadError,
  WebhookSignatureError,
} from '../errors.js';
import type { JobSender } from '../index.js';
import { findTextProblem } from '../text.js';
import { CatalogService } from './catalog.js';
import {
  createStripeClient,
  fromUnix,
  idOf,
  invoiceSubscriptionId,
  isMissingResource,
  orNotFound,
  requireStripe,
  subscriptionPeriod,
  type Stripe,
  type StripeConfig,
} from './stripe.js';

export { DEFAULT_PACKS, DEFAULT_PLANS } from './catalog.js';

export const WEBHOOK_JOB = 'billing.process-webhook';
export const WEBHOOK_SWEEP_JOB = 'billing.sweep-webhooks';
export const WEBHOOK_TOLERANCE_SECONDS = 300;

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

export interface SyncCheckpoint {
  phase: SyncPhase;
  startingAfter?: string;
}
export type SyncPhase = 'products' | 'prices' | 'customers' | 'subscriptions';

interface EventContext {
  stripeEventId?: string | null;
  eventAt?: Date | null;
  reason: string;
  userId?: string | null;
}

const ENTITLED = new Set<SubscriptionStatus>(['ACTIVE', 'TRIALING']);
const GRACE = new Set<SubscriptionStatus>(['PAST_DUE', 'UNPAID']);
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
const MEMBERSHIP: Record<SubscriptionStatus, MembershipStatus> = {
  ACTIVE: 'ACTIVE',
  TRIALING: 'ACTIVE',
  PAST_DUE: 'PAST_DUE',
  UNPAID: 'PAST_DUE',
  PAUSED: 'INACTIVE',
  INCOMPLETE: 'INACTIVE',
  CANCELED: 'CANCELED',
  INCOMPLETE_EXPIRED: 'CANCELED',
};
const SESSION_ID = /^cs_[A-Za-z0-9_]{1,250}$/;
const DAY_MS = 86_400_000;

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

function toStatus(status: string): SubscriptionStatus {
  return status.toUpperCase() as SubscriptionStatus;
}

function errorMessage(error: unknown) {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);
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

/**
 * Plans, checkout, subscriptions, payments and the Stripe webhook pipeline. Stripe is the source of truth: every
 * webhook re-fetches the object it names from Stripe under a per-object lock and writes that current state, so
 * duplicates and arrival order cannot change the result.
 */
export class BillingService {
  readonly catalog: CatalogService;
  private readonly stripeClient: Stripe | null;
  private readonly now: () => Date;

  constructor(private readonly deps: BillingServiceDeps) {
    this.catalog = new CatalogService(deps.prisma);
    this.stripeClient = createStripeClient(deps.stripe);
    this.now = deps.now ?? (() => new Date());
  }

  get configured() {
    return this.stripeClient !== null;
  }

  private get stripe(): Stripe {
    return requireStripe(this.stripeClient);
  }

  private transaction<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
    return this.deps.prisma.$transaction(run, { timeout: 30_000, maxWait: 15_000 });
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

  // ------------------------------------------------------------------ checkout

  private checkReturnUrl(field: string, value: string) {
    let origin: string;
    try {
      origin = new URL(value).origin;
    } catch {
      throw ValidationError.forField(field, 'must be an absolute URL');
    }
    if (!this.deps.stripe.allowedOrigins.includes(origin)) {
      throw ValidationError.forField(field, `must start with an allowed origin (${this.deps.stripe.allowedOrigins.join(', ') || 'none configured'})`);
    }
  }

  /** The user's Stripe customer, created on first need and remembered. */
  async ensureCustomer(userId: string): Promise<string> {
    const stripe = this.stripe;
    const existing = await this.deps.prisma.stripeCustomer.findUnique({ where: { userId } });
    if (existing && !existing.deletedAt) return existing.id;
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    const customer = await stripe.customers.create(
      { email: user.email ?? undefined, name: user.name ?? undefined, metadata: { userId } },
      { idempotencyKey: `customer-for-user:${userId}:${existing?.id ?? 'first'}` },
    );
    await this.deps.prisma.stripeCustomer.upsert({
      where: { userId },
      create: { id: customer.id, userId, email: customer.email ?? user.email },
      update: { id: customer.id, email: customer.email ?? user.email, deletedAt: null },
    });
    return customer.id;
  }

  async createCheckoutSession(
    userId: string,
    input: {
      planKey?: string | null;
      packKey?: string | null;
      interval?: BillingIntervalValue | null;
      successUrl: string;
      cancelUrl: string;
    },
  ): Promise<{ sessionId: string; url: string | null }> {
    const stripe = this.stripe;
    if (!!input.planKey === !!input.packKey) {
      throw ValidationError.forField('planKey', 'give exactly one of planKey or packKey');
    }
    this.checkReturnUrl('successUrl', input.successUrl);
    this.checkReturnUrl('cancelUrl', input.cancelUrl);

    let plan: Plan | null = null;
    let pack: CreditPack | null = null;
    let lineItem: Stripe.Checkout.SessionCreateParams.LineItem;
    const interval: BillingIntervalValue = input.interval ?? 'MONTH';
    if (input.planKey) {
      plan = await this.deps.prisma.plan.findFirst({ where: { key: input.planKey, active: true } });
      if (!plan) throw new NotFoundError('Plan', input.planKey);
      const priceId = interval === 'MONTH' ? plan.stripeMonthlyPriceId : plan.stripeYearlyPriceId;
      if (!priceId) {
        throw ValidationError.forField('planKey', `plan ${plan.key} cannot be bought ${interval === 'MONTH' ? 'monthly' : 'yearly'}`);
      }
      const current = (await this.currentSubscriptions([userId])).get(userId);
      if (current && (ENTITLED.has(current.status) || GRACE.has(current.status))) {
        throw new ConflictError('You already have a subscription; change its plan instead');
      }
      lineItem = { price: priceId, quantity: 1 };
    } else {
      pack = await this.deps.prisma.creditPack.findFirst({ where: { key: input.packKey!, active: true } });
      if (!pack) throw new NotFoundError('CreditPack', input.packKey!);
      lineItem = pack.stripePriceId
        ? { price: pack.stripePriceId, quantity: 1 }
        : {
            price_data: { currency: pack.currency, unit_amount: pack.priceCents, product_data: { name: pack.name } },
            quantity: 1,
          };
    }

    const customer = await this.ensureCustomer(userId);
    const metadata: Record<string, string> = {
      userId,
      ...(plan ? { planKey: plan.key, interval } : {}),
      ...(pack ? { packKey: pack.key } : {}),
    };
    const mode = plan ? 'subscription' : 'payment';
    const session = await stripe.checkout.sessions.create({
      mode,
      customer,
      client_reference_id: userId,
      line_items: [lineItem],
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      metadata,
      ...(plan ? { subscription_data: { metadata } } : { payment_intent_data: { metadata } }),
    });
    await this.deps.prisma.checkoutSession.create({
      data: {
        id: session.id,
        userId,
        mode,
        planId: plan?.id ?? null,
        creditPackId: pack?.id ?? null,
        interval: plan ? interval : null,
        status: session.status ?? 'open',
      },
    });
    return { sessionId: session.id, url: session.url };
  }

  private async sessionOwner(session: Stripe.Checkout.Session): Promise<string | null> {
    const claimed = session.metadata?.userId ?? session.client_reference_id;
    if (claimed) return claimed;
    const local = await this.deps.prisma.checkoutSession.findUnique({ where: { id: session.id } });
    if (local) return local.userId;
    const customerId = idOf(session.customer as string | { id: string } | null);
    if (!customerId) return null;
    return (await this.deps.prisma.stripeCustomer.findUnique({ where: { id: customerId } }))?.userId ?? null;
  }

  private static isSettled(session: Stripe.Checkout.Session) {
    return session.status === 'complete' && (session.payment_status === 'paid' || session.payment_status === 'no_payment_required');
  }

  /** Applies a completed checkout for its owner; the checkout.session.completed webhook takes the same path. */
  async verifyCheckoutSession(userId: string, sessionId: string): Promise<CheckoutOutcome> {
    const stripe = this.stripe;
    if (!SESSION_ID.test(sessionId)) throw ValidationError.forField('sessionId', 'is not a checkout session id');
    const session = await orNotFound('CheckoutSession', sessionId, stripe.checkout.sessions.retrieve(sessionId));
    if ((await this.sessionOwner(session)) !== userId) {
      throw new ForbiddenError('This checkout session belongs to another account');
    }
    if (!BillingService.isSettled(session)) {
      throw new ConflictError(`The checkout is not complete yet (status ${session.status}, payment ${session.payment_status})`);
    }
    return this.applyCheckoutSession(session, { reason: 'checkout verified' });
  }

  /**
   * Applies a settled session exactly once: the CheckoutSession row is locked, and a session already applied
   * returns the result recorded the first time.
   */
  private async applyCheckoutSession(session: Stripe.Checkout.Session, context: EventContext): Promise<CheckoutOutcome> {
    const userId = await this.sessionOwner(session);
    if (!userId) throw new Error(`Checkout session ${session.id} names no user`);
    const mode = session.mode === 'subscription' ? 'subscription' : 'payment';
    return this.transaction(async (tx) => {
      await tx.checkoutSession.createMany({
        data: [{ id: session.id, userId, mode, status: session.status ?? 'complete' }],
        skipDuplicates: true,
      });
      const [row] = await tx.$queryRaw<{ appliedAt: Date | null; result: CheckoutOutcome | null; creditPackId: string | null; planId: string | null }[]>`
        SELECT "appliedAt", result, "creditPackId", "planId" FROM "CheckoutSession" WHERE id = ${session.id} FOR UPDATE`;
      if (row!.appliedAt && row!.result) return row!.result;

      let outcome: CheckoutOutcome;
      const appliedAt = this.now();
      if (mode === 'subscription') {
        const subscriptionId = idOf(session.subscription as string | { id: string } | null);
        if (!subscriptionId) throw new Error(`Checkout session ${session.id} has no subscription`);
        const subscription = await this.refreshSubscriptionIn(tx, subscriptionId, { ...context, userId });
        outcome = {
          sessionId: session.id,
          mode,
          userId,
          planKey: subscription.plan?.key ?? session.metadata?.planKey ?? null,
          packKey: null,
          creditsGranted: 0,
          stripeSubscriptionId: subscriptionId,
          subscriptionStatus: subscription.status,
          appliedAt: appliedAt.toISOString(),
        };
        await tx.checkoutSession.update({
          where: { id: session.id },
          data: { planId: subscription.planId, interval: subscription.interval },
        });
      } else {
        const pack =
          (row!.creditPackId ? await tx.creditPack.findUnique({ where: { id: row!.creditPackId } }) : null) ??
          (session.metadata?.packKey ? await tx.creditPack.findUnique({ where: { key: session.metadata.packKey } }) : null);
        if (!pack) throw new Error(`Checkout session ${session.id} names no known credit pack`);
        const paymentIntentId = idOf(session.payment_intent as string | { id: string } | null);
        const paymentData = {
          userId,
          kind: 'CREDIT_PACK' as const,
          status: 'PAID' as const,
          amountCents: session.amount_total ?? pack.priceCents,
          currency: session.currency ?? pack.currency,
          description: `Credit pack ${pack.name}`,
          creditPackId: pack.id,
          paidAt: appliedAt,
        };
        const payment = paymentIntentId
          ? await tx.payment.upsert({
              where: { stripePaymentIntentId: paymentIntentId },
              create: { ...paymentData, stripePaymentIntentId: paymentIntentId },
              update: {},
            })
          : await tx.payment.create({ data: paymentData });
        const movement = await this.deps.credits.grant(
          userId,
          {
            amount: pack.credits,
            source: 'PURCHASE',
            kind: 'PURCHASE',
            paymentId: payment.id,
            idempotencyKey: `checkout:${session.id}`,
            reason: `Credit pack ${pack.key}`,
            expiresAt: pack.expiresInDays ? new Date(appliedAt.getTime() + pack.expiresInDays * DAY_MS) : null,
          },
          tx,
        );
        await tx.payment.update({
          where: { id: payment.id },
          data: { creditsGranted: movement.replayed ? payment.creditsGranted : pack.credits },
        });
        outcome = {
          sessionId: session.id,
          mode,
          userId,
          planKey: null,
          packKey: pack.key,
          creditsGranted: pack.credits,
          stripeSubscriptionId: null,
          subscriptionStatus: null,
          appliedAt: appliedAt.toISOString(),
        };
        await tx.checkoutSession.update({ where: { id: session.id }, data: { creditPackId: pack.id } });
      }
      await tx.checkoutSession.update({
        where: { id: session.id },
        data: { status: 'complete', appliedAt, result: outcome as unknown as Prisma.InputJsonObject },
      });
      return outcome;
    });
  }

  // ------------------------------------------------------------------ subscriptions

  async createBillingPortalSession(userId: string, returnUrl: string): Promise<{ url: string }> {
    const stripe = this.stripe;
    this.checkReturnUrl('returnUrl', returnUrl);
    const customer = await this.ensureCustomer(userId);
    const session = await stripe.billingPortal.sessions.create({ customer, return_url: returnUrl });
    return { url: session.url };
  }

  async cancelSubscription(userId: string, atPeriodEnd: boolean): Promise<SubscriptionWithPlan> {
    const stripe = this.stripe;
    const current = await this.requireCurrentSubscription(userId);
    if (atPeriodEnd) {
      await stripe.subscriptions.update(current.stripeSubscriptionId, { cancel_at_period_end: true });
    } else {
      await stripe.subscriptions.cancel(current.stripeSubscriptionId);
    }
    return this.refreshSubscription(current.stripeSubscriptionId, {
      reason: atPeriodEnd ? 'canceled at period end by the user' : 'canceled now by the user',
    });
  }

  async resumeSubscription(userId: string): Promise<SubscriptionWithPlan> {
    const stripe = this.stripe;
    const current = await this.requireCurrentSubscription(userId);
    if (!current.cancelAtPeriodEnd) throw new ConflictError('The subscription is not scheduled to cancel');
    await stripe.subscriptions.update(current.stripeSubscriptionId, { cancel_at_period_end: false });
    return this.refreshSubscription(current.stripeSubscriptionId, { reason: 'resumed by the user' });
  }

  /** Moves the subscription to another plan at the same interval; Stripe prorates and invoices the difference now. */
  async changePlan(userId: string, planKey: string): Promise<SubscriptionWithPlan> {
    const stripe = this.stripe;
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
    await stripe.subscriptions.update(subscription.id, {
      items: [{ id: item.id, price: priceId }],
      proration_behavior: 'always_invoice',
      metadata: { ...subscription.metadata, planKey: plan.key },
    });
    return this.refreshSubscription(subscription.id, { reason: `plan changed to ${plan.key}` });
  }

  /** Locks the subscription, fetches its current state from Stripe, and writes it. */
  async refreshSubscription(stripeSubscriptionId: string, context: EventContext): Promise<SubscriptionWithPlan> {
    return this.transaction((tx) => this.refreshSubscriptionIn(tx, stripeSubscriptionId, context));
  }

  private async lockSubscription(tx: Tx, stripeSubscriptionId: string) {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`stripe-subscription:${stripeSubscriptionId}`}))`;
  }

  private async refreshSubscriptionIn(tx: Tx, stripeSubscriptionId: string, context: EventContext) {
    await this.lockSubscription(tx, stripeSubscriptionId);
    const subscription = await this.stripe.subscriptions.retrieve(stripeSubscriptionId);
    return this.writeSubscription(tx, subscription, context);
  }

  /**
   * Records a Stripe-shaped subscription for its user (the webhook path and the seed use this): the mirror row,
   * a subscription event when anything changed, the user's role/tier/membership, and the first period's allowance.
   */
  async recordSubscription(subscription: Stripe.Subscription, context: Partial<EventContext> = {}) {
    return this.transaction(async (tx) => {
      await this.lockSubscription(tx, subscription.id);
      return this.writeSubscription(tx, subscription, { reason: 'recorded', ...context });
    });
  }

  private async writeSubscription(tx: Tx, subscription: Stripe.Subscription, context: EventContext): Promise<SubscriptionWithPlan> {
    const customerId = idOf(subscription.customer as string | { id: string })!;
    const customer = await tx.stripeCustomer.findUnique({ where: { id: customerId } });
    const userId = context.userId ?? customer?.userId ?? subscription.metadata?.userId ?? null;
    if (!userId || !(await tx.user.findUnique({ where: { id: userId }, select: { id: true } }))) {
      throw new Error(`Subscription ${subscription.id}: no user for customer ${customerId}`);
    }
    if (!customer && !(await tx.stripeCustomer.findUnique({ where: { userId } }))) {
      await tx.stripeCustomer.create({ data: { id: customerId, userId } });
    }

    const item = subscription.items?.data?.[0];
    const price = item?.price;
    const plan =
      (price
        ? await tx.plan.findFirst({ where: { OR: [{ stripeMonthlyPriceId: price.id }, { stripeYearlyPriceId: price.id }] } })
        : null) ??
      (subscription.metadata?.planKey ? await tx.plan.findUnique({ where: { key: subscription.metadata.planKey } }) : null);
    const recurring = price?.recurring?.interval;
    const interval: BillingIntervalValue | null = recurring === 'year' ? 'YEAR' : recurring === 'month' ? 'MONTH' : null;
    const period = subscriptionPeriod(subscription);
    const status = toStatus(subscription.status);

    const previous = await tx.subscription.findUnique({ where: { stripeSubscriptionId: subscription.id } });
    const eventAt = context.eventAt ?? null;
    const newer = eventAt && (!previous?.lastEventAt || eventAt >= previous.lastEventAt);
    const data = {
      stripeCustomerId: customerId,
      userId,
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
      ...(newer ? { lastEventAt: eventAt, lastEventId: context.stripeEventId ?? null } : {}),
    };
    const row = await tx.subscription.upsert({
      where: { stripeSubscriptionId: subscription.id },
      create: { stripeSubscriptionId: subscription.id, ...data },
      update: data,
      include: { plan: true },
    });

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
          userId,
          subscriptionId: row.id,
          type: !previous ? 'created' : changes.status ? 'status_changed' : 'updated',
          fromStatus: previous?.status ?? null,
          toStatus: row.status,
          stripeEventId: context.stripeEventId ?? null,
          data: { reason: context.reason, changes } as unknown as Prisma.InputJsonObject,
        },
      });
    }

    await this.applyEntitlement(tx, userId, context);
    if (ENTITLED.has(row.status) && row.plan) {
      // Once per subscription: the first period's allowance. Renewals come from invoice.paid.
      await this.deps.credits.startAllowancePeriod(
        userId,
        {
          allowanceTotal: row.plan.creditsPerPeriod,
          periodStart: row.currentPeriodStart ?? this.now(),
          periodEnd: row.currentPeriodEnd ?? new Date(this.now().getTime() + this.deps.periodDays * DAY_MS),
          reason: `subscription to ${row.plan.key} started`,
          idempotencyKey: `subscription-start:${subscription.id}`,
        },
        tx,
      );
    }
    return row;
  }

  /**
   * Subscriptions set to cancel at period end whose period is over, for when Stripe's `deleted` event never arrives:
   * each becomes CANCELED by a conditional UPDATE under the subscription's lock, and the user's role, tier,
   * membership and allowance follow exactly as they would for the webhook. Returns how many it expired.
   */
  async expireEndedSubscriptions(batchSize = 200): Promise<number> {
    const now = this.now();
    const endedAndCanceling = {
      status: { in: ['ACTIVE', 'TRIALING', 'PAST_DUE', 'UNPAID'] as SubscriptionStatus[] },
      cancelAtPeriodEnd: true,
      currentPeriodEnd: { lt: now },
    };
    const due = await this.deps.prisma.subscription.findMany({ where: endedAndCanceling, take: batchSize });
    let expired = 0;
    for (const subscription of due) {
      const changed = await this.transaction(async (tx) => {
        await this.lockSubscription(tx, subscription.stripeSubscriptionId);
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

  /** Role, membership and tier follow the user's current subscription; ADMIN and BANNED are never touched. */
  private async applyEntitlement(tx: Tx, userId: string, context: EventContext) {
    const subscriptions = await tx.subscription.findMany({ where: { userId }, include: { plan: true } });
    const current = pickCurrentSubscription(subscriptions);
    const user = await tx.user.findUniqueOrThrow({ where: { id: userId } });
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
      const now = this.now();
      await this.deps.credits.startAllowancePeriod(
        userId,
        {
          allowanceTotal: await this.deps.credits.allowanceForTier(tx, 'FREE'),
          periodStart: now,
          periodEnd: new Date(now.getTime() + this.deps.periodDays * DAY_MS),
          reason: 'subscription ended',
          idempotencyKey: `subscription-ended:${current.stripeSubscriptionId}`,
        },
        tx,
      );
    }
  }

  // ------------------------------------------------------------------ webhooks

  /** Verifies the signature and stores the event once; processing happens in a job. */
  async receiveWebhook(rawBody: Buffer, signature: string | undefined): Promise<{ eventId: string; duplicate: boolean }> {
    const secret = this.deps.stripe.webhookSecret;
    if (!this.stripeClient || !secret) throw new BillingNotConfiguredError();
    let event: Stripe.Event;
    try {
      event = this.stripeClient.webhooks.constructEvent(rawBody, signature ?? '', secret, WEBHOOK_TOLERANCE_SECONDS);
    } catch (error) {
      throw new WebhookSignatureError(error instanceof Error ? error.message : 'invalid signature');
    }
    // The SDK only refuses timestamps too far in the past; one from the future is as much a replay risk.
    const signedAt = Number(/(?:^|,)\s*t=(\d+)/.exec(signature ?? '')?.[1]);
    if (!Number.isFinite(signedAt) || signedAt * 1000 > this.now().getTime() + WEBHOOK_TOLERANCE_SECONDS * 1000) {
      throw new WebhookSignatureError('Timestamp outside the tolerance zone');
    }
    const problem = describeWebhookEnvelopeProblem(event);
    if (problem) throw new WebhookPayloadError(problem);
    const stored = await this.deps.prisma.webhookEvent.createMany({
      data: [
        {
          id: event.id,
          type: event.type,
          payload: event as unknown as Prisma.InputJsonObject,
          stripeCreated: fromUnix(event.created) ?? this.now(),
        },
      ],
      skipDuplicates: true,
    });
    if (stored.count === 0) return { eventId: event.id, duplicate: true };
    await this.enqueueWebhook(event.id).catch((error) =>
      this.deps.log.warn({ err: error, eventId: event.id }, 'could not enqueue webhook event; the sweep will'),
    );
    return { eventId: event.id, duplicate: false };
  }

  private enqueueWebhook(eventId: string) {
    return this.deps.jobs.send(WEBHOOK_JOB, { eventId });
  }

  /**
   * Processes one stored event. A concurrent or finished twin is skipped (the claim is one conditional UPDATE);
   * a failure is recorded on the row and left for the job's retry with back-off.
   */
  async processWebhookEvent(eventId: string): Promise<{ status: WebhookEvent['status'] | 'MISSING'; skipped: boolean; error?: string }> {
    const { prisma } = this.deps;
    const claimed = await prisma.webhookEvent.updateMany({
      where: { id: eventId, status: { in: ['PENDING', 'FAILED'] } },
      data: { status: 'PROCESSING', attempts: { increment: 1 } },
    });
    if (claimed.count === 0) {
      const row = await prisma.webhookEvent.findUnique({ where: { id: eventId } });
      return { status: row?.status ?? 'MISSING', skipped: true };
    }
    const row = await prisma.webhookEvent.findUniqueOrThrow({ where: { id: eventId } });
    try {
      await this.handleEvent(row.payload as unknown as Stripe.Event);
      await prisma.webhookEvent.update({
        where: { id: eventId },
        data: { status: 'PROCESSED', processedAt: this.now(), lastError: null, nextAttemptAt: null },
      });
      return { status: 'PROCESSED', skipped: false };
    } catch (error) {
      const message = errorMessage(error);
      this.deps.log.warn({ err: error, eventId, type: row.type, attempts: row.attempts }, 'webhook event failed');
      await prisma.webhookEvent.update({
        where: { id: eventId },
        data: {
          status: 'FAILED',
          lastError: message,
          nextAttemptAt: new Date(this.now().getTime() + Math.min(2 ** (row.attempts - 1) * 5, 3600) * 1000),
        },
      });
      return { status: 'FAILED', skipped: false, error: message };
    }
  }

  /** Re-enqueues events that never reached a worker or whose worker died mid-way. */
  async sweepWebhookEvents(): Promise<number> {
    const now = this.now().getTime();
    const stuck = await this.deps.prisma.webhookEvent.findMany({
      where: {
        OR: [
          { status: 'PENDING', receivedAt: { lt: new Date(now - 2 * 60_000) } },
          { status: 'PROCESSING', receivedAt: { lt: new Date(now - 15 * 60_000) }, processedAt: null },
        ],
      },
      select: { id: true, status: true },
      take: 200,
    });
    for (const { id, status } of stuck) {
      if (status === 'PROCESSING') {
        await this.deps.prisma.webhookEvent.updateMany({ where: { id, status: 'PROCESSING' }, data: { status: 'FAILED', lastError: 'worker stopped mid-way' } });
      }
      await this.enqueueWebhook(id);
    }
    return stuck.length;
  }

  async replayWebhookEvent(actorId: string, eventId: string): Promise<WebhookEvent> {
    const event = await this.deps.prisma.$transaction(async (tx) => {
      const existing = await tx.webhookEvent.findUnique({ where: { id: eventId } });
      if (!existing) throw new NotFoundError('WebhookEvent', eventId);
      if (existing.status === 'PROCESSING') throw new ConflictError('This event is being processed right now');
      const event = await tx.webhookEvent.update({
        where: { id: eventId },
        data: { status: 'PENDING', nextAttemptAt: null },
      });
      await recordAdminAction(tx, {
        actorId,
        action: 'webhookEvent.replay',
        targetType: 'WebhookEvent',
        targetId: eventId,
        data: { type: existing.type, previousStatus: existing.status, attempts: existing.attempts },
      });
      return event;
    });
    await this.enqueueWebhook(eventId);
    return event;
  }

  private async handleEvent(event: Stripe.Event) {
    const object = event.data.object as { id: string };
    const context: EventContext = { stripeEventId: event.id, eventAt: fromUnix(event.created), reason: event.type };
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded': {
        const session = await this.stripe.checkout.sessions.retrieve(object.id);
        if (BillingService.isSettled(session)) await this.applyCheckoutSession(session, context);
        return;
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
      case 'customer.subscription.paused':
      case 'customer.subscription.resumed':
        await this.refreshSubscription(object.id, context);
        return;
      case 'customer.subscription.trial_will_end': {
        const row = await this.refreshSubscription(object.id, context);
        await this.recordEventOnce(row, 'trial_will_end', event.id, { trialEnd: row.trialEnd?.toISOString() ?? null });
        return;
      }
      case 'invoice.paid':
        await this.handleInvoice(object.id, context, 'paid');
        return;
      case 'invoice.payment_failed':
        await this.handleInvoice(object.id, context, 'failed');
        return;
      case 'charge.refunded':
        await this.handleChargeRefunded(object.id);
        return;
      case 'product.created':
      case 'product.updated':
      case 'product.deleted': {
        const product = await this.stripe.products.retrieve(object.id).catch((error) => {
          if (isMissingResource(error)) return { id: object.id, deleted: true as const };
          throw error;
        });
        await this.catalog.mirrorProduct(this.deps.prisma, product as Stripe.Product | { id: string; deleted: true });
        return;
      }
      case 'price.created':
      case 'price.updated':
      case 'price.deleted': {
        const price = await this.stripe.prices.retrieve(object.id).catch((error) => {
          if (isMissingResource(error)) return { id: object.id, deleted: true as const };
          throw error;
        });
        await this.deps.prisma.$transaction((tx) => this.catalog.mirrorPrice(tx, price as Stripe.Price | { id: string; deleted: true }));
        return;
      }
      case 'customer.deleted':
        // Deletion is final in Stripe, so no later event can undo it.
        await this.deps.prisma.stripeCustomer.updateMany({ where: { id: object.id, deletedAt: null }, data: { deletedAt: this.now() } });
        return;
      default:
        this.deps.log.debug({ type: event.type, eventId: event.id }, 'webhook event type not handled');
    }
  }

  private async recordEventOnce(row: Subscription, type: string, stripeEventId: string, data: Prisma.InputJsonObject) {
    const seen = await this.deps.prisma.subscriptionEvent.findFirst({ where: { stripeEventId, type } });
    if (seen) return;
    await this.deps.prisma.subscriptionEvent.create({
      data: { userId: row.userId, subscriptionId: row.id, type, toStatus: row.status, stripeEventId, data },
    });
  }

  private async userForCustomer(tx: Tx, customerId: string | null): Promise<string | null> {
    if (!customerId) return null;
    return (await tx.stripeCustomer.findUnique({ where: { id: customerId } }))?.userId ?? null;
  }

  /** invoice.paid renews the allowance for the period it pays, once per invoice; payment_failed records the failure. */
  private async handleInvoice(invoiceId: string, context: EventContext, outcome: 'paid' | 'failed') {
    const invoice = await this.stripe.invoices.retrieve(invoiceId);
    const subscriptionId = invoiceSubscriptionId(invoice);
    await this.transaction(async (tx) => {
      const subscription = subscriptionId ? await this.refreshSubscriptionIn(tx, subscriptionId, context) : null;
      const userId = subscription?.userId ?? (await this.userForCustomer(tx, idOf(invoice.customer as string | { id: string } | null)));
      if (!userId) throw new Error(`Invoice ${invoice.id}: no user for customer ${String(invoice.customer)}`);
      const existing = await tx.payment.findUnique({ where: { stripeInvoiceId: invoice.id } });
      const base = {
        userId,
        kind: 'SUBSCRIPTION' as const,
        currency: invoice.currency,
        description: subscription?.plan ? `${subscription.plan.name} subscription` : (invoice.description ?? 'Subscription'),
        stripeInvoiceId: invoice.id,
        stripeSubscriptionId: subscriptionId,
      };
      if (outcome === 'failed') {
        if (invoice.status === 'paid') return;
        if (!existing) await tx.payment.create({ data: { ...base, status: 'FAILED', amountCents: invoice.amount_due } });
        if (subscription) await this.recordPaymentFailure(tx, subscription, context, invoice);
        return;
      }
      if (invoice.status !== 'paid') return;
      const paidAt = fromUnix(invoice.status_transitions?.paid_at) ?? this.now();
      const payment = existing
        ? existing.status === 'FAILED'
          ? await tx.payment.update({ where: { id: existing.id }, data: { status: 'PAID', amountCents: invoice.amount_paid, paidAt } })
          : existing
        : await tx.payment.create({ data: { ...base, status: 'PAID', amountCents: invoice.amount_paid, paidAt } });

      if (!subscription?.plan || !ENTITLED.has(subscription.status) || invoice.billing_reason === 'subscription_create') return;
      const lineEnd = Math.max(0, ...(invoice.lines?.data ?? []).map((line) => line.period?.end ?? 0));
      if (lineEnd && subscription.currentPeriodStart && lineEnd * 1000 <= subscription.currentPeriodStart.getTime()) {
        return; // pays a period that is already over: a late delivery must not reset the current one
      }
      await this.deps.credits.startAllowancePeriod(
        userId,
        {
          allowanceTotal: subscription.plan.creditsPerPeriod,
          periodStart: subscription.currentPeriodStart ?? this.now(),
          periodEnd: subscription.currentPeriodEnd ?? new Date(this.now().getTime() + this.deps.periodDays * DAY_MS),
          reason: `invoice ${invoice.id} paid`,
          idempotencyKey: `invoice:${invoice.id}`,
          paymentId: payment.id,
        },
        tx,
      );
    });
  }

  private async recordPaymentFailure(tx: Tx, subscription: Subscription, context: EventContext, invoice: Stripe.Invoice) {
    if (context.stripeEventId) {
      const seen = await tx.subscriptionEvent.findFirst({ where: { stripeEventId: context.stripeEventId, type: 'payment_failed' } });
      if (seen) return;
    }
    await tx.subscriptionEvent.create({
      data: {
        userId: subscription.userId,
        subscriptionId: subscription.id,
        type: 'payment_failed',
        toStatus: subscription.status,
        stripeEventId: context.stripeEventId ?? null,
        data: { invoice: invoice.id, amountDue: invoice.amount_due, attemptCount: invoice.attempt_count },
      },
    });
  }

  /**
   * Takes back the refunded share of a pack's credits. What the user already spent cannot be taken back; it is
   * recorded on the payment (creditsUnrecovered), never left as a negative balance.
   */
  private async handleChargeRefunded(chargeId: string) {
    const charge = await this.stripe.charges.retrieve(chargeId);
    const paymentIntentId = idOf(charge.payment_intent as string | { id: string } | null);
    await this.transaction(async (tx) => {
      const found = await tx.payment.findFirst({
        where: { OR: [{ stripeChargeId: charge.id }, ...(paymentIntentId ? [{ stripePaymentIntentId: paymentIntentId }] : [])] },
      });
      if (!found) throw new Error(`Charge ${charge.id}: no payment recorded for it yet`);
      const [payment] = await tx.$queryRaw<
        { id: string; userId: string | null; kind: string; amountCents: number; amountRefundedCents: number; creditsGranted: number; creditsClawedBack: number; creditsUnrecovered: number }[]
      >`SELECT id, "userId", kind, "amountCents", "amountRefundedCents", "creditsGranted", "creditsClawedBack", "creditsUnrecovered"
        FROM "Payment" WHERE id = ${found.id}::uuid FOR UPDATE`;
      const refunded = Math.min(charge.amount_refunded, payment!.amountCents || charge.amount_refunded);
      if (refunded <= payment!.amountRefundedCents) return;
      let clawedBack = payment!.creditsClawedBack;
      let unrecovered = payment!.creditsUnrecovered;
      if (payment!.kind === 'CREDIT_PACK' && payment!.creditsGranted > 0 && payment!.userId) {
        const share = payment!.amountCents > 0 ? refunded / payment!.amountCents : 1;
        const target = Math.min(payment!.creditsGranted, Math.ceil(payment!.creditsGranted * share));
        const owed = target - clawedBack - unrecovered;
        if (owed > 0) {
          const grant = await tx.creditGrant.findFirst({ where: { paymentId: payment!.id } });
          const result = await this.deps.credits.takeBack(
            payment!.userId,
            {
              amount: owed,
              reason: `refund of charge ${charge.id}`,
              preferGrantId: grant?.id ?? null,
              paymentId: payment!.id,
              idempotencyKey: `refund:${charge.id}:${refunded}`,
            },
            tx,
          );
          clawedBack += result.taken;
          unrecovered += result.unrecovered;
        }
      }
      await tx.payment.update({
        where: { id: payment!.id },
        data: {
          stripeChargeId: charge.id,
          amountRefundedCents: refunded,
          status: refunded >= payment!.amountCents ? 'REFUNDED' : 'PARTIALLY_REFUNDED',
          creditsClawedBack: clawedBack,
          creditsUnrecovered: unrecovered,
        },
      });
    });
  }

  // ------------------------------------------------------------------ sync

  /**
   * Pulls products and prices (and with `backfill`, customers and subscriptions) from Stripe into the mirror.
   * Every write is an upsert, so running it again is harmless; `resumeFrom` continues after the last page done.
   */
  async syncFromStripe(options: {
    backfill?: boolean;
    resumeFrom?: SyncCheckpoint | null;
    onPage?: (progress: { phase: SyncPhase; done: number; hasMore: boolean; checkpoint: SyncCheckpoint }) => void | Promise<void>;
  } = {}): Promise<Record<SyncPhase, number>> {
    const stripe = this.stripe;
    const phases: SyncPhase[] = options.backfill ? ['products', 'prices', 'customers', 'subscriptions'] : ['products', 'prices'];
    const counts: Record<SyncPhase, number> = { products: 0, prices: 0, customers: 0, subscriptions: 0 };
    const resumeIndex = options.resumeFrom ? phases.indexOf(options.resumeFrom.phase) : 0;
    for (const [index, phase] of phases.entries()) {
      if (index < resumeIndex) continue;
      let startingAfter = index === resumeIndex ? options.resumeFrom?.startingAfter : undefined;
      for (;;) {
        const params = { limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) };
        const page =
          phase === 'products'
            ? await stripe.products.list(params)
            : phase === 'prices'
              ? await stripe.prices.list(params)
              : phase === 'customers'
                ? await stripe.customers.list(params)
                : await stripe.subscriptions.list({ ...params, status: 'all' });
        for (const item of page.data) {
          if (phase === 'products') await this.catalog.mirrorProduct(this.deps.prisma, item as Stripe.Product);
          if (phase === 'prices') await this.deps.prisma.$transaction((tx) => this.catalog.mirrorPrice(tx, item as Stripe.Price));
          if (phase === 'customers' && !(await this.mirrorCustomer(item as Stripe.Customer))) continue;
          if (phase === 'subscriptions') {
            try {
              await this.recordSubscription(item as Stripe.Subscription, { reason: 'sync' });
            } catch (error) {
              this.deps.log.warn({ err: error, subscription: (item as { id: string }).id }, 'subscription skipped');
              continue;
            }
          }
          counts[phase]++;
        }
        startingAfter = page.data.at(-1)?.id ?? startingAfter;
        await options.onPage?.({ phase, done: counts[phase], hasMore: page.has_more, checkpoint: { phase, startingAfter } });
        if (!page.has_more || page.data.length === 0) break;
      }
    }
    return counts;
  }

  private async mirrorCustomer(customer: Stripe.Customer | Stripe.DeletedCustomer): Promise<boolean> {
    if ('deleted' in customer && customer.deleted) {
      await this.deps.prisma.stripeCustomer.updateMany({ where: { id: customer.id }, data: { deletedAt: this.now() } });
      return true;
    }
    const full = customer as Stripe.Customer;
    const userId = full.metadata?.userId;
    const user = userId ? await this.deps.prisma.user.findUnique({ where: { id: userId } }).catch(() => null) : null;
    if (!user) return false;
    const mine = await this.deps.prisma.stripeCustomer.findUnique({ where: { userId: user.id } });
    if (mine && mine.id !== full.id && !mine.deletedAt) return false;
    await this.deps.prisma.stripeCustomer.upsert({
      where: { id: full.id },
      create: { id: full.id, userId: user.id, email: full.email },
      update: { email: full.email },
    });
    return true;
  }
}

/** A signed body is still checked for the envelope every later step relies on, before it is stored. */
function describeWebhookEnvelopeProblem(event: unknown): string | null {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return 'the body must be a JSON object (a Stripe event)';
  const { id, type, created, data } = event as Record<string, unknown>;
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(id)) return 'id must be a Stripe event id (letters, digits, _ and -)';
  if (typeof type !== 'string' || !/^[a-z0-9_.]{1,255}$/.test(type)) return 'type must be a Stripe event type such as invoice.paid';
  if (typeof created !== 'number' || !Number.isInteger(created) || created < 0 || created > 32_503_680_000) {
    return 'created must be a Unix timestamp in seconds';
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return 'data must be an object';
  const object = (data as Record<string, unknown>).object;
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return 'data.object must be an object';
  const text = findTextProblem(event, '');
  if (text) return `${text.path || 'the body'} ${text.message}`;
  return null;
}
