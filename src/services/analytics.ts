import { z } from 'zod';
import type { GenerationStatus, Tier } from '../generated/prisma/enums.js';
import type { Db } from '../db/client.js';
import { integerBetween, parseInput } from './validation.js';

export const MAX_ANALYTICS_DAYS = 366;
const rangeInput = z.object({ days: integerBetween(1, MAX_ANALYTICS_DAYS) });

/** A window of whole UTC days ending today: `days` = 1 is today only. */
export interface AnalyticsRange {
  days: number;
  /** First day, YYYY-MM-DD (UTC). */
  fromDay: string;
  /** Last day (today), YYYY-MM-DD (UTC). */
  toDay: string;
  from: Date;
}

export interface DailyGenerations {
  date: string;
  total: number;
  completed: number;
  failed: number;
  images: number;
  credits: number;
}

export interface OperationCredits {
  operation: string;
  /** Credits spent net of refunds. */
  spent: number;
  refunded: number;
  uses: number;
}

export interface DailyTrend {
  date: string;
  newUsers: number;
  activeUsers: number;
  generations: number;
  completedGenerations: number;
  failedGenerations: number;
  creditsSpent: number;
  payments: number;
}

export interface CurrencyRevenue {
  currency: string;
  payments: number;
  grossCents: number;
  refundedCents: number;
  netCents: number;
}

const TIERS: Tier[] = ['FREE', 'PLUS', 'PRO'];
const STATUSES: GenerationStatus[] = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'];
const dayOf = (date: Date) => date.toISOString().slice(0, 10);

/**
 * Per-user and system-wide figures. Every figure is one aggregate SQL statement (GROUP BY, FILTER,
 * generate_series for the calendar), so the cost does not grow with rows in application code. Days are UTC; the
 * timestamp columns hold UTC. Soft-deleted generations still count: deleting an image does not undo its usage.
 */
export class AnalyticsService {
  constructor(
    private readonly deps: { prisma: Db; now?: () => Date },
  ) {}

  range(days: number): AnalyticsRange {
    parseInput(rangeInput, { days });
    const now = this.deps.now?.() ?? new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
    return { days, fromDay: dayOf(from), toDay: dayOf(now), from };
  }

  // ------------------------------------------------------------------ one user

  async dailyGenerations(userId: string, range: AnalyticsRange): Promise<DailyGenerations[]> {
    return this.deps.prisma.$queryRaw<DailyGenerations[]>`
      SELECT to_char(d.day, 'YYYY-MM-DD') AS date,
             COUNT(g.id)::int AS total,
             COUNT(g.id) FILTER (WHERE g.status = 'COMPLETED')::int AS completed,
             COUNT(g.id) FILTER (WHERE g.status = 'FAILED')::int AS failed,
             COALESCE(SUM(g.count) FILTER (WHERE g.status = 'COMPLETED'), 0)::int AS images,
             COALESCE(SUM(g.credits) FILTER (WHERE g.status <> 'FAILED'), 0)::int AS credits
      FROM generate_series(${range.fromDay}::date, ${range.toDay}::date, interval '1 day') AS d(day)
      LEFT JOIN "ImageGeneration" g
        ON g."userId" = ${userId}::uuid AND g."createdAt" >= d.day AND g."createdAt" < d.day + interval '1 day'
      GROUP BY d.day
      ORDER BY d.day`;
  }

  async creditsByOperation(userId: string, range: AnalyticsRange): Promise<OperationCredits[]> {
    return this.deps.prisma.$queryRaw<OperationCredits[]>`
      SELECT COALESCE(operation, 'UNSPECIFIED') AS operation,
             (-SUM(amount))::int AS spent,
             COALESCE(SUM(amount) FILTER (WHERE kind = 'REFUND'), 0)::int AS refunded,
             COUNT(*) FILTER (WHERE kind = 'USAGE')::int AS uses
      FROM "CreditTransaction"
      WHERE "userId" = ${userId}::uuid AND kind IN ('USAGE', 'REFUND') AND "createdAt" >= ${range.fromDay}::timestamp
      GROUP BY 1
      ORDER BY spent DESC, operation`;
  }

  /** Images ever produced for the user, deleted ones included. */
  async lifetimeImages(userId: string): Promise<number> {
    const [row] = await this.deps.prisma.$queryRaw<{ images: number }[]>`
      SELECT COUNT(*)::int AS images
      FROM "GenerationImage" i JOIN "ImageGeneration" g ON g.id = i."generationId"
      WHERE g."userId" = ${userId}::uuid`;
    return row.images;
  }

  // ------------------------------------------------------------------ the whole system (admin)

  /** Users not deleted; active = spent credits (a generation or any paid operation) in the window. */
  async userCounts(range: AnalyticsRange): Promise<{ total: number; active: number; new: number }> {
    const [row] = await this.deps.prisma.$queryRaw<{ total: number; active: number; new: number }[]>`
      SELECT (SELECT COUNT(*) FROM "User" WHERE "deletedAt" IS NULL)::int AS total,
             (SELECT COUNT(*) FROM "User" WHERE "deletedAt" IS NULL AND "createdAt" >= ${range.fromDay}::timestamp)::int AS new,
             (SELECT COUNT(DISTINCT "userId") FROM "CreditTransaction"
               WHERE kind = 'USAGE' AND "createdAt" >= ${range.fromDay}::timestamp)::int AS active`;
    return row;
  }

