import { decodeGlobalID } from '@pothos/plugin-relay';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Principal, ReservationResult, ReserveInput } from '../src/services/credits.js';
import { CreditBalanceDocument } from './generated/graphql.js';
import { startTestApp, type TestApp } from './support/app.js';

const run = promisify(execFile);

const VIEWER_ID = `query { viewer { id } }`;
const DEDUCT = `mutation($input: DeductCreditsInput!) {
  deductCredits(input: $input) {
    __typename
    ... on CreditMovement { replayed transaction { id kind operation amount balanceAfter idempotencyKey } balance { total allowanceRemaining grantedRemaining } }
    ... on InsufficientCreditsError { required available message }
    ... on ValidationError { message issues { path message } }
    ... on RateLimitedError { retryAfterSeconds }
  }
}`;
const GRANT = `mutation($userId: ID!, $amount: Int!, $reason: String!, $expiresAt: DateTime) {
  grantCredits(userId: $userId, amount: $amount, reason: $reason, expiresAt: $expiresAt) {
    __typename
    ... on CreditMovement { transaction { id amount kind } balance { total grantedRemaining } }
    ... on ValidationError { message }
  }
}`;
const RESERVE = `mutation($input: ReserveCreditsInput!) {
  reserveCredits(input: $input) {
    __typename
    ... on ReservationResult { reservation { id status amount } balance { total } }
    ... on InsufficientCreditsError { required available }
    ... on ValidationError { message }
  }
}`;
const FINALIZE = `mutation($id: ID!, $action: ReservationAction!) {
  finalizeReservation(reservationId: $id, action: $action) {
    __typename
    ... on ReservationResult { reservation { status } balance { total } }
    ... on ConflictError { message }
    ... on NotFoundError { message }
  }
}`;
const SET_COSTS = `mutation($costs: [FeatureCostInput!]!) {
  setFeatureCosts(costs: $costs) { __typename ... on SetFeatureCostsSuccess { data { operation cost } } ... on ValidationError { message } }
}`;

let api: TestApp;
let adminToken: string;

beforeAll(async () => {
  api = await startTestApp({ CREDITS_RATE_LIMIT_PER_MINUTE: '1000000' });
  adminToken = await api.token('credits-admin', { email: 'admin@example.com' });
  // A one-credit operation, so a test can spend any number of credits at the configured price.
  await api.services.credits.setFeatureCosts((await api.signUp('costs-admin', { email: 'ops@example.com' })).userId, [
    { operation: 'UNIT', cost: 1 },
  ]);
});
afterAll(async () => {
  await api.close();
});

const newUser = (name: string) => api.signUp(name);

async function grant(userGlobalId: string, amount: number, expiresAt?: Date) {
  const response = await api.graphql(
    GRANT,
    { userId: userGlobalId, amount, reason: 'test grant', expiresAt: expiresAt?.toISOString() },
    adminToken,
  );
  expect(response.body.data.grantCredits.__typename).toBe('CreditMovement');
  return response.body.data.grantCredits;
}

async function balanceOf(token: string) {
  const response = await api.execute(CreditBalanceDocument, {}, token);
  return response.body.data!.viewer!.creditBalance!;
}

async function ledgerSum(userId: string) {
  const { _sum } = await api.db.prisma.creditTransaction.aggregate({ where: { userId }, _sum: { amount: true } });
  return _sum.amount ?? 0;
}

/** Rows of the user's ledger, read in id order, where a row does not start where the one before ended. */
async function runningBalanceBreaks(userId: string) {
  const rows = await api.db.prisma.creditTransaction.findMany({ where: { userId }, orderBy: { id: 'asc' } });
  return rows.filter((row, i) => i > 0 && row.balanceAfter !== rows[i - 1].balanceAfter + row.amount);
}

