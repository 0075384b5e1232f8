import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../../db/client.js';
import { Prisma, type Subscription, type WebhookEvent } from '../../generated/prisma/client.js';
import { recordAdminAction } from '../audit.js';
import { BillingNotConfiguredError, ConflictError, NotFoundError, WebhookPayloadError, WebhookSignatureError } from '../errors.js';
import { findTextProblem } from '../text.js';
import type { CatalogService } from './catalog.js';
import type { PaymentService } from './payments.js';
import { CheckoutService } from './checkout.js';
import { errorMessage, type BillingCore, type EventContext } from './shared.js';
import { fromUnix, isMissingResource, type Stripe } from './stripe.js';
import type { FetchedSubscription, SubscriptionService } from './subscriptions.js';

export const WEBHOOK_TOLERANCE_SECONDS = 300;
/** The first attempt and ten retries, 5 s after the first failure and doubling: about 1.4 hours in all. */
export const WEBHOOK_MAX_ATTEMPTS = 11;
const WEBHOOK_RETRY_BASE_SECONDS = 5;
/** A direct (admin or test) run holds its claim this long; it is one event, done well within it. */
const DIRECT_CLAIM_SECONDS = 300;
/** Events of one Stripe object a worker claims at once (applied one after another, in order). */
const WEBHOOK_EVENTS_PER_CLAIM = 20;

/**
 * An event as a worker claimed it: enough to apply it without reading the row again. Its handler re-reads the object
 * from Stripe, so of the stored body only the object's id is needed.
 */
export type ClaimedWebhookEvent = Pick<WebhookEvent, 'id' | 'type' | 'attempts' | 'stripeCreated'> & { objectId: string | null };

/** The columns of a claimed event, from a row `w` of "WebhookEvent". */
const CLAIMED_COLUMNS = Prisma.raw(`w.id, w.type, w.attempts, w."stripeCreated", w.payload->'data'->'object'->>'id' AS "objectId"`);

/** Due events of one Stripe object (ordering key), oldest first, claimed together by one worker. */
export type ClaimedWebhookBatch = ClaimedWebhookEvent[];

export interface WebhookProcessingResult {
  status: WebhookEvent['status'] | 'MISSING';
  skipped: boolean;
  error?: string;
}

type HandlerContext = EventContext & { stripeEventId: string };
type Handler = (object: { id: string }, context: HandlerContext) => Promise<void>;

/**
 * Reads of Stripe shared by the runs of one claimed batch: the object's events are applied within moments of each
 * other, and a read made for an earlier run is as current as one made again for the next (as with `supersededBy`).
 * A failed read is not kept, so the next run reads again.
 */
class BatchReads {
  private readonly subscriptions = new Map<string, Promise<FetchedSubscription>>();

  constructor(private readonly fetchSubscription: (id: string) => Promise<FetchedSubscription>) {}

  subscription(id: string): Promise<FetchedSubscription> {
    const known = this.subscriptions.get(id);
    if (known) return known;
    const read = this.fetchSubscription(id);
    this.subscriptions.set(id, read);
    read.catch(() => this.subscriptions.delete(id));
    return read;
  }
}

/** A run of one object's events and the writes of its last event's handler, read and ready. */
interface PreparedRun {
  run: ClaimedWebhookEvent[];
  apply: Apply;
}

/** A handler's writes after its Stripe reads: they run in a transaction with no network I/O. */
type Apply = (tx: Tx, context: HandlerContext) => Promise<void>;
/**
 * A handler in two steps: it reads Stripe (outside any transaction) and returns its writes, which the pipeline runs
 * in one transaction with the writes of the object's other runs of the batch and the record of their events.
 */
type Preparer = { prepare: (object: { id: string }, reads: BatchReads) => Promise<Apply> };

const DUE = (alias: string) => Prisma.raw(`(${alias}.status = 'PENDING'
  OR (${alias}.status = 'FAILED' AND ${alias}."nextAttemptAt" <= timezone('UTC', now()) AND ${alias}.attempts < ${WEBHOOK_MAX_ATTEMPTS})
  OR (${alias}.status = 'PROCESSING' AND ${alias}."claimedUntil" < timezone('UTC', now())))`);

