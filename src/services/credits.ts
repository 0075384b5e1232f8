import { Prisma } from '../generated/prisma/client.js';
import type {
  CreditBalance,
  CreditGrantSource,
  CreditReservation,
  CreditTransaction,
  CreditTransactionKind,
  Tier,
  User,
} from '../generated/prisma/client.js';
import type { Db, Tx } from '../db/client.js';
import type { Logger } from '../logger.js';
import { recordAdminAction } from './audit.js';
import { ConflictError, InsufficientCreditsError, NotFoundError, ValidationError } from './errors.js';
import type { RateLimiter } from './rate-limit.js';

export const DEFAULT_ALLOWANCE: Record<Tier, number> = { FREE: 10, PLUS: 100, PRO: 1000 };
export const DEFAULT_FEATURE_COSTS: Record<string, { cost: number; description: string }> = {
  AI_IMAGE_GENERATION: { cost: 10, description: 'One generated image at standard quality' },
  AI_TEXT_CHAT: { cost: 5, description: 'One chat completion' },
};

export interface CreditsConfig {
  periodDays: number;
  freeAllowance: number;
  reservationTtlSeconds: number;
  detailsMaxBytes: number;
}

export interface CreditsServiceDeps {
  prisma: Db;
  log: Logger;
  config: CreditsConfig;
  rateLimiter: RateLimiter;
  now?: () => Date;
}

export interface Movement {
  transaction: CreditTransaction;
  balance: CreditBalance;
  /** True when the idempotency key had been used before: nothing moved this time. */
  replayed: boolean;
}

export interface ReservationResult {
  reservation: CreditReservation;
  balance: CreditBalance;
  replayed: boolean;
}

type GrantDraw = { grantId: string; amount: number };
type Details = Record<string, unknown>;

const OPERATION = /^[A-Z][A-Z0-9_]{1,63}$/;
const IDEMPOTENCY_KEY = /^[\w.:-]{1,128}$/;
const MAX_AMOUNT = 1_000_000;

export const available = (balance: Pick<CreditBalance, 'allowanceRemaining' | 'grantedRemaining'>) =>
  balance.allowanceRemaining + balance.grantedRemaining;

function addDays(date: Date, days: number) {
  return new Date(date.getTime() + days * 86_400_000);
}

/** The same day of the next month(s), or that month's last day when it is shorter (Jan 31 -> Feb 28). */
function addMonths(date: Date, months: number) {
  const result = new Date(date);
  const day = result.getUTCDate();
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate();
  result.setUTCDate(Math.min(day, lastDay));
  return result;
}

const earliest = (a: Date, b: Date) => (a <= b ? a : b);

/** Whether the balance's period is over and its allowance may renew by itself (free, or inside the paid time). */
const allowanceRenewalDue = (
  balance: Pick<CreditBalance, 'nextResetAt' | 'allowanceRenewsUntil'>,
  now: Date,
) => balance.nextResetAt <= now && (!balance.allowanceRenewsUntil || balance.nextResetAt < balance.allowanceRenewsUntil);

/**
 * Every credit movement of the product. Each one runs in a transaction that first locks the user's balance row
 * (SELECT ... FOR UPDATE), so concurrent movements on one user serialise, and writes its ledger row in the same
 * transaction: the ledger always sums to the balance.
 */
export class CreditsService {
  private readonly now: () => Date;