describe('balances', () => {
  it('a new user starts with the free allowance, recorded in the ledger', async () => {
    const { token, userId } = await newUser('fresh');
    const balance = await balanceOf(token);
    expect(balance).toMatchObject({ allowanceRemaining: 10, allowanceTotal: 10, grantedRemaining: 0, total: 10, usedThisPeriod: 0 });
    expect(new Date(balance.nextResetAt).getTime() - new Date(balance.periodStart).getTime()).toBe(30 * 86_400_000);
    expect(await ledgerSum(userId)).toBe(10);
  });

  it('deduction spends the allowance first, then grants soonest-expiring first', async () => {
    const { token, id, userId } = await newUser('spender');
    const inTenDays = new Date(Date.now() + 10 * 86_400_000);
    const inTwoDays = new Date(Date.now() + 2 * 86_400_000);
    await grant(id, 5, inTenDays);
    await grant(id, 5);
    await grant(id, 5, inTwoDays);
    const response = await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 18 } }, token);
    expect(response.body.data.deductCredits).toMatchObject({
      __typename: 'CreditMovement',
      transaction: { kind: 'USAGE', operation: 'UNIT', amount: -18, balanceAfter: 7 },
      balance: { total: 7, allowanceRemaining: 0, grantedRemaining: 7 },
    });
    const grants = await api.db.prisma.creditGrant.findMany({ where: { userId }, orderBy: { expiresAt: 'asc' } });
    const remainingByExpiry = grants.map((g) => [g.expiresAt?.getTime() ?? null, g.remaining]);
    expect(remainingByExpiry).toEqual([
      [inTwoDays.getTime(), 0],
      [inTenDays.getTime(), 2],
      [null, 5],
    ]);
    expect(await ledgerSum(userId)).toBe(7);
    expect((await balanceOf(token)).usedThisPeriod).toBe(18);
  });

  it('a draw the soonest-expiring grant covers comes from it alone, and a larger one from it before any later grant', async () => {
    const { token, id, userId } = await newUser('grant-order');
    const inTwoDays = new Date(Date.now() + 2 * 86_400_000);
    const inTenDays = new Date(Date.now() + 10 * 86_400_000);
    await grant(id, 20, inTenDays);
    await grant(id, 4, inTwoDays);
    await grant(id, 30);
    const grants = await api.db.prisma.creditGrant.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });
    const drawnFrom = async (key: string) => {
      const row = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, idempotencyKey: `client:deduct:${key}` } });
      const details = row.details as { fromAllowance: number; fromGrants: { grantId: string; amount: number }[] };
      return { fromAllowance: details.fromAllowance, fromGrants: details.fromGrants.map((draw) => [grants.findIndex((g) => g.id === draw.grantId), draw.amount]) };
    };
    const remaining = async () =>
      (await api.db.prisma.creditGrant.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } })).map((g) => g.remaining);

    await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 13, idempotencyKey: 'allowance-and-one-grant' } }, token);
    expect(await drawnFrom('allowance-and-one-grant')).toEqual({ fromAllowance: 10, fromGrants: [[1, 3]] });
    expect(await remaining()).toEqual([20, 1, 30]);

    await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 1, idempotencyKey: 'empties-the-soonest' } }, token);
    expect(await drawnFrom('empties-the-soonest')).toEqual({ fromAllowance: 0, fromGrants: [[1, 1]] });

    await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 15, idempotencyKey: 'next-soonest' } }, token);
    expect(await drawnFrom('next-soonest')).toEqual({ fromAllowance: 0, fromGrants: [[0, 15]] });

    const spanning = await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 8, idempotencyKey: 'spans-two' } }, token);
    expect(spanning.body.data.deductCredits.balance).toMatchObject({ allowanceRemaining: 0, grantedRemaining: 27 });
    expect(await drawnFrom('spans-two')).toEqual({ fromAllowance: 0, fromGrants: [[0, 5], [2, 3]] });
    expect(await remaining()).toEqual([0, 0, 27]);
    expect(await ledgerSum(userId)).toBe(27);
  });

  it('the amount defaults to the feature cost, and admins can change costs', async () => {
    const { token } = await newUser('default-cost');
    const first = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT' } }, token);
    expect(first.body.data.deductCredits.transaction.amount).toBe(-5);
    const changed = await api.graphql(SET_COSTS, { costs: [{ operation: 'AI_TEXT_CHAT', cost: 3 }] }, adminToken);
    expect(changed.body.data.setFeatureCosts.data).toEqual(
      expect.arrayContaining([{ operation: 'AI_TEXT_CHAT', cost: 3 }]),
    );
    const second = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT' } }, token);
    expect(second.body.data.deductCredits.transaction.amount).toBe(-3);
    await api.graphql(SET_COSTS, { costs: [{ operation: 'AI_TEXT_CHAT', cost: 5 }] }, adminToken);
    const audit = await api.db.prisma.adminAuditLog.findMany({ where: { action: 'credits.setFeatureCosts' } });
    expect(audit.length).toBeGreaterThanOrEqual(2);
  });

  it('a cost change that selects only __typename still applies and answers its success type', async () => {
    const changed = await api.graphql(
      `mutation($costs: [FeatureCostInput!]!) { setFeatureCosts(costs: $costs) { __typename } }`,
      { costs: [{ operation: 'TYPENAME_ONLY', cost: 4 }] },
      adminToken,
    );
    expect(changed.body).toEqual({ data: { setFeatureCosts: { __typename: 'SetFeatureCostsSuccess' } } });
    expect(await api.db.prisma.featureCost.findUnique({ where: { operation: 'TYPENAME_ONLY' } })).toMatchObject({ cost: 4 });
  });

  it('refuses a deduction larger than the balance and moves nothing', async () => {
    const { token, userId } = await newUser('short');
    const response = await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 11 } }, token);
    expect(response.body.data.deductCredits).toMatchObject({
      __typename: 'InsufficientCreditsError',
      required: 11,
      available: 10,
    });
    expect(await ledgerSum(userId)).toBe(10);
    expect(await api.db.prisma.creditTransaction.count({ where: { userId } })).toBe(1);
  });
});

