import {
  BillingNotConfiguredError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../services/errors.js';
import { builder } from '../schema/builder.js';
import { connectionTypes } from '../schema/connections.js';
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
import { withSomethingSelected } from './selection.js';

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
  }, ...connectionTypes('WebhookEvent', 'Stripe webhook events')),
}));

builder.mutationFields((t) => ({
  createCheckoutSession: t.withAuth({ loggedIn: true }).field({
    description: 'Starts a Stripe Checkout for a plan or a credit pack; send the customer to url. Signed-in users.',
    type: CheckoutSessionRef,
    errors: { types: stripeErrors, directResult: true },
    args: { input: t.arg({ type: CreateCheckoutSessionInput, required: true, description: 'What to buy and where to return' }) },
    resolve: (_root, { input }, context) => context.services.billing.createCheckoutSession(context.viewer.id, input),
  }),
  verifyCheckoutSession: t.withAuth({ loggedIn: true }).field({
    type: CheckoutResultRef,
    description: 'Applies a paid checkout once; calling it again (or the webhook) returns the same result',
    errors: { types: [...stripeErrors, ForbiddenError], directResult: true },
    args: { sessionId: t.arg.string({ required: true, description: 'The Stripe Checkout session id from createCheckoutSession' }) },
    resolve: (_root, args, context) => context.services.billing.verifyCheckoutSession(context.viewer.id, args.sessionId),
  }),
  createBillingPortalSession: t.withAuth({ loggedIn: true }).field({
    description: 'Opens the Stripe customer portal for your invoices, payment methods and cancellation. Signed-in users with a Stripe customer.',
    type: BillingPortalSessionRef,
    errors: { types: stripeErrors, directResult: true },
    args: { returnUrl: t.arg.string({ required: true, description: 'Where the portal sends the customer back (http or https)' }) },
    resolve: (_root, args, context) =>
      context.services.billing.createBillingPortalSession(context.viewer.id, args.returnUrl),
  }),
  cancelSubscription: t.withAuth({ loggedIn: true }).prismaField({
    description: 'Cancels your subscription at Stripe, at the end of the period by default; the allowance lasts until then',
    type: SubscriptionRef,
    errors: { types: stripeErrors, directResult: true },
    args: {
      atPeriodEnd: t.arg.boolean({
        required: false,
        defaultValue: true,
        description: 'True (default): end at currentPeriodEnd and keep access until then; false: end now',
      }),
    },
    resolve: async (query, _root, args, context) => {
      const subscription = await context.services.billing.cancelSubscription(context.viewer.id, args.atPeriodEnd ?? true);
      return context.prisma.subscription.findUniqueOrThrow({ ...query, where: { id: subscription.id } });
    },
  }),
  resumeSubscription: t.withAuth({ loggedIn: true }).prismaField({
    description: 'Undoes a cancel-at-period-end before the period ends',
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
    args: { planKey: t.arg.string({ required: true, description: 'Key of the plan to move to' }) },
    resolve: async (query, _root, args, context) => {
      const subscription = await context.services.billing.changePlan(context.viewer.id, args.planKey);
      return context.prisma.subscription.findUniqueOrThrow({ ...query, where: { id: subscription.id } });
    },
  }),

  createPlan: t.withAuth({ admin: true }).prismaField({
    type: PlanRef,
    description: 'Admin: adds a plan. Audited.',
    errors: { types: [ValidationError], directResult: true },
    args: { input: t.arg({ type: PlanInput, required: true, description: 'The new plan' }) },
    resolve: async (query, _root, { input }, context) => {
      const plan = await context.services.billing.catalog.createPlan(context.viewer.id, input);
      return context.prisma.plan.findUniqueOrThrow({ ...query, where: { id: plan.id } });
    },
  }),
  updatePlan: t.withAuth({ admin: true }).prismaField({
    type: PlanRef,
    description: 'Admin: changes a plan. Audited.',
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    args: {
      key: t.arg.string({ required: true, description: 'Key of the plan' }),
      input: t.arg({ type: PlanUpdateInput, required: true, description: 'Fields to change' }),
    },
    resolve: async (query, _root, args, context) => {
      const plan = await context.services.billing.catalog.updatePlan(context.viewer.id, args.key, args.input);
      return context.prisma.plan.findUniqueOrThrow({ ...query, where: { id: plan.id } });
    },
  }),
  archivePlan: t.withAuth({ admin: true }).prismaField({
    type: PlanRef,
    description: 'Admin: takes a plan off sale; existing subscribers keep it. Audited.',
    errors: { types: [NotFoundError], directResult: true },
    args: { key: t.arg.string({ required: true, description: 'Key of the plan' }) },
    resolve: async (query, _root, args, context) => {
      const plan = await context.services.billing.catalog.archivePlan(context.viewer.id, args.key);
      return context.prisma.plan.findUniqueOrThrow({ ...query, where: { id: plan.id } });
    },
  }),
  reorderPlans: t.withAuth({ admin: true }).prismaField({
    type: [PlanRef],
    description: 'Admin: sets the display order to the order of the keys given. Audited.',
    errors: { types: [ValidationError, NotFoundError], dataField: { description: 'Every plan in the new order' } },
    args: { keys: t.arg.stringList({ required: true, description: 'Plan keys in the order to show them; every plan key once' }) },
    resolve: async (query, _root, args, context) => {
      await context.services.billing.catalog.reorderPlans(context.viewer.id, args.keys);
      return context.prisma.plan.findMany({ ...withSomethingSelected(query), orderBy: order });
    },
  }),
  createCreditPack: t.withAuth({ admin: true }).prismaField({
    type: CreditPackRef,
    description: 'Admin: adds a credit pack. Audited.',
    errors: { types: [ValidationError], directResult: true },
    args: { input: t.arg({ type: CreditPackInput, required: true, description: 'The new credit pack' }) },
    resolve: async (query, _root, { input }, context) => {
      const pack = await context.services.billing.catalog.createPack(context.viewer.id, input);
      return context.prisma.creditPack.findUniqueOrThrow({ ...query, where: { id: pack.id } });
    },
  }),
  updateCreditPack: t.withAuth({ admin: true }).prismaField({
    type: CreditPackRef,
    description: 'Admin: changes a credit pack. Audited.',
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    args: {
      key: t.arg.string({ required: true, description: 'Key of the credit pack' }),
      input: t.arg({ type: CreditPackUpdateInput, required: true, description: 'Fields to change' }),
    },
    resolve: async (query, _root, args, context) => {
      const pack = await context.services.billing.catalog.updatePack(context.viewer.id, args.key, args.input);
      return context.prisma.creditPack.findUniqueOrThrow({ ...query, where: { id: pack.id } });
    },
  }),
  archiveCreditPack: t.withAuth({ admin: true }).prismaField({
    type: CreditPackRef,
    description: 'Admin: takes a credit pack off sale. Audited.',
    errors: { types: [NotFoundError], directResult: true },
    args: { key: t.arg.string({ required: true, description: 'Key of the credit pack' }) },
    resolve: async (query, _root, args, context) => {
      const pack = await context.services.billing.catalog.archivePack(context.viewer.id, args.key);
      return context.prisma.creditPack.findUniqueOrThrow({ ...query, where: { id: pack.id } });
    },
  }),
  reorderCreditPacks: t.withAuth({ admin: true }).prismaField({
    type: [CreditPackRef],
    description: 'Admin: sets the display order to the order of the keys given. Audited.',
    errors: { types: [ValidationError, NotFoundError], dataField: { description: 'Every credit pack in the new order' } },
    args: { keys: t.arg.stringList({ required: true, description: 'Credit pack keys in the order to show them; every pack key once' }) },
    resolve: async (query, _root, args, context) => {
      await context.services.billing.catalog.reorderPacks(context.viewer.id, args.keys);
      return context.prisma.creditPack.findMany({ ...withSomethingSelected(query), orderBy: order });
    },
  }),
  replayWebhookEvent: t.withAuth({ admin: true }).prismaField({
    type: WebhookEventRef,
    description: 'Admin: queues a stored Stripe event for processing again. Audited.',
    errors: { types: [NotFoundError, ConflictError], directResult: true },
    args: { eventId: t.arg.string({ required: true, description: 'The Stripe event id (evt_...)' }) },
    resolve: async (query, _root, args, context) => {
      await context.services.billing.replayWebhookEvent(context.viewer.id, args.eventId);
      return context.prisma.webhookEvent.findUniqueOrThrow({ ...query, where: { id: args.eventId } });
    },
  }),
}));
