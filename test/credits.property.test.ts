import fc from 'fast-check';
import type { Principal } from '../src/services/credits.js';
import { DomainError } from '../src/services/errors.js';
import { startTestApp, type TestApp } from './support/app.js';

// Random sequences of legal calls, run against the real database. After every step the money invariants must hold;
// a failing sequence is shrunk by fast-check to the shortest one that breaks them. FAST_CHECK_RUNS raises the count.

const RUNS = Number(process.env.FAST_CHECK_RUNS ?? 80);
const SEED = process.env.FAST_CHECK_SEED ? Number(process.env.FAST_CHECK_SEED) : 20261130;

let api: TestApp;
let adminId: string;
let userCounter = 0;

beforeAll(async () => {
  api = await startTestApp({ CREDITS_RATE_LIMIT_PER_MINUTE: '1000000' });
  adminId = (await api.signUp('property-admin', { email: 'ops@example.com' })).userId;
  await api.services.credits.setFeatureCosts(adminId, [{ operation: 'UNIT', cost: 1 }, { operation: 'TRIPLE', cost: 3 }]);
});
afterAll(async () => {
  await api?.close();
});

type Step =
  | { kind: 'deduct'; operation: string; quantity: number; key: string | null }
  | { kind: 'reserve'; operation: string; quantity: number; key: string | null }
  | { kind: 'reserveInTransaction'; operation: string; quantity: number; key: string | null }
  | { kind: 'serviceReserve'; amount: number }
  | { kind: 'confirm'; pick: number; capture: number | null }
  | { kind: 'release'; pick: number }
  | { kind: 'grant'; amount: number; expiring: boolean }
  | { kind: 'expireGrant'; pick: number }
  | { kind: 'expireHold'; pick: number }
  | { kind: 'periodEnds' }
  | { kind: 'periodLapses' }
  | { kind: 'adjustDown'; amount: number }
  | { kind: 'takeBack'; amount: number };

const operation = fc.constantFrom('UNIT', 'TRIPLE');
const key = fc.option(fc.constantFrom('a', 'b', 'c'), { nil: null });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deduct' as const), operation, quantity: fc.integer({ min: 1, max: 6 }), key }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('reserve' as const), operation, quantity: fc.integer({ min: 1, max: 6 }), key }) },
  // A hold inside the caller's transaction (a generation's) takes the general path, not the one-call function.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reserveInTransaction' as const), operation, quantity: fc.integer({ min: 1, max: 6 }), key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('serviceReserve' as const), amount: fc.integer({ min: 1, max: 12 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('confirm' as const),
      pick: fc.nat(),
      capture: fc.option(fc.integer({ min: -1, max: 20 }), { nil: null }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('grant' as const), amount: fc.integer({ min: 1, max: 25 }), expiring: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expireGrant' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expireHold' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('periodEnds' as const) }) },
  // The period ends with no job to renew it: the next spend or hold rolls it over itself, on the general path.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('periodLapses' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('adjustDown' as const), amount: fc.integer({ min: 1, max: 15 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('takeBack' as const), amount: fc.integer({ min: 1, max: 15 }) }) },
);