describe('concurrency', () => {
  it('50 clients racing 10,000 deductions on one user never overspend', async () => {
    const { token, id, userId } = await newUser('hammered');
    await grant(id, 990);
    const initial = (await balanceOf(token)).total;
    expect(initial).toBe(1000);
    await api.graphql(SET_COSTS, { costs: [{ operation: 'RACE_TEST', cost: 7 }] }, adminToken);

    const outcomes: Record<string, number> = {};
    let next = 0;
    const client = async () => {
      while (next < 10_000) {
        const i = next++;
        const response = await api.graphql(DEDUCT, { input: { operation: 'RACE_TEST', idempotencyKey: `race-${i}` } }, token);
        const typename = response.body.data?.deductCredits?.__typename ?? `HTTP ${response.status}`;
        outcomes[typename] = (outcomes[typename] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 50 }, client));

    const successes = Math.floor(initial / 7);
    expect(outcomes).toEqual({ CreditMovement: successes, InsufficientCreditsError: 10_000 - successes });
    const final = await balanceOf(token);
    expect(final.total).toBe(initial - successes * 7);
    expect(final.total).toBeGreaterThanOrEqual(0);
    const usage = await api.db.prisma.creditTransaction.aggregate({
      where: { userId, operation: 'RACE_TEST' },
      _sum: { amount: true },
      _count: true,
      _min: { balanceAfter: true },
    });
    expect(usage._count).toBe(successes);
    expect(usage._sum.amount).toBe(final.total - initial);
    expect(usage._min.balanceAfter).toBeGreaterThanOrEqual(0);
    expect(await ledgerSum(userId)).toBe(final.total);

    // Read in id order, the ledger is a running balance: each row starts where the one before ended.
    expect(await runningBalanceBreaks(userId)).toEqual([]);
    const last = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId }, orderBy: { id: 'desc' } });
    expect(last.balanceAfter).toBe(final.total);
  }, 360_000);

  it('50 clients racing 1,000 holds on one user never overdraw; every hold then confirms or releases', async () => {
    const { token, id, userId } = await newUser('hold-hammered');
    await grant(id, 490, new Date(Date.now() + 10 * 86_400_000));
    await grant(id, 500);
    const initial = (await balanceOf(token)).total;
    expect(initial).toBe(1000);
    await api.graphql(SET_COSTS, { costs: [{ operation: 'HOLD_RACE', cost: 7 }] }, adminToken);

    const outcomes: Record<string, number> = {};
    const held: string[] = [];
    let next = 0;
    const client = async () => {
      while (next < 1_000) {
        const i = next++;
        const response = await api.graphql(RESERVE, { input: { operation: 'HOLD_RACE', idempotencyKey: `hold-race-${i}` } }, token);
        const result = response.body.data?.reserveCredits;
        const typename = result?.__typename ?? `HTTP ${response.status}`;
        outcomes[typename] = (outcomes[typename] ?? 0) + 1;
        if (typename === 'ReservationResult') held.push(result.reservation.id);
      }
    };
    await Promise.all(Array.from({ length: 50 }, client));

    const successes = Math.floor(initial / 7);
    expect(outcomes).toEqual({ ReservationResult: successes, InsufficientCreditsError: 1_000 - successes });
    expect((await balanceOf(token)).total).toBe(initial - successes * 7);
    const holds = await api.db.prisma.creditReservation.aggregate({ where: { userId, status: 'HELD' }, _sum: { amount: true }, _count: true });
    expect(holds).toMatchObject({ _count: successes, _sum: { amount: successes * 7 } });
    expect(await runningBalanceBreaks(userId)).toEqual([]);
    expect(await ledgerSum(userId)).toBe(initial - successes * 7);

    // Half are confirmed, half released, concurrently: each release gives back what its hold drew.
    const settle = async (ids: string[]) => {
      for (let id = ids.shift(); id; id = ids.shift()) {
        const action = held.indexOf(id) % 2 === 0 ? 'CONFIRM' : 'RELEASE';
        const response = await api.graphql(FINALIZE, { id, action }, token);
        expect(response.body.data.finalizeReservation.reservation.status).toBe(action === 'CONFIRM' ? 'CONFIRMED' : 'RELEASED');
      }
    };
    const queue = [...held];
    await Promise.all(Array.from({ length: 10 }, () => settle(queue)));
    const released = Math.floor(successes / 2);
    const final = await balanceOf(token);
    expect(final.total).toBe(initial - (successes - released) * 7);
    expect(await ledgerSum(userId)).toBe(final.total);
    expect(await runningBalanceBreaks(userId)).toEqual([]);
    expect((await api.services.credits.reconcile()).filter((row) => row.userId === userId)).toEqual([]);
  }, 180_000);

  it('the same idempotency key sent twice at once moves credits once and answers the same', async () => {
    const { token, userId } = await newUser('twice');
    const input = { operation: 'AI_TEXT_CHAT', idempotencyKey: 'order-42', details: { prompt: 'a cat' } };
    const [a, b] = await Promise.all([api.graphql(DEDUCT, { input }, token), api.graphql(DEDUCT, { input }, token)]);
    const strip = ({ replayed, ...rest }: { replayed: boolean }) => rest;
    expect(strip(a.body.data.deductCredits)).toEqual(strip(b.body.data.deductCredits));
    expect([a.body.data.deductCredits.replayed, b.body.data.deductCredits.replayed].sort()).toEqual([false, true]);
    expect(await api.db.prisma.creditTransaction.count({ where: { userId, kind: 'USAGE' } })).toBe(1);
    const later = await api.graphql(DEDUCT, { input }, token);
    expect(later.body.data.deductCredits.transaction.id).toBe(a.body.data.deductCredits.transaction.id);
    expect((await balanceOf(token)).total).toBe(5);
  });

  it('a retried key returns the first result even after the balance ran out', async () => {
    const { token } = await newUser('retry-after-empty');
    const first = await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 10, idempotencyKey: 'k1' } }, token);
    const retry = await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 10, idempotencyKey: 'k1' } }, token);
    expect(retry.body.data.deductCredits).toMatchObject({ __typename: 'CreditMovement', replayed: true });
    expect(retry.body.data.deductCredits.transaction).toEqual(first.body.data.deductCredits.transaction);
  });
});

