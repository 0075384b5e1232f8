import type { Prisma, Subscription, WebhookEvent } from '../../generated/prisma/client.js';
import { recordAdminAction } from '../audit.js';
import { BillingNotConfiguredError, ConflictError, NotFoundError, WebhookPayloadError, WebhookSignatureError } from '../errors.js';
import { findTextProblem } from '../text.js';
import type { CatalogService } from './catalog.js';
import type { PaymentService } from './payments.js';
import { CheckoutService } from './checkout.js';
import { errorMessage, type BillingCore, type EventContext } from './shared.js';
import { fromUnix, isMissingResource, type Stripe } from './stripe.js';
import type { SubscriptionService } from './subscriptions.js';

export const WEBHOOK_JOB = 'billing.process-webhook';
export const WEBHOOK_SWEEP_JOB = 'billing.sweep-webhooks';
export const WEBHOOK_TOLERANCE_SECONDS = 300;

type Handler = (event: Stripe.Event, object: { id: string }, context: EventContext) => Promise<void>;

/**
 * The Stripe webhook pipeline: verify and store once, process in a job, retry with back-off, replay on request.
 * Each event type has one handler, which re-reads the object it names from Stripe so that duplicates and arrival
 * order cannot change the result.
 */
export class WebhookService {
  private readonly handlers: Record<string, Handler>;

  constructor(
    private readonly core: BillingCore,
    parts: { catalog: CatalogService; checkout: CheckoutService; subscriptions: SubscriptionService; payments: PaymentService },
  ) {
    const { catalog, checkout, subscriptions, payments } = parts;
    const prisma = core.deps.prisma;
    const applyCheckout: Handler = async (_event, object, context) => {
      const session = await this.core.stripe.checkout.sessions.retrieve(object.id);
      if (CheckoutService.isSettled(session)) await checkout.applyCheckoutSession(session, context);
    };
    const refreshSubscription: Handler = async (_event, object, context) => {
      await subscriptions.refreshSubscription(object.id, context);
    };
    const mirrorProduct: Handler = async (_event, object) => {
      const product = await this.core.stripe.products.retrieve(object.id).catch((error) => {
        if (isMissingResource(error)) return { id: object.id, deleted: true as const };
        throw error;
      });
      await catalog.mirrorProduct(prisma, product as Stripe.Product | { id: string; deleted: true });
    };
    const mirrorPrice: Handler = async (_event, object) => {
      const price = await this.core.stripe.prices.retrieve(object.id).catch((error) => {
        if (isMissingResource(error)) return { id: object.id, deleted: true as const };
        throw error;
      });
      await prisma.$transaction((tx) => catalog.mirrorPrice(tx, price as Stripe.Price | { id: string; deleted: true }));
    };
    this.handlers = {
      'checkout.session.completed': applyCheckout,
      'checkout.session.async_payment_succeeded': applyCheckout,
      'customer.subscription.created': refreshSubscription,
      'customer.subscription.updated': refreshSubscription,
      'customer.subscription.deleted': refreshSubscription,
      'customer.subscription.paused': refreshSubscription,
      'customer.subscription.resumed': refreshSubscription,
      'customer.subscription.trial_will_end': async (event, object, context) => {
        const row = await subscriptions.refreshSubscription(object.id, context);
        await this.recordEventOnce(row, 'trial_will_end', event.id, { trialEnd: row.trialEnd?.toISOString() ?? null });
      },
      'invoice.paid': (_event, object, context) => payments.handleInvoice(object.id, context, 'paid'),
      'invoice.payment_failed': (_event, object, context) => payments.handleInvoice(object.id, context, 'failed'),
      'charge.refunded': (_event, object) => payments.handleChargeRefunded(object.id),
      'product.created': mirrorProduct,
      'product.updated': mirrorProduct,
      'product.deleted': mirrorProduct,
      'price.created': mirrorPrice,
      'price.updated': mirrorPrice,
      'price.deleted': mirrorPrice,
      // Deletion is final in Stripe, so no later event can undo it.
      'customer.deleted': async (_event, object) => {
        await prisma.stripeCustomer.updateMany({ where: { id: object.id, deletedAt: null }, data: { deletedAt: this.core.now() } });
      },
    };
  }

  private async handle(event: Stripe.Event) {
    const handler = Object.hasOwn(this.handlers, event.type) ? this.handlers[event.type] : undefined;
    if (!handler) {
      this.core.deps.log.debug({ type: event.type, eventId: event.id }, 'webhook event type not handled');
      return;
    }
    const context: EventContext = { stripeEventId: event.id, eventAt: fromUnix(event.created), reason: event.type };
    await handler(event, event.data.object as { id: string }, context);
  }

