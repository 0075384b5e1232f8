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
import { ownerOnly } from './visibility.js';
import { TierEnum } from './users.js';

export const analyticsDaysArgOptions = {
  required: true,
  defaultValue: 30,
  description: `Whole UTC days ending today, 1-${MAX_ANALYTICS_DAYS}`,
} as const;

const DailyGenerationsRef = builder.objectRef<DailyGenerations>('DailyGenerations').implement({
  description: 'Your generations on one UTC day',
  fields: (t) => ({
    date: t.exposeString('date', { description: 'YYYY-MM-DD (UTC)' }),
    total: t.exposeInt('total', { description: 'Generations requested' }),
    completed: t.exposeInt('completed', { description: 'Generations completed' }),
    failed: t.exposeInt('failed', { description: 'Generations failed (and refunded)' }),
    images: t.exposeInt('images', { description: 'Images produced by completed generations' }),
    credits: t.exposeInt('credits', { description: 'Credits charged, failed (refunded) generations excluded' }),
  }),
});

const OperationCreditsRef = builder.objectRef<OperationCredits>('OperationCredits').implement({
  description: 'Credits spent on one operation in the window',
  fields: (t) => ({
    operation: t.exposeString('operation', { description: 'The feature cost key' }),
    spent: t.exposeInt('spent', { description: 'Net of refunds' }),
    refunded: t.exposeInt('refunded', { description: 'Credits given back' }),
    uses: t.exposeInt('uses', { description: 'Ledger USAGE rows' }),
  }),
});

interface UserAnalyticsParent {
  userId: string;
  range: AnalyticsRange;
}

const UserAnalyticsRef = builder.objectRef<UserAnalyticsParent>('UserAnalytics').implement({
  description: 'Your figures over the last `days` days; each is computed only when asked for',
  fields: (t) => ({
    days: t.int({ description: 'The window length in days', resolve: ({ range }) => range.days }),
    from: t.field({ description: 'Start of the window (UTC midnight)', type: 'DateTime', resolve: ({ range }) => range.from }),
    dailyGenerations: t.field({
      type: [DailyGenerationsRef],
      description: 'One entry per day, oldest first, zeros included',
      resolve: ({ userId, range }, _args, context) => context.services.analytics.dailyGenerations(userId, range),
    }),
    creditsByOperation: t.field({
      description: 'Credits spent per operation in the window, most first',
      type: [OperationCreditsRef],
      resolve: ({ userId, range }, _args, context) => context.services.analytics.creditsByOperation(userId, range),
    }),
    remainingQuota: t.prismaField({
      description: 'The current balance; null before the first credit movement',
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
    description: 'Your own figures over the last days days; only the user themselves may read it (admins use systemAnalytics)',
    authScopes: ownerOnly,
    args: { days: t.arg.int(analyticsDaysArgOptions) },
    resolve: (user, args, context) => ({ userId: user.id, range: context.services.analytics.range(args.days) }),
  }),
}));

const UserCountsRef = builder.objectRef<{ total: number; active: number; new: number }>('UserCounts').implement({
  description: 'User counts for the window',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Users, all time' }),
    active: t.exposeInt('active', { description: 'Spent credits in the window' }),
    new: t.exposeInt('new', { description: 'Signed up in the window' }),
  }),
});

const TierSubscribersRef = builder.objectRef<{ tier: Tier; subscribers: number }>('TierSubscribers').implement({
  description: 'Subscribers of one tier',
  fields: (t) => ({ tier: t.expose('tier', { description: 'The tier', type: TierEnum }), subscribers: t.exposeInt('subscribers', { description: 'Users with an active, trialing or past-due subscription in it' }) }),
});

const StatusCountRef = builder.objectRef<{ status: GenerationStatus; count: number }>('GenerationStatusCount').implement({
  description: 'Generations in one status, created in the window',
  fields: (t) => ({ status: t.expose('status', { description: 'The status', type: GenerationStatusEnum }), count: t.exposeInt('count', { description: 'How many' }) }),
});

const DailyTrendRef = builder.objectRef<DailyTrend>('DailyTrend').implement({
  description: 'All users on one UTC day',
  fields: (t) => ({
    date: t.exposeString('date', { description: 'YYYY-MM-DD (UTC)' }),
    newUsers: t.exposeInt('newUsers', { description: 'Users who signed up' }),
    activeUsers: t.exposeInt('activeUsers', { description: 'Users who spent credits' }),
    generations: t.exposeInt('generations', { description: 'Generations requested' }),
    completedGenerations: t.exposeInt('completedGenerations', { description: 'Generations completed' }),
    failedGenerations: t.exposeInt('failedGenerations', { description: 'Generations failed' }),
    creditsSpent: t.exposeInt('creditsSpent', { description: 'Net of refunds' }),
    payments: t.exposeInt('payments', { description: 'Payments made' }),
  }),
});

const CurrencyRevenueRef = builder.objectRef<CurrencyRevenue>('CurrencyRevenue').implement({
  description: 'Money taken in one currency in the window, in integer cents',
  fields: (t) => ({
    currency: t.exposeString('currency', { description: 'Three-letter ISO 4217 code in lowercase' }),
    payments: t.exposeInt('payments', { description: 'Payments made' }),
    grossCents: t.exposeInt('grossCents', { description: 'Amount paid, in cents' }),
    refundedCents: t.exposeInt('refundedCents', { description: 'Amount refunded, in cents' }),
    netCents: t.exposeInt('netCents', { description: 'grossCents - refundedCents' }),
  }),
});

export const SystemAnalyticsRef = builder.objectRef<{ range: AnalyticsRange }>('SystemAnalytics').implement({
  description: 'Figures across all users over the last `days` days; each is one SQL aggregate, run only when asked for',
  fields: (t) => ({
    days: t.int({ description: 'The window length in days', resolve: ({ range }) => range.days }),
    from: t.field({ description: 'Start of the window (UTC midnight)', type: 'DateTime', resolve: ({ range }) => range.from }),
    users: t.field({ description: 'User counts', type: UserCountsRef, resolve: ({ range }, _args, context) => context.services.analytics.userCounts(range) }),
    subscribersByTier: t.field({
      type: [TierSubscribersRef],
      description: 'Users with an active, trialing or past-due subscription, now',
      resolve: (_parent, _args, context) => context.services.analytics.subscribersByTier(),
    }),
    generationsByStatus: t.field({
      description: 'Generations created in the window, per status',
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