describe('reservations', () => {
  it('a hold counts against the balance until confirmed; a confirmed hold cannot be released', async () => {
    const { token, userId } = await newUser('holder');
    const held = await api.graphql(RESERVE, { input: { operation: 'UNIT', quantity: 4 } }, token);
    expect(held.body.data.reserveCredits).toMatchObject({ reservation: { status: 'HELD', amount: 4 }, balance: { total: 6 } });
    const over = await api.graphql(RESERVE, { input: { operation: 'UNIT', quantity: 7 } }, token);
    expect(over.body.data.reserveCredits).toMatchObject({ __typename: 'InsufficientCreditsError', available: 6 });
    const id = held.body.data.reserveCredits.reservation.id;
    const confirmed = await api.graphql(FINALIZE, { id, action: 'CONFIRM' }, token);
    expect(confirmed.body.data.finalizeReservation).toMatchObject({ reservation: { status: 'CONFIRMED' }, balance: { total: 6 } });
    const release = await api.graphql(FINALIZE, { id, action: 'RELEASE' }, token);
    expect(release.body.data.finalizeReservation).toMatchObject({
      __typename: 'ConflictError',
      message: 'The reservation is already confirmed',
    });
    expect(await ledgerSum(userId)).toBe(6);
  });

  it('a released hold comes back as a refund row', async () => {
    const { token, userId } = await newUser('releaser');
    const held = await api.graphql(RESERVE, { input: { operation: 'UNIT', quantity: 4 } }, token);
    const id = held.body.data.reserveCredits.reservation.id;
    const released = await api.graphql(FINALIZE, { id, action: 'RELEASE' }, token);
    expect(released.body.data.finalizeReservation).toMatchObject({ reservation: { status: 'RELEASED' }, balance: { total: 10 } });
    const refund = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, kind: 'REFUND' } });
    expect(refund).toMatchObject({ amount: 4, balanceAfter: 10, reservationId: decodeGlobalID(id).id });
  });

  it("settling a hold finds the hold's ledger row through an index, not by reading the whole ledger", async () => {
    const { token, userId } = await newUser('long-ledger');
    const held = await api.graphql(RESERVE, { input: { operation: 'UNIT', quantity: 4 } }, token);
    const reservationId = decodeGlobalID(held.body.data.reserveCredits.reservation.id).id;
    // A long ledger of rows that belong to no hold, as a busy account has; their amounts are 0 so the sum still holds.
    await api.db.prisma.$executeRawUnsafe(
      `INSERT INTO "CreditTransaction" (id, "userId", kind, amount, "balanceAfter")
       SELECT gen_random_uuid(), $1::uuid, 'ADJUSTMENT', 0, 6 FROM generate_series(1, 20000)`,
      userId,
    );
    await api.db.prisma.$executeRawUnsafe('ANALYZE "CreditTransaction"');

    const [{ 'QUERY PLAN': plan }] = await api.db.prisma.$queryRawUnsafe<{ 'QUERY PLAN': unknown }[]>(
      `EXPLAIN (FORMAT JSON) SELECT id, "generationId" FROM "CreditTransaction" WHERE "reservationId" = $1::uuid AND kind = 'USAGE' LIMIT 1`,
      reservationId,
    );
    expect(JSON.stringify(plan)).toContain('"Index Name":"CreditTransaction_reservationId_idx"');
    expect(JSON.stringify(plan)).not.toContain('Seq Scan');

    const released = await api.graphql(FINALIZE, { id: held.body.data.reserveCredits.reservation.id, action: 'RELEASE' }, token);
    expect(released.body.data.finalizeReservation).toMatchObject({ reservation: { status: 'RELEASED' }, balance: { total: 10 } });
    const [hold, refund] = await Promise.all(
      (['USAGE', 'REFUND'] as const).map((kind) => api.db.prisma.creditTransaction.findFirstOrThrow({ where: { reservationId, kind } })),
    );
    expect(refund).toMatchObject({ amount: 4, refundOfId: hold.id });
    expect(await ledgerSum(userId)).toBe(10);
  });

  it('another user cannot finalize my reservation', async () => {
    const owner = await newUser('res-owner');
    const thief = await newUser('res-thief');
    const held = await api.graphql(RESERVE, { input: { operation: 'UNIT', quantity: 4 } }, owner.token);
    const id = held.body.data.reserveCredits.reservation.id;
    const attempt = await api.graphql(FINALIZE, { id, action: 'RELEASE' }, thief.token);
    expect(attempt.body.data.finalizeReservation.__typename).toBe('NotFoundError');
    expect((await api.db.prisma.creditReservation.findUniqueOrThrow({ where: { id: decodeGlobalID(id).id } })).status).toBe('HELD');
  });
});

