import {
  BillingInterval,
  CallToActionType,
  PaymentKind,
  PaymentStatus,
  SubscriptionStatus,
  WebhookEventStatus,
} from '../generated/prisma/enums.js';
import { daysUntilRenewal, pickCurrentSubscription, type CheckoutOutcome } from '../services/billing/index.js';
import { builder } from './builder.js';
import type { InputFields } from './input-fields.js';
import { connectionTypes } from './connections.js';
import { ownedByVisibleUser } from './visibility.js';
import { TierEnum } from './users.js';

export const BillingIntervalEnum = builder.enumType(BillingInterval, {
  name: 'BillingInterval',
  description: 'How often a subscription is billed',
  values: {
    MONTH: { description: 'Billed every month at monthlyPriceCents' },
    YEAR: { description: 'Billed every year at yearlyPriceCents' },
  },
});
export const CallToActionTypeEnum = builder.enumType(CallToActionType, {
  name: 'CallToActionType',
  description: 'What the plan card button does',
  values: {
    CHECKOUT: { description: 'Start createCheckoutSession with this plan' },
    CONTACT: { description: 'Contact sales: url opens a contact form' },
    LINK: { description: 'Open url' },
  },
});
export const SubscriptionStatusEnum = builder.enumType(SubscriptionStatus, {
  name: 'SubscriptionStatus',
  description: 'Stripe subscription status, as Stripe reports it',
  values: {
    INCOMPLETE: { description: 'The first payment has not succeeded yet' },
    INCOMPLETE_EXPIRED: { description: 'The first payment never succeeded; the subscription is void' },
    TRIALING: { description: 'In the free trial; the allowance applies' },
    ACTIVE: { description: 'Paid and current; the allowance applies' },
    PAST_DUE: { description: 'A renewal payment failed; Stripe is retrying' },
    CANCELED: { description: 'Ended; no further renewals' },
    UNPAID: { description: 'Retries exhausted; the subscription is kept but not renewed' },
    PAUSED: { description: 'Paused in Stripe; no allowance' },
  },
});
export const PaymentKindEnum = builder.enumType(PaymentKind, {
  name: 'PaymentKind',
  description: 'What a payment paid for',
  values: {
    SUBSCRIPTION: { description: 'A subscription invoice' },
    CREDIT_PACK: { description: 'A one-off credit pack' },
  },
});
export const PaymentStatusEnum = builder.enumType(PaymentStatus, {
  name: 'PaymentStatus',
  description: 'Where the money stands',
  values: {
    PAID: { description: 'Paid in full' },
    FAILED: { description: 'The charge failed; nothing was granted' },
    REFUNDED: { description: 'Refunded in full; the credits it granted were taken back where unspent' },
    PARTIALLY_REFUNDED: { description: 'Part of the amount was refunded' },
  },
});
export const WebhookEventStatusEnum = builder.enumType(WebhookEventStatus, {
  name: 'WebhookEventStatus',
  description: 'Processing state of a received Stripe event',
  values: {
    PENDING: { description: 'Stored, waiting for a worker to claim it' },
    PROCESSING: { description: 'A worker is applying it' },
    PROCESSED: { description: 'Applied' },
    FAILED: { description: 'Processing failed; retried with back-off, or replay it with replayWebhookEvent' },
  },
});

const CallToAction = builder
  .objectRef<{ type: CallToActionType; label: string | null; url: string | null }>('CallToAction')
  .implement({
    description: 'The button on a plan card',
    fields: (t) => ({
      type: t.field({ description: 'What the button does', type: CallToActionTypeEnum, resolve: (cta) => cta.type }),
      label: t.exposeString('label', { description: 'Button text; null means the client picks one', nullable: true }),
      url: t.expose('url', { type: 'URL', description: 'For CONTACT and LINK: where the button goes (http or https)', nullable: true }),
    }),
  });

