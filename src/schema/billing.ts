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
import { TierEnum } from './users.js';

export const BillingIntervalEnum = builder.enumType(BillingInterval, { name: 'BillingInterval' });
export const CallToActionTypeEnum = builder.enumType(CallToActionType, { name: 'CallToActionType' });
export const SubscriptionStatusEnum = builder.enumType(SubscriptionStatus, { name: 'SubscriptionStatus' });
export const PaymentKindEnum = builder.enumType(PaymentKind, { name: 'PaymentKind' });
export const PaymentStatusEnum = builder.enumType(PaymentStatus, { name: 'PaymentStatus' });
export const WebhookEventStatusEnum = builder.enumType(WebhookEventStatus, { name: 'WebhookEventStatus' });

const CallToAction = builder
  .objectRef<{ type: CallToActionType; label: string | null; url: string | null }>('CallToAction')
  .implement({
    fields: (t) => ({
      type: t.field({ type: CallToActionTypeEnum, resolve: (cta) => cta.type }),
      label: t.exposeString('label', { nullable: true }),
      url: t.exposeString('url', { nullable: true }),
    }),
  });

export const PlanRef = builder.prismaObject('Plan', {
  fields: (t) => ({
    id: t.exposeID('id'),
    key: t.exposeString('key'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    tier: t.expose('tier', { type: TierEnum }),
    creditsPerPeriod: t.exposeInt('creditsPerPeriod'),
    monthlyPriceCents: t.exposeInt('monthlyPriceCents'),
    yearlyPriceCents: t.exposeInt('yearlyPriceCents'),
    currency: t.exposeString('currency'),
    stripeMonthlyPriceId: t.exposeString('stripeMonthlyPriceId', { nullable: true }),
    stripeYearlyPriceId: t.exposeString('stripeYearlyPriceId', { nullable: true }),
    features: t.exposeStringList('features'),
    badge: t.exposeString('badge', { nullable: true }),
    highlight: t.exposeBoolean('highlight'),
    sortOrder: t.exposeInt('sortOrder'),
    active: t.exposeBoolean('active'),
    callToAction: t.field({
      type: CallToAction,
      resolve: (plan) => ({ type: plan.ctaType, label: plan.ctaLabel, url: plan.ctaUrl }),
    }),
  }),
});

export const CreditPackRef = builder.prismaObject('CreditPack', {
  fields: (t) => ({
    id: t.exposeID('id'),
    key: t.exposeString('key'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    credits: t.exposeInt('credits'),
    priceCents: t.exposeInt('priceCents'),
    currency: t.exposeString('currency'),
    stripePriceId: t.exposeString('stripePriceId', { nullable: true }),
    expiresInDays: t.exposeInt('expiresInDays', { nullable: true }),
    badge: t.exposeString('badge', { nullable: true }),
    sortOrder: t.exposeInt('sortOrder'),
    active: t.exposeBoolean('active'),
  }),
});

export const SubscriptionRef = builder.prismaObject('Subscription', {
  name: 'BillingSubscription',
  fields: (t) => ({
    id: t.exposeID('id'),
    stripeSubscriptionId: t.exposeString('stripeSubscriptionId'),
    status: t.expose('status', { type: SubscriptionStatusEnum }),
    tier: t.field({ type: TierEnum, nullable: true, select: { plan: true }, resolve: (sub) => sub.plan?.tier ?? null }),
    plan: t.relation('plan', { nullable: true }),
    interval: t.expose('interval', { type: BillingIntervalEnum, nullable: true }),
    currentPeriodStart: t.expose('currentPeriodStart', { type: 'DateTime', nullable: true }),
    currentPeriodEnd: t.expose('currentPeriodEnd', { type: 'DateTime', nullable: true }),
    trialEnd: t.expose('trialEnd', { type: 'DateTime', nullable: true }),
    cancelAtPeriodEnd: t.exposeBoolean('cancelAtPeriodEnd'),
    canceledAt: t.expose('canceledAt', { type: 'DateTime', nullable: true }),
    daysUntilRenewal: t.int({
      nullable: true,
      description: 'Whole days until the next renewal; null when it will not renew',
      resolve: (sub) => daysUntilRenewal(sub),
    }),
  }),
});

export const PaymentRef = builder.prismaObject('Payment', {
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.expose('kind', { type: PaymentKindEnum }),
    status: t.expose('status', { type: PaymentStatusEnum }),
    amountCents: t.exposeInt('amountCents'),
    amountRefundedCents: t.exposeInt('amountRefundedCents'),
    currency: t.exposeString('currency'),
    description: t.exposeString('description', { nullable: true }),
    creditsGranted: t.exposeInt('creditsGranted'),
    creditsClawedBack: t.exposeInt('creditsClawedBack'),
    creditsUnrecovered: t.exposeInt('creditsUnrecovered', {
      description: 'Refunded credits that had already been spent and could not be taken back',
    }),
    paidAt: t.expose('paidAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const WebhookEventRef = builder.prismaObject('WebhookEvent', {
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.exposeString('type'),
    status: t.expose('status', { type: WebhookEventStatusEnum }),
    attempts: t.exposeInt('attempts'),
    lastError: t.exposeString('lastError', { nullable: true }),
    payload: t.field({ type: 'JSONObject', resolve: (event) => (event.payload ?? {}) as Record<string, unknown> }),
    stripeCreated: t.expose('stripeCreated', { type: 'DateTime' }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime' }),
    processedAt: t.expose('processedAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
  }),
});

export const CheckoutSessionRef = builder
  .objectRef<{ sessionId: string; url: string | null }>('CheckoutSession')
  .implement({
    fields: (t) => ({
      sessionId: t.exposeString('sessionId'),
      url: t.exposeString('url', { nullable: true, description: 'Where to send the customer to pay' }),
    }),
  });

export const CheckoutResultRef = builder.objectRef<CheckoutOutcome>('CheckoutResult').implement({
  description: 'What a completed checkout did. Verifying again, or the webhook, returns the same result.',
  fields: (t) => ({
    sessionId: t.exposeString('sessionId'),
    mode: t.exposeString('mode'),
    planKey: t.exposeString('planKey', { nullable: true }),
    packKey: t.exposeString('packKey', { nullable: true }),
    creditsGranted: t.exposeInt('creditsGranted'),
    subscriptionStatus: t.field({
      type: SubscriptionStatusEnum,
      nullable: true,
      resolve: (result) => result.subscriptionStatus,
    }),
    appliedAt: t.field({ type: 'DateTime', resolve: (result) => new Date(result.appliedAt) }),
  }),
});

export const BillingPortalSessionRef = builder
  .objectRef<{ url: string }>('BillingPortalSession')
  .implement({ fields: (t) => ({ url: t.exposeString('url') }) });

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
  }, { name: 'PaymentConnection' }, { name: 'PaymentEdge' }),
}));