describe('holds in one call and by the general path', () => {
  const TTL_SECONDS = 600;

  /** Makes a hold through the service, counting the SQL statements it sent. */
  async function hold(principal: Principal, userId: string, input: ReserveInput) {
    api.db.queries.length = 0;
    const before = Date.now();
    const result = await api.services.credits.reserve(principal, userId, input);
    return { result, statements: api.db.queries.length, before, after: Date.now() };
  }

  /**
   * What a hold wrote, as a user would compare two holds: its row, its ledger row and the balance, with the user's own
   * ids left out and grants named by when they were given. What the call answered must be what it wrote.
   */
  async function written(userId: string, made: Awaited<ReturnType<typeof hold>>) {
    const { prisma } = api.db;
    const reservation = await prisma.creditReservation.findUniqueOrThrow({ where: { id: made.result.reservation.id } });
    const balance = await prisma.creditBalance.findUniqueOrThrow({ where: { userId } });
    expect(made.result.reservation).toEqual(reservation);
    expect(made.result.balance).toEqual(balance);
    expect(reservation.periodStart).toEqual(balance.periodStart);
    expect(reservation.expiresAt.getTime()).toBeGreaterThanOrEqual(made.before + TTL_SECONDS * 1000);
    expect(reservation.expiresAt.getTime()).toBeLessThanOrEqual(made.after + TTL_SECONDS * 1000);
    const row = await prisma.creditTransaction.findFirstOrThrow({ where: { reservationId: reservation.id } });
    expect(row.requestHash).toMatch(/^[0-9a-f]{64}$/);
    const grants = await prisma.creditGrant.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });
    const named = (draws: unknown) =>
      (draws as { grantId: string; amount: number }[]).map((draw) => ({
        amount: draw.amount,
        grant: grants.findIndex((grant) => grant.id === draw.grantId),
      }));
    const details = row.details as { fromGrants: unknown };
    return {
      reservation: {
        operation: reservation.operation,
        amount: reservation.amount,
        fromAllowance: reservation.fromAllowance,
        fromGrants: named(reservation.fromGrants),
        status: reservation.status,
        owner: reservation.owner,
        apiKeyId: reservation.apiKeyId,
        capturedAmount: reservation.capturedAmount,
        idempotencyKey: reservation.idempotencyKey,
        finalizedAt: reservation.finalizedAt,
        details: reservation.details,
      },
      ledgerRow: {
        kind: row.kind,
        operation: row.operation,
        amount: row.amount,
        balanceAfter: row.balanceAfter,
        idempotencyKey: row.idempotencyKey,
        generationId: row.generationId,
        paymentId: row.paymentId,
        grantId: row.grantId,
        actorId: row.actorId,
        apiKeyId: row.apiKeyId,
        refundOfId: row.refundOfId,
        details: { ...details, fromGrants: named(details.fromGrants) },
      },
      balance: { allowanceTotal: balance.allowanceTotal, allowanceRemaining: balance.allowanceRemaining, grantedRemaining: balance.grantedRemaining },
      grantsRemaining: grants.map((grant) => grant.remaining),
    };
  }

  async function ledgerRows(userId: string) {
    return api.db.prisma.creditTransaction.count({ where: { userId } });
  }

  /** A retry of the hold answers it again and moves nothing; the key with another request is refused. */
  async function expectReplayOnly(principal: Principal, userId: string, input: ReserveInput, first: ReservationResult) {
    const rows = await ledgerRows(userId);
    const replay = await hold(principal, userId, input);
    expect(replay.result).toEqual({ ...first, replayed: true });
    await expect(api.services.credits.reserve(principal, userId, { ...input, ttlSeconds: TTL_SECONDS + 1 })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    expect(await ledgerRows(userId)).toBe(rows);
    return replay;
  }

  it('the first hold of a user with no account yet is written as a hold in one call is', async () => {
    const input = { operation: 'UNIT', quantity: 4, idempotencyKey: 'first-hold', ttlSeconds: TTL_SECONDS, details: { job: 'poster' } };
    // Written straight into the users table, as the Auth.js adapter does: no credit account until the first movement.
    const opened = (await api.db.prisma.user.create({ data: { email: 'hold-opened@example.com' } })).id;
    expect(await api.services.credits.balanceOf(opened)).toBeNull();
    const { userId: fast } = await newUser('hold-fast');

    const bySlowPath = await hold({ kind: 'USER', userId: opened }, opened, input);
    const inOneCall = await hold({ kind: 'USER', userId: fast }, fast, input);

    expect(inOneCall.statements).toBe(1);
    expect(bySlowPath.statements).toBeGreaterThan(5);
    const expected = await written(fast, inOneCall);
    expect(await written(opened, bySlowPath)).toEqual(expected);
    expect(expected).toMatchObject({
      reservation: { amount: 4, fromAllowance: 4, fromGrants: [], status: 'HELD', owner: 'USER', idempotencyKey: 'client:reserve:first-hold' },
      ledgerRow: { kind: 'USAGE', amount: -4, balanceAfter: 6, details: { hold: true, fromAllowance: 4, fromGrants: [] } },
      balance: { allowanceRemaining: 6, grantedRemaining: 0 },
    });

    for (const userId of [fast, opened]) {
      const first = userId === fast ? inOneCall.result : bySlowPath.result;
      const replay = await expectReplayOnly({ kind: 'USER', userId }, userId, input, first);
      expect(replay.statements).toBe(1);
    }

    // A hold made in one call and retried after its period ended is answered by the general path, the same way.
    await api.db.prisma.creditBalance.update({ where: { userId: fast }, data: { nextResetAt: new Date(Date.now() - 1000) } });
    const rows = await ledgerRows(fast);
    const afterRollover = await hold({ kind: 'USER', userId: fast }, fast, input);
    expect(afterRollover.statements).toBeGreaterThan(1);
    expect(afterRollover.result).toMatchObject({ replayed: true, reservation: inOneCall.result.reservation, balance: { allowanceRemaining: 10 } });
    expect(await ledgerRows(fast)).toBe(rows + 1);
    expect(await ledgerSum(fast)).toBe(10);

    for (const userId of [fast, opened]) {
      const id = (userId === fast ? inOneCall : bySlowPath).result.reservation.id;
      const released = await api.services.credits.finalize({ kind: 'USER', userId }, id, 'RELEASE');
      expect(released.reservation.status).toBe('RELEASED');
      expect(await runningBalanceBreaks(userId)).toEqual([]);
    }
    expect(await ledgerSum(opened)).toBe(10);
    // The allowance the hold drew went with the period it was drawn in.
    expect(await ledgerSum(fast)).toBe(10);
  });

  it('a service hold over a period to roll over is written as a hold in one call is, grants drawn soonest-expiring first', async () => {
    const { apiKey } = await api.services.apiKeys.create(null, { name: 'holds alike', scopes: ['SPEND'] });
    const service: Principal = { kind: 'SERVICE', apiKeyId: apiKey.id };
    const input = { operation: 'UNIT', amount: 13, idempotencyKey: 'rolled-hold', ttlSeconds: TTL_SECONDS, details: { job: 'banner' } };
    const users = { fast: await newUser('hold-fast-granted'), rolled: await newUser('hold-rolled') };
    for (const { id } of Object.values(users)) {
      await grant(id, 3);
      await grant(id, 2, new Date(Date.now() + 10 * 86_400_000));
    }
    // The rolled user spent 8 of their allowance in a period that has since ended: the hold first renews it.
    await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 8 } }, users.rolled.token);
    await api.db.prisma.creditBalance.update({ where: { userId: users.rolled.userId }, data: { nextResetAt: new Date(Date.now() - 1000) } });

    const bySlowPath = await hold(service, users.rolled.userId, input);
    const inOneCall = await hold(service, users.fast.userId, input);

    // The call itself checks that the service's user exists and is not banned.
    expect(inOneCall.statements).toBe(1);
    expect(bySlowPath.statements).toBeGreaterThan(5);
    const expected = await written(users.fast.userId, inOneCall);
    expect(await written(users.rolled.userId, bySlowPath)).toEqual(expected);
    expect(expected).toMatchObject({
      reservation: {
        amount: 13,
        fromAllowance: 10,
        fromGrants: [{ grant: 1, amount: 2 }, { grant: 0, amount: 1 }],
        owner: 'SERVICE',
        apiKeyId: apiKey.id,
        idempotencyKey: `service:${apiKey.id}:reserve:rolled-hold`,
        details: { job: 'banner' },
      },
      ledgerRow: { amount: -13, balanceAfter: 2, apiKeyId: apiKey.id, details: { hold: true, fromAllowance: 10 } },
      balance: { allowanceRemaining: 0, grantedRemaining: 2 },
      grantsRemaining: [2, 0],
    });
    const rollover = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId: users.rolled.userId }, orderBy: { id: 'desc' }, skip: 1 });
    expect(rollover).toMatchObject({ kind: 'ALLOWANCE_RESET', amount: 8, balanceAfter: 15 });

    for (const { userId } of Object.values(users)) {
      const first = userId === users.fast.userId ? inOneCall.result : bySlowPath.result;
      await expectReplayOnly(service, userId, input, first);
    }

    // Confirming part of either hold gives the rest back the same way: to the grants last drawn first, then the allowance.
    const refunds = [];
    for (const [userId, made] of [[users.fast.userId, inOneCall], [users.rolled.userId, bySlowPath]] as const) {
      const confirmed = await api.services.credits.finalize(service, made.result.reservation.id, 'CONFIRM', { capture: 5 });
      expect(confirmed.reservation).toMatchObject({ status: 'CONFIRMED', capturedAmount: 5 });
      const refund = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, kind: 'REFUND' } });
      const holdRow = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, kind: 'USAGE', reservationId: made.result.reservation.id } });
      expect(refund.refundOfId).toBe(holdRow.id);
      refunds.push({ amount: refund.amount, balanceAfter: refund.balanceAfter, details: refund.details, balance: confirmed.balance.allowanceRemaining + confirmed.balance.grantedRemaining });
      expect(await runningBalanceBreaks(userId)).toEqual([]);
    }
    expect(refunds[1]).toEqual(refunds[0]);
    expect(refunds[0]).toMatchObject({ amount: 8, balanceAfter: 10, details: { toAllowance: 5, toGrants: 3, forfeited: 0 } });
  });
});