  constructor(private readonly deps: CreditsServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  // ------------------------------------------------------------------ validation

  private validateAmount(amount: number, field = 'amount') {
    if (!Number.isInteger(amount) || amount <= 0) throw ValidationError.forField(field, 'must be a positive integer');
    if (amount > MAX_AMOUNT) throw ValidationError.forField(field, `must be at most ${MAX_AMOUNT}`);
  }

  private validateKey(key: string | null | undefined) {
    if (key != null && !IDEMPOTENCY_KEY.test(key)) {
      throw ValidationError.forField('idempotencyKey', 'must be 1-128 letters, digits, or . _ : -');
    }
  }

  private validateDetails(details: Details | null | undefined) {
    if (details && Buffer.byteLength(JSON.stringify(details)) > this.deps.config.detailsMaxBytes) {
      throw ValidationError.forField('details', `must be at most ${this.deps.config.detailsMaxBytes} bytes of JSON`);
    }
  }

  /** Pass the open transaction when there is one: a second connection taken while holding one can starve the pool. */
  async costOf(operation: string, db: Db | Tx = this.deps.prisma): Promise<number> {
    if (!OPERATION.test(operation)) throw ValidationError.forField('operation', `unknown operation ${operation}`);
    const feature = await db.featureCost.findUnique({ where: { operation } });
    if (!feature) throw ValidationError.forField('operation', `unknown operation ${operation}`);
    return feature.cost;
  }

  // ------------------------------------------------------------------ accounts

  async allowanceForTier(db: Db | Tx, tier: Tier): Promise<number> {
    if (tier === 'FREE') return this.deps.config.freeAllowance;
    const plan = await db.plan.findFirst({ where: { tier, active: true }, orderBy: { sortOrder: 'asc' } });
    return plan?.creditsPerPeriod ?? DEFAULT_ALLOWANCE[tier];
  }

  /** Opens the credit account of a new user with their tier's allowance; called inside the user's creation. */
  async openAccount(tx: Tx, user: Pick<User, 'id' | 'tier'>): Promise<CreditBalance> {
    const allowance = await this.allowanceForTier(tx, user.tier);
    const now = this.now();
    const balance = await tx.creditBalance.create({
      data: {
        userId: user.id,
        allowanceTotal: allowance,
        allowanceRemaining: allowance,
        grantedRemaining: 0,
        periodStart: now,
        nextResetAt: addDays(now, this.deps.config.periodDays),
      },
    });
    if (allowance > 0) {
      await tx.creditTransaction.create({
        data: {
          userId: user.id,
          kind: 'ALLOWANCE_RESET',
          amount: allowance,
          balanceAfter: allowance,
          details: { reason: 'account opened', allowanceTotal: allowance },
        },
      });
    }
    return balance;
  }

  /** Locks the balance row for the rest of the transaction, opening the account if it has none yet. */
  private async lockBalance(tx: Tx, userId: string): Promise<CreditBalance> {
    const rows = await tx.$queryRaw<CreditBalance[]>`
      SELECT * FROM "CreditBalance" WHERE "userId" = ${userId}::uuid FOR UPDATE`;
    if (rows[0]) return this.rolloverIfDue(tx, rows[0]);
    const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true, tier: true } });
    if (!user) throw new NotFoundError('User', userId);
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`credit-account:${userId}`}))`;
    const again = await tx.$queryRaw<CreditBalance[]>`
      SELECT * FROM "CreditBalance" WHERE "userId" = ${userId}::uuid FOR UPDATE`;
    return again[0] ?? this.openAccount(tx, user);
  }

  /**
   * A period that ended while nobody spent is rolled over at the next movement, so no job timing matters. A free
   * allowance rolls every period; a paid one only inside the paid time (a yearly plan's monthly drip), never past it:
   * after that only the next paid invoice starts a period.
   */
  private async rolloverIfDue(tx: Tx, balance: CreditBalance): Promise<CreditBalance> {
    const now = this.now();
    if (!allowanceRenewalDue(balance, now)) return balance;
    const paidUntil = balance.allowanceRenewsUntil;
    const step = (from: Date) =>
      paidUntil ? earliest(addMonths(from, 1), paidUntil) : addDays(from, this.deps.config.periodDays);
    let periodStart = balance.nextResetAt;
    let nextResetAt = step(periodStart);
    while (nextResetAt <= now && (!paidUntil || nextResetAt < paidUntil)) {
      periodStart = nextResetAt;
      nextResetAt = step(periodStart);
    }
    return this.writeAllowancePeriod(tx, balance, {
      allowanceTotal: balance.allowanceNextTotal ?? balance.allowanceTotal,
      periodStart,
      nextResetAt,
      allowanceRenewsUntil: paidUntil,
      details: { reason: paidUntil ? 'monthly allowance of the paid period' : 'period rolled over' },
    });
  }

  private async writeAllowancePeriod(
    tx: Tx,
    balance: CreditBalance,
    period: {
      allowanceTotal: number;
      periodStart: Date;
      nextResetAt: Date;
      allowanceRenewsUntil: Date | null;
      details: Details;
      idempotencyKey?: string | null;
      paymentId?: string | null;
    },
  ): Promise<CreditBalance> {
    const change = period.allowanceTotal - balance.allowanceRemaining;
    const updated = await tx.creditBalance.update({
      where: { userId: balance.userId },
      data: {
        allowanceTotal: period.allowanceTotal,
        allowanceRemaining: period.allowanceTotal,
        periodStart: period.periodStart,
        nextResetAt: period.nextResetAt,
        allowanceRenewsUntil: period.allowanceRenewsUntil,
        allowanceNextTotal: null,
      },
    });
    await tx.creditTransaction.create({
      data: {
        userId: balance.userId,
        kind: 'ALLOWANCE_RESET',
        amount: change,
        balanceAfter: available(updated),
        idempotencyKey: period.idempotencyKey ?? null,
        paymentId: period.paymentId ?? null,
        details: {
          ...period.details,
          allowanceTotal: period.allowanceTotal,
          periodStart: period.periodStart.toISOString(),
          nextResetAt: period.nextResetAt.toISOString(),
          allowanceRenewsUntil: period.allowanceRenewsUntil?.toISOString() ?? null,
        } as Prisma.InputJsonObject,
      },
    });
    return updated;
  }

  private async replay(db: Db | Tx, userId: string, key: string | null | undefined): Promise<CreditTransaction | null> {
    if (!key) return null;
    return db.creditTransaction.findUnique({ where: { userId_idempotencyKey: { userId, idempotencyKey: key } } });
  }

  /** Draws `amount` from the allowance first, then from grants soonest-expiring first. */
  private async draw(tx: Tx, balance: CreditBalance, amount: number) {
    if (available(balance) < amount) throw new InsufficientCreditsError(amount, available(balance));
    const fromAllowance = Math.min(balance.allowanceRemaining, amount);
    let rest = amount - fromAllowance;
    const fromGrants: GrantDraw[] = [];
    if (rest > 0) {
      const now = this.now();
      const grants = await tx.$queryRaw<{ id: string; remaining: number }[]>`
        SELECT id, remaining FROM "CreditGrant"
        WHERE "userId" = ${balance.userId}::uuid AND remaining > 0 AND "expiredAt" IS NULL
          AND ("expiresAt" IS NULL OR "expiresAt" > ${now})
        ORDER BY "expiresAt" ASC NULLS LAST, "createdAt" ASC
        FOR UPDATE`;
      for (const grant of grants) {
        if (rest === 0) break;
        const take = Math.min(grant.remaining, rest);
        fromGrants.push({ grantId: grant.id, amount: take });
        rest -= take;
      }
      if (rest > 0) {
        // grantedRemaining counts a grant that is past its expiry but not yet written off.
        throw new InsufficientCreditsError(amount, available(balance) - rest);
      }
      for (const { grantId, amount: take } of fromGrants) {
        await tx.creditGrant.update({ where: { id: grantId }, data: { remaining: { decrement: take } } });
      }
    }
    const grantTotal = amount - fromAllowance;
    const updated = await tx.creditBalance.update({
      where: { userId: balance.userId },
      data: {
        allowanceRemaining: { decrement: fromAllowance },
        grantedRemaining: { decrement: grantTotal },
      },
    });
    return { updated, fromAllowance, fromGrants };
  }

  private transaction<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
    return this.deps.prisma.$transaction(run, { timeout: 15_000, maxWait: 15_000 });
  }

  /** Runs a movement; a concurrent twin with the same idempotency key that won the unique index is returned instead. */
  private async idempotent<T>(
    userId: string,
    key: string | null | undefined,
    run: () => Promise<T>,
    onReplay: (transaction: CreditTransaction) => Promise<T>,
  ): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (key && error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        const first = await this.deps.prisma.creditTransaction.findUnique({
          where: { userId_idempotencyKey: { userId, idempotencyKey: key } },
        });
        if (first) return onReplay(first);
      }
      throw error;
    }
  }

  private async replayedMovement(transaction: CreditTransaction): Promise<Movement> {
    const balance = await this.deps.prisma.creditBalance.findUniqueOrThrow({ where: { userId: transaction.userId } });
    return { transaction, balance, replayed: true };
  }

  // ------------------------------------------------------------------ spending

  /** Checks a spending request (known operation, key, details) and returns its amount: given, or the feature cost. */
  private async spendAmount(
    input: { operation: string; amount?: number | null; idempotencyKey?: string | null; details?: Details | null },
    db: Db | Tx = this.deps.prisma,
  ): Promise<number> {
    this.validateKey(input.idempotencyKey);
    this.validateDetails(input.details);
    const cost = await this.costOf(input.operation, db);
    const amount = input.amount ?? cost;
    this.validateAmount(amount);
    return amount;
  }

  async deduct(
    userId: string,
    input: { operation: string; amount?: number | null; idempotencyKey?: string | null; details?: Details | null },
  ): Promise<Movement> {
    const amount = await this.spendAmount(input);
    await this.deps.rateLimiter.consume(`credits:${userId}`);

    // Answers that committed state already settles need no lock: a used key replays, and a balance that lacks the
    // credits refuses. Anything else is decided again under the lock.
    const [used, snapshot] = await Promise.all([
      input.idempotencyKey ? this.replay(this.deps.prisma, userId, input.idempotencyKey) : null,
      this.deps.prisma.creditBalance.findUnique({ where: { userId } }),
    ]);
    if (used) return this.replayedMovement(used);
    if (snapshot && snapshot.nextResetAt > this.now() && available(snapshot) < amount) {
      throw new InsufficientCreditsError(amount, available(snapshot));
    }

    return this.idempotent(
      userId,
      input.idempotencyKey,
      () =>
        this.transaction(async (tx) => {
          const balance = await this.lockBalance(tx, userId);
          const previous = await this.replay(tx, userId, input.idempotencyKey);
          if (previous) return { transaction: previous, balance, replayed: true };
          const { updated, fromAllowance, fromGrants } = await this.draw(tx, balance, amount);
          const transaction = await tx.creditTransaction.create({
            data: {
              userId,
              kind: 'USAGE',
              operation: input.operation,
              amount: -amount,
              balanceAfter: available(updated),
              idempotencyKey: input.idempotencyKey ?? null,
              details: { ...(input.details ?? {}), fromAllowance, fromGrants } as Prisma.InputJsonObject,
            },
          });
          return { transaction, balance: updated, replayed: false };
        }),
      (first) => this.replayedMovement(first),
    );
  }

  /** Takes credits out of the balance as a hold until it is confirmed, released, or expires. */
  async reserve(
    userId: string,
    input: {
      operation: string;
      amount?: number | null;
      idempotencyKey?: string | null;
      ttlSeconds?: number | null;
      details?: Details | null;
      generationId?: string | null;
    },
    tx?: Tx,
  ): Promise<ReservationResult> {
    const amount = await this.spendAmount(input, tx);
    const ttl = input.ttlSeconds ?? this.deps.config.reservationTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 10 || ttl > 86_400) {
      throw ValidationError.forField('ttlSeconds', 'must be between 10 and 86400');
    }

    const run = async (tx: Tx): Promise<ReservationResult> => {
      const balance = await this.lockBalance(tx, userId);
      if (input.idempotencyKey) {
        const previous = await tx.creditReservation.findUnique({
          where: { userId_idempotencyKey: { userId, idempotencyKey: input.idempotencyKey } },
        });
        if (previous) return { reservation: previous, balance, replayed: true };
      }
      const { updated, fromAllowance, fromGrants } = await this.draw(tx, balance, amount);
      const reservation = await tx.creditReservation.create({
        data: {
          userId,
          operation: input.operation,
          amount,
          fromAllowance,
          fromGrants,
          periodStart: updated.periodStart,
          idempotencyKey: input.idempotencyKey ?? null,
          expiresAt: new Date(this.now().getTime() + ttl * 1000),
          details: (input.details ?? {}) as Prisma.InputJsonObject,
        },
      });
      await tx.creditTransaction.create({
        data: {
          userId,
          kind: 'USAGE',
          operation: input.operation,
          amount: -amount,
          balanceAfter: available(updated),
          reservationId: reservation.id,
          generationId: input.generationId ?? null,
          idempotencyKey: input.idempotencyKey ? `reservation:${input.idempotencyKey}` : null,
          details: { hold: true, fromAllowance, fromGrants } as Prisma.InputJsonObject,
        },
      });
      return { reservation, balance: updated, replayed: false };
    };

    if (tx) return run(tx);
    await this.deps.rateLimiter.consume(`credits:${userId}`);
    return this.idempotent(userId, input.idempotencyKey ? `reservation:${input.idempotencyKey}` : null, () => this.transaction(run), async () => {
      const reservation = await this.deps.prisma.creditReservation.findUniqueOrThrow({
        where: { userId_idempotencyKey: { userId, idempotencyKey: input.idempotencyKey! } },
      });
      const balance = await this.deps.prisma.creditBalance.findUniqueOrThrow({ where: { userId } });
      return { reservation, balance, replayed: true };
    });
  }

  /** Confirms (the credits are spent) or releases (they come back, with a REFUND row) a held reservation. */
  async finalize(
    reservationId: string,
    action: 'CONFIRM' | 'RELEASE',
    options: { userId?: string; reason?: string; tx?: Tx } = {},
  ): Promise<ReservationResult> {
    const run = async (tx: Tx): Promise<ReservationResult> => {
      const found = await tx.creditReservation.findUnique({ where: { id: reservationId } });
      if (!found || (options.userId && found.userId !== options.userId)) {
        throw new NotFoundError('Reservation', reservationId);
      }
      const balance = await this.lockBalance(tx, found.userId);
      const reservation = await tx.creditReservation.findUniqueOrThrow({ where: { id: reservationId } });
      const wanted = action === 'CONFIRM' ? 'CONFIRMED' : 'RELEASED';
      if (reservation.status === wanted) return { reservation, balance, replayed: true };
      if (reservation.status !== 'HELD') {
        throw new ConflictError(`The reservation is already ${reservation.status.toLowerCase()}`);
      }
      if (action === 'CONFIRM') {
        const confirmed = await tx.creditReservation.update({
          where: { id: reservationId },
          data: { status: 'CONFIRMED', finalizedAt: this.now() },
        });
        return { reservation: confirmed, balance, replayed: false };
      }
      return this.releaseLocked(tx, balance, reservation, options.reason ?? 'released');
    };
    return options.tx ? run(options.tx) : this.transaction(run);
  }

  private async releaseLocked(
    tx: Tx,
    balance: CreditBalance,
    reservation: CreditReservation,
    reason: string,
  ): Promise<ReservationResult> {
    const now = this.now();
    // Allowance drawn in an earlier period is gone with that period; grants come back unless they have expired.
    const allowanceBack = reservation.periodStart.getTime() === balance.periodStart.getTime() ? reservation.fromAllowance : 0;
    const draws = reservation.fromGrants as GrantDraw[];
    const grants = draws.length
      ? await tx.creditGrant.findMany({ where: { id: { in: draws.map((draw) => draw.grantId) } } })
      : [];
    let grantsBack = 0;
    for (const draw of draws) {
      const grant = grants.find((candidate) => candidate.id === draw.grantId);
      if (!grant || grant.expiredAt || (grant.expiresAt && grant.expiresAt <= now)) continue;
      await tx.creditGrant.update({ where: { id: grant.id }, data: { remaining: { increment: draw.amount } } });
      grantsBack += draw.amount;
    }
    const updated = await tx.creditBalance.update({
      where: { userId: balance.userId },
      data: {
        allowanceRemaining: { increment: allowanceBack },
        grantedRemaining: { increment: grantsBack },
      },
    });
    const released = await tx.creditReservation.update({
      where: { id: reservation.id },
      data: { status: 'RELEASED', finalizedAt: now },
    });
    const refunded = allowanceBack + grantsBack;
    await tx.creditTransaction.create({
      data: {
        userId: reservation.userId,
        kind: 'REFUND',
        operation: reservation.operation,
        amount: refunded,
        balanceAfter: available(updated),
        reservationId: reservation.id,
        details: { reason, forfeited: reservation.amount - refunded },
      },
    });
    return { reservation: released, balance: updated, replayed: false };
  }

  // ------------------------------------------------------------------ adding credits

  async grant(
    userId: string,
    input: {
      amount: number;
      source: CreditGrantSource;
      kind?: Extract<CreditTransactionKind, 'GRANT' | 'PURCHASE' | 'ADJUSTMENT'>;
      reason?: string | null;
      expiresAt?: Date | null;
      paymentId?: string | null;
      actorId?: string | null;
      idempotencyKey?: string | null;
      details?: Details;
    },
    tx?: Tx,
  ): Promise<Movement> {
    this.validateAmount(input.amount);
    this.validateKey(input.idempotencyKey);
    if (input.expiresAt && input.expiresAt <= this.now()) {
      throw ValidationError.forField('expiresAt', 'must be in the future');
    }
    const run = async (tx: Tx): Promise<Movement> => {
      const balance = await this.lockBalance(tx, userId);
      const previous = await this.replay(tx, userId, input.idempotencyKey);
      if (previous) return { transaction: previous, balance, replayed: true };
      const grant = await tx.creditGrant.create({
        data: {
          userId,
          source: input.source,
          amount: input.amount,
          remaining: input.amount,
          expiresAt: input.expiresAt ?? null,
          paymentId: input.paymentId ?? null,
          reason: input.reason ?? null,
        },
      });
      const updated = await tx.creditBalance.update({
        where: { userId },
        data: { grantedRemaining: { increment: input.amount } },
      });
      const transaction = await tx.creditTransaction.create({
        data: {
          userId,
          kind: input.kind ?? (input.source === 'PURCHASE' ? 'PURCHASE' : 'GRANT'),
          amount: input.amount,
          balanceAfter: available(updated),
          grantId: grant.id,
          paymentId: input.paymentId ?? null,
          actorId: input.actorId ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
          details: {
            ...(input.details ?? {}),
            reason: input.reason ?? null,
            expiresAt: input.expiresAt?.toISOString() ?? null,
          } as Prisma.InputJsonObject,
        },
      });
      return { transaction, balance: updated, replayed: false };
    };
    if (tx) return run(tx);
    return this.idempotent(userId, input.idempotencyKey, () => this.transaction(run), (first) => this.replayedMovement(first));
  }

  /**
   * Takes back up to `amount` credits (a refunded purchase): first from `preferGrantId`, then from whatever else
   * the user can spend. What cannot be taken back is reported, never left as a negative balance.
   */
  async takeBack(
    userId: string,
    input: {
      amount: number;
      reason: string;
      preferGrantId?: string | null;
      paymentId?: string | null;
      idempotencyKey?: string | null;
    },
    tx?: Tx,
  ): Promise<{ taken: number; unrecovered: number; transaction: CreditTransaction | null; replayed: boolean }> {
    this.validateAmount(input.amount);
    const run = async (tx: Tx) => {
      let balance = await this.lockBalance(tx, userId);
      const previous = await this.replay(tx, userId, input.idempotencyKey);
      if (previous) {
        const taken = -previous.amount;
        return { taken, unrecovered: input.amount - taken, transaction: previous, replayed: true };
      }
      let fromPreferred = 0;
      if (input.preferGrantId) {
        const rows = await tx.$queryRaw<{ remaining: number; expiredAt: Date | null }[]>`
          SELECT remaining, "expiredAt" FROM "CreditGrant"
          WHERE id = ${input.preferGrantId}::uuid AND "userId" = ${userId}::uuid FOR UPDATE`;
        if (rows[0] && !rows[0].expiredAt) {
          fromPreferred = Math.min(rows[0].remaining, input.amount);
          if (fromPreferred > 0) {
            await tx.creditGrant.update({
              where: { id: input.preferGrantId },
              data: { remaining: { decrement: fromPreferred } },
            });
            balance = await tx.creditBalance.update({
              where: { userId },
              data: { grantedRemaining: { decrement: fromPreferred } },
            });
          }
        }
      }
      const fromRest = Math.min(input.amount - fromPreferred, available(balance));
      let draws: GrantDraw[] = [];
      let allowance = 0;
      if (fromRest > 0) {
        const drawn = await this.draw(tx, balance, fromRest);
        balance = drawn.updated;
        draws = drawn.fromGrants;
        allowance = drawn.fromAllowance;
      }
      const taken = fromPreferred + fromRest;
      const unrecovered = input.amount - taken;
      const transaction = await tx.creditTransaction.create({
        data: {
          userId,
          kind: 'ADJUSTMENT',
          amount: -taken,
          balanceAfter: available(balance),
          paymentId: input.paymentId ?? null,
          grantId: input.preferGrantId ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
          details: {
            reason: input.reason,
            requested: input.amount,
            unrecovered,
            fromPreferredGrant: fromPreferred,
            fromAllowance: allowance,
            fromGrants: draws,
          } as Prisma.InputJsonObject,
        },
      });
      return { taken, unrecovered, transaction, replayed: false };
    };
    return tx ? run(tx) : this.transaction(run);
  }

  /**
   * Starts a new allowance period, once per idempotency key. A free period renews itself every period after
   * `periodEnd`; a paid one (`paid`) renews by itself only until `periodEnd`, monthly when `paid.monthly` (a yearly
   * plan's drip), and after that only when the next paid invoice starts a period.
   */
  async startAllowancePeriod(
    userId: string,
    input: {
      allowanceTotal: number;
      periodStart: Date;
      periodEnd: Date;
      reason: string;
      paid?: { monthly: boolean } | null;
      idempotencyKey?: string | null;
      paymentId?: string | null;
    },
    tx?: Tx,
  ): Promise<{ balance: CreditBalance; applied: boolean }> {
    const run = async (tx: Tx) => {
      const balance = await this.lockBalance(tx, userId);
      if (await this.replay(tx, userId, input.idempotencyKey)) return { balance, applied: false };
      const nextResetAt = input.paid?.monthly ? earliest(addMonths(input.periodStart, 1), input.periodEnd) : input.periodEnd;
      const updated = await this.writeAllowancePeriod(tx, balance, {
        allowanceTotal: input.allowanceTotal,
        periodStart: input.periodStart,
        nextResetAt,
        allowanceRenewsUntil: input.paid ? input.periodEnd : null,
        idempotencyKey: input.idempotencyKey,
        paymentId: input.paymentId,
        details: { reason: input.reason },
      });
      const current = await this.rolloverIfDue(tx, updated);
      return { balance: current, applied: true };
    };
    return tx ? run(tx) : this.transaction(run);
  }

  /**
   * The running period's allowance after a plan change. A dearer plan raises it to `allowanceTotal`: total and
   * remaining rise by the difference, once per key. A cheaper one lowers nothing now and applies from the next
   * renewal. Moving between plans inside one period therefore never hands out more than the dearest plan's allowance.
   */
  async changePlanAllowance(
    userId: string,
    input: { allowanceTotal: number; reason: string; idempotencyKey: string },
    tx?: Tx,
  ): Promise<{ balance: CreditBalance; raisedBy: number }> {
    const run = async (tx: Tx) => {
      const balance = await this.lockBalance(tx, userId);
      const raisedBy = input.allowanceTotal - balance.allowanceTotal;
      if (raisedBy <= 0) {
        const nextTotal = raisedBy < 0 ? input.allowanceTotal : null;
        if (balance.allowanceNextTotal === nextTotal) return { balance, raisedBy: 0 };
        const updated = await tx.creditBalance.update({ where: { userId }, data: { allowanceNextTotal: nextTotal } });
        return { balance: updated, raisedBy: 0 };
      }
      if (await this.replay(tx, userId, input.idempotencyKey)) return { balance, raisedBy: 0 };
      const updated = await tx.creditBalance.update({
        where: { userId },
        data: { allowanceTotal: { increment: raisedBy }, allowanceRemaining: { increment: raisedBy }, allowanceNextTotal: null },
      });
      await tx.creditTransaction.create({
        data: {
          userId,
          kind: 'ALLOWANCE_RESET',
          amount: raisedBy,
          balanceAfter: available(updated),
          idempotencyKey: input.idempotencyKey,
          details: { reason: input.reason, allowanceTotal: updated.allowanceTotal, raisedBy } as Prisma.InputJsonObject,
        },
      });
      return { balance: updated, raisedBy };
    };
    return tx ? run(tx) : this.transaction(run);
  }

  // ------------------------------------------------------------------ admin

  async adminGrant(actorId: string, userId: string, input: { amount: number; reason: string; expiresAt?: Date | null }) {
    return this.transaction(async (tx) => {
      const movement = await this.grant(
        userId,
        { amount: input.amount, source: 'ADMIN', reason: input.reason, expiresAt: input.expiresAt, actorId },
        tx,
      );
      await recordAdminAction(tx, {
        actorId,
        action: 'credits.grant',
        targetType: 'User',
        targetId: userId,
        data: { amount: input.amount, reason: input.reason, expiresAt: input.expiresAt?.toISOString() ?? null },
      });
      return movement;
    });
  }

  /** A signed correction by an admin: positive adds a non-expiring grant, negative takes credits away. */
  async adminAdjust(actorId: string, userId: string, input: { amount: number; reason: string }): Promise<Movement> {
    if (!Number.isInteger(input.amount) || input.amount === 0 || Math.abs(input.amount) > MAX_AMOUNT) {
      throw ValidationError.forField('amount', `must be a non-zero integer between -${MAX_AMOUNT} and ${MAX_AMOUNT}`);
    }
    return this.transaction(async (tx) => {
      let movement: Movement;
      if (input.amount > 0) {
        movement = await this.grant(
          userId,
          { amount: input.amount, source: 'ADJUSTMENT', kind: 'ADJUSTMENT', reason: input.reason, actorId },
          tx,
        );
      } else {
        const balance = await this.lockBalance(tx, userId);
        const { updated, fromAllowance, fromGrants } = await this.draw(tx, balance, -input.amount);
        const transaction = await tx.creditTransaction.create({
          data: {
            userId,
            kind: 'ADJUSTMENT',
            amount: input.amount,
            balanceAfter: available(updated),
            actorId,
            details: { reason: input.reason, fromAllowance, fromGrants } as Prisma.InputJsonObject,
          },
        });
        movement = { transaction, balance: updated, replayed: false };
      }
      await recordAdminAction(tx, {
        actorId,
        action: 'credits.adjust',
        targetType: 'User',
        targetId: userId,
        data: { amount: input.amount, reason: input.reason },
      });
      return movement;
    });
  }

  async setFeatureCosts(actorId: string, costs: { operation: string; cost: number; description?: string | null }[]) {
    if (costs.length === 0) throw ValidationError.forField('costs', 'must not be empty');
    costs.forEach((item, index) => {
      if (!OPERATION.test(item.operation)) {
        throw ValidationError.forField(`costs.${index}.operation`, 'must be UPPER_SNAKE_CASE, 2-64 characters');
      }
      if (!Number.isInteger(item.cost) || item.cost < 0 || item.cost > MAX_AMOUNT) {
        throw ValidationError.forField(`costs.${index}.cost`, `must be an integer between 0 and ${MAX_AMOUNT}`);
      }
    });
    return this.transaction(async (tx) => {
      const before = await tx.featureCost.findMany({ where: { operation: { in: costs.map((item) => item.operation) } } });
      for (const item of costs) {
        await tx.featureCost.upsert({
          where: { operation: item.operation },
          create: { operation: item.operation, cost: item.cost, description: item.description ?? null, updatedById: actorId },
          update: {
            cost: item.cost,
            ...(item.description !== undefined ? { description: item.description } : {}),
            updatedById: actorId,
          },
        });
      }
      await recordAdminAction(tx, {
        actorId,
        action: 'credits.setFeatureCosts',
        targetType: 'FeatureCost',
        data: {
          before: Object.fromEntries(before.map((item) => [item.operation, item.cost])),
          after: Object.fromEntries(costs.map((item) => [item.operation, item.cost])),
        },
      });
      return tx.featureCost.findMany({ orderBy: { operation: 'asc' } });
    });
  }

  async ensureDefaultFeatureCosts() {
    for (const [operation, { cost, description }] of Object.entries(DEFAULT_FEATURE_COSTS)) {
      await this.deps.prisma.featureCost.upsert({
        where: { operation },
        create: { operation, cost, description },
        update: {},
      });
    }
  }

  // ------------------------------------------------------------------ jobs

  /** Rolls over every balance whose period has ended and may renew by itself; returns how many were due. */
  async resetDueAllowances(limit = 500): Promise<number> {
    const due = await this.deps.prisma.$queryRaw<{ userId: string }[]>`
      SELECT "userId" FROM "CreditBalance"
      WHERE "nextResetAt" <= ${this.now()}
        AND ("allowanceRenewsUntil" IS NULL OR "nextResetAt" < "allowanceRenewsUntil")
      LIMIT ${limit}`;
    for (const { userId } of due) {
      await this.transaction((tx) => this.lockBalance(tx, userId));
    }
    return due.length;
  }

  /** Writes off what is left of grants past their expiry, one EXPIRY row per grant. */
  async expireGrants(limit = 500): Promise<number> {
    const now = this.now();
    const due = await this.deps.prisma.creditGrant.findMany({
      where: { expiresAt: { lte: now }, expiredAt: null },
      select: { id: true, userId: true },
      take: limit,
    });
    for (const { id, userId } of due) {
      await this.transaction(async (tx) => {
        await this.lockBalance(tx, userId);
        const grant = await tx.creditGrant.findUniqueOrThrow({ where: { id } });
        if (grant.expiredAt) return;
        await tx.creditGrant.update({ where: { id }, data: { remaining: 0, expiredAt: now } });
        const updated = await tx.creditBalance.update({
          where: { userId },
          data: { grantedRemaining: { decrement: grant.remaining } },
        });
        await tx.creditTransaction.create({
          data: {
            userId,
            kind: 'EXPIRY',
            amount: -grant.remaining,
            balanceAfter: available(updated),
            grantId: id,
            details: { expiresAt: grant.expiresAt?.toISOString() ?? null },
          },
        });
      });
    }
    return due.length;
  }

  /** Releases holds nobody confirmed or released in time. */
  async releaseExpiredReservations(limit = 500): Promise<number> {
    const due = await this.deps.prisma.creditReservation.findMany({
      where: { status: 'HELD', expiresAt: { lte: this.now() } },
      select: { id: true },
      take: limit,
    });
    let released = 0;
    for (const { id } of due) {
      const result = await this.finalize(id, 'RELEASE', { reason: 'expired' }).catch((error) => {
        if (error instanceof ConflictError) return null;
        throw error;
      });
      if (result && !result.replayed) released++;
    }
    return released;
  }

  // ------------------------------------------------------------------ reads and checks

  balanceOf(userId: string) {
    return this.deps.prisma.creditBalance.findUnique({ where: { userId } });
  }

  /** Credits spent in the current period per user (usage minus refunds since the period started), in one query. */
  async usedThisPeriod(userIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.deps.prisma.$queryRaw<{ userId: string; used: bigint }[]>`
      SELECT b."userId", COALESCE(-SUM(t.amount), 0) AS used
      FROM "CreditBalance" b
      LEFT JOIN "CreditTransaction" t
        ON t."userId" = b."userId" AND t."createdAt" >= b."periodStart" AND t.kind IN ('USAGE', 'REFUND')
      WHERE b."userId" = ANY(${userIds as string[]}::uuid[])
      GROUP BY b."userId"`;
    return new Map(rows.map((row) => [row.userId, Math.max(0, Number(row.used))]));
  }

  /** Users whose ledger does not sum to their balance, or whose grants disagree with grantedRemaining. */
  async reconcile(): Promise<
    { userId: string; email: string | null; balance: number; ledgerSum: number; grantedRemaining: number; grantsSum: number }[]
  > {
    const rows = await this.deps.prisma.$queryRaw<
      { userId: string; email: string | null; balance: number; ledgerSum: bigint; grantedRemaining: number; grantsSum: bigint }[]
    >`
      SELECT b."userId", u.email,
             b."allowanceRemaining" + b."grantedRemaining" AS balance,
             COALESCE((SELECT SUM(amount) FROM "CreditTransaction" t WHERE t."userId" = b."userId"), 0) AS "ledgerSum",
             b."grantedRemaining",
             COALESCE((SELECT SUM(remaining) FROM "CreditGrant" g WHERE g."userId" = b."userId"), 0) AS "grantsSum"
      FROM "CreditBalance" b JOIN "User" u ON u.id = b."userId"`;
    return rows
      .map((row) => ({ ...row, ledgerSum: Number(row.ledgerSum), grantsSum: Number(row.grantsSum) }))
      .filter((row) => row.ledgerSum !== row.balance || row.grantsSum !== row.grantedRemaining);
  }
}
