import type { WebhookEvent } from '../../generated/prisma/client.js';
import { CatalogService } from './catalog.js';
import { CheckoutService } from './checkout.js';
import { PaymentService } from './payments.js';
import { BillingCore, type BillingIntervalValue, type BillingServiceDeps, type CheckoutOutcome, type EventContext, type SubscriptionWithPlan } from './shared.js';
import type { Stripe } from './stripe.js';
import { SubscriptionService } from './subscriptions.js';
import { SyncService, type SyncCheckpoint, type SyncPhase } from './sync.js';
import { WebhookService, type ClaimedWebhookBatch, type ClaimedWebhookEvent, type WebhookProcessingResult } from './webhooks.js';

export { DEFAULT_PACKS, DEFAULT_PLANS } from './catalog.js';
export { daysUntilRenewal, pickCurrentSubscription } from './shared.js';
export type { BillingIntervalValue, BillingServiceDeps, CheckoutOutcome, SubscriptionWithPlan } from './shared.js';
export type { SyncCheckpoint, SyncPhase } from './sync.js';
export {
  orderingKeyOf,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_TOLERANCE_SECONDS,
  type ClaimedWebhookBatch,
  type ClaimedWebhookEvent,
  type WebhookProcessingResult,
} from './webhooks.js';

/**
 * Plans, checkout, subscriptions, payments and the Stripe webhook pipeline, one part per file. Stripe is the source
 * of truth: its objects are read before a transaction opens, then locked, compared with what is stored and written,
 * so duplicates, arrival order and a slow Stripe cannot change the result or hold a database connection.
 */
export class BillingService {
  readonly catalog: CatalogService;
  private readonly core: BillingCore;
  private readonly subscriptions: SubscriptionService;
  private readonly checkout: CheckoutService;
  private readonly payments: PaymentService;
  private readonly webhooks: WebhookService;
  private readonly sync: SyncService;

  constructor(deps: BillingServiceDeps) {
    this.core = new BillingCore(deps);
    this.catalog = new CatalogService(deps.prisma);
    this.subscriptions = new SubscriptionService(this.core);
    this.checkout = new CheckoutService(this.core, this.subscriptions);
    this.payments = new PaymentService(this.core, this.subscriptions);
    this.webhooks = new WebhookService(this.core, {
      catalog: this.catalog,
      checkout: this.checkout,
      subscriptions: this.subscriptions,
      payments: this.payments,
    });
    this.sync = new SyncService(this.core, this.catalog, this.subscriptions);
  }

  get configured() {
    return this.core.stripeClient !== null;
  }

  // checkout

  ensureCustomer(userId: string): Promise<string> {
    return this.checkout.ensureCustomer(userId);
  }

  createCheckoutSession(
    userId: string,
    input: { planKey?: string | null; packKey?: string | null; interval?: BillingIntervalValue | null; successUrl: string; cancelUrl: string },
  ): Promise<{ sessionId: string; url: string | null }> {
    return this.checkout.createCheckoutSession(userId, input);
  }

  verifyCheckoutSession(userId: string, sessionId: string): Promise<CheckoutOutcome> {
    return this.checkout.verifyCheckoutSession(userId, sessionId);
  }

  createBillingPortalSession(userId: string, returnUrl: string): Promise<{ url: string }> {
    return this.checkout.createBillingPortalSession(userId, returnUrl);
  }

  // subscriptions and entitlement

  currentSubscriptions(userIds: readonly string[]): Promise<Map<string, SubscriptionWithPlan>> {
    return this.subscriptions.currentSubscriptions(userIds);
  }

  /** Ends a deleted account's subscription at Stripe at once, so nobody is charged for an account that is gone. */
  async cancelForAccountDeletion(userId: string): Promise<void> {
    if (!this.core.stripeClient) return;
    const current = (await this.currentSubscriptions([userId])).get(userId);
    if (!current || ['CANCELED', 'INCOMPLETE_EXPIRED'].includes(current.status)) return;
    await this.subscriptions.cancelSubscription(userId, false);
  }

  cancelSubscription(userId: string, atPeriodEnd: boolean): Promise<SubscriptionWithPlan> {
    return this.subscriptions.cancelSubscription(userId, atPeriodEnd);
  }

  resumeSubscription(userId: string): Promise<SubscriptionWithPlan> {
    return this.subscriptions.resumeSubscription(userId);
  }

  changePlan(userId: string, planKey: string): Promise<SubscriptionWithPlan> {
    return this.subscriptions.changePlan(userId, planKey);
  }

  refreshSubscription(stripeSubscriptionId: string, context: EventContext): Promise<SubscriptionWithPlan> {
    return this.subscriptions.refreshSubscription(stripeSubscriptionId, context);
  }

  recordSubscription(subscription: Stripe.Subscription, context: Partial<EventContext> = {}): Promise<SubscriptionWithPlan> {
    return this.subscriptions.recordSubscription(subscription, context);
  }

  expireEndedSubscriptions(batchSize?: number): Promise<number> {
    return this.subscriptions.expireEndedSubscriptions(batchSize);
  }

  // webhooks

  receiveWebhook(rawBody: Buffer, signature: string | undefined): Promise<{ eventId: string; duplicate: boolean }> {
    return this.webhooks.receiveWebhook(rawBody, signature);
  }

  processWebhookEvent(eventId: string): Promise<WebhookProcessingResult> {
    return this.webhooks.processWebhookEvent(eventId);
  }

  claimDueWebhookBatches(worker: string, objects: number, claimSeconds: number, perObject?: number): Promise<ClaimedWebhookBatch[]> {
    return this.webhooks.claimDueWebhookBatches(worker, objects, claimSeconds, perObject);
  }

  processClaimedWebhookEvent(event: ClaimedWebhookEvent, worker: string): Promise<WebhookProcessingResult> {
    return this.webhooks.processClaimedWebhookEvent(event, worker);
  }

  processClaimedWebhookBatch(events: ClaimedWebhookBatch, worker: string): Promise<WebhookProcessingResult[]> {
    return this.webhooks.processClaimedWebhookBatch(events, worker);
  }

  extendWebhookClaims(worker: string, eventIds: string[], claimSeconds: number): Promise<number> {
    return this.webhooks.extendWebhookClaims(worker, eventIds, claimSeconds);
  }

  replayWebhookEvent(actorId: string, eventId: string): Promise<WebhookEvent> {
    return this.webhooks.replayWebhookEvent(actorId, eventId);
  }

  // sync

  syncFromStripe(options: {
    backfill?: boolean;
    resumeFrom?: SyncCheckpoint | null;
    onPage?: (progress: { phase: SyncPhase; done: number; hasMore: boolean; checkpoint: SyncCheckpoint }) => void | Promise<void>;
  } = {}): Promise<Record<SyncPhase, number>> {
    return this.sync.syncFromStripe(options);
  }
}