describe('jobs', () => {
  it('an allowance reset keeps granted credits', async () => {
    const { token, id, userId } = await newUser('resetter');
    await grant(id, 50);
    await api.graphql(DEDUCT, { input: { operation: 'UNIT', quantity: 15 } }, token);
    expect(await balanceOf(token)).toMatchObject({ allowanceRemaining: 0, grantedRemaining: 45 });
    await api.db.prisma.creditBalance.update({ where: { userId }, data: { nextResetAt: new Date(Date.now() - 1000) } });

    expect(await api.services.credits.resetDueAllowances()).toBeGreaterThanOrEqual(1);

    const after = await balanceOf(token);
    expect(after).toMatchObject({ allowanceRemaining: 10, allowanceTotal: 10, grantedRemaining: 45, total: 55 });
    expect(new Date(after.nextResetAt).getTime()).toBeGreaterThan(Date.now());
    const reset = await api.db.prisma.creditTransaction.findFirstOrThrow({
      where: { userId, kind: 'ALLOWANCE_RESET' },
      orderBy: { createdAt: 'desc' },
    });
    expect(reset).toMatchObject({ amount: 10, balanceAfter: 55 });
    expect(await ledgerSum(userId)).toBe(55);
  });

  it('expired grants are written off with an EXPIRY row', async () => {
    const { token, id, userId } = await newUser('expirer');
    await grant(id, 30, new Date(Date.now() + 60_000));
    await api.db.prisma.creditGrant.updateMany({ where: { userId }, data: { expiresAt: new Date(Date.now() - 1000) } });

    expect(await api.services.credits.expireGrants()).toBeGreaterThanOrEqual(1);

    expect(await balanceOf(token)).toMatchObject({ grantedRemaining: 0, total: 10 });
    const expiry = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, kind: 'EXPIRY' } });
    expect(expiry).toMatchObject({ amount: -30, balanceAfter: 10 });
    expect(await api.services.credits.expireGrants()).toBe(0);
    expect(await ledgerSum(userId)).toBe(10);
  });

  it('an expired reservation comes back, through the job queue', async () => {
    const { token, userId } = await newUser('forgetful');
    const held = await api.services.credits.reserve({ kind: 'SYSTEM', flow: 'test' }, userId, {
      operation: 'AI_TEXT_CHAT',
      amount: 6,
      ttlSeconds: 60,
    });
    expect((await balanceOf(token)).total).toBe(4);
    await api.db.prisma.creditReservation.update({
      where: { id: held.reservation.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });

    const released = await api.services.credits.releaseExpiredReservations();

    expect(released).toBe(1);
    expect((await balanceOf(token)).total).toBe(10);
    const refund = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, kind: 'REFUND' } });
    expect(refund.details).toMatchObject({ reason: 'expired', forfeited: 0 });
  });

  it('the credit jobs are registered on the queue and run there', async () => {
    const { userId } = await newUser('queued');
    await api.db.prisma.creditBalance.update({ where: { userId }, data: { nextResetAt: new Date(Date.now() - 1000) } });
    const worker = await startTestApp({ JOBS_ENABLED: 'true' });
    try {
      // The worker app has its own database; its queue must process a job sent to it.
      const { userId: workerUser } = await (async () => {
        const token = await worker.token('queued-worker');
        await worker.graphql(VIEWER_ID, {}, token);
        return { userId: (await worker.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: 'queued-worker' } })).id };
      })();
      await worker.db.prisma.creditBalance.update({
        where: { userId: workerUser },
        data: { nextResetAt: new Date(Date.now() - 1000), allowanceRemaining: 0 },
      });
      await worker.runtime.queue.send('credits.reset-allowances', {});
      const deadline = Date.now() + 30_000;
      let balance = await worker.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: workerUser } });
      while (balance.allowanceRemaining !== 10 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        balance = await worker.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: workerUser } });
      }
      expect(balance.allowanceRemaining).toBe(10);
      expect(balance.nextResetAt.getTime()).toBeGreaterThan(Date.now());
    } finally {
      await worker.close();
    }
  }, 60_000);
});

