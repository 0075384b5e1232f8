import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Prisma } from '../generated/prisma/client.js';
import type {
  CreditBalance,
  CreditGrantSource,
  CreditReservation,
  CreditTransaction,
  CreditTransactionKind,
  ReservationOwner,
  Tier,
  User,
} from '../generated/prisma/client.js';
import type { Db, Tx } from '../db/client.js';
import { rowFromJson } from '../db/rows.js';
import type { Logger } from '../logger.js';
import { recordAdminAction } from './audit.js';
import { refusalOf } from './auth.js';
import {
  AuthenticationError,
  ConflictError,
  DomainError,
  ForbiddenError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  ValidationError,
} from './errors.js';
import { isUuid } from './ids.js';
import { auditReason, idempotencyKey, integerBetween, jsonObjectOfAtMost, parseInput } from './validation.js';
import type { RateLimiter } from './rate-limit.js';
import { SpendBatches, type SpendCall, type SpendOutcome } from './spend-batches.js';

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
  /** A spend found its signed-in user banned or deleted: whatever this instance remembers of them is stale. */
  onSpenderRefused?: (userId: string) => void;
}

const SPENDING_FOR_BANNED_USER = 'This user is banned: their credits cannot be spent or held';

/**
 * Who asks for a movement. End users spend only at the configured price and settle only their own holds; a service
 * API key may name the amount and acts for the user named in the call; the server's own flows (generations, jobs,
 * billing) and admins may settle any hold.
 */
export type Principal =
  | { kind: 'USER'; userId: string }
  | { kind: 'ADMIN'; userId: string }
  | { kind: 'SERVICE'; apiKeyId: string }
  | { kind: 'SYSTEM'; flow: string };

export interface SpendInput {
  operation: string;
  /** How many units of the operation; the price is feature cost x quantity. */
  quantity?: number | null;
  /** Only service keys and the server's own flows may name an amount. */
  amount?: number | null;
  idempotencyKey?: string | null;
  details?: Details | null;
}