/**
 * The Stripe webhook pipeline: verify and store once, claimed and applied by the webhook workers (in order per Stripe
 * object, in parallel across objects), retried with back-off, replayed on request.
 * Each event type has one handler, which re-reads the object it names from Stripe so that duplicates and arrival
 * order cannot change the result.
 */
export class WebhookService {
  private readonly handlers: Record<string, Handler | Preparer>;
  /**
   * Handlers that only re-read the event's object from Stripe and store what they read. Consecutive events of one
   * object with such a handler need one read: the last event's read supersedes the earlier ones', as it would when
   * each was applied in turn from a backlog (every read returns the object's current state).
   */
  private readonly rereadOnly: Set<Handler | Preparer>;

  constructor(
    private readonly core: BillingCore,
    parts: { catalog: CatalogService; checkout: CheckoutService; subscriptions: SubscriptionService; payments: PaymentService },
  ) {
    const { catalog, checkout, subscriptions, payments } = parts;
    const prisma = core.deps.prisma;
    const applyCheckout: Handler = async (object, context) => {
      const session = await this.core.stripe.checkout.sessions.retrieve(object.id);
      if (CheckoutService.isSettled(session)) await checkout.applyCheckoutSession(session, context);
    };
    const refreshSubscription: Preparer = {
      prepare: async (object, reads) => {
        const fetched = await reads.subscription(object.id);
        return async (tx, context) => {
          await subscriptions.storeIn(tx, fetched, context);
        };
      },
    };
    const invoice = (outcome: 'paid' | 'failed'): Preparer => ({
      prepare: async (object, reads) => payments.prepareInvoice(object.id, outcome, (id) => reads.subscription(id)),
    });
    const mirrorProduct: Handler = async (object) => {
      const product = await this.core.stripe.products.retrieve(object.id).catch((error) => {
        if (isMissingResource(error)) return { id: object.id, deleted: true as const };
        throw error;
      });
      await catalog.mirrorProduct(prisma, product as Stripe.Product | { id: string; deleted: true });
    };
    const mirrorPrice: Handler = async (object, context) => {
      const price = await this.core.stripe.prices.retrieve(object.id).catch((error) => {
        if (isMissingResource(error)) return { id: object.id, deleted: true as const };
        throw error;
      });
      await this.core.applying(context, (tx) => catalog.mirrorPrice(tx, price as Stripe.Price | { id: string; deleted: true }));
    };
    this.handlers = {
      'checkout.session.completed': applyCheckout,
      'checkout.session.async_payment_succeeded': applyCheckout,
      'customer.subscription.created': refreshSubscription,
      'customer.subscription.updated': refreshSubscription,
      'customer.subscription.deleted': refreshSubscription,
      'customer.subscription.paused': refreshSubscription,
      'customer.subscription.resumed': refreshSubscription,
      'customer.subscription.trial_will_end': async (object, context) => {
        const fetched = await subscriptions.fetch(object.id);
        await this.core.applying(context, async (tx) => {
          const row = await subscriptions.storeIn(tx, fetched, context);
          await this.recordEventOnce(tx, row, 'trial_will_end', context.stripeEventId, { trialEnd: row.trialEnd?.toISOString() ?? null });
        });
      },
      'invoice.paid': invoice('paid'),
      'invoice.payment_failed': invoice('failed'),
      'charge.refunded': (object, context) => payments.handleChargeRefunded(object.id, context),
      'product.created': mirrorProduct,
      'product.updated': mirrorProduct,
      'product.deleted': mirrorProduct,
      'price.created': mirrorPrice,
      'price.updated': mirrorPrice,
      'price.deleted': mirrorPrice,
      // Deletion is final in Stripe, so no later event can undo it.
      'customer.deleted': async (object) => {
        await prisma.stripeCustomer.updateMany({ where: { id: object.id, deletedAt: null }, data: { deletedAt: this.core.now() } });
      },
    };
    this.rereadOnly = new Set<Handler | Preparer>([refreshSubscription, mirrorProduct, mirrorPrice]);
    this.newReads = () => new BatchReads((id) => subscriptions.fetch(id));
  }