  /** Verifies the signature and stores the event once; processing happens in a job. */
  async receiveWebhook(rawBody: Buffer, signature: string | undefined): Promise<{ eventId: string; duplicate: boolean }> {
    const secret = this.core.deps.stripe.webhookSecret;
    if (!this.core.stripeClient || !secret) throw new BillingNotConfiguredError();
    let event: Stripe.Event;
    try {
      event = this.core.stripeClient.webhooks.constructEvent(rawBody, signature ?? '', secret, WEBHOOK_TOLERANCE_SECONDS);
    } catch (error) {
      throw new WebhookSignatureError(error instanceof Error ? error.message : 'invalid signature');
    }
    // The SDK only refuses timestamps too far in the past; one from the future is as much a replay risk.
    const signedAt = Number(/(?:^|,)\s*t=(\d+)/.exec(signature ?? '')?.[1]);
    if (!Number.isFinite(signedAt) || signedAt * 1000 > this.core.now().getTime() + WEBHOOK_TOLERANCE_SECONDS * 1000) {
      throw new WebhookSignatureError('Timestamp outside the tolerance zone');
    }
    const problem = describeWebhookEnvelopeProblem(event);
    if (problem) throw new WebhookPayloadError(problem);
    const stored = await this.core.deps.prisma.webhookEvent.createMany({
      data: [
        {
          id: event.id,
          type: event.type,
          payload: event as unknown as Prisma.InputJsonObject,
          stripeCreated: fromUnix(event.created) ?? this.core.now(),
        },
      ],
      skipDuplicates: true,
    });
    if (stored.count === 0) return { eventId: event.id, duplicate: true };
    await this.enqueueWebhook(event.id).catch((error) =>
      this.core.deps.log.warn({ err: error, eventId: event.id }, 'could not enqueue webhook event; the sweep will'),
    );
    return { eventId: event.id, duplicate: false };
  }

  private enqueueWebhook(eventId: string) {
    return this.core.deps.jobs.send(WEBHOOK_JOB, { eventId });
  }

  /**
   * Processes one stored event. A concurrent or finished twin is skipped (the claim is one conditional UPDATE);
   * a failure is recorded on the row and left for the job's retry with back-off.
   */
  async processWebhookEvent(eventId: string): Promise<{ status: WebhookEvent['status'] | 'MISSING'; skipped: boolean; error?: string }> {
    const { prisma } = this.core.deps;
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
      await this.handle(row.payload as unknown as Stripe.Event);
      await prisma.webhookEvent.update({
        where: { id: eventId },
        data: { status: 'PROCESSED', processedAt: this.core.now(), lastError: null, nextAttemptAt: null },
      });
      return { status: 'PROCESSED', skipped: false };
    } catch (error) {
      const message = errorMessage(error);
      this.core.deps.log.warn({ err: error, eventId, type: row.type, attempts: row.attempts }, 'webhook event failed');
      await prisma.webhookEvent.update({
        where: { id: eventId },
        data: {
          status: 'FAILED',
          lastError: message,
          nextAttemptAt: new Date(this.core.now().getTime() + Math.min(2 ** (row.attempts - 1) * 5, 3600) * 1000),
        },
      });
      return { status: 'FAILED', skipped: false, error: message };
    }
  }

  /** Re-enqueues events that never reached a worker or whose worker died mid-way. */
  async sweepWebhookEvents(): Promise<number> {
    const now = this.core.now().getTime();
    const stuck = await this.core.deps.prisma.webhookEvent.findMany({
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
        await this.core.deps.prisma.webhookEvent.updateMany({ where: { id, status: 'PROCESSING' }, data: { status: 'FAILED', lastError: 'worker stopped mid-way' } });
      }
      await this.enqueueWebhook(id);
    }
    return stuck.length;
  }

  async replayWebhookEvent(actorId: string, eventId: string): Promise<WebhookEvent> {
    const event = await this.core.deps.prisma.$transaction(async (tx) => {
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

  private async recordEventOnce(row: Subscription, type: string, stripeEventId: string, data: Prisma.InputJsonObject) {
    const seen = await this.core.deps.prisma.subscriptionEvent.findFirst({ where: { stripeEventId, type } });
    if (seen) return;
    await this.core.deps.prisma.subscriptionEvent.create({
      data: { userId: row.userId, subscriptionId: row.id, type, toStatus: row.status, stripeEventId, data },
    });
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
