import { jest } from '@jest/globals';
import pg from 'pg';
import { SpendBatches } from '../src/services/spend-batches.js';
import { startTestApp, type GraphQLResponse, type TestApp } from './support/app.js';

// A busy instance sends the spends that wait for a free statement together, in one credit_spend_many statement. These
// tests make them wait for certain: two spends of a "blocker" user hold both statement slots (inFlight 2) on a balance
// lock the test holds, the burst is sent and enqueued, then the lock is let go.

let api: TestApp;
let adminToken: string;

const DEDUCT = `mutation($input: DeductCreditsInput!) {
  deductCredits(input: $input) {
    __typename
    ... on CreditMovement { replayed transaction { id amount } balance { total } }
    ... on InsufficientCreditsError { required available }
  }
}`;
const RESERVE = `mutation($input: ReserveCreditsInput!) {
  reserveCredits(input: $input) {
    __typename
    ... on ReservationResult { replayed reservation { id status amount } balance { total } }
    ... on InsufficientCreditsError { required available }
  }
}`;

beforeAll(async () => {
  api = await startTestApp({ CREDITS_RATE_LIMIT_PER_MINUTE: '1000000' });
  adminToken = await api.token('batches-admin', { email: 'admin@example.com' });
});
afterAll(async () => {
  await api?.close();
});

const spendStatements = () => ({
  alone: api.db.queries.filter((query) => query.includes('credit_spend(')).length,
  together: api.db.queries.filter((query) => query.includes('credit_spend_many(')).length,
});