export interface ReserveInput extends SpendInput {
  ttlSeconds?: number | null;
  generationId?: string | null;
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
type Draw = { fromAllowance: number; fromGrants: GrantDraw[] };
type Details = Record<string, unknown>;

const OPERATION = /^[A-Z][A-Z0-9_]{1,63}$/;
const MAX_AMOUNT = 1_000_000;
const MAX_QUANTITY = 10_000;
const SYSTEM_KEY_PREFIX = 'sys:';

/** What a spending call may carry; the operation itself is checked against the feature costs in the database. */
const spendInputSchema = (detailsMaxBytes: number) =>
  z.object({
    quantity: integerBetween(1, MAX_QUANTITY).nullish(),
    amount: integerBetween(1, MAX_AMOUNT).nullish(),
    idempotencyKey: idempotencyKey.nullish(),
    details: jsonObjectOfAtMost(detailsMaxBytes).nullish(),
  });
const amountInput = z.object({ amount: integerBetween(1, MAX_AMOUNT) });
const grantByInput = amountInput.extend({ reason: auditReason });
const reservationTtl = z.object({ ttlSeconds: integerBetween(10, 86_400) });
const adjustmentInput = z.object({
  amount: integerBetween(-MAX_AMOUNT, MAX_AMOUNT).refine((amount) => amount !== 0, 'must not be 0'),
  reason: auditReason,
});
const resetInput = z.object({ reason: auditReason.refine((reason) => reason.trim() !== '', 'must not be empty') });
const featureCostsInput = z.object({
  costs: z
    .array(
      z.object({
        operation: z.string().regex(OPERATION, 'must be UPPER_SNAKE_CASE, 2-64 characters'),
        cost: integerBetween(0, MAX_AMOUNT),
      }),
    )
    .min(1, 'must not be empty'),
});

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
 * The key the server uses for one of its own movements (a paid period, a purchase, a subscription's end). Client
 * keys are stored under `client:` or `service:`, so no client can ever send a key the server will use.
 */
export function systemKey(...parts: (string | number | Date)[]): string {
  return SYSTEM_KEY_PREFIX + parts.map((part) => (part instanceof Date ? part.toISOString() : String(part))).join(':');
}

function assertSystemKey(key: string | null | undefined) {
  if (key != null && !key.startsWith(SYSTEM_KEY_PREFIX)) {
    throw new Error(`Server movements must use a ${SYSTEM_KEY_PREFIX} idempotency key, got "${key}"`);
  }
}

/** Where a client's key lives: per user (the ledger's unique index), per caller and per kind of call. */
function clientKeyFor(principal: Principal, kind: 'deduct' | 'reserve', key: string | null | undefined): string | null {
  if (key == null) return null;
  switch (principal.kind) {
    case 'USER':
    case 'ADMIN':
      return `client:${kind}:${key}`;
    case 'SERVICE':
      return `service:${principal.apiKeyId}:${kind}:${key}`;
    case 'SYSTEM':
      return systemKey(principal.flow, kind, key);
  }
}

/** The key a client sent, from its stored form (see clientKeyFor); null for the server's own keys. */
export function clientKeyOf(stored: string | null): string | null {
  const match = stored ? /^(?:client|service:[0-9a-f-]{36}):(?:deduct|reserve):(.*)$/.exec(stored) : null;
  return match ? match[1] : null;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const balanceRow = (json: Record<string, unknown>) => rowFromJson<CreditBalance>('CreditBalance', json);
const ledgerRow = (json: Record<string, unknown>) => rowFromJson<CreditTransaction>('CreditTransaction', json);
const reservationRow = (json: Record<string, unknown>) => rowFromJson<CreditReservation>('CreditReservation', json);

/** What a hold adds to a spend's arguments; a deduction has none of it. */
type HoldArguments = Pick<SpendCall, 'hold' | 'owner' | 'generation' | 'ttl_seconds'>;
const NOT_A_HOLD: HoldArguments = { hold: false, owner: null, generation: null, ttl_seconds: null };

const reservationOwner = (principal: Principal): ReservationOwner =>
  principal.kind === 'SERVICE' ? 'SERVICE' : principal.kind === 'SYSTEM' ? 'SYSTEM' : 'USER';

const fingerprint = (request: unknown) => createHash('sha256').update(canonicalJson(request)).digest('hex');

/** What a reused key is compared by: a deduction's request, and a hold's, which also has its time to live. */
/**
 * What a request asked for, as it was sent: a key retried after a cost change is the same request and replays what it
 * did, whatever this instance had cached or the price is now. A price the caller named (a service key's amount) is
 * part of the request.
 */
const requested = (input: SpendInput) =>
  input.amount != null ? { amount: input.amount } : { quantity: input.quantity ?? 1 };
const spendFingerprint = (userId: string, input: SpendInput) =>
  fingerprint({ userId, operation: input.operation, ...requested(input), details: input.details ?? null });
const holdFingerprint = (userId: string, input: ReserveInput, ttl: number) =>
  fingerprint({ userId, operation: input.operation, ...requested(input), ttl, details: input.details ?? null });

/**
 * One user's credit account, locked (SELECT ... FOR UPDATE) for the rest of a transaction. Every movement goes
 * through it: draw, give back, add a grant, append the ledger row. The ledger row's balanceAfter is always the
 * balance this object holds, so the ledger sums to the balance.
 */
class LockedAccount {
  constructor(
    readonly tx: Tx,
    public balance: CreditBalance,
    private readonly now: Date,
  ) {}

  get userId() {
    return this.balance.userId;
  }

  get available() {
    return available(this.balance);
  }

  /**
   * Takes `amount` from the allowance first, then from grants soonest-expiring first. The rule is credit_draw's, the
   * SQL function the one-call spend uses too, so both paths take credits in the same order; it also locks the grants
   * it reads and writes the balance, all in one statement.
   */
  async draw(amount: number): Promise<Draw> {
    const [result] = await this.tx.$queryRaw<{ draw: Draw | null; balance: Record<string, unknown> | null; spendable: number }[]>`
      SELECT drawn.draw, to_jsonb(drawn.balance_after) AS balance, drawn.spendable
      FROM "CreditBalance" locked, credit_draw(locked, ${amount}::integer, ${this.now.toISOString()}::timestamp) drawn
      WHERE locked."userId" = ${this.userId}::uuid`;
    // grantedRemaining counts a grant that is past its expiry but not yet written off, so spendable can be less.
    if (!result?.draw || !result.balance) throw new InsufficientCreditsError(amount, result?.spendable ?? this.available);
    this.balance = balanceRow(result.balance);
    return result.draw;
  }

  /**
   * Gives back up to `amount` of an earlier draw, last drawn first. Allowance drawn in an earlier period went with
   * that period, and a grant past its expiry stays spent: what cannot come back is forfeited.
   */
  async giveBack(
    draw: Draw,
    amount: number,
    drawnInPeriod: Date,
  ): Promise<{ restored: number; forfeited: number; toAllowance: number; toGrants: number }> {
    let left = amount;
    let grantsBack = 0;
    const grantIds = draw.fromGrants.map((item) => item.grantId);
    const grants = grantIds.length ? await this.tx.creditGrant.findMany({ where: { id: { in: grantIds } } }) : [];
    for (const item of [...draw.fromGrants].reverse()) {
      if (left === 0) break;
      const share = Math.min(item.amount, left);
      left -= share;
      const grant = grants.find((candidate) => candidate.id === item.grantId);
      if (!grant || grant.expiredAt || (grant.expiresAt && grant.expiresAt <= this.now)) continue;
      await this.tx.creditGrant.update({ where: { id: grant.id }, data: { remaining: { increment: share } } });
      grantsBack += share;
    }
    const allowanceShare = Math.min(draw.fromAllowance, left);
    const allowanceBack = drawnInPeriod.getTime() === this.balance.periodStart.getTime() ? allowanceShare : 0;
    await this.move({ allowance: allowanceBack, granted: grantsBack });
    const restored = allowanceBack + grantsBack;
    return { restored, forfeited: amount - restored, toAllowance: allowanceBack, toGrants: grantsBack };
  }

  async addGrant(grant: {
    source: CreditGrantSource;
    amount: number;
    expiresAt?: Date | null;
    paymentId?: string | null;
    reason?: string | null;
  }) {
    const created = await this.tx.creditGrant.create({
      data: {
        userId: this.userId,
        source: grant.source,
        amount: grant.amount,
        remaining: grant.amount,
        expiresAt: grant.expiresAt ?? null,
        paymentId: grant.paymentId ?? null,
        reason: grant.reason ?? null,
      },
    });
    await this.move({ granted: grant.amount });
    return created;
  }

  /** Appends the ledger row for what this transaction moved; `amount` is signed. */
  append(row: Omit<Prisma.CreditTransactionUncheckedCreateInput, 'userId' | 'balanceAfter'>) {
    return this.tx.creditTransaction.create({
      data: { ...row, userId: this.userId, balanceAfter: this.available },
    });
  }

  /** Rewrites the allowance and its period (a new period, a plan change); the caller appends the matching row. */
  async setAllowance(data: {
    allowanceTotal?: number;
    allowanceRemaining?: number;
    periodStart?: Date;
    nextResetAt?: Date;
    allowanceRenewsUntil?: Date | null;
    allowanceNextTotal?: number | null;
  }) {
    this.balance = await this.tx.creditBalance.update({ where: { userId: this.userId }, data });
  }

  /** Moves the allowance and granted counters by signed amounts; grants themselves are the caller's to update. */
  async move(by: { allowance?: number; granted?: number }) {
    if (!by.allowance && !by.granted) return;
    this.balance = await this.tx.creditBalance.update({
      where: { userId: this.userId },
      data: {
        allowanceRemaining: { increment: by.allowance ?? 0 },
        grantedRemaining: { increment: by.granted ?? 0 },
      },
    });
  }
}

/**
 * Every credit movement of the product. Each runs in a transaction that first locks the user's balance row, so
 * concurrent movements on one user serialise, and appends its ledger row in the same transaction. Every method that
 * moves credits takes an optional open transaction as its last argument, and opens its own without one.
 */
export class CreditsService {
  private readonly now: () => Date;
  private readonly spendInput: ReturnType<typeof spendInputSchema>;
  private readonly unitCosts = new Map<string, number>();
  private readonly spends: SpendBatches;

  constructor(private readonly deps: CreditsServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.spendInput = spendInputSchema(deps.config.detailsMaxBytes);
    // Two, not one: a batch waiting on one user's lock then holds up half of this instance's spends, not all of them.
    this.spends = new SpendBatches(deps.prisma, { inFlight: 2, batchSize: 32 });
  }

  // ------------------------------------------------------------------ validation

  /** Pass the open transaction when there is one: a second connection taken while holding one can starve the pool. */
  async costOf(operation: string, db: Db | Tx = this.deps.prisma): Promise<number> {
    if (!OPERATION.test(operation)) throw ValidationError.forField('operation', `unknown operation ${operation}`);
    const feature = await db.featureCost.findUnique({ where: { operation } });
    if (!feature) throw ValidationError.forField('operation', `unknown operation ${operation}`);
    return feature.cost;
  }

  /**
   * The price of a spending request. End users pay the configured price, feature cost x quantity; only a service
   * key or the server's own flows may name an amount.
   */
  async priceOf(principal: Principal, input: SpendInput, db: Db | Tx = this.deps.prisma): Promise<number> {
    this.validateSpend(principal, input);
    return this.priceFrom(input, await this.costOf(input.operation, db));
  }

  private validateSpend(principal: Principal, input: SpendInput) {
    if (input.amount != null && (principal.kind === 'USER' || principal.kind === 'ADMIN')) {
      throw new ForbiddenError('Only a service API key may set amount: users pay the configured price (feature cost x quantity)');
    }
    parseInput(this.spendInput, input);
  }

  private priceFrom(input: SpendInput, unitCost: number): number {
    if (input.amount != null) {
      if (input.quantity != null) throw ValidationError.forField('quantity', 'give either amount or quantity, not both');
      return input.amount;
    }
    const amount = unitCost * (input.quantity ?? 1);
    if (amount > MAX_AMOUNT) throw ValidationError.forField('quantity', `costs more than ${MAX_AMOUNT} credits`);
    return amount;
  }

  /**
   * The cost of an operation as last read here. Only the one-call movements use it, and credit_spend
   * checks it against the current cost in the statement that spends, so a stale entry costs a second
   * call, never a wrong price.
   */
  private async cachedCostOf(operation: string): Promise<number> {
    const known = this.unitCosts.get(operation);
    if (known !== undefined) return known;
    const cost = await this.costOf(operation);
    if (this.unitCosts.size >= 1000) this.unitCosts.clear();
    this.unitCosts.set(operation, cost);
    return cost;
  }

  /**
   * A service key names its user: an unknown or deleted one is not found, and a banned one cannot be charged or held,
   * as they could not spend themselves. Signed-in users were checked at sign-in.
   */
  /** A service may spend only for a user who may be served: the rule of credit_spender_refusal, for the general path. */
  private async assertServable(principal: Principal, userId: string, db: Db | Tx = this.deps.prisma) {
    if (principal.kind !== 'SERVICE') return;
    if (!isUuid(userId)) throw new NotFoundError('User', userId);
    const [{ refusal }] = await db.$queryRaw<{ refusal: 'USER_GONE' | 'USER_BANNED' | null }[]>`
      SELECT "credit_spender_refusal"(${userId}::uuid) AS refusal`;
    if (refusal) throw await this.spenderRefusal(principal, userId, refusal);
  }

  /**
   * Why a one-call spend refused the user it was for (see credit_spender_refusal): to a service, that the user is
   * gone or banned; to a signed-in user, the refusal their sign-in would now get, as the request was authenticated
   * before the ban or deletion reached this instance.
   */
  private async spenderRefusal(principal: Principal, userId: string, outcome: 'USER_GONE' | 'USER_BANNED'): Promise<DomainError> {
    if (principal.kind === 'SERVICE') {
      return outcome === 'USER_BANNED' ? new ForbiddenError(SPENDING_FOR_BANNED_USER) : new NotFoundError('User', userId);
    }
    this.deps.onSpenderRefused?.(userId);
    const user = await this.deps.prisma.user.findUnique({ where: { id: userId }, select: { role: true, banReason: true, deletedAt: true } });
    return (user && refusalOf(user)) ?? new AuthenticationError('This account has been deleted');
  }

  // ------------------------------------------------------------------ the locked account

  private transaction<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
    return this.deps.prisma.$transaction(run, { timeout: 15_000, maxWait: 15_000 });
  }

  private inTransaction<T>(tx: Tx | undefined, run: (tx: Tx) => Promise<T>): Promise<T> {
    return tx ? run(tx) : this.transaction(run);
  }

  /**
   * Locks the user's account for the rest of the transaction (opening it if the user has none yet), rolls over a
   * period that has ended, and runs `run` on it. Every movement starts here.
   */
  private async withAccount<T>(tx: Tx, userId: string, run: (account: LockedAccount) => Promise<T>): Promise<T> {
    const account = await this.lockAccount(tx, userId);
    await this.rolloverIfDue(account);
    return run(account);
  }

  // ------------------------------------------------------------------ accounts

  async allowanceForTier(db: Db | Tx, tier: Tier): Promise<number> {
    if (tier === 'FREE') return this.deps.config.freeAllowance;
    const plan = await db.plan.findFirst({ where: { tier, active: true }, orderBy: { sortOrder: 'asc' } });
    return plan?.creditsPerPeriod ?? DEFAULT_ALLOWANCE[tier];
  }

  /** Opens the credit account of a new user with their tier's allowance; called inside the user's creation. */
  async openAccount(tx: Tx, user: Pick<User, 'id' | 'tier'>): Promise<CreditBalance> {
    return (await this.openLockedAccount(tx, user)).balance;
  }

  private async openLockedAccount(tx: Tx, user: Pick<User, 'id' | 'tier'>): Promise<LockedAccount> {
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
    const account = new LockedAccount(tx, balance, now);
    if (allowance > 0) {
      await account.append({ kind: 'ALLOWANCE_RESET', amount: allowance, details: { reason: 'account opened', allowanceTotal: allowance } });
    }
    return account;
  }

  /** Locks the balance row for the rest of the transaction, opening the account if it has none yet. */
  private async lockAccount(tx: Tx, userId: string): Promise<LockedAccount> {
    const locked = (rows: CreditBalance[]) => (rows[0] ? new LockedAccount(tx, rows[0], this.now()) : null);
    const found = locked(await tx.$queryRaw<CreditBalance[]>`
      SELECT * FROM "CreditBalance" WHERE "userId" = ${userId}::uuid FOR UPDATE`);
    if (found) return found;
    const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true, tier: true } });
    if (!user) throw new NotFoundError('User', userId);
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`credit-account:${userId}`}))`;
    const again = locked(await tx.$queryRaw<CreditBalance[]>`
      SELECT * FROM "CreditBalance" WHERE "userId" = ${userId}::uuid FOR UPDATE`);
    return again ?? this.openLockedAccount(tx, user);
  }

  /**
   * A period that ended while nobody spent is rolled over at the next movement, so no job timing matters. A free
   * allowance rolls every period; a paid one only inside the paid time (a yearly plan's monthly drip), never past it:
   * after that only the next paid invoice starts a period.
   */
  private async rolloverIfDue(account: LockedAccount): Promise<void> {
    const now = this.now();
    const { balance } = account;
    if (!allowanceRenewalDue(balance, now)) return;
    const paidUntil = balance.allowanceRenewsUntil;
    const step = (from: Date) =>
      paidUntil ? earliest(addMonths(from, 1), paidUntil) : addDays(from, this.deps.config.periodDays);
    let periodStart = balance.nextResetAt;
    let nextResetAt = step(periodStart);
    while (nextResetAt <= now && (!paidUntil || nextResetAt < paidUntil)) {
      periodStart = nextResetAt;
      nextResetAt = step(periodStart);
    }
    await this.writeAllowancePeriod(account, {
      allowanceTotal: balance.allowanceNextTotal ?? balance.allowanceTotal,
      periodStart,
      nextResetAt,
      allowanceRenewsUntil: paidUntil,
      details: { reason: paidUntil ? 'monthly allowance of the paid period' : 'period rolled over' },
    });
  }

  private async writeAllowancePeriod(
    account: LockedAccount,
    period: {
      allowanceTotal: number;
      periodStart: Date;
      nextResetAt: Date;
      allowanceRenewsUntil: Date | null;
      details: Details;
      idempotencyKey?: string | null;
      paymentId?: string | null;
    },
  ): Promise<void> {
    const change = period.allowanceTotal - account.balance.allowanceRemaining;
    await account.setAllowance({
      allowanceTotal: period.allowanceTotal,
      allowanceRemaining: period.allowanceTotal,
      periodStart: period.periodStart,
      nextResetAt: period.nextResetAt,
      allowanceRenewsUntil: period.allowanceRenewsUntil,
      allowanceNextTotal: null,
    });
    await account.append({
      kind: 'ALLOWANCE_RESET',
      amount: change,
      idempotencyKey: period.idempotencyKey ?? null,
      paymentId: period.paymentId ?? null,
      details: {
        ...period.details,
        allowanceTotal: period.allowanceTotal,
        periodStart: period.periodStart.toISOString(),
        nextResetAt: period.nextResetAt.toISOString(),
        allowanceRenewsUntil: period.allowanceRenewsUntil?.toISOString() ?? null,
      } as Prisma.InputJsonObject,
    });
  }

  // ------------------------------------------------------------------ idempotency

  private async findByKey(db: Db | Tx, userId: string, key: string | null): Promise<CreditTransaction | null> {
    if (!key) return null;
    return db.creditTransaction.findUnique({ where: { userId_idempotencyKey: { userId, idempotencyKey: key } } });
  }

  /** A key used before answers what it answered then, but only for the same request. */
  private checkReplay(first: CreditTransaction, requestHash: string | null): CreditTransaction {
    if (first.requestHash !== requestHash) throw new IdempotencyConflictError();
    return first;
  }

  /** Runs a movement; a concurrent twin with the same idempotency key that won the unique index is returned instead. */
  private async idempotent<T>(
    userId: string,
    key: string | null,
    run: () => Promise<T>,
    onReplay: (transaction: CreditTransaction) => Promise<T>,
  ): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (key && error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        const first = await this.findByKey(this.deps.prisma, userId, key);
        if (first) return onReplay(first);
      }
      throw error;
    }
  }

  private async replayedMovement(transaction: CreditTransaction): Promise<Movement> {
    const balance = await this.deps.prisma.creditBalance.findUniqueOrThrow({ where: { userId: transaction.userId } });
    return { transaction, balance, replayed: true };
  }

  private async replayedReservation(transaction: CreditTransaction): Promise<ReservationResult> {
    const [reservation, balance] = await Promise.all([
      this.deps.prisma.creditReservation.findUniqueOrThrow({ where: { id: transaction.reservationId! } }),
      this.deps.prisma.creditBalance.findUniqueOrThrow({ where: { userId: transaction.userId } }),
    ]);
    return { reservation, balance, replayed: true };
  }

  // ------------------------------------------------------------------ spending

  /**
   * Runs a one-call movement (credit_spend, a deduction or a hold) at the cached unit cost, and again at the current one
   * when the cost has changed since. Answers what the call did or replayed (a replayed key is checked against this
   * request), or null when it left the request to the general path with nothing changed.
   */
  private async inOneCall(
    principal: Principal,
    userId: string,
    input: SpendInput,
    cachedUnitCost: number,
    spend: { key: string | null; requestHash: string | null; hold: HoldArguments },
  ): Promise<SpendOutcome | null> {
    const { key, requestHash, hold } = spend;
    let unitCost = cachedUnitCost;
    for (let attempt = 0; ; attempt++) {
      const amount = this.priceFrom(input, unitCost);
      const result = await this.spends.spend({
        user: userId, operation: input.operation, unit_cost: unitCost, amount, key, hash: requestHash,
        api_key: principal.kind === 'SERVICE' ? principal.apiKeyId : null, details: input.details ?? {},
        now: this.now().toISOString(), ...hold,
      });
      switch (result.outcome) {
        case 'DONE':
          return result;
        case 'REPLAY':
          this.checkReplay(ledgerRow(result.entry!), requestHash);
          return result;
        case 'INSUFFICIENT':
          throw new InsufficientCreditsError(amount, result.available!);
        case 'PRICE':
          // The cost changed since it was cached (on this instance or another): price again at the current one.
          this.unitCosts.delete(input.operation);
          if (result.unit_cost === null || attempt >= 3) unitCost = await this.costOf(input.operation);
          else unitCost = result.unit_cost;
          this.unitCosts.set(input.operation, unitCost);
          continue;
        case 'SLOW':
          return null;
        case 'USER_GONE':
        case 'USER_BANNED':
          throw await this.spenderRefusal(principal, userId, result.outcome);
      }
    }
  }

  /**
   * Spends credits for `userId` at once: one call of credit_spend (see its migration), which locks the balance,
   * replays a used key, checks the price, draws and appends the ledger row. The general path below handles what the
   * function leaves to it (a user with no account yet, a period to roll over).
   */
  async deduct(principal: Principal, userId: string, input: SpendInput): Promise<Movement> {
    this.validateSpend(principal, input);
    const unitCost = await this.cachedCostOf(input.operation);
    const key = clientKeyFor(principal, 'deduct', input.idempotencyKey);
    await this.deps.rateLimiter.consume(`credits:${userId}`);
    if (!isUuid(userId)) throw new NotFoundError('User', userId);
    const result = await this.inOneCall(principal, userId, input, unitCost, {
      key,
      requestHash: key ? spendFingerprint(userId, input) : null,
      hold: NOT_A_HOLD,
    });
    if (!result) return this.deductLocked(principal, userId, input, key);
    return { transaction: ledgerRow(result.entry!), balance: balanceRow(result.balance!), replayed: result.outcome === 'REPLAY' };
  }

  /** The general path of a deduction: a transaction through the locked account, which opens and rolls it over. */
  private async deductLocked(principal: Principal, userId: string, input: SpendInput, key: string | null): Promise<Movement> {
    const amount = await this.priceOf(principal, input);
    const requestHash = key ? spendFingerprint(userId, input) : null;
    return this.idempotent(
      userId,
      key,
      () =>
        this.transaction((tx) =>
          this.withAccount(tx, userId, async (account) => {
            const previous = await this.findByKey(tx, userId, key);
            if (previous) return { transaction: this.checkReplay(previous, requestHash), balance: account.balance, replayed: true };
            const draw = await account.draw(amount);
            const transaction = await account.append({
              kind: 'USAGE',
              operation: input.operation,
              amount: -amount,
              idempotencyKey: key,
              requestHash,
              apiKeyId: principal.kind === 'SERVICE' ? principal.apiKeyId : null,
              details: { ...(input.details ?? {}), ...draw } as Prisma.InputJsonObject,
            });
            return { transaction, balance: account.balance, replayed: false };
          }),
        ),
      async (first) => this.replayedMovement(this.checkReplay(first, requestHash)),
    );
  }

  /**
   * Takes credits out of the balance as a hold until it is confirmed, released, or expires. The hold belongs to
   * whoever made it: only they (or an admin) can settle it. On its own it is one call of credit_spend (see its
   * migration), like a deduction; inside the caller's transaction (a generation's) it takes the general path.
   */
  async reserve(principal: Principal, userId: string, input: ReserveInput, tx?: Tx): Promise<ReservationResult> {
    this.validateSpend(principal, input);
    const unitCost = tx ? await this.costOf(input.operation, tx) : await this.cachedCostOf(input.operation);
    const price = this.priceFrom(input, unitCost);
    const { ttlSeconds: ttl } = parseInput(reservationTtl, { ttlSeconds: input.ttlSeconds ?? this.deps.config.reservationTtlSeconds });
    const key = clientKeyFor(principal, 'reserve', input.idempotencyKey);
    if (tx) {
      await this.assertServable(principal, userId, tx);
      return this.reserveLocked(principal, userId, input, { amount: price, ttl, key }, tx);
    }

    await this.deps.rateLimiter.consume(`credits:${userId}`);
    if (!isUuid(userId)) throw new NotFoundError('User', userId);
    const result = await this.inOneCall(principal, userId, input, unitCost, {
      key,
      requestHash: key ? holdFingerprint(userId, input, ttl) : null,
      hold: { hold: true, owner: reservationOwner(principal), generation: input.generationId ?? null, ttl_seconds: ttl },
    });
    if (!result) return this.reserveLocked(principal, userId, input, { amount: await this.priceOf(principal, input), ttl, key });
    return {
      reservation: reservationRow(result.reservation!),
      balance: balanceRow(result.balance!),
      replayed: result.outcome === 'REPLAY',
    };
  }

  /**
   * The general path of a hold: through the locked account, which opens and rolls it over, in the caller's
   * transaction or its own.
   */
  private async reserveLocked(
    principal: Principal,
    userId: string,
    input: ReserveInput,
    hold: { amount: number; ttl: number; key: string | null },
    tx?: Tx,
  ): Promise<ReservationResult> {
    const { amount, ttl, key } = hold;
    const requestHash = key ? holdFingerprint(userId, input, ttl) : null;
    const run = (tx: Tx) =>
      this.withAccount(tx, userId, async (account): Promise<ReservationResult> => {
        const previous = await this.findByKey(tx, userId, key);
        if (previous) {
          this.checkReplay(previous, requestHash);
          const reservation = await tx.creditReservation.findUniqueOrThrow({ where: { id: previous.reservationId! } });
          return { reservation, balance: account.balance, replayed: true };
        }
        const draw = await account.draw(amount);
        const reservation = await tx.creditReservation.create({
          data: {
            userId,
            operation: input.operation,
            amount,
            fromAllowance: draw.fromAllowance,
            fromGrants: draw.fromGrants,
            periodStart: account.balance.periodStart,
            owner: reservationOwner(principal),
            apiKeyId: principal.kind === 'SERVICE' ? principal.apiKeyId : null,
            idempotencyKey: key,
            expiresAt: new Date(this.now().getTime() + ttl * 1000),
            details: (input.details ?? {}) as Prisma.InputJsonObject,
          },
        });
        await account.append({
          kind: 'USAGE',
          operation: input.operation,
          amount: -amount,
          reservationId: reservation.id,
          generationId: input.generationId ?? null,
          apiKeyId: reservation.apiKeyId,
          idempotencyKey: key,
          requestHash,
          details: { hold: true, ...draw } as Prisma.InputJsonObject,
        });
        return { reservation, balance: account.balance, replayed: false };
      });

    if (tx) return run(tx);
    return this.idempotent(userId, key, () => this.transaction(run), async (first) =>
      this.replayedReservation(this.checkReplay(first, requestHash)),
    );
  }

  /** Whether `principal` may settle this hold; a hold they may not settle is reported as not found. */
  private maySettle(principal: Principal, reservation: CreditReservation): boolean {
    switch (principal.kind) {
      case 'ADMIN':
      case 'SYSTEM':
        return true;
      case 'USER':
        return reservation.owner === 'USER' && reservation.userId === principal.userId;
      case 'SERVICE':
        return reservation.owner === 'SERVICE' && reservation.apiKeyId === principal.apiKeyId;
    }
  }

  /**
   * Confirms (the credits are spent) or releases (they come back, with a REFUND row) a held reservation. A confirm
   * may capture less than was held; the rest comes back at once.
   */
  async finalize(
    principal: Principal,
    reservationId: string,
    action: 'CONFIRM' | 'RELEASE',
    options: { capture?: number | null; reason?: string; generationId?: string | null } = {},
    tx?: Tx,
  ): Promise<ReservationResult> {
    if (!isUuid(reservationId)) throw new NotFoundError('Reservation', reservationId);
    return this.inTransaction(tx, async (tx) => {
      const found = await tx.creditReservation.findUnique({ where: { id: reservationId } });
      if (!found || !this.maySettle(principal, found)) throw new NotFoundError('Reservation', reservationId);
      if (options.capture != null) {
        if (action !== 'CONFIRM') throw ValidationError.forField('capture', 'applies only to CONFIRM');
        if (!Number.isInteger(options.capture) || options.capture < 0 || options.capture > found.amount) {
          throw ValidationError.forField('capture', `must be an integer between 0 and the ${found.amount} credits held`);
        }
      }
      return this.withAccount(tx, found.userId, async (account) => {
        const reservation = await tx.creditReservation.findUniqueOrThrow({ where: { id: reservationId } });
        const wanted = action === 'CONFIRM' ? 'CONFIRMED' : 'RELEASED';
        if (reservation.status === wanted) return { reservation, balance: account.balance, replayed: true };
        if (reservation.status !== 'HELD') {
          throw new ConflictError(`The reservation is already ${reservation.status.toLowerCase()}`);
        }
        const kept = action === 'CONFIRM' ? (options.capture ?? reservation.amount) : 0;
        const comesBack = reservation.amount - kept;
        if (comesBack > 0) {
          await this.refundHold(account, reservation, comesBack, {
            reason: options.reason ?? (action === 'CONFIRM' ? 'captured less than held' : 'released'),
            generationId: options.generationId,
          });
        }
        const settled = await tx.creditReservation.update({
          where: { id: reservationId },
          data: { status: wanted, finalizedAt: this.now(), capturedAmount: action === 'CONFIRM' ? kept : null },
        });
        if (principal.kind === 'ADMIN') {
          await recordAdminAction(tx, {
            actorId: principal.userId,
            action: `credits.${action === 'CONFIRM' ? 'confirm' : 'release'}Reservation`,
            targetType: 'CreditReservation',
            targetId: reservationId,
            data: { userId: reservation.userId, kept, released: comesBack },
          });
        }
        return { reservation: settled, balance: account.balance, replayed: false };
      });
    });
  }

  /** Gives `amount` of a hold back as a REFUND row linked to the hold's own ledger row. */
  private async refundHold(
    account: LockedAccount,
    reservation: CreditReservation,
    amount: number,
    context: { reason: string; generationId?: string | null },
  ) {
    const hold = await account.tx.creditTransaction.findFirst({
      where: { reservationId: reservation.id, kind: 'USAGE' },
      select: { id: true, generationId: true },
    });
    const draw: Draw = { fromAllowance: reservation.fromAllowance, fromGrants: reservation.fromGrants as GrantDraw[] };
    const { restored, forfeited, toAllowance, toGrants } = await account.giveBack(draw, amount, reservation.periodStart);
    return account.append({
      kind: 'REFUND',
      operation: reservation.operation,
      amount: restored,
      reservationId: reservation.id,
      refundOfId: hold?.id ?? null,
      generationId: context.generationId ?? hold?.generationId ?? null,
      apiKeyId: reservation.apiKeyId,
      details: { reason: context.reason, forfeited, toAllowance, toGrants },
    });
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
      apiKeyId?: string | null;
      /** A server key (`systemKey(...)`); client keys never reach a grant. */
      idempotencyKey?: string | null;
      details?: Details;
    },
    tx?: Tx,
  ): Promise<Movement> {
    parseInput(amountInput, { amount: input.amount });
    assertSystemKey(input.idempotencyKey);
    if (input.expiresAt && input.expiresAt <= this.now()) {
      throw ValidationError.forField('expiresAt', 'must be in the future');
    }
    const key = input.idempotencyKey ?? null;
    const run = (tx: Tx) =>
      this.withAccount(tx, userId, async (account): Promise<Movement> => {
        const previous = await this.findByKey(tx, userId, key);
        if (previous) return { transaction: previous, balance: account.balance, replayed: true };
        const grant = await account.addGrant(input);
        const transaction = await account.append({
          kind: input.kind ?? (input.source === 'PURCHASE' ? 'PURCHASE' : 'GRANT'),
          amount: input.amount,
          grantId: grant.id,
          paymentId: input.paymentId ?? null,
          actorId: input.actorId ?? null,
          apiKeyId: input.apiKeyId ?? null,
          idempotencyKey: key,
          details: {
            ...(input.details ?? {}),
            reason: input.reason ?? null,
            expiresAt: input.expiresAt?.toISOString() ?? null,
          } as Prisma.InputJsonObject,
        });
        return { transaction, balance: account.balance, replayed: false };
      });
    if (tx) return run(tx);
    return this.idempotent(userId, key, () => this.transaction(run), (first) => this.replayedMovement(first));
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
    parseInput(amountInput, { amount: input.amount });
    assertSystemKey(input.idempotencyKey);
    const key = input.idempotencyKey ?? null;
    return this.inTransaction(tx, (tx) =>
      this.withAccount(tx, userId, async (account) => {
        const previous = await this.findByKey(tx, userId, key);
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
              await account.move({ granted: -fromPreferred });
            }
          }
        }
        const fromRest = Math.min(input.amount - fromPreferred, account.available);
        const draw: Draw = fromRest > 0 ? await account.draw(fromRest) : { fromAllowance: 0, fromGrants: [] };
        const taken = fromPreferred + fromRest;
        const unrecovered = input.amount - taken;
        const transaction = await account.append({
          kind: 'ADJUSTMENT',
          amount: -taken,
          paymentId: input.paymentId ?? null,
          grantId: input.preferGrantId ?? null,
          idempotencyKey: key,
          details: {
            reason: input.reason,
            requested: input.amount,
            unrecovered,
            fromPreferredGrant: fromPreferred,
            ...draw,
          } as Prisma.InputJsonObject,
        });
        return { taken, unrecovered, transaction, replayed: false };
      }),
    );
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
    assertSystemKey(input.idempotencyKey);
    return this.inTransaction(tx, (tx) =>
      this.withAccount(tx, userId, async (account) => {
        if (await this.findByKey(tx, userId, input.idempotencyKey ?? null)) return { balance: account.balance, applied: false };
        const nextResetAt = input.paid?.monthly ? earliest(addMonths(input.periodStart, 1), input.periodEnd) : input.periodEnd;
        await this.writeAllowancePeriod(account, {
          allowanceTotal: input.allowanceTotal,
          periodStart: input.periodStart,
          nextResetAt,
          allowanceRenewsUntil: input.paid ? input.periodEnd : null,
          idempotencyKey: input.idempotencyKey,
          paymentId: input.paymentId,
          details: { reason: input.reason },
        });
        await this.rolloverIfDue(account);
        return { balance: account.balance, applied: true };
      }),
    );
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
    assertSystemKey(input.idempotencyKey);
    return this.inTransaction(tx, (tx) =>
      this.withAccount(tx, userId, async (account) => {
        const raisedBy = input.allowanceTotal - account.balance.allowanceTotal;
        if (raisedBy <= 0) {
          const nextTotal = raisedBy < 0 ? input.allowanceTotal : null;
          if (account.balance.allowanceNextTotal !== nextTotal) await account.setAllowance({ allowanceNextTotal: nextTotal });
          return { balance: account.balance, raisedBy: 0 };
        }
        if (await this.findByKey(tx, userId, input.idempotencyKey)) return { balance: account.balance, raisedBy: 0 };
        await account.setAllowance({
          allowanceTotal: account.balance.allowanceTotal + raisedBy,
          allowanceRemaining: account.balance.allowanceRemaining + raisedBy,
          allowanceNextTotal: null,
        });
        await account.append({
          kind: 'ALLOWANCE_RESET',
          amount: raisedBy,
          idempotencyKey: input.idempotencyKey,
          details: { reason: input.reason, allowanceTotal: account.balance.allowanceTotal, raisedBy } as Prisma.InputJsonObject,
        });
        return { balance: account.balance, raisedBy };
      }),
    );
  }

  // ------------------------------------------------------------------ admin and service grants

  /** Adds credits that survive allowance resets, optionally expiring: by an admin, or by a service key. Audited. */
  async grantBy(
    actor: { kind: 'ADMIN'; userId: string } | { kind: 'SERVICE'; apiKeyId: string },
    userId: string,
    input: { amount: number; reason: string; expiresAt?: Date | null },
  ) {
    parseInput(grantByInput, input);
    if (!isUuid(userId)) throw new NotFoundError('User', userId);
    return this.transaction(async (tx) => {
      const actorId = actor.kind === 'ADMIN' ? actor.userId : null;
      const movement = await this.grant(
        userId,
        {
          amount: input.amount,
          source: 'ADMIN',
          reason: input.reason,
          expiresAt: input.expiresAt,
          actorId,
          apiKeyId: actor.kind === 'SERVICE' ? actor.apiKeyId : null,
        },
        tx,
      );
      await recordAdminAction(tx, {
        actorId,
        action: 'credits.grant',
        targetType: 'User',
        targetId: userId,
        data: {
          amount: input.amount,
          reason: input.reason,
          expiresAt: input.expiresAt?.toISOString() ?? null,
          ...(actor.kind === 'SERVICE' ? { apiKeyId: actor.apiKeyId } : {}),
        },
      });
      return movement;
    });
  }

  /**
   * Admin: gives the user back the whole allowance of the running period (a support gesture after an outage, say).
   * The period's dates stay; grants are untouched. Audited.
   */
  async adminResetAllowance(actorId: string, userId: string, reason: string): Promise<Movement> {
    if (!isUuid(userId)) throw new NotFoundError('User', userId);
    parseInput(resetInput, { reason });
    return this.transaction((tx) =>
      this.withAccount(tx, userId, async (account) => {
        const restored = account.balance.allowanceTotal - account.balance.allowanceRemaining;
        await account.setAllowance({ allowanceRemaining: account.balance.allowanceTotal });
        const transaction = await account.append({
          kind: 'ALLOWANCE_RESET',
          amount: restored,
          actorId,
          details: { reason, manual: true, allowanceTotal: account.balance.allowanceTotal } as Prisma.InputJsonObject,
        });
        await recordAdminAction(tx, {
          actorId,
          action: 'credits.resetAllowance',
          targetType: 'User',
          targetId: userId,
          data: { reason, restored },
        });
        return { transaction, balance: account.balance, replayed: false };
      }),
    );
  }

  /** A signed correction by an admin: positive adds a non-expiring grant, negative takes credits away. */
  async adminAdjust(actorId: string, userId: string, input: { amount: number; reason: string }): Promise<Movement> {
    if (!isUuid(userId)) throw new NotFoundError('User', userId);
    parseInput(adjustmentInput, input);
    return this.transaction(async (tx) => {
      let movement: Movement;
      if (input.amount > 0) {
        movement = await this.grant(
          userId,
          { amount: input.amount, source: 'ADJUSTMENT', kind: 'ADJUSTMENT', reason: input.reason, actorId },
          tx,
        );
      } else {
        movement = await this.withAccount(tx, userId, async (account) => {
          const draw = await account.draw(-input.amount);
          const transaction = await account.append({
            kind: 'ADJUSTMENT',
            amount: input.amount,
            actorId,
            details: { reason: input.reason, ...draw } as Prisma.InputJsonObject,
          });
          return { transaction, balance: account.balance, replayed: false };
        });
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
    parseInput(featureCostsInput, { costs });
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
    // One INSERT ... ON CONFLICT DO NOTHING: a cost an admin changed is left as it is.
    await this.deps.prisma.featureCost.createMany({
      data: Object.entries(DEFAULT_FEATURE_COSTS).map(([operation, { cost, description }]) => ({ operation, cost, description })),
      skipDuplicates: true,
    });
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
      await this.transaction((tx) => this.withAccount(tx, userId, async () => undefined));
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
      await this.transaction((tx) =>
        this.withAccount(tx, userId, async (account) => {
          const grant = await tx.creditGrant.findUniqueOrThrow({ where: { id } });
          if (grant.expiredAt) return;
          await tx.creditGrant.update({ where: { id }, data: { remaining: 0, expiredAt: now } });
          await account.move({ granted: -grant.remaining });
          await account.append({
            kind: 'EXPIRY',
            amount: -grant.remaining,
            grantId: id,
            details: { expiresAt: grant.expiresAt?.toISOString() ?? null },
          });
        }),
      );
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
      const result = await this.finalize({ kind: 'SYSTEM', flow: 'hold-expiry' }, id, 'RELEASE', { reason: 'expired' }).catch(
        (error) => {
          if (error instanceof ConflictError) return null;
          throw error;
        },
      );
      if (result && !result.replayed) released++;
    }
    return released;
  }

  // ------------------------------------------------------------------ reads and checks

  balanceOf(userId: string) {
    return this.deps.prisma.creditBalance.findUnique({ where: { userId } });
  }

  /**
   * The user's balance, opening the account if they have none: a user written straight into the shared tables (the
   * Auth.js adapter) has a balance from their first read, not from their first movement.
   */
  async accountOf(userId: string): Promise<CreditBalance> {
    return (await this.balanceOf(userId)) ?? this.transaction((tx) => this.withAccount(tx, userId, async (account) => account.balance));
  }

  /** Whether the user could pay for `quantity` of `operation` now, at the configured price; nothing moves. */
  async affordability(userId: string, operation: string, quantity = 1) {
    const price = await this.priceOf({ kind: 'USER', userId }, { operation, quantity });
    let balance = await this.accountOf(userId);
    // A period that has ended is rolled over (by the same rule as any movement) before the answer is given.
    if (balance.nextResetAt <= this.now()) {
      balance = await this.transaction((tx) => this.withAccount(tx, userId, async (account) => account.balance));
    }
    const spendable = available(balance);
    return { operation, quantity, cost: price, available: spendable, allowed: spendable >= price, shortfall: Math.max(0, price - spendable) };
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