export const PlanRef = builder.prismaNode('Plan', {
  id: { field: 'id' },
  nullable: true,
  description: 'A subscription plan on the pricing page. Prices are integer cents in currency.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Stable key used by createCheckoutSession(planKey) and changePlan, e.g. pro' }),
    name: t.exposeString('name', { description: 'Display name' }),
    description: t.exposeString('description', { description: 'Marketing copy; null if none', nullable: true }),
    tier: t.expose('tier', { description: 'Tier a subscriber gets', type: TierEnum }),
    creditsPerPeriod: t.exposeInt('creditsPerPeriod', { description: 'Credits granted at the start of every billing period (not carried over)' }),
    monthlyPriceCents: t.exposeInt('monthlyPriceCents', { description: 'Price per month in cents of currency (e.g. 1999 = 19.99)' }),
    yearlyPriceCents: t.exposeInt('yearlyPriceCents', { description: 'Price per year in cents of currency' }),
    currency: t.exposeString('currency', { description: 'Three-letter ISO 4217 code in lowercase, e.g. usd' }),
    stripeMonthlyPriceId: t.exposeString('stripeMonthlyPriceId', { description: 'Stripe price billed monthly; null when monthly billing is not offered', nullable: true }),
    stripeYearlyPriceId: t.exposeString('stripeYearlyPriceId', { description: 'Stripe price billed yearly; null when yearly billing is not offered', nullable: true }),
    features: t.exposeStringList('features', { description: 'Bullet points for the plan card, in order' }),
    badge: t.exposeString('badge', { description: 'Short label such as Most popular; null for none', nullable: true }),
    highlight: t.exposeBoolean('highlight', { description: 'True for the plan the pricing page should emphasise' }),
    sortOrder: t.exposeInt('sortOrder', { description: 'Display position, ascending' }),
    active: t.exposeBoolean('active', { description: 'False once archived: no longer on sale, existing subscribers keep it' }),
    callToAction: t.field({
      description: 'The plan card button',
      type: CallToAction,
      resolve: (plan) => ({ type: plan.ctaType, label: plan.ctaLabel, url: plan.ctaUrl }),
    }),
  }),
});

export const CreditPackRef = builder.prismaNode('CreditPack', {
  id: { field: 'id' },
  nullable: true,
  description: 'A one-off bundle of credits for sale. The price is integer cents in currency.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Stable key used by createCheckoutSession(packKey)' }),
    name: t.exposeString('name', { description: 'Display name' }),
    description: t.exposeString('description', { description: 'Marketing copy; null if none', nullable: true }),
    credits: t.exposeInt('credits', { description: 'Credits granted on purchase; they survive allowance resets' }),
    priceCents: t.exposeInt('priceCents', { description: 'Price in cents of currency' }),
    currency: t.exposeString('currency', { description: 'Three-letter ISO 4217 code in lowercase' }),
    stripePriceId: t.exposeString('stripePriceId', { description: 'The Stripe price charged; null until configured', nullable: true }),
    expiresInDays: t.exposeInt('expiresInDays', { description: 'Days until purchased credits expire; null means never', nullable: true }),
    badge: t.exposeString('badge', { description: 'Short label such as Best value; null for none', nullable: true }),
    sortOrder: t.exposeInt('sortOrder', { description: 'Display position, ascending' }),
    active: t.exposeBoolean('active', { description: 'False once archived: no longer on sale' }),
  }),
});

export const SubscriptionRef = builder.prismaNode('Subscription', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, context) => ({ id, ...ownedByVisibleUser(context) }),
  description: 'A Stripe subscription as last reported by Stripe. Visible to its user and to admins.',
  name: 'BillingSubscription',
  fields: (t) => ({
    stripeSubscriptionId: t.exposeString('stripeSubscriptionId', { description: 'The Stripe subscription id (sub_...)' }),
    status: t.expose('status', { description: 'Stripe status; ACTIVE and TRIALING grant the plan allowance', type: SubscriptionStatusEnum }),
    tier: t.field({ description: 'Tier of the plan; null when the price matches no plan', type: TierEnum, nullable: true, select: { plan: true }, resolve: (sub) => sub.plan?.tier ?? null }),
    plan: t.relation('plan', { description: 'The plan subscribed to; null when the price matches no plan', nullable: true }),
    interval: t.expose('interval', { description: 'Billing interval; null when unknown', type: BillingIntervalEnum, nullable: true }),
    currentPeriodStart: t.expose('currentPeriodStart', { description: 'Start of the billing period being paid for', type: 'DateTime', nullable: true }),
    currentPeriodEnd: t.expose('currentPeriodEnd', { description: 'End of the current period: the renewal date, or the end date when cancelAtPeriodEnd', type: 'DateTime', nullable: true }),
    trialEnd: t.expose('trialEnd', { description: 'When the trial ends; null without a trial', type: 'DateTime', nullable: true }),
    cancelAtPeriodEnd: t.exposeBoolean('cancelAtPeriodEnd', { description: 'True when the subscription ends at currentPeriodEnd instead of renewing; resumeSubscription undoes it' }),
    canceledAt: t.expose('canceledAt', { description: 'When cancellation was requested; null if never', type: 'DateTime', nullable: true }),
    daysUntilRenewal: t.int({
      nullable: true,
      description: 'Whole days until the next renewal; null when it will not renew',
      resolve: (sub) => daysUntilRenewal(sub),
    }),
  }),
});