  private readonly newReads: () => BatchReads;

  private handlerOf(type: string): Handler | Preparer | undefined {
    return Object.hasOwn(this.handlers, type) ? this.handlers[type] : undefined;
  }

  /** Consecutive events of one object whose handler only re-reads it share this; any other event has none. */
  private rereadKey(event: ClaimedWebhookEvent): string | null {
    const handler = this.handlerOf(event.type);
    return handler && this.rereadOnly.has(handler) && event.objectId !== null ? `${event.type.split('.')[0]}:${event.objectId}` : null;
  }

  private contextOf(event: ClaimedWebhookEvent): HandlerContext {
    return { stripeEventId: event.id, eventAt: event.stripeCreated, reason: event.type };
  }

  private objectOf(event: ClaimedWebhookEvent): { id: string } {
    if (event.objectId === null) throw new Error(`Event ${event.id} names no object id`);
    return { id: event.objectId };
  }

  private async handle(event: ClaimedWebhookEvent, recordApplied: EventContext['recordApplied'], reads: BatchReads) {
    const handler = this.handlerOf(event.type);
    if (!handler) {
      this.core.deps.log.debug({ type: event.type, eventId: event.id }, 'webhook event type not handled');
      return;
    }
    const object = this.objectOf(event);
    const context = { ...this.contextOf(event), recordApplied };
    if (typeof handler === 'function') return handler(object, context);
    const apply = await handler.prepare(object, reads);
    await this.core.applying(context, (tx) => apply(tx, context));
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
   * Claims the due events of up to `objects` Stripe objects for `worker`, at most `perObject` events each: for each
   * object that nobody else is working on, its oldest due event and the due events after it, in `created` order. So
   * one object's events apply one after another while different objects run in parallel.
   * Due means stored or replayed (PENDING), failed with its back-off over, or claimed by a worker whose claim ran out
   * (it crashed or hung). A failed event waiting for its back-off does not hold up later events of its object.
   * The oldest due event of an object is taken by one claimer (FOR UPDATE SKIP LOCKED); another claimer sees it due
   * and so takes none of the events after it. Events without an ordering key are claimed one by one.
   */
  async claimDueWebhookBatches(worker: string, objects: number, claimSeconds: number, perObject = WEBHOOK_EVENTS_PER_CLAIM): Promise<ClaimedWebhookBatch[]> {
    const rows = await this.core.deps.prisma.$queryRaw<(ClaimedWebhookEvent & { orderingKey: string | null })[]>`
      WITH head AS (
        SELECT e.id, e."orderingKey", e."stripeCreated" FROM "WebhookEvent" e
        WHERE ${DUE('e')}
          AND NOT EXISTS (
            SELECT 1 FROM "WebhookEvent" o
            WHERE o."orderingKey" = e."orderingKey" AND o.id <> e.id
              AND ((o.status = 'PROCESSING' AND o."claimedUntil" >= timezone('UTC', now()))
                OR ((o."stripeCreated", o.id) < (e."stripeCreated", e.id) AND ${DUE('o')})))
        ORDER BY e."stripeCreated", e.id
        LIMIT ${objects}
        FOR UPDATE OF e SKIP LOCKED
      ), next AS (
        SELECT later.id FROM head h CROSS JOIN LATERAL (
          SELECT f.id FROM "WebhookEvent" f
          WHERE f."orderingKey" = h."orderingKey" AND (f."stripeCreated", f.id) > (h."stripeCreated", h.id) AND ${DUE('f')}
          ORDER BY f."stripeCreated", f.id
          LIMIT ${perObject - 1}
          FOR UPDATE OF f
        ) later
      ), claimed AS (
        UPDATE "WebhookEvent" w
        SET status = 'PROCESSING', attempts = w.attempts + 1, "claimedBy" = ${worker},
            "claimedUntil" = timezone('UTC', now()) + make_interval(secs => ${claimSeconds})
        WHERE w.id IN (SELECT id FROM head UNION ALL SELECT id FROM next)
        RETURNING ${CLAIMED_COLUMNS}, w."orderingKey"
      )
      SELECT * FROM claimed ORDER BY "stripeCreated", id`;
    const batches: ClaimedWebhookBatch[] = [];
    const byObject = new Map<string, ClaimedWebhookBatch>();
    for (const { orderingKey, ...event } of rows) {
      const batch = orderingKey === null ? undefined : byObject.get(orderingKey);
      if (batch) {
        batch.push(event);
        continue;
      }
      const started = [event];
      batches.push(started);
      if (orderingKey !== null) byObject.set(orderingKey, started);
    }
    return batches;
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
    const [claimed] = await prisma.$queryRaw<ClaimedWebhookEvent[]>`
      UPDATE "WebhookEvent" w
      SET status = 'PROCESSING', attempts = attempts + 1, "claimedBy" = ${worker},
          "claimedUntil" = timezone('UTC', now()) + make_interval(secs => ${DIRECT_CLAIM_SECONDS})
      WHERE id = ${eventId}
        AND (status IN ('PENDING', 'FAILED') OR (status = 'PROCESSING' AND "claimedUntil" < timezone('UTC', now())))
      RETURNING ${CLAIMED_COLUMNS}`;
    if (!claimed) {
      const row = await prisma.webhookEvent.findUnique({ where: { id: eventId } });
      return { status: row?.status ?? 'MISSING', skipped: true };
    }
    return this.processClaimedWebhookEvent(claimed, worker);
  }

  /** Applies an event `worker` has claimed (see processClaimedWebhookBatch). */
  async processClaimedWebhookEvent(row: ClaimedWebhookEvent, worker: string): Promise<WebhookProcessingResult> {
    return (await this.processClaimedWebhookBatch([row], worker))[0]!;
  }

  /**
   * Applies the events of one object `worker` has claimed, one after another in their order. A run of consecutive
   * events whose handler only re-reads the same object is applied once, by its last event (the earlier ones are
   * recorded as processed, superseded by it); each event is still recorded once. A failed event does not stop the
   * ones after it, as it would not hold them up had they been claimed one by one.
   * Runs whose handlers read Stripe first and then only write (see Preparer) read one after another, then write in
   * one transaction that records their events too; should it fail, each run is written and recorded on its own.
   * An outcome is written only while the claim is still the worker's: one that ran out and was taken over is left to
   * its new owner (the handlers are idempotent, so the work done stands).
   */
  async processClaimedWebhookBatch(events: ClaimedWebhookBatch, worker: string): Promise<WebhookProcessingResult[]> {
    const runs: ClaimedWebhookEvent[][] = [];
    for (let start = 0; start < events.length; ) {
      const key = this.rereadKey(events[start]!);
      let end = start + 1;
      while (key !== null && end < events.length && this.rereadKey(events[end]!) === key) end++;
      runs.push(events.slice(start, end));
      start = end;
    }
    const reads = this.newReads();
    const outcomes = new Map<ClaimedWebhookEvent[], WebhookProcessingResult>();
    let prepared: PreparedRun[] = [];
    for (const run of runs) {
      const applied = run[run.length - 1]!;
      const handler = this.handlerOf(applied.type);
      if (handler && typeof handler !== 'function') {
        try {
          prepared.push({ run, apply: await handler.prepare(this.objectOf(applied), reads) });
        } catch (error) {
          outcomes.set(run, await this.recordFailure(run, worker, error));
        }
        continue;
      }
      await this.applyPrepared(prepared, worker, outcomes);
      prepared = [];
      outcomes.set(run, await this.applyRun(run, worker, reads));
    }
    await this.applyPrepared(prepared, worker, outcomes);
    return runs.flatMap((run) => run.map(() => outcomes.get(run)!));
  }

  /** Writes prepared runs and records their events: together in one transaction, or else one run at a time. */
  private async applyPrepared(prepared: PreparedRun[], worker: string, outcomes: Map<ClaimedWebhookEvent[], WebhookProcessingResult>) {
    const write = async (tx: Tx, part: PreparedRun[]) => {
      for (const { run, apply } of part) await apply(tx, this.contextOf(run[run.length - 1]!));
      return this.recordProcessed(tx, part.map(({ run }) => run), worker);
    };
    if (prepared.length > 1) {
      try {
        await this.core.transaction((tx) => write(tx, prepared));
        for (const { run } of prepared) outcomes.set(run, { status: 'PROCESSED', skipped: false });
        return;
      } catch (error) {
        this.core.deps.log.debug({ err: error, worker }, 'webhook runs failed together; applying each on its own');
      }
    }
    for (const part of prepared) {
      try {
        await this.core.transaction((tx) => write(tx, [part]));
        outcomes.set(part.run, { status: 'PROCESSED', skipped: false });
      } catch (error) {
        outcomes.set(part.run, await this.recordFailure(part.run, worker, error));
      }
    }
  }

  /**
   * Records the events of `runs` processed, each run by its last event, in one statement; warns about events whose
   * claim ran out (their new owner records them).
   */
  private async recordProcessed(db: Db | Tx, runs: ClaimedWebhookEvent[][], worker: string): Promise<void> {
    const ids = runs.flatMap((run) => run.map((event) => event.id));
    const appliedBy = runs.flatMap((run) => run.map(() => run[run.length - 1]!.id));
    const done = await db.$executeRaw`
      UPDATE "WebhookEvent" w
      SET status = 'PROCESSED', "processedAt" = ${this.core.now()}, "lastError" = NULL, "nextAttemptAt" = NULL,
          "claimedBy" = NULL, "claimedUntil" = NULL, "supersededBy" = NULLIF(r.applied, w.id)
      FROM unnest(${ids}::text[], ${appliedBy}::text[]) AS r(id, applied)
      WHERE w.id = r.id AND w.status = 'PROCESSING' AND w."claimedBy" = ${worker}`;
    if (done < ids.length) this.core.deps.log.warn({ eventIds: ids, worker }, 'webhook event applied after its claim ran out; its new owner records it');
  }

  /** Each event of a failed run keeps its own count of attempts, and so its own back-off. */
  private async recordFailure(run: ClaimedWebhookEvent[], worker: string, error: unknown): Promise<WebhookProcessingResult> {
    const applied = run[run.length - 1]!;
    const ids = run.map((event) => event.id);
    const message = errorMessage(error);
    this.core.deps.log.warn({ err: error, eventIds: ids, type: applied.type, attempts: applied.attempts }, 'webhook event failed');
    await this.core.deps.prisma.$executeRaw`
      UPDATE "WebhookEvent"
      SET status = 'FAILED', "lastError" = ${message}, "claimedBy" = NULL, "claimedUntil" = NULL,
          "nextAttemptAt" = CASE WHEN attempts < ${WEBHOOK_MAX_ATTEMPTS}
            THEN timezone('UTC', now()) + make_interval(secs => LEAST(power(2, attempts - 1) * ${WEBHOOK_RETRY_BASE_SECONDS}, 3600)) END
      WHERE id = ANY(${ids}) AND status = 'PROCESSING' AND "claimedBy" = ${worker}`;
    return { status: 'FAILED', skipped: false, error: message };
  }

  /**
   * Applies the last event of a run whose handler is not prepared in two steps (checkout, refunds, products, prices,
   * trial_will_end, customer.deleted) and records every event of the run, in one statement either way. A handler that
   * writes in a transaction records the run in it (EventContext.recordApplied), so the events are never applied
   * without being recorded; after any other handler the run is recorded on its own.
   */
  private async applyRun(run: ClaimedWebhookEvent[], worker: string, reads: BatchReads): Promise<WebhookProcessingResult> {
    try {
      let recorded = false;
      await this.handle(run[run.length - 1]!, async (tx) => {
        await this.recordProcessed(tx, [run], worker);
        recorded = true;
      }, reads);
      if (!recorded) await this.recordProcessed(this.core.deps.prisma, [run], worker);
      return { status: 'PROCESSED', skipped: false };
    } catch (error) {
      return this.recordFailure(run, worker, error);
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

  private async recordEventOnce(tx: Tx, row: Subscription, type: string, stripeEventId: string, data: Prisma.InputJsonObject) {
    const seen = await tx.subscriptionEvent.findFirst({ where: { stripeEventId, type } });
    if (seen) return;
    await tx.subscriptionEvent.create({
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