describe('access and validation', () => {
  it('users cannot call admin credit mutations', async () => {
    const { token, id, userId } = await newUser('wannabe');
    const attempts = [
      api.graphql(GRANT, { userId: id, amount: 1000, reason: 'me' }, token),
      api.graphql(`mutation($id: ID!) { adjustCredits(userId: $id, amount: 500, reason: "x") { __typename } }`, { id }, token),
      api.graphql(SET_COSTS, { costs: [{ operation: 'AI_TEXT_CHAT', cost: 0 }] }, token),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    expect(await ledgerSum(userId)).toBe(10);
    expect((await api.db.prisma.featureCost.findUniqueOrThrow({ where: { operation: 'AI_TEXT_CHAT' } })).cost).toBe(5);
  });

  it("users cannot read another user's ledger", async () => {
    const victim = await newUser('ledger-victim');
    const attacker = await newUser('ledger-attacker');
    const response = await api.graphql(
      `query($id: ID!) { node(id: $id) { ... on User { creditTransactions(first: 10) { edges { node { amount } } } creditBalance { total } } } }`,
      { id: victim.id },
      attacker.token,
    );
    // Another user's id reads exactly like one that does not exist.
    expect(response.body).toEqual({ data: { node: null } });
  });

  it.each([
    ['a negative quantity', { operation: 'AI_TEXT_CHAT', quantity: -5 }, 'quantity'],
    ['a zero quantity', { operation: 'AI_TEXT_CHAT', quantity: 0 }, 'quantity'],
    ['a quantity above the limit', { operation: 'AI_TEXT_CHAT', quantity: 10_001 }, 'quantity'],
    ['an unknown operation', { operation: 'TELEPORT' }, 'operation'],
    ['a malformed operation', { operation: 'drop table' }, 'operation'],
    ['oversized details', { operation: 'AI_TEXT_CHAT', details: { blob: 'x'.repeat(5000) } }, 'details'],
    ['a malformed idempotency key', { operation: 'AI_TEXT_CHAT', idempotencyKey: 'has spaces and ✓' }, 'idempotencyKey'],
  ])('%s gets a ValidationError and moves nothing', async (_name, input, path) => {
    const { token, userId } = await newUser(`bad-${path}-${Math.random().toString(36).slice(2, 8)}`);
    const response = await api.graphql(DEDUCT, { input }, token);
    expect(response.body.data.deductCredits.__typename).toBe('ValidationError');
    expect(response.body.data.deductCredits.issues[0].path).toBe(path);
    expect(await api.db.prisma.creditTransaction.count({ where: { userId } })).toBe(1);
    expect((await balanceOf(token)).total).toBe(10);
  });

  it('rate-limits deductions per user with a typed error', async () => {
    const limited = await startTestApp({ CREDITS_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      await limited.services.credits.setFeatureCosts((await limited.signUp('limit-admin', { email: 'ops@example.com' })).userId, [
        { operation: 'UNIT', cost: 1 },
      ]);
      const token = await limited.token('eager');
      const typenames: string[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await limited.graphql(DEDUCT, { input: { operation: 'UNIT' } }, token);
        typenames.push(response.body.data.deductCredits.__typename);
        if (i === 3) expect(response.body.data.deductCredits.retryAfterSeconds).toBeGreaterThan(0);
      }
      expect(typenames).toEqual(['CreditMovement', 'CreditMovement', 'CreditMovement', 'RateLimitedError']);
      const other = await limited.graphql(DEDUCT, { input: { operation: 'UNIT' } }, await limited.token('patient'));
      expect(other.body.data.deductCredits.__typename).toBe('CreditMovement');
    } finally {
      await limited.close();
    }
  });
});

describe('admin', () => {
  it('grantCredits and adjustCredits write audit rows; a negative adjustment cannot overdraw', async () => {
    const { token, id, userId } = await newUser('adjusted');
    await grant(id, 20);
    const down = await api.graphql(
      `mutation($id: ID!) { adjustCredits(userId: $id, amount: -25, reason: "abuse") { __typename ... on CreditMovement { balance { total } } } }`,
      { id },
      adminToken,
    );
    expect(down.body.data.adjustCredits).toEqual({ __typename: 'CreditMovement', balance: { total: 5 } });
    const tooMuch = await api.graphql(
      `mutation($id: ID!) { adjustCredits(userId: $id, amount: -6, reason: "abuse") { __typename ... on InsufficientCreditsError { available } } }`,
      { id },
      adminToken,
    );
    expect(tooMuch.body.data.adjustCredits).toEqual({ __typename: 'InsufficientCreditsError', available: 5 });
    expect((await balanceOf(token)).total).toBe(5);
    const audit = await api.db.prisma.adminAuditLog.findMany({ where: { targetId: userId }, orderBy: { createdAt: 'asc' } });
    expect(audit.map((row) => row.action)).toEqual(['credits.grant', 'credits.adjust']);
    expect(await ledgerSum(userId)).toBe(5);
  });

  it('the users list loads every balance on the page with one SQL statement', async () => {
    for (let i = 0; i < 12; i++) await newUser(`listed-${i}`);
    const PAGE = `query($first: Int!) { users(first: $first) { edges { node { email creditBalance { total usedThisPeriod } } } } }`;
    const statementsFor = async (first: number) => {
      api.db.queries.length = 0;
      const response = await api.graphql(PAGE, { first }, adminToken);
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.users.edges).toHaveLength(first);
      expect(response.body.data.users.edges.every((edge: any) => edge.node.creditBalance.total >= 0)).toBe(true);
      return {
        // The page's reads (the authentication read of the admin's own account names the table without its schema).
        balances: api.db.queries.filter((sql) => sql.includes('"public"."CreditBalance"') && !sql.includes('"CreditTransaction"')).length,
        usage: api.db.queries.filter((sql) => sql.includes('"CreditTransaction"')).length,
      };
    };
    const small = await statementsFor(2);
    const large = await statementsFor(12);
    expect(small).toEqual({ balances: 1, usage: 1 });
    expect(large).toEqual({ balances: 1, usage: 1 });
  });
});

describe('reconciliation', () => {
  it('credits:reconcile passes on a consistent ledger and fails naming the user on a tampered balance', async () => {
    expect(await api.services.credits.reconcile()).toEqual([]);
    const env = { ...process.env, DATABASE_URL: api.db.url, LOG_LEVEL: 'silent' };
    const ok = await run('node_modules/.bin/tsx', ['scripts/credits-reconcile.ts'], { env });
    expect(ok.stdout).toMatch(/\d+ balances checked, 0 mismatched/);

    const { userId } = await newUser('tampered');
    await api.db.prisma.creditBalance.update({ where: { userId }, data: { allowanceRemaining: 999 } });
    const failed = await run('node_modules/.bin/tsx', ['scripts/credits-reconcile.ts'], { env }).catch((error) => error);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`MISMATCH user ${userId} (tampered@example.com): balance 999, ledger sums to 10`);
  }, 60_000);
});