export const PaymentRef = builder.prismaNode('Payment', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, context) => ({ id, ...ownedByVisibleUser(context) }),
  description: 'A payment made through Stripe: a subscription invoice or a credit pack. Amounts are integer cents in currency.',
  fields: (t) => ({
    kind: t.expose('kind', { description: 'What was paid for', type: PaymentKindEnum }),
    status: t.expose('status', { description: 'Where the money stands', type: PaymentStatusEnum }),
    amountCents: t.exposeInt('amountCents', { description: 'Amount charged, in cents of currency' }),
    amountRefundedCents: t.exposeInt('amountRefundedCents', { description: 'Amount refunded so far, in cents of currency' }),
    currency: t.exposeString('currency', { description: 'Three-letter ISO 4217 code in lowercase' }),
    description: t.exposeString('description', { description: 'What the customer saw on the invoice; null if none', nullable: true }),
    creditsGranted: t.exposeInt('creditsGranted', { description: 'Credits this payment added' }),
    creditsClawedBack: t.exposeInt('creditsClawedBack', { description: 'Credits taken back because of a refund' }),
    creditsUnrecovered: t.exposeInt('creditsUnrecovered', {
      description: 'Refunded credits that had already been spent and could not be taken back',
    }),
    paidAt: t.expose('paidAt', { description: 'When the payment succeeded; null if it did not', type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { description: 'When the payment was recorded', type: 'DateTime' }),
  }),
});

export const WebhookEventRef = builder.prismaNode('WebhookEvent', {
  id: { field: 'id' },
  nullable: true,
  authScopes: { admin: true },
  description: 'A Stripe event as received on POST /webhooks/stripe. Admin only.',
  fields: (t) => ({
    stripeEventId: t.exposeString('id', { description: 'The Stripe event id (evt_...); replayWebhookEvent takes it' }),
    type: t.exposeString('type', { description: 'Stripe event type, e.g. invoice.paid' }),
    status: t.expose('status', { description: 'Processing state', type: WebhookEventStatusEnum }),
    attempts: t.exposeInt('attempts', { description: 'Processing attempts so far' }),
    lastError: t.exposeString('lastError', { description: 'Error of the last failed attempt; null when none failed', nullable: true }),
    payload: t.field({ description: 'The event body as Stripe sent it', type: 'JSONObject', resolve: (event) => (event.payload ?? {}) as Record<string, unknown> }),
    stripeCreated: t.expose('stripeCreated', { description: 'When Stripe created the event', type: 'DateTime' }),
    receivedAt: t.expose('receivedAt', { description: 'When this server received it', type: 'DateTime' }),
    processedAt: t.expose('processedAt', { description: 'When it was applied; null until then', type: 'DateTime', nullable: true }),
    supersededBy: t.exposeString('supersededBy', {
      description: "The later event of the same Stripe object whose read of the object applied this one too; null when it was applied by its own read",
      nullable: true,
    }),
    nextAttemptAt: t.expose('nextAttemptAt', { description: 'When the next retry runs; null when none is scheduled', type: 'DateTime', nullable: true }),
  }),
});

export const CheckoutSessionRef = builder
  .objectRef<{ sessionId: string; url: string | null }>('CheckoutSession')
  .implement({
    description: 'A Stripe Checkout session: send the customer to url, then call verifyCheckoutSession(sessionId) on return',
    fields: (t) => ({
      sessionId: t.exposeString('sessionId', { description: 'The Stripe session id (cs_...); pass it to verifyCheckoutSession' }),
      url: t.expose('url', { type: 'URL', nullable: true, description: 'Where to send the customer to pay' }),
    }),
  });

export const CheckoutResultRef = builder.objectRef<CheckoutOutcome>('CheckoutResult').implement({
  description: 'What a completed checkout did. Verifying again, or the webhook, returns the same result.',
  fields: (t) => ({
    sessionId: t.exposeString('sessionId', { description: 'The Stripe Checkout session id' }),
    mode: t.exposeString('mode', { description: 'subscription or payment (a credit pack)' }),
    planKey: t.exposeString('planKey', { description: 'The plan subscribed to; null for a credit pack', nullable: true }),
    packKey: t.exposeString('packKey', { description: 'The credit pack bought; null for a subscription', nullable: true }),
    creditsGranted: t.exposeInt('creditsGranted', { description: 'Credits added by this checkout' }),
    subscriptionStatus: t.field({
      description: 'Status of the new subscription; null for a credit pack',
      type: SubscriptionStatusEnum,
      nullable: true,
      resolve: (result) => result.subscriptionStatus,
    }),
    appliedAt: t.field({ description: 'When the checkout was applied (the first time)', type: 'DateTime', resolve: (result) => new Date(result.appliedAt) }),
  }),
});