  /** Users with a live subscription (active, trialing, past due) by the tier of its plan. */
  async subscribersByTier(): Promise<{ tier: Tier; subscribers: number }[]> {
    const rows = await this.deps.prisma.$queryRaw<{ tier: Tier; subscribers: number }[]>`
      SELECT COALESCE(p.tier, u.tier)::text AS tier, COUNT(DISTINCT s."userId")::int AS subscribers
      FROM "Subscription" s
      JOIN "User" u ON u.id = s."userId"
      LEFT JOIN "Plan" p ON p.id = s."planId"
      WHERE s.status IN ('ACTIVE', 'TRIALING', 'PAST_DUE') AND u."deletedAt" IS NULL
      GROUP BY 1`;
    return TIERS.map((tier) => ({ tier, subscribers: rows.find((row) => row.tier === tier)?.subscribers ?? 0 }));
  }

  async generationsByStatus(range: AnalyticsRange): Promise<{ status: GenerationStatus; count: number }[]> {
    const rows = await this.deps.prisma.$queryRaw<{ status: GenerationStatus; count: number }[]>`
      SELECT status::text AS status, COUNT(*)::int AS count
      FROM "ImageGeneration"
      WHERE "createdAt" >= ${range.fromDay}::timestamp
      GROUP BY status`;
    return STATUSES.map((status) => ({ status, count: rows.find((row) => row.status === status)?.count ?? 0 }));
  }

  async dailyTrends(range: AnalyticsRange): Promise<DailyTrend[]> {
    return this.deps.prisma.$queryRaw<DailyTrend[]>`
      WITH days AS (
        SELECT d::date AS day FROM generate_series(${range.fromDay}::date, ${range.toDay}::date, interval '1 day') AS d
      ), signups AS (
        SELECT "createdAt"::date AS day, COUNT(*) AS n
        FROM "User" WHERE "createdAt" >= ${range.fromDay}::timestamp AND "deletedAt" IS NULL GROUP BY 1
      ), generations AS (
        SELECT "createdAt"::date AS day,
               COUNT(*) AS total,
               COUNT(*) FILTER (WHERE status = 'COMPLETED') AS completed,
               COUNT(*) FILTER (WHERE status = 'FAILED') AS failed
        FROM "ImageGeneration" WHERE "createdAt" >= ${range.fromDay}::timestamp GROUP BY 1
      ), usage AS (
        SELECT "createdAt"::date AS day,
               COUNT(DISTINCT "userId") FILTER (WHERE kind = 'USAGE') AS active,
               -SUM(amount) AS spent
        FROM "CreditTransaction"
        WHERE kind IN ('USAGE', 'REFUND') AND "createdAt" >= ${range.fromDay}::timestamp GROUP BY 1
      ), paid AS (
        SELECT "paidAt"::date AS day, COUNT(*) AS n
        FROM "Payment"
        WHERE "paidAt" >= ${range.fromDay}::timestamp AND status IN ('PAID', 'REFUNDED', 'PARTIALLY_REFUNDED')
        GROUP BY 1
      )
      SELECT to_char(days.day, 'YYYY-MM-DD') AS date,
             COALESCE(signups.n, 0)::int AS "newUsers",
             COALESCE(usage.active, 0)::int AS "activeUsers",
             COALESCE(generations.total, 0)::int AS generations,
             COALESCE(generations.completed, 0)::int AS "completedGenerations",
             COALESCE(generations.failed, 0)::int AS "failedGenerations",
             COALESCE(usage.spent, 0)::int AS "creditsSpent",
             COALESCE(paid.n, 0)::int AS payments
      FROM days
      LEFT JOIN signups USING (day)
      LEFT JOIN generations USING (day)
      LEFT JOIN usage USING (day)
      LEFT JOIN paid USING (day)
      ORDER BY days.day`;
  }

  /** Payments made in the window, per currency; refunds count against the payment they refund. */
  async revenue(range: AnalyticsRange): Promise<CurrencyRevenue[]> {
    const rows = await this.deps.prisma.$queryRaw<
      { currency: string; payments: number; grossCents: bigint; refundedCents: bigint }[]
    >`
      SELECT lower(currency) AS currency,
             COUNT(*)::int AS payments,
             SUM("amountCents")::bigint AS "grossCents",
             SUM("amountRefundedCents")::bigint AS "refundedCents"
      FROM "Payment"
      WHERE "paidAt" >= ${range.fromDay}::timestamp AND status IN ('PAID', 'REFUNDED', 'PARTIALLY_REFUNDED')
      GROUP BY 1
      ORDER BY 1`;
    return rows.map((row) => ({
      currency: row.currency,
      payments: row.payments,
      grossCents: Number(row.grossCents),
      refundedCents: Number(row.refundedCents),
      netCents: Number(row.grossCents) - Number(row.refundedCents),
    }));
  }
}