async function apply(userId: string, serviceKeyId: string, current: Step): Promise<void> {
  const { credits } = api.services;
  const { prisma } = api.db;
  const user: Principal = { kind: 'USER', userId };
  const held = () => prisma.creditReservation.findMany({ where: { userId, status: 'HELD' }, orderBy: { id: 'asc' } });
  switch (current.kind) {
    case 'deduct':
      await credits.deduct(user, userId, { operation: current.operation, quantity: current.quantity, idempotencyKey: current.key });
      return;
    case 'reserve':
      await credits.reserve(user, userId, { operation: current.operation, quantity: current.quantity, idempotencyKey: current.key });
      return;
    case 'reserveInTransaction': {
      const input = { operation: current.operation, quantity: current.quantity, idempotencyKey: current.key };
      await prisma.$transaction((tx) => credits.reserve(user, userId, input, tx));
      return;
    }
    case 'serviceReserve':
      await credits.reserve({ kind: 'SERVICE', apiKeyId: serviceKeyId }, userId, { operation: 'UNIT', amount: current.amount });
      return;
    case 'confirm':
    case 'release': {
      const holds = await held();
      if (holds.length === 0) return;
      const hold = holds[current.pick % holds.length];
      const principal: Principal = hold.owner === 'SERVICE' ? { kind: 'SERVICE', apiKeyId: serviceKeyId } : user;
      const capture = current.kind === 'confirm' ? current.capture : null;
      await credits.finalize(principal, hold.id, current.kind === 'confirm' ? 'CONFIRM' : 'RELEASE', { capture });
      return;
    }
    case 'grant':
      await credits.grantBy({ kind: 'ADMIN', userId: adminId }, userId, {
        amount: current.amount,
        reason: 'property',
        expiresAt: current.expiring ? new Date(Date.now() + 3_600_000) : null,
      });
      return;
    case 'expireGrant': {
      const grants = await prisma.creditGrant.findMany({ where: { userId, expiredAt: null }, orderBy: { id: 'asc' } });
      if (grants.length === 0) return;
      const grant = grants[current.pick % grants.length];
      await prisma.creditGrant.update({ where: { id: grant.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      await credits.expireGrants();
      return;
    }
    case 'expireHold': {
      const holds = await held();
      if (holds.length === 0) return;
      const hold = holds[current.pick % holds.length];
      await prisma.creditReservation.update({ where: { id: hold.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      await credits.releaseExpiredReservations();
      return;
    }
    case 'periodEnds':
      await prisma.creditBalance.update({ where: { userId }, data: { nextResetAt: new Date(Date.now() - 1000) } });
      await credits.resetDueAllowances();
      return;
    case 'periodLapses':
      await prisma.creditBalance.update({ where: { userId }, data: { nextResetAt: new Date(Date.now() - 1000) } });
      return;
    case 'adjustDown':
      await credits.adminAdjust(adminId, userId, { amount: -current.amount, reason: 'property' });
      return;
    case 'takeBack':
      await credits.takeBack(userId, { amount: current.amount, reason: 'property refund' });
      return;
  }
}

async function assertInvariants(userId: string) {
  const { prisma } = api.db;
  const balance = await prisma.creditBalance.findUniqueOrThrow({ where: { userId } });
  const ledger = await prisma.creditTransaction.findMany({ where: { userId } });
  const grants = await prisma.creditGrant.findMany({ where: { userId } });
  const reservations = await prisma.creditReservation.findMany({ where: { userId } });

  expect(balance.allowanceRemaining).toBeGreaterThanOrEqual(0);
  expect(balance.grantedRemaining).toBeGreaterThanOrEqual(0);
  expect(balance.allowanceRemaining).toBeLessThanOrEqual(balance.allowanceTotal);
  expect(ledger.reduce((sum, row) => sum + row.amount, 0)).toBe(balance.allowanceRemaining + balance.grantedRemaining);
  expect(ledger.every((row) => row.balanceAfter >= 0)).toBe(true);
  expect(grants.reduce((sum, grant) => sum + grant.remaining, 0)).toBe(balance.grantedRemaining);
  for (const grant of grants) {
    expect(grant.remaining).toBeGreaterThanOrEqual(0);
    expect(grant.remaining).toBeLessThanOrEqual(grant.amount);
    if (grant.expiredAt) expect(grant.remaining).toBe(0);
  }
  // A hold never gives back more than it took, and what a confirm kept plus what came back is at most the hold.
  for (const reservation of reservations) {
    const rows = ledger.filter((row) => row.reservationId === reservation.id);
    const taken = -rows.filter((row) => row.kind === 'USAGE').reduce((sum, row) => sum + row.amount, 0);
    const refunded = rows.filter((row) => row.kind === 'REFUND').reduce((sum, row) => sum + row.amount, 0);
    expect(taken).toBe(reservation.amount);
    expect(refunded).toBeGreaterThanOrEqual(0);
    if (reservation.status === 'HELD') expect(refunded).toBe(0);
    if (reservation.status === 'CONFIRMED') expect(refunded + (reservation.capturedAmount ?? 0)).toBeLessThanOrEqual(reservation.amount);
    if (reservation.status === 'RELEASED') expect(refunded).toBeLessThanOrEqual(reservation.amount);
  }
  expect((await api.services.credits.reconcile()).filter((row) => row.userId === userId)).toEqual([]);
}

describe('credit invariants over random sequences of legal calls', () => {
  it('balance = ledger sum, nothing negative, holds never refund more than they took, after every step', async () => {
    const { apiKey } = await api.services.apiKeys.create(adminId, { name: 'property service', scopes: ['SPEND'] });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 3, maxLength: 30, size: 'max' }), async (steps) => {
        const { userId } = await api.signUp(`property-${++userCounter}`);
        // Enough to spend that most steps succeed: refusals alone would exercise little.
        await api.services.credits.grantBy({ kind: 'ADMIN', userId: adminId }, userId, { amount: 30, reason: 'start' });
        for (const current of steps) {
          try {
            await apply(userId, apiKey.id, current);
          } catch (error) {
            // Refusals (insufficient credits, a settled hold, a reused key) are legal outcomes; anything else is a bug.
            if (!(error instanceof DomainError)) throw error;
          }
          await assertInvariants(userId);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);

  it('replaying every keyed call of a sequence moves nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ operation, quantity: fc.integer({ min: 1, max: 4 }), key: fc.constantFrom('k1', 'k2', 'k3', 'k4'), hold: fc.boolean() }),
          { minLength: 1, maxLength: 12 },
        ),
        async (calls) => {
          const { userId } = await api.signUp(`replay-${++userCounter}`);
          await api.services.credits.grantBy({ kind: 'ADMIN', userId: adminId }, userId, { amount: 100, reason: 'replay' });
          const principal: Principal = { kind: 'USER', userId };
          const run = async () => {
            for (const call of calls) {
              const input = { operation: call.operation, quantity: call.quantity, idempotencyKey: call.key };
              await (call.hold
                ? api.services.credits.reserve(principal, userId, input)
                : api.services.credits.deduct(principal, userId, input)
              ).catch((error) => {
                if (!(error instanceof DomainError)) throw error;
              });
            }
          };
          await run();
          const before = await api.db.prisma.creditTransaction.findMany({ where: { userId }, orderBy: { id: 'asc' } });
          await run();
          const after = await api.db.prisma.creditTransaction.findMany({ where: { userId }, orderBy: { id: 'asc' } });
          expect(after).toEqual(before);
          await assertInvariants(userId);
        },
      ),
      { numRuns: Math.ceil(RUNS / 2), seed: SEED },
    );
  }, 120_000);

  it('spends sent at once, which go to the database together, keep every invariant and spend a key once', async () => {
    let together = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            user: fc.integer({ min: 0, max: 2 }),
            operation,
            quantity: fc.integer({ min: 1, max: 6 }),
            key: fc.option(fc.constantFrom('x', 'y'), { nil: null }),
            hold: fc.boolean(),
          }),
          { minLength: 2, maxLength: 24 },
        ),
        async (calls) => {
          const users = await Promise.all(
            [0, 1, 2].map(async () => {
              const { userId } = await api.signUp(`burst-${++userCounter}`);
              await api.services.credits.grantBy({ kind: 'ADMIN', userId: adminId }, userId, { amount: 20, reason: 'burst' });
              return userId;
            }),
          );
          api.db.queries.length = 0;
          const answers = await Promise.all(
            calls.map((call) => {
              const userId = users[call.user];
              const input = { operation: call.operation, quantity: call.quantity, idempotencyKey: call.key };
              const principal: Principal = { kind: 'USER', userId };
              const movement = call.hold
                ? api.services.credits.reserve(principal, userId, input).then((held) => ({ replayed: held.replayed }))
                : api.services.credits.deduct(principal, userId, input).then((spent) => ({ replayed: spent.replayed }));
              return movement.catch((error) => {
                if (!(error instanceof DomainError)) throw error;
                return null;
              });
            }),
          );
          together += api.db.queries.filter((query) => query.includes('credit_spend_many(')).length;
          for (const userId of users) {
            await assertInvariants(userId);
            // Each key of a kind moved credits at most once, however many of its calls shared a statement.
            const keyed = await api.db.prisma.creditTransaction.groupBy({
              by: ['idempotencyKey'],
              where: { userId, kind: 'USAGE', idempotencyKey: { not: null } },
              _count: true,
            });
            expect(keyed.every((row) => row._count === 1)).toBe(true);
          }
          const moved = await api.db.prisma.creditTransaction.count({ where: { userId: { in: users }, kind: 'USAGE' } });
          expect(answers.filter((answer) => answer && !answer.replayed)).toHaveLength(moved);
        },
      ),
      { numRuns: Math.ceil(RUNS / 2), seed: SEED },
    );
    // Calls made in one tick wait for the two statement slots: most runs send some of them together.
    expect(together).toBeGreaterThan(0);
  }, 120_000);
});