/** Runs `send` while both statement slots wait on a lock, and lets the lock go once `spends` more spends are queued. */
async function whileSlotsAreHeld<T>(name: string, spends: number, send: () => Promise<T>): Promise<T> {
  const blocker = await api.signUp(name);
  await api.grantCredits(blocker.id, 10, adminToken);
  const lock = new pg.Client({ connectionString: api.db.url });
  await lock.connect();
  const enqueued = jest.spyOn(SpendBatches.prototype, 'spend');
  try {
    await lock.query('BEGIN');
    await lock.query(`SELECT 1 FROM "CreditBalance" WHERE "userId" = $1 FOR UPDATE`, [blocker.userId]);
    const blocked = [1, 2].map((n) =>
      api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: `${name}-${n}` } }, blocker.token),
    );
    await until(async () => {
      const { rows } = await lock.query(
        // The test database does not track statements' text, but it does report what each connection waits for.
        `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows[0].waiting === 2;
    });
    api.db.queries.length = 0;
    const sent = send();
    await until(async () => enqueued.mock.calls.length === 2 + spends);
    await lock.query('COMMIT');
    for (const response of await Promise.all(blocked)) expect(response.body.data.deductCredits.__typename).toBe('CreditMovement');
    return await sent;
  } finally {
    enqueued.mockRestore();
    await lock.end();
  }
}

async function until(check: () => Promise<boolean>) {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the spends to queue');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const typenames = (responses: GraphQLResponse[], field: string) =>
  responses.map((response) => response.body.data[field].__typename as string).sort();

describe('spends sent together', () => {
  it('each spend in a batch answers as it would alone: the last credits once, a reused key once, holds by the same rule', async () => {
    const rich = await api.signUp('batch-rich');
    await api.grantCredits(rich.id, 90, adminToken);
    const retrier = await api.signUp('batch-retrier');
    await api.grantCredits(retrier.id, 5, adminToken);
    const holder = await api.signUp('batch-holder');
    await api.grantCredits(holder.id, 10, adminToken);
    // Uses the retrier's key in the same batch, where the retrier's ledger row is already written but not committed.
    const copycat = await api.signUp('batch-copycat');
    await api.grantCredits(copycat.id, 5, adminToken);

    const [richAnswers, retrierAnswers, holderAnswers, copycatAnswer] = await whileSlotsAreHeld('batch-blocker', 25 + 6 + 6 + 1, () =>
      Promise.all([
        Promise.all(Array.from({ length: 25 }, () => api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT' } }, rich.token))),
        Promise.all(
          Array.from({ length: 6 }, () =>
            api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'same-click' } }, retrier.token),
          ),
        ),
        Promise.all(Array.from({ length: 6 }, () => api.graphql(RESERVE, { input: { operation: 'AI_TEXT_CHAT' } }, holder.token))),
        api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'same-click' } }, copycat.token),
      ]),
    );

    // 38 spends, at most 32 to a statement: two statements besides the blockers' own.
    expect(spendStatements()).toEqual({ alone: 2, together: 2 });

    // 100 credits at 5 each: twenty spends, and five refused with what was left.
    expect(typenames(richAnswers, 'deductCredits')).toEqual([...Array(20).fill('CreditMovement'), ...Array(5).fill('InsufficientCreditsError')]);
    for (const refused of richAnswers.filter((answer) => answer.body.data.deductCredits.__typename === 'InsufficientCreditsError')) {
      expect(refused.body.data.deductCredits).toMatchObject({ required: 5, available: 0 });
    }

    // One key sent six times in one batch: one movement, five replays of it.
    const movements = retrierAnswers.map((answer) => answer.body.data.deductCredits);
    expect(new Set(movements.map((movement) => movement.transaction.id)).size).toBe(1);
    expect(movements.filter((movement) => !movement.replayed)).toHaveLength(1);
    expect(movements.every((movement) => movement.balance.total === 10)).toBe(true);
    // Another user's copy of that key is a spend of its own, from its own credits, not a replay of the retrier's.
    expect(copycatAnswer.body.data.deductCredits).toMatchObject({ __typename: 'CreditMovement', replayed: false, balance: { total: 10 } });
    expect(copycatAnswer.body.data.deductCredits.transaction.id).not.toBe(movements[0].transaction.id);

    expect(typenames(holderAnswers, 'reserveCredits')).toEqual([...Array(2).fill('InsufficientCreditsError'), ...Array(4).fill('ReservationResult')]);

    const balances = await api.db.prisma.creditBalance.findMany({
      where: { userId: { in: [rich.userId, retrier.userId, holder.userId, copycat.userId] } },
    });
    expect(Object.fromEntries(balances.map((b) => [b.userId, b.allowanceRemaining + b.grantedRemaining]))).toEqual({
      [rich.userId]: 0,
      [retrier.userId]: 10,
      [holder.userId]: 0,
      [copycat.userId]: 10,
    });
    expect(await api.db.prisma.creditTransaction.count({ where: { userId: retrier.userId, kind: 'USAGE' } })).toBe(1);
    expect(await api.services.credits.reconcile()).toEqual([]);
  });

  it('a spend that fails in the database fails alone: the rest of its batch is sent again one by one and succeeds', async () => {
    await api.db.prisma.featureCost.create({ data: { operation: 'BROKEN_FEATURE', cost: 1 } });
    await api.db.prisma.$executeRawUnsafe(`CREATE FUNCTION refuse_broken_feature() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'storage for BROKEN_FEATURE is gone'; END $$`);
    await api.db.prisma.$executeRawUnsafe(`CREATE TRIGGER refuse_broken_feature BEFORE INSERT ON "CreditTransaction"
      FOR EACH ROW WHEN (NEW.operation = 'BROKEN_FEATURE') EXECUTE FUNCTION refuse_broken_feature()`);
    const user = await api.signUp('batch-with-a-broken-spend');
    await api.grantCredits(user.id, 10, adminToken);

    const answers = await whileSlotsAreHeld('batch-blocker-2', 4, () =>
      Promise.all([
        ...Array.from({ length: 3 }, () => api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT' } }, user.token)),
        api.graphql(DEDUCT, { input: { operation: 'BROKEN_FEATURE' } }, user.token),
      ]),
    );

    // The blockers' two, the batch that failed, then each of its four spends again alone.
    expect(spendStatements()).toEqual({ alone: 6, together: 1 });
    expect(typenames(answers.slice(0, 3), 'deductCredits')).toEqual(Array(3).fill('CreditMovement'));
    const broken = answers[3].body as { data: null; errors: { message: string; extensions: { code: string } }[] };
    expect(broken.data).toBeNull();
    expect(broken.errors).toEqual([expect.objectContaining({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);

    const ledger = await api.db.prisma.creditTransaction.findMany({ where: { userId: user.userId, kind: 'USAGE' } });
    expect(ledger.map((row) => [row.operation, row.amount])).toEqual([
      ['AI_TEXT_CHAT', -5],
      ['AI_TEXT_CHAT', -5],
      ['AI_TEXT_CHAT', -5],
    ]);
    expect(await api.services.credits.reconcile()).toEqual([]);
  });
});
