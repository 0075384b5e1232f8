import { z } from 'zod';
import type {
  AnalyticsRange,
  CurrencyRevenue,
  DailyGenerations,
  DailyTrend,
  OperationCredits,
} from '../services/analytics.js';
import { MAX_ANALYTICS_DAYS } from '../services/analytics.js';
import type { GenerationStatus, Tier } from '../generated/prisma/enums.js';
import { builder } from './builder.js';
import { CreditBalanceRef } from './credits.js';
import { GenerationStatusEnum } from './generations.js';
import { ownerOnly } from './storage.js';
import { TierEnum } from './users.js';

export const analyticsDaysArgOptions = {
  required: true,
  defaultValue: 30,
  description: `Whole UTC days ending today, 1-${MAX_ANALYTICS_DAYS}`,
  validate: z.number().int().min(1).max(MAX_ANALYTICS_DAYS),
} as const;

const DailyGenerationsRef = builder.objectRef<DailyGenerations>('DailyGenerations').implement({
  fields: (t) => ({
    date: t.exposeString('date', { description: 'YYYY-MM-DD (UTC)' }),
    total: t.exposeInt('total'),
    completed: t.exposeInt('completed'),
    failed: t.exposeInt('failed'),
    images: t.exposeInt('images', { description: 'Images produced by completed generations' }),
    credits: t.exposeInt('credits', { description: 'Credits charged, failed (refunded) generations excluded' }),
  }),
});

const OperationCreditsRef = builder.objectRef<OperationCredits>('OperationCredits').implement({
  fields: (t) => ({
    operation: t.exposeString('operation'),
    spent: t.exposeInt('spent', { description: 'Net of refunds' }),
    refunded: t.exposeInt('refunded'),
    uses: t.exposeInt('uses'),
  }),
});

interface UserAnalyticsParent {
  userId: string;
  range: AnalyticsRange;
}

const UserAnalyticsRef = builder.objectRef<UserAnalyticsParent>('UserAnalytics').implement({
  description: 'Your figures over the last `days` days; each is computed only when asked for',
  fields: (t) => ({
    days: t.int({ resolve: ({ range }) => range.days }),
    from: t.field({ type: 'DateTime', resolve: ({ range }) => range.from }),
    dailyGenerations: t.field({
      type: [DailyGenerationsRef],
      description: 'One entry per day, oldest first, zeros included',
      resolve: ({ userId, range }, _args, context) => context.services.analytics.dailyGenerations(userId, range),
    }),
    creditsByOperation: t.field({
      type: [OperationCreditsRef],
      resolve: ({ userId, range }, _args, context) => context.services.analytics.creditsByOperation(userId, range),
    }),
    remainingQuota: t.prismaField({
      type: CreditBalanceRef,
      nullable: true,
      resolve: (query, { userId }, _args, context) => context.prisma.creditBalance.findUnique({ ...query, where: { userId } }),
    }),
    lifetimeImages: t.int({
      description: 'Images ever generated, deleted ones included',
      resolve: ({ userId }, _args, context) => context.services.analytics.lifetimeImages(userId),
    }),
  }),
});

builder.prismaObjectFields('User', (t) => ({
  analytics: t.field({
    type: UserAnalyticsRef,
    authScopes: ownerOnly,
    args: { days: t.arg.int(analyticsDaysArgOptions) },
    resolve: (user, args, context) => ({ userId: user.id, range: context.services.analytics.range(args.days) }),
  }),
}));

const UserCountsRef = builder.objectRef<{ total: number; active: number; new: number }>('UserCounts').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    active: t.exposeInt('active', { description: 'Spent credits in the window' }),
    new: t.exposeInt('new', { description: 'Signed up in the window' }),
  }),
});

const TierSubscribersRef = builder.objectRef<{ tier: Tier; subscribers: number }>('TierSubscribers').implement({
  fields: (t) => ({ tier: t.expose('tier', { type: TierEnum }), subscribers: t.exposeInt('subscribers') }),
});

const StatusCountRef = builder.objectRef<{ status: GenerationStatus; count: number }>('GenerationStatusCount').implement({
  fields: (t) => ({ status: t.expose('status', { type: GenerationStatusEnum }), count: t.exposeInt('count') }),
});

const DailyTrendRef = builder.objectRef<DailyTrend>('DailyTrend').implement({
  fields: (t) => ({
    date: t.exposeString('date', { description: 'YYYY-MM-DD (UTC)' }),
    newUsers: t.exposeInt('newUsers'),
    activeUsers: t.exposeInt('activeUsers'),
    generations: t.exposeInt('generations'),
    completedGenerations: t.exposeInt('completedGenerations'),
    failedGenerations: t.exposeInt('failedGenerations'),
    creditsSpent: t.exposeInt('creditsSpent', { description: 'Net of refunds' }),
    payments: t.exposeInt('payments'),
  }),
});

const CurrencyRevenueRef = builder.objectRef<CurrencyRevenue>('CurrencyRevenue').implement({
  fields: (t) => ({
    currency: t.exposeString('currency'),
    payments: t.exposeInt('payments'),
    grossCents: t.exposeFloat('grossCents'),
    refundedCents: t.exposeFloat('refundedCents'),
    netCents: t.exposeFloat('netCents'),
  }),
});

export const SystemAnalyticsRef = builder.objectRef<{ range: AnalyticsRange }>('SystemAnalytics').implement({
  description: 'Figures across all users over the last `days` days; each is one SQL aggregate, run only when asked for',
  fields: (t) => ({
    days: t.int({ resolve: ({ range }) => range.days }),
    from: t.field({ type: 'DateTime', resolve: ({ range }) => range.from }),
    users: t.field({ type: UserCountsRef, resolve: ({ range }, _args, context) => context.services.analytics.userCounts(range) }),
    subscribersByTier: t.field({
      type: [TierSubscribersRef],
      description: 'Users with an active, trialing or past-due subscription, now',
      resolve: (_parent, _args, context) => context.services.analytics.subscribersByTier(),
    }),
    generationsByStatus: t.field({
      type: [StatusCountRef],
      resolve: ({ range }, _args, context) => context.services.analytics.generationsByStatus(range),
    }),
    dailyTrends: t.field({
      type: [DailyTrendRef],
      description: 'One entry per day, oldest first, zeros included',
      resolve: ({ range }, _args, context) => context.services.analytics.dailyTrends(range),
    }),
    revenue: t.field({
      type: [CurrencyRevenueRef],
      description: 'Payments made in the window, per currency',
      resolve: ({ range }, _args, context) => context.services.analytics.revenue(range),
    }),
  }),
});