describe('a service hold inside a caller transaction', () => {
  const HOLD = { operation: 'AI_TEXT_CHAT' };
  let service: Principal;
  beforeAll(async () => {
    const { apiKey } = await api.services.apiKeys.create(null, { name: 'holds in a transaction', scopes: ['SPEND'] });
    service = { kind: 'SERVICE', apiKeyId: apiKey.id };
  });
  const holdInTransaction = (userId: string) =>
    api.db.prisma.$transaction((tx) => api.services.credits.reserve(service, userId, HOLD, tx));

  it('is refused for a banned, a deleted or an unknown user, by the same rule as a hold in one call, and holds nothing', async () => {
    const banned = await api.signUp('tx-hold-banned');
    const deleted = await api.signUp('tx-hold-deleted');
    await api.db.prisma.user.update({ where: { id: banned.userId }, data: { role: 'BANNED' } });
    await api.db.prisma.user.update({ where: { id: deleted.userId }, data: { deletedAt: new Date() } });

    await expect(holdInTransaction(banned.userId)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'This user is banned: their credits cannot be spent or held',
    });
    await expect(holdInTransaction(deleted.userId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(holdInTransaction('00000000-0000-4000-8000-00000000dead')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(holdInTransaction('not-a-uuid')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await api.db.prisma.creditReservation.count({ where: { userId: { in: [banned.userId, deleted.userId] } } })).toBe(0);
  });

  it('is made for a user who may be served', async () => {
    const served = await api.signUp('tx-hold-served');
    const held = await holdInTransaction(served.userId);
    expect(held.reservation).toMatchObject({ userId: served.userId, status: 'HELD', owner: 'SERVICE' });
  });
});