export const BillingPortalSessionRef = builder
  .objectRef<{ url: string }>('BillingPortalSession')
  .implement({
    description: 'A Stripe customer portal session, where the customer manages payment methods, invoices and cancellation',
    fields: (t) => ({ url: t.expose('url', { type: 'URL', description: 'Send the customer here; valid for a few minutes' }) }),
  });

builder.prismaObjectFields('User', (t) => ({
  subscription: t.field({
    type: SubscriptionRef,
    nullable: true,
    description: 'The subscription that decides the tier: active or trialing first, then past due, then the newest',
    // Loaded with the user (for a page of users, one statement per relation) and with what the query asks of it.
    select: (_args, _context, nestedSelection) => ({ subscriptions: nestedSelection(true) }),
    resolve: (user) => pickCurrentSubscription(user.subscriptions),
  }),
  payments: t.relatedConnection('payments', {
    cursor: 'id',
    maxSize: 100,
    defaultSize: 20,
    totalCount: true,
    description: 'Payments, newest first',
    query: () => ({ orderBy: { id: 'desc' } }),
  }, ...connectionTypes('Payment', 'payments')),
}));

/** What a plan is made of, for creating one (the core fields required) and for changing one (every field optional). */
const planFields = (t: InputFields, creating: boolean) => ({
  name: t.string({ description: 'Display name, 1-100 characters', required: creating }),
  description: t.string({ description: 'Marketing copy, at most 2000 characters', required: false }),
  tier: t.field({ description: 'Tier a subscriber gets', type: TierEnum, required: creating }),
  creditsPerPeriod: t.int({ description: 'Credits per billing period, 0-10000000', required: creating }),
  monthlyPriceCents: t.int({ description: 'Price per month in cents, 0-100000000', required: creating }),
  yearlyPriceCents: t.int({ description: 'Price per year in cents, 0-100000000', required: creating }),
  currency: t.string({ description: 'Three-letter ISO 4217 code in lowercase; usd by default', required: false }),
  stripeProductId: t.string({ description: 'Stripe product id (prod_...)', required: false }),
  stripeMonthlyPriceId: t.string({ description: 'Stripe price id billed monthly (price_...)', required: false }),
  stripeYearlyPriceId: t.string({ description: 'Stripe price id billed yearly (price_...)', required: false }),
  features: t.stringList({ description: 'Bullet points, at most 50 of at most 200 characters', required: false }),
  badge: t.string({ description: 'Short label, at most 50 characters', required: false }),
  highlight: t.boolean({ description: 'Emphasise this plan; false by default', required: false }),
  sortOrder: t.int({ description: 'Display position, 0-100000; 0 by default', required: false }),
  active: t.boolean({ description: 'On sale; true by default', required: false }),
  ctaType: t.field({ description: 'What the plan card button does; CHECKOUT by default', type: CallToActionTypeEnum, required: false }),
  ctaLabel: t.string({ description: 'Button text, at most 100 characters', required: false }),
  ctaUrl: t.string({ description: 'For CONTACT and LINK: an http or https URL, at most 2000 characters', required: false }),
});

export const PlanInput = builder.inputType('PlanInput', {
  description: 'A new plan. Amounts are integer cents.',
  fields: (t) => ({
    key: t.string({ description: 'Stable key, 1-48 lowercase letters, digits or -; cannot change later', required: true }),
    ...planFields(t, true),
  }),
});

export const PlanUpdateInput = builder.inputType('PlanUpdateInput', {
  description: 'Fields to change; omitted fields stay as they are',
  fields: (t) => planFields(t, false),
});

