import { builder } from '../schema/builder.js';
import { analyticsDaysArgOptions, SystemAnalyticsRef } from '../schema/analytics.js';

builder.queryFields((t) => ({
  systemAnalytics: t.withAuth({ admin: true }).field({
    type: SystemAnalyticsRef,
    description: 'Admin: users, subscribers, generations, daily trends and revenue',
    args: { days: t.arg.int(analyticsDaysArgOptions) },
    resolve: (_root, args, context) => ({ range: context.services.analytics.range(args.days) }),
  }),
}));
