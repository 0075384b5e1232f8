import {
  BillingNotConfiguredError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../services/errors.js';
import { builder } from '../schema/builder.js';
import {
  BillingPortalSessionRef,
  CheckoutResultRef,
  CheckoutSessionRef,
  CreateCheckoutSessionInput,
  CreditPackInput,
  CreditPackRef,
  CreditPackUpdateInput,
  PlanInput,
  PlanRef,
  PlanUpdateInput,
  SubscriptionRef,
  WebhookEventRef,
} from '../schema/billing.js';

const stripeErrors = [BillingNotConfiguredError, ValidationError, NotFoundError, ConflictError];
const order = [{ sortOrder: 'asc' as const }, { key: 'asc' as const }];

builder.queryFields((t) => ({
  plans: t.prismaField({
    type: [PlanRef],
    description: 'The plans on sale, in display order',
    resolve: (query, _root, _args, context) =>
      context.prisma.plan.findMany({ ...query, where: { active: true }, orderBy: order }),
  }),
  creditPacks: t.prismaField({
    type: [CreditPackRef],
    description: 'The credit packs on sale, in display order',
    resolve: (query, _root, _args, context) =>
      context.prisma.creditPack.findMany({ ...query, where: { active: true }, orderBy: order }),
  }),
  allPlans: t.withAuth({ admin: true }).prismaField({
    type: [PlanRef],
    description: 'Admin: every plan, archived ones included',
    resolve: (query, _root, _args, context) => context.prisma.plan.findMany({ ...query, orderBy: order }),
  }),
  allCreditPacks: t.withAuth({ admin: true }).prismaField({
    type: [CreditPackRef],
    description: 'Admin: every credit pack, archived ones included',
    resolve: (query, _root, _args, context) => context.prisma.creditPack.findMany({ ...query, orderBy: order }),
  }),
  failedWebhookEvents: t.withAuth({ admin: true }).prismaConnection({
    type: WebhookEventRef,
    cursor: 'id',
    maxSize: 100,
    defaultSize: 20,
    totalCount: (_parent, _args, context) => context.prisma.webhookEvent.count({ where: { status: 'FAILED' } }),
    description: 'Admin: Stripe events whose processing failed, newest first',
    resolve: (query, _root, _args, context) =>
      context.prisma.webhookEvent.findMany({ ...query, where: { status: 'FAILED' }, orderBy: { id: 'desc' } }),
  }, { name: 'WebhookEventConnection' }, { name: 'WebhookEventEdge' }),
}));

builder.mutationFields((t) => ({
  createCheckoutSession: t.withAuth({ loggedIn: true }).field({
    type: CheckoutSessionRef,
    errors: { types: stripeErrors, directResult: true },
    args: { input: t.arg({ type: CreateCheckoutSessionInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.billing.createCheckoutSession(context.viewer.id, input),
  }),
  verifyCheckoutSession: t.withAuth({ loggedIn: true }).field({
    type: CheckoutResultRef,
    description: 'Applies a paid checkout once; calling it again (or the webhook) returns the same result',
    errors: { types: [...stripeErrors, ForbiddenError], directResult: true },
    args: { sessionId: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => context.services.billing.verifyCheckoutSession(context.viewer.id, args.sessionId),
  }),
  createBillingPortalSession: t.withAuth({ loggedIn: true }).field({
    type: BillingPortalSessionRef,
    errors: { types: stripeErrors, directResult: true },
    args: { returnUrl: t.arg.string({ required: true }) },
    resolve: (_root, args, context) =>
      context.services.billing.createBillingPortalSession(context.viewer.id, args.returnUrl),
  }),
  cancelSubscription: t.withAuth({ loggedIn: true }).prismaField({
    type: SubscriptionRef,
    errors: { types: stripeErrors, directResult: true },
    args: { atPeriodEnd: t.arg.boolean({ required: false, defaultValue: true }) },
    resolve: async (query, _root, args, context) => {
      const subscription = await context.services.billing.cancelSubscription(context.viewer.id, args.atPeriodEnd ?? true);
      return context.prisma.subscription.findUniqueOrThrow({ ...query, where: { id: subscription.id } });
    },
  }),
  resumeSubscription: t.withAuth({ loggedIn: true }).prismaField({
    type: SubscriptionRef,
    errors: { types: stripeErrors, directResult: true },
    resolve: async (query, _root, _args, context) => {
      const subscription = await context.services.billing.resumeSubscription(context.viewer.id);
      return context.prisma.subscription.findUniqueOrThrow({ ...query, where: { id: subscription.id } });
    },
  }),
  changePlan: t.withAuth({ loggedIn: true }).prismaField({
    type: SubscriptionRef,
    description: 'Moves the subscription to another plan; Stripe prorates the difference',
    errors: { types: stripeErrors, directResult: true },
    args: { planKey: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const subscription = await context.services.billing.changePlan(context.viewer.id, args.planKey);
      return context.prisma.subscription.findUniqueOrThrow({ ...query, where: { id: subscription.id } });
    },
  }),

  createPlan: t.withAuth({ admin: true }).prismaField({
    type: PlanRef,
    description: 'Admin: adds a plan. Audited.',
    errors: { types: [ValidationError], directResult: true },
    args: { input: t.arg({ type: PlanInput, required: true }) },
    resolve: async (query, _root, { input }, context) => {
      const plan = await context.services.billing.catalog.createPlan(context.viewer.id, input);
      return context.prisma.plan.findUniqueOrThrow({ ...query, where: { id: plan.id } });
    },
  }),
  updatePlan: t.withAuth({ admin: true }).prismaField({
    type: PlanRef,
    description: 'Admin: changes a plan. Audited.',
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    args: { key: t.arg.string({ required: true }), input: t.arg({ type: PlanUpdateInput, required: true }) },
    resolve: async (query, _root, args, context) => {
      const plan = await context.services.billing.catalog.updatePlan(context.viewer.id, args.key, args.input);
      return context.prisma.plan.findUniqueOrThrow({ ...query, where: { id: plan.id } });
    },
  }),
  archivePlan: t.withAuth({ admin: true }).prismaField({
    type: PlanRef,
    description: 'Admin: takes a plan off sale; existing subscribers keep it. Audited.',
    errors: { types: [NotFoundError], directResult: true },
    args: { key: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const plan = await context.services.billing.catalog.archivePlan(context.viewer.id, args.key);
      return context.prisma.plan.findUniqueOrThrow({ ...query, where: { id: plan.id } });
    },
  }),
  reorderPlans: t.withAuth({ admin: true }).prismaField({
    type: [PlanRef],
    description: 'Admin: sets the display order to the order of the keys given. Audited.',
    errors: { types: [ValidationError, NotFoundError] },
    args: { keys: t.arg.stringList({ required: true }) },
    resolve: async (query, _root, args, context) => {
      await context.services.billing.catalog.reorderPlans(context.viewer.id, args.keys);
      return context.prisma.plan.findMany({ ...query, orderBy: order });
    },
  }),
  createCreditPack: t.withAuth({ admin: true }).prismaField({
    type: CreditPackRef,
    description: 'Admin: adds a credit pack. Audited.',
    errors: { types: [ValidationError], directResult: true },
    args: { input: t.arg({ type: CreditPackInput, required: true }) },
    resolve: async (query, _root, { input }, context) => {
      const pack = await context.services.billing.catalog.createPack(context.viewer.id, input);
      return context.prisma.creditPack.findUniqueOrThrow({ ...query, where: { id: pack.id } });
    },
  }),
  updateCreditPack: t.withAuth({ admin: true }).prismaField({
    type: CreditPackRef,
    description: 'Admin: changes a credit pack. Audited.',
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    args: { key: t.arg.string({ required: true }), input: t.arg({ type: CreditPackUpdateInput, required: true }) },
    resolve: async (query, _root, args, context) => {
      const pack = await context.services.billing.catalog.updatePack(context.viewer.id, args.key, args.input);
      return context.prisma.creditPack.findUniqueOrThrow({ ...query, where: { id: pack.id } });
    },
  }),
  archiveCreditPack: t.withAuth({ admin: true }).prismaField({
    type: CreditPackRef,
    description: 'Admin: takes a credit pack off sale. Audited.',
    errors: { types: [NotFoundError], directResult: true },
    args: { key: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const pack = await context.services.billing.catalog.archivePack(context.viewer.id, args.key);
      return context.prisma.creditPack.findUniqueOrThrow({ ...query, where: { id: pack.id } });
    },
  }),
  reorderCreditPacks: t.withAuth({ admin: true }).prismaField({
    type: [CreditPackRef],
    description: 'Admin: sets the display order to the order of the keys given. Audited.',
    errors: { types: [ValidationError, NotFoundError] },
    args: { keys: t.arg.stringList({ required: true }) },
    resolve: async (query, _root, args, context) => {
      await context.services.billing.catalog.reorderPacks(context.viewer.id, args.keys);
      return context.prisma.creditPack.findMany({ ...query, orderBy: order });
    },
  }),
  replayWebhookEvent: t.withAuth({ admin: true }).prismaField({
    type: WebhookEventRef,
    description: 'Admin: queues a stored Stripe event for processing again. Audited.',
    errors: { types: [NotFoundError, ConflictError], directResult: true },
    args: { eventId: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, context) => {
      await context.services.billing.replayWebhookEvent(context.viewer.id, args.eventId);
      return context.prisma.webhookEvent.findUniqueOrThrow({ ...query, where: { id: args.eventId } });
    },
  }),
}));