export const CreditPackInput = builder.inputType('CreditPackInput', {
  description: 'A new credit pack. The price is integer cents.',
  fields: (t) => ({
    key: t.string({ description: 'Stable key, 1-48 lowercase letters, digits or -; cannot change later', required: true }),
    name: t.string({ description: 'Display name, 1-100 characters', required: true }),
    description: t.string({ description: 'Marketing copy, at most 2000 characters', required: false }),
    credits: t.int({ description: 'Credits granted on purchase, 1-10000000', required: true }),
    priceCents: t.int({ description: 'Price in cents, 0-100000000', required: true }),
    currency: t.string({ description: 'Three-letter ISO 4217 code in lowercase; usd by default', required: false }),
    stripeProductId: t.string({ description: 'Stripe product id (prod_...)', required: false }),
    stripePriceId: t.string({ description: 'Stripe price id charged (price_...)', required: false }),
    expiresInDays: t.int({ description: 'Days until purchased credits expire, 1-3650; omit or null for never', required: false }),
    badge: t.string({ description: 'Short label, at most 50 characters', required: false }),
    sortOrder: t.int({ description: 'Display position, 0-100000; 0 by default', required: false }),
    active: t.boolean({ description: 'On sale; true by default', required: false }),
  }),
});

export const CreditPackUpdateInput = builder.inputType('CreditPackUpdateInput', {
  description: 'Fields to change; omitted fields stay as they are',
  fields: (t) => ({
    name: t.string({ description: 'Display name, 1-100 characters', required: false }),
    description: t.string({ description: 'Marketing copy, at most 2000 characters', required: false }),
    credits: t.int({ description: 'Credits granted on purchase, 1-10000000', required: false }),
    priceCents: t.int({ description: 'Price in cents, 0-100000000', required: false }),
    currency: t.string({ description: 'Three-letter ISO 4217 code in lowercase; usd by default', required: false }),
    stripeProductId: t.string({ description: 'Stripe product id (prod_...)', required: false }),
    stripePriceId: t.string({ description: 'Stripe price id charged (price_...)', required: false }),
    expiresInDays: t.int({ description: 'Days until purchased credits expire, 1-3650; omit or null for never', required: false }),
    badge: t.string({ description: 'Short label, at most 50 characters', required: false }),
    sortOrder: t.int({ description: 'Display position, 0-100000; 0 by default', required: false }),
    active: t.boolean({ description: 'On sale; true by default', required: false }),
  }),
});

export const CreateCheckoutSessionInput = builder.inputType('CreateCheckoutSessionInput', {
  description: 'What to buy, and where Stripe sends the customer afterwards. Give exactly one of planKey and packKey.',
  fields: (t) => ({
    planKey: t.string({ required: false, description: 'A plan to subscribe to (or packKey)' }),
    packKey: t.string({ required: false, description: 'A credit pack to buy once (or planKey)' }),
    interval: t.field({ type: BillingIntervalEnum, required: false, description: 'For plans; MONTH by default' }),
    successUrl: t.string({ description: 'Where Stripe sends the customer after paying (http or https); {CHECKOUT_SESSION_ID} is replaced by the session id', required: true }),
    cancelUrl: t.string({ description: 'Where Stripe sends the customer on cancel (http or https)', required: true }),
  }),
});

export const SubscriptionEventNode = builder.prismaNode('SubscriptionEvent', {
  id: { field: 'id' },
  nullable: true,
  description: 'One change of a user subscription as the server applied it (created, status change, plan change, period end). Admin only.',
  authScopes: { admin: true },
  fields: (t) => ({
    type: t.exposeString('type', { description: 'What happened: created, status_changed, updated or subscription.period_ended' }),
    fromStatus: t.exposeString('fromStatus', { nullable: true, description: 'Status before; null for a new subscription' }),
    toStatus: t.exposeString('toStatus', { nullable: true, description: 'Status after' }),
    subscription: t.relation('subscription', { nullable: true, description: 'The subscription; null once it is gone' }),
    stripeEventId: t.exposeString('stripeEventId', {
      nullable: true,
      description: 'The Stripe event (evt_...) that caused it; null for changes the server made on its own',
    }),
    data: t.field({
      type: 'JSONObject',
      description: 'What changed, and why',
      resolve: (event) => (event.data ?? {}) as Record<string, unknown>,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the change was applied' }),
  }),
});

builder.prismaObjectFields('User', (t) => ({
  subscriptionEvents: t.relatedConnection(
    'subscriptionEvents',
    {
      cursor: 'id',
      maxSize: 100,
      defaultSize: 20,
      totalCount: true,
      authScopes: { admin: true },
      description: 'Admin: the history of this user subscriptions, newest first',
      query: () => ({ orderBy: { id: 'desc' } }),
    },
    ...connectionTypes('SubscriptionEvent', 'subscription events'),
  ),
}));
