import type { CreditPack, Plan, Prisma } from '../../generated/prisma/client.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import {
  DAY_MS,
  ENTITLED,
  GRACE,
  systemKeys,
  type BillingCore,
  type BillingIntervalValue,
  type CheckoutOutcome,
  type EventContext,
} from './shared.js';
import { idOf, orNotFound, type Stripe } from './stripe.js';
import type { SubscriptionService } from './subscriptions.js';

const SESSION_ID = /^cs_[A-Za-z0-9_]{1,250}$/;

/**
 * Checkout for plans and credit packs, and the billing portal. A settled session applies exactly once, whether
 * the user verifies it or the webhook arrives first; Stripe is read before the transaction that applies it.
 */
export class CheckoutService {
  constructor(
    private readonly core: BillingCore,
    private readonly subscriptions: SubscriptionService,
  ) {}

  private checkReturnUrl(field: string, value: string) {
    let origin: string;
    try {
      origin = new URL(value).origin;
    } catch {
      throw ValidationError.forField(field, 'must be an absolute URL');
    }
    if (!this.core.deps.stripe.allowedOrigins.includes(origin)) {
      throw ValidationError.forField(field, `must start with an allowed origin (${this.core.deps.stripe.allowedOrigins.join(', ') || 'none configured'})`);
    }
  }

  /** The user's Stripe customer, created on first need and remembered. */
  async ensureCustomer(userId: string): Promise<string> {
    const stripe = this.core.stripe;
    const existing = await this.core.deps.prisma.stripeCustomer.findUnique({ where: { userId } });
    if (existing && !existing.deletedAt) return existing.id;
    const user = await this.core.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    const customer = await stripe.customers.create(
      { email: user.email ?? undefined, name: user.name ?? undefined, metadata: { userId } },
      { idempotencyKey: `customer-for-user:${userId}:${existing?.id ?? 'first'}` },
    );
    await this.core.deps.prisma.stripeCustomer.upsert({
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
    const stripe = this.core.stripe;
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
      plan = await this.core.deps.prisma.plan.findFirst({ where: { key: input.planKey, active: true } });
      if (!plan) throw new NotFoundError('Plan', input.planKey);
      const priceId = interval === 'MONTH' ? plan.stripeMonthlyPriceId : plan.stripeYearlyPriceId;
      if (!priceId) {
        throw ValidationError.forField('planKey', `plan ${plan.key} cannot be bought ${interval === 'MONTH' ? 'monthly' : 'yearly'}`);
      }
      const current = (await this.subscriptions.currentSubscriptions([userId])).get(userId);
      if (current && (ENTITLED.has(current.status) || GRACE.has(current.status))) {
        throw new ConflictError('You already have a subscription; change its plan instead');
      }
      lineItem = { price: priceId, quantity: 1 };
    } else {
      pack = await this.core.deps.prisma.creditPack.findFirst({ where: { key: input.packKey!, active: true } });
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
    await this.core.deps.prisma.checkoutSession.create({
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
    const local = await this.core.deps.prisma.checkoutSession.findUnique({ where: { id: session.id } });
    if (local) return local.userId;
    const customerId = idOf(session.customer as string | { id: string } | null);
    if (!customerId) return null;
    return (await this.core.deps.prisma.stripeCustomer.findUnique({ where: { id: customerId } }))?.userId ?? null;
  }

  static isSettled(session: Stripe.Checkout.Session) {
    return session.status === 'complete' && (session.payment_status === 'paid' || session.payment_status === 'no_payment_required');
  }

  /** Applies a completed checkout for its owner; the checkout.session.completed webhook takes the same path. */
  async verifyCheckoutSession(userId: string, sessionId: string): Promise<CheckoutOutcome> {
    const stripe = this.core.stripe;
    if (!SESSION_ID.test(sessionId)) throw ValidationError.forField('sessionId', 'is not a checkout session id');
    const session = await orNotFound('CheckoutSession', sessionId, stripe.checkout.sessions.retrieve(sessionId));
    if ((await this.sessionOwner(session)) !== userId) {
      throw new ForbiddenError('This checkout session belongs to another account');
    }
    if (!CheckoutService.isSettled(session)) {
      throw new ConflictError(`The checkout is not complete yet (status ${session.status}, payment ${session.payment_status})`);
    }
    return this.applyCheckoutSession(session, { reason: 'checkout verified' });
  }

  /**
   * Applies a settled session exactly once: the CheckoutSession row is locked, and a session already applied
   * returns the result recorded the first time.
   */
  async applyCheckoutSession(session: Stripe.Checkout.Session, context: EventContext): Promise<CheckoutOutcome> {
    const userId = await this.sessionOwner(session);
    if (!userId) throw new Error(`Checkout session ${session.id} names no user`);
    const mode = session.mode === 'subscription' ? 'subscription' : 'payment';
    const subscriptionId = mode === 'subscription' ? idOf(session.subscription as string | { id: string } | null) : null;
    if (mode === 'subscription' && !subscriptionId) throw new Error(`Checkout session ${session.id} has no subscription`);
    const fetched = subscriptionId ? await this.subscriptions.fetch(subscriptionId) : null;
    return this.core.applying(context, async (tx) => {
      await tx.checkoutSession.createMany({
        data: [{ id: session.id, userId, mode, status: session.status ?? 'complete' }],
        skipDuplicates: true,
      });
      const [row] = await tx.$queryRaw<{ appliedAt: Date | null; result: CheckoutOutcome | null; creditPackId: string | null; planId: string | null }[]>`
        SELECT "appliedAt", result, "creditPackId", "planId" FROM "CheckoutSession" WHERE id = ${session.id} FOR UPDATE`;
      if (row!.appliedAt && row!.result) return row!.result;

      let outcome: CheckoutOutcome;
      const appliedAt = this.core.now();
      if (mode === 'subscription') {
        const subscription = await this.subscriptions.storeIn(tx, fetched!, { ...context, userId });
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
        const movement = await this.core.deps.credits.grant(
          userId,
          {
            amount: pack.credits,
            source: 'PURCHASE',
            kind: 'PURCHASE',
            paymentId: payment.id,
            idempotencyKey: systemKeys.checkout(session.id),
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

  async createBillingPortalSession(userId: string, returnUrl: string): Promise<{ url: string }> {
    const stripe = this.core.stripe;
    this.checkReturnUrl('returnUrl', returnUrl);
    const customer = await this.ensureCustomer(userId);
    const session = await stripe.billingPortal.sessions.create({ customer, return_url: returnUrl });
    return { url: session.url };
  }
}
