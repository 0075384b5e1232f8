import { randomUUID } from 'node:crypto';
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

export const WEBHOOK_TOLERANCE_SECONDS = 300;
/** The first attempt and ten retries, 5 s after the first failure and doubling: about 1.4 hours in all. */
export const WEBHOOK_MAX_ATTEMPTS = 11;
const WEBHOOK_RETRY_BASE_SECONDS = 5;
/** A direct (admin or test) run holds its claim this long; it is one event, done well within it. */
const DIRECT_CLAIM_SECONDS = 300;

/** An event as a worker claimed it: enough to apply it without reading the row again. */
export type ClaimedWebhookEvent = Pick<WebhookEvent, 'id' | 'type' | 'payload' | 'attempts'>;

export interface WebhookProcessingResult {
  status: WebhookEvent['status'] | 'MISSING';
  skipped: boolean;
  error?: string;
}

type Handler = (event: Stripe.Event, object: { id: string }, context: EventContext) => Promise<void>;

/**
 * The Stripe webhook pipeline: verify and store once, claimed and applied by the webhook workers (in order per Stripe
 * object, in parallel across objects), retried with back-off, replayed on request.
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
    // A new row announces itself to the workers (a trigger sends NOTIFY webhook_event_pending on commit).
    const stored = await this.core.deps.prisma.webhookEvent.createMany({
      data: [
        {
          id: event.id,
          type: event.type,
          payload: event as unknown as Prisma.InputJsonObject,
          stripeCreated: fromUnix(event.created) ?? this.core.now(),
          orderingKey: orderingKeyOf(event.data.object as unknown as Record<string, unknown>),
        },
      ],
      skipDuplicates: true,
    });
    return { eventId: event.id, duplicate: stored.count === 0 };
  }

  /**
   * Claims up to `limit` events for `worker`: the oldest due event of each Stripe object that nobody else is working
   * on, so one object's events apply one after another in `created` order while different objects run in parallel.
   * Due means stored or replayed (PENDING), failed with its back-off over, or claimed by a worker whose claim ran out
   * (it crashed or hung). A failed event waiting for its back-off does not hold up later events of its object.
   * Each row is taken by one claimer (FOR UPDATE SKIP LOCKED, then a conditional UPDATE in the same statement).
   */
  async claimDueWebhookEvents(worker: string, limit: number, claimSeconds: number): Promise<ClaimedWebhookEvent[]> {
    return this.core.deps.prisma.$queryRaw<ClaimedWebhookEvent[]>`
      WITH due AS (
        SELECT e.id FROM "WebhookEvent" e
        WHERE (e.status = 'PENDING'
            OR (e.status = 'FAILED' AND e."nextAttemptAt" <= timezone('UTC', now()) AND e.attempts < ${WEBHOOK_MAX_ATTEMPTS})
            OR (e.status = 'PROCESSING' AND e."claimedUntil" < timezone('UTC', now())))
          AND NOT EXISTS (
            SELECT 1 FROM "WebhookEvent" o
            WHERE o."orderingKey" = e."orderingKey" AND o.id <> e.id
              AND ((o.status = 'PROCESSING' AND o."claimedUntil" >= timezone('UTC', now()))
                OR ((o."stripeCreated", o.id) < (e."stripeCreated", e.id)
                  AND (o.status = 'PENDING'
                    OR (o.status = 'FAILED' AND o."nextAttemptAt" <= timezone('UTC', now()) AND o.attempts < ${WEBHOOK_MAX_ATTEMPTS})
                    OR (o.status = 'PROCESSING' AND o."claimedUntil" < timezone('UTC', now()))))))
        ORDER BY e."stripeCreated", e.id
        LIMIT ${limit}
        FOR UPDATE OF e SKIP LOCKED
      )
      UPDATE "WebhookEvent" w
      SET status = 'PROCESSING', attempts = w.attempts + 1, "claimedBy" = ${worker},
          "claimedUntil" = timezone('UTC', now()) + make_interval(secs => ${claimSeconds})
      FROM due WHERE w.id = due.id
      RETURNING w.id, w.type, w.payload, w.attempts`;
  }

  /**
   * Keeps the claims of a live worker from running out while it works on them. Only the events it is still working
   * on: one whose outcome could not be recorded (the database went away mid-way) is left to run out and be retried.
   */
  async extendWebhookClaims(worker: string, eventIds: string[], claimSeconds: number): Promise<number> {
    if (eventIds.length === 0) return 0;
    return this.core.deps.prisma.$executeRaw`
      UPDATE "WebhookEvent" SET "claimedUntil" = timezone('UTC', now()) + make_interval(secs => ${claimSeconds})
      WHERE id = ANY(${eventIds}) AND "claimedBy" = ${worker} AND status = 'PROCESSING'`;
  }

  /**
   * Processes one stored event now, whatever its back-off (admins' tools and tests use this; the workers claim in
   * order). A concurrent or finished twin is skipped: the claim is one conditional UPDATE.
   */
  async processWebhookEvent(eventId: string): Promise<WebhookProcessingResult> {
    const { prisma } = this.core.deps;
    const worker = `direct:${randomUUID()}`;
    const claimed = await prisma.$executeRaw`
      UPDATE "WebhookEvent"
      SET status = 'PROCESSING', attempts = attempts + 1, "claimedBy" = ${worker},
          "claimedUntil" = timezone('UTC', now()) + make_interval(secs => ${DIRECT_CLAIM_SECONDS})
      WHERE id = ${eventId}
        AND (status IN ('PENDING', 'FAILED') OR (status = 'PROCESSING' AND "claimedUntil" < timezone('UTC', now())))`;
    if (claimed === 0) {
      const row = await prisma.webhookEvent.findUnique({ where: { id: eventId } });
      return { status: row?.status ?? 'MISSING', skipped: true };
    }
    return this.processClaimedWebhookEvent(await prisma.webhookEvent.findUniqueOrThrow({ where: { id: eventId } }), worker);
  }

  /**
   * Applies an event `worker` has claimed. The outcome is written only while the claim is still the worker's: one
   * that ran out and was taken over is left to its new owner (the handlers are idempotent, so the work done stands).
   */
  async processClaimedWebhookEvent(row: ClaimedWebhookEvent, worker: string): Promise<WebhookProcessingResult> {
    const { prisma, log } = this.core.deps;
    const eventId = row.id;
    try {
      await this.handle(row.payload as unknown as Stripe.Event);
      const done = await prisma.webhookEvent.updateMany({
        where: { id: eventId, status: 'PROCESSING', claimedBy: worker },
        data: { status: 'PROCESSED', processedAt: this.core.now(), lastError: null, nextAttemptAt: null, claimedBy: null, claimedUntil: null },
      });
      if (done.count === 0) log.warn({ eventId, worker }, 'webhook event applied after its claim ran out; its new owner records it');
      return { status: 'PROCESSED', skipped: false };
    } catch (error) {
      const message = errorMessage(error);
      const retry = row.attempts < WEBHOOK_MAX_ATTEMPTS;
      log.warn({ err: error, eventId, type: row.type, attempts: row.attempts, retry }, 'webhook event failed');
      const delaySeconds = Math.min(2 ** (row.attempts - 1) * WEBHOOK_RETRY_BASE_SECONDS, 3600);
      await prisma.$executeRaw`
        UPDATE "WebhookEvent"
        SET status = 'FAILED', "lastError" = ${message}, "claimedBy" = NULL, "claimedUntil" = NULL,
            "nextAttemptAt" = CASE WHEN ${retry} THEN timezone('UTC', now()) + make_interval(secs => ${delaySeconds}) END
        WHERE id = ${eventId} AND status = 'PROCESSING' AND "claimedBy" = ${worker}`;
      return { status: 'FAILED', skipped: false, error: message };
    }
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

/**
 * The Stripe object an event's order matters within: the customer it belongs to (subscriptions, invoices, checkout
 * sessions, charges and the customer itself), the product of a price, otherwise the object itself.
 */
export function orderingKeyOf(object: Record<string, unknown>): string | null {
  const idOf = (value: unknown) =>
    typeof value === 'string' ? value : value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string' ? (value as { id: string }).id : null;
  return idOf(object.customer) ?? (object.object === 'price' ? idOf(object.product) : null) ?? idOf(object.id);
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