export const PlanInput = builder.inputType('PlanInput', {
  fields: (t) => ({
    key: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string({ required: false }),
    tier: t.field({ type: TierEnum, required: true }),
    creditsPerPeriod: t.int({ required: true }),
    monthlyPriceCents: t.int({ required: true }),
    yearlyPriceCents: t.int({ required: true }),
    currency: t.string({ required: false }),
    stripeProductId: t.string({ required: false }),
    stripeMonthlyPriceId: t.string({ required: false }),
    stripeYearlyPriceId: t.string({ required: false }),
    features: t.stringList({ required: false }),
    badge: t.string({ required: false }),
    highlight: t.boolean({ required: false }),
    sortOrder: t.int({ required: false }),
    active: t.boolean({ required: false }),
    ctaType: t.field({ type: CallToActionTypeEnum, required: false }),
    ctaLabel: t.string({ required: false }),
    ctaUrl: t.string({ required: false }),
  }),
});

export const PlanUpdateInput = builder.inputType('PlanUpdateInput', {
  description: 'Fields to change; omitted fields stay as they are',
  fields: (t) => ({
    name: t.string({ required: false }),
    description: t.string({ required: false }),
    tier: t.field({ type: TierEnum, required: false }),
    creditsPerPeriod: t.int({ required: false }),
    monthlyPriceCents: t.int({ required: false }),
    yearlyPriceCents: t.int({ required: false }),
    currency: t.string({ required: false }),
    stripeProductId: t.string({ required: false }),
    stripeMonthlyPriceId: t.string({ required: false }),
    stripeYearlyPriceId: t.string({ required: false }),
    features: t.stringList({ required: false }),
    badge: t.string({ required: false }),
    highlight: t.boolean({ required: false }),
    sortOrder: t.int({ required: false }),
    active: t.boolean({ required: false }),
    ctaType: t.field({ type: CallToActionTypeEnum, required: false }),
    ctaLabel: t.string({ required: false }),
    ctaUrl: t.string({ required: false }),
  }),
});

export const CreditPackInput = builder.inputType('CreditPackInput', {
  fields: (t) => ({
    key: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string({ required: false }),
    credits: t.int({ required: true }),
    priceCents: t.int({ required: true }),
    currency: t.string({ required: false }),
    stripeProductId: t.string({ required: false }),
    stripePriceId: t.string({ required: false }),
    expiresInDays: t.int({ required: false }),
    badge: t.string({ required: false }),
    sortOrder: t.int({ required: false }),
    active: t.boolean({ required: false }),
  }),
});

export const CreditPackUpdateInput = builder.inputType('CreditPackUpdateInput', {
  fields: (t) => ({
    name: t.string({ required: false }),
    description: t.string({ required: false }),
    credits: t.int({ required: false }),
    priceCents: t.int({ required: false }),
    currency: t.string({ required: false }),
    stripeProductId: t.string({ required: false }),
    stripePriceId: t.string({ required: false }),
    expiresInDays: t.int({ required: false }),
    badge: t.string({ required: false }),
    sortOrder: t.int({ required: false }),
    active: t.boolean({ required: false }),
  }),
});

export const CreateCheckoutSessionInput = builder.inputType('CreateCheckoutSessionInput', {
  fields: (t) => ({
    planKey: t.string({ required: false, description: 'A plan to subscribe to (or packKey)' }),
    packKey: t.string({ required: false, description: 'A credit pack to buy once (or planKey)' }),
    interval: t.field({ type: BillingIntervalEnum, required: false, description: 'For plans; MONTH by default' }),
    successUrl: t.string({ required: true }),
    cancelUrl: t.string({ required: true }),
  }),
});
