import { createPrismaClient, type Db } from '../src/db/client.js';
import { createLogger } from '../src/logger.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { createApp } from '../src/server.js';
import { startTestApp, type TestApp } from './support/app.js';

let api: TestApp;

beforeAll(async () => {
  api = await startTestApp({ CREDITS_RATE_LIMIT_PER_MINUTE: '1000000' });
});
afterAll(async () => {
  await api?.close();
});

/** The statements one request sends, BEGIN and COMMIT included. */
async function statementsOf(query: string, variables: Record<string, unknown>, token: string) {
  api.db.queries.length = 0;
  const response = await api.graphql(query, variables, token);
  expect(response.body.errors).toBeUndefined();
  return { statements: api.db.queries.length, data: response.body.data };
}

const VIEWER = `{ viewer { id email creditBalance { total } subscription { status } } }`;
const DEDUCT = `mutation($key: String) { deductCredits(input: { operation: "AI_TEXT_CHAT", idempotencyKey: $key }) {
  __typename ... on CreditMovement { replayed balance { total } transaction { amount } } } }`;

const RESERVE = `mutation($key: String) { reserveCredits(input: { operation: "AI_TEXT_CHAT", idempotencyKey: $key }) {
  __typename ... on ReservationResult { replayed balance { total } reservation { id amount status } } } }`;

describe('SQL statements per request', () => {
  it('the viewer with balance and subscription: answered from the authentication read, one statement', async () => {
    const { token } = await api.signUp('counted-viewer');
    const { statements, data } = await statementsOf(VIEWER, {}, token);
    expect(data.viewer).toMatchObject({ email: 'counted-viewer@example.com', creditBalance: { total: 10 }, subscription: null });
    expect(statements).toBe(1);
    expect((await statementsOf(`{ viewer { id email } }`, {}, token)).statements).toBe(1);
  });

  it('the viewer answered from the authentication read is never behind: a subscription and a spend show at the next request', async () => {
    const { token, userId } = await api.signUp('fresh-viewer');
    const plan = await api.db.prisma.plan.findFirstOrThrow({ where: { creditsPerPeriod: { gt: 0 } } });
    await api.db.prisma.subscription.create({
      data: { stripeSubscriptionId: 'sub_fresh_viewer', stripeCustomerId: 'cus_fresh_viewer', userId, planId: plan.id, status: 'ACTIVE' },
    });
    const subscribed = await statementsOf(VIEWER, {}, token);
    expect(subscribed.data.viewer).toMatchObject({ creditBalance: { total: 10 }, subscription: { status: 'ACTIVE' } });
    expect(subscribed.statements).toBe(1);
    await statementsOf(DEDUCT, { key: 'fresh-viewer' }, token);
    expect((await statementsOf(VIEWER, {}, token)).data.viewer.creditBalance.total).toBe(5);
    // A selection reaching past the rows read at authentication (the subscription's plan) is read in full instead.
    const deeper = await statementsOf(`{ viewer { creditBalance { total } subscription { status plan { name } } } }`, {}, token);
    expect(deeper.data.viewer).toEqual({ creditBalance: { total: 5 }, subscription: { status: 'ACTIVE', plan: { name: plan.name } } });
  });

  it('deductCredits: once this instance has signed the user in, one call that checks the user, locks, checks, draws and appends', async () => {
    const { token } = await api.signUp('counted-deduct');
    const spent = await statementsOf(DEDUCT, { key: 'counted' }, token);
    expect(spent.data.deductCredits).toMatchObject({ replayed: false, balance: { total: 5 }, transaction: { amount: -5 } });
    expect(spent.statements).toBe(1);
    const replayed = await statementsOf(DEDUCT, { key: 'counted' }, token);
    expect(replayed.data.deductCredits).toMatchObject({ replayed: true, balance: { total: 5 } });
    expect(replayed.statements).toBe(1);
    await statementsOf(DEDUCT, { key: 'last' }, token);
    const refused = await statementsOf(DEDUCT, { key: 'broke' }, token);
    expect(refused.data.deductCredits.__typename).toBe('InsufficientCreditsError');
    expect(refused.statements).toBe(1);
  });

  it('reserveCredits: as many as deductCredits, one call that checks the user, locks, checks, draws and holds', async () => {
    const { token } = await api.signUp('counted-reserve');
    const held = await statementsOf(RESERVE, { key: 'counted' }, token);
    expect(held.data.reserveCredits).toMatchObject({ replayed: false, balance: { total: 5 }, reservation: { amount: 5, status: 'HELD' } });
    expect(held.statements).toBe(1);
    const replayed = await statementsOf(RESERVE, { key: 'counted' }, token);
    expect(replayed.data.reserveCredits).toMatchObject({ replayed: true, balance: { total: 5 }, reservation: held.data.reserveCredits.reservation });
    expect(replayed.statements).toBe(1);
    await statementsOf(RESERVE, { key: 'last' }, token);
    const refused = await statementsOf(RESERVE, { key: 'broke' }, token);
    expect(refused.data.reserveCredits.__typename).toBe('InsufficientCreditsError');
    expect(refused.statements).toBe(1);
  });

  it('a spend signs the user in again when this instance has not seen them, their token says something new, or the request asks for more', async () => {
    const token = await api.token('counted-sign-in');
    api.db.queries.length = 0;
    const first = await api.graphql(DEDUCT, { key: 'first' }, token);
    expect(first.body.data.deductCredits.__typename).toBe('CreditMovement');
    expect(api.db.queries.length).toBeGreaterThan(1);
    expect((await statementsOf(DEDUCT, { key: 'second' }, token)).statements).toBe(1);
    const { id: userId } = await api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: 'counted-sign-in' } });
    await api.services.credits.grant(userId, { amount: 100, source: 'PROMOTION', reason: 'more spends' });

    const renamed = await api.token('counted-sign-in', { email: 'counted-sign-in@example.com', name: 'New Name' });
    const withNewName = await statementsOf(DEDUCT, { key: 'renamed' }, renamed);
    expect(withNewName.data.deductCredits.__typename).toBe('CreditMovement');
    expect(withNewName.statements).toBeGreaterThan(1);
    expect((await api.db.prisma.user.findUniqueOrThrow({ where: { id: userId } })).name).toBe('New Name');
    expect((await statementsOf(DEDUCT, { key: 'renamed-again' }, renamed)).statements).toBe(1);

    const spendAndMore = `mutation { deductCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename } updatePreferences(preferences: { theme: "dark" }) { __typename } }`;
    api.db.queries.length = 0;
    const mixed = await api.graphql(spendAndMore, {}, renamed);
    expect(mixed.body.data.updatePreferences.__typename).toBe('User');
    expect(api.db.queries[0]).toMatch(/signed_in_user|FROM "User"/);
  });

  it('the history page: the same statements for one generation with outputs as for twenty', async () => {
    const { token, userId } = await api.signUp('counted-history');
    await api.services.credits.grant(userId, { amount: 1000, source: 'PROMOTION', reason: 'history' });
    for (let index = 0; index < 20; index++) {
      const { generation } = await api.services.generations.create(userId, { prompt: `page ${index}` });
      await api.services.generations.run(generation.id);
    }
    const page = `query($first: Int) { viewer { imageGenerations(first: $first) { pageInfo { hasNextPage endCursor }
      edges { node { id status outputs { url width height sizeBytes contentType } } } } } }`;
    const one = await statementsOf(page, { first: 1 }, token);
    const twenty = await statementsOf(page, { first: 20 }, token);
    expect(twenty.data.viewer.imageGenerations.edges).toHaveLength(20);
    expect(twenty.data.viewer.imageGenerations.edges.every((edge: any) => edge.node.outputs.length === 1)).toBe(true);
    expect(one.statements).toBe(2);
    expect(twenty.statements).toBe(2);
  });

  it('the admin users page with balances and subscriptions: the same statements for 1 user as for 100', async () => {
    for (let index = 0; index < 100; index++) await api.services.users.createUser({ email: `listed-${index}@example.com` });
    const adminToken = await api.token('counted-admin', { email: 'admin@example.com' });
    await api.graphql(`{ viewer { id } }`, {}, adminToken);
    const page = `query($first: Int) { users(first: $first) { edges { node { id email creditBalance { total } subscription { status } } } } }`;
    const one = await statementsOf(page, { first: 1 }, adminToken);
    const hundred = await statementsOf(page, { first: 100 }, adminToken);
    expect(hundred.data.users.edges).toHaveLength(100);
    expect(hundred.data.users.edges.every((edge: any) => Number.isInteger(edge.node.creditBalance.total))).toBe(true);
    expect(hundred.statements).toBe(one.statements);
    expect(hundred.statements).toBeLessThanOrEqual(2);
  });
});

describe('a second instance on the same database', () => {
  let prisma: Db;
  let runtime: Runtime;
  let close: () => Promise<void>;
  let graphqlOnB: (query: string, variables: Record<string, unknown>, token: string) => Promise<any>;

  beforeAll(async () => {
    prisma = createPrismaClient(api.db.url);
    const log = createLogger('silent');
    runtime = createRuntime({ config: api.config, log, prisma, databaseUrl: api.db.url });
    const app = await createApp({ config: api.config, log, prisma, services: runtime.services });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    graphqlOnB = async (query, variables, token) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return response.json();
    };
    close = async () => {
      await app.close();
      await runtime.stop();
      await prisma.$disconnect();
    };
  });
  afterAll(async () => {
    await close?.();
  });

  const SET_COST = `mutation($cost: Int!) { setFeatureCosts(costs: [{ operation: "AI_TEXT_CHAT", cost: $cost }]) {
    __typename ... on SetFeatureCostsSuccess { data { operation cost } } } }`;

  it.each([
    { what: 'deduction', mutation: DEDUCT, amountOf: (answer: any) => -answer.data.deductCredits.transaction.amount },
    { what: 'hold', mutation: RESERVE, amountOf: (answer: any) => answer.data.reserveCredits.reservation.amount },
  ])('charges a price changed on the first instance from the first $what after the change is answered', async ({ what, mutation, amountOf }) => {
    const { token, userId } = await api.signUp(`two-instances-${what}-price`);
    await api.services.credits.grant(userId, { amount: 1000, source: 'PROMOTION', reason: 'price change' });
    const adminToken = await api.token('instances-admin', { email: 'ops@example.com' });
    try {
      expect(amountOf(await graphqlOnB(mutation, { key: 'before' }, token))).toBe(5);
      for (const cost of [7, 3, 9]) {
        const changed = await api.graphql(SET_COST, { cost }, adminToken);
        expect(changed.body.data.setFeatureCosts.data).toContainEqual({ operation: 'AI_TEXT_CHAT', cost });
        expect(amountOf(await graphqlOnB(mutation, { key: `at-${cost}` }, token))).toBe(cost);
      }
      const ledger = await api.db.prisma.creditTransaction.findMany({ where: { userId, kind: 'USAGE' }, orderBy: { id: 'asc' } });
      expect(ledger.map((row) => row.amount)).toEqual([-5, -7, -3, -9]);
      const holds = await api.db.prisma.creditReservation.findMany({ where: { userId }, orderBy: { id: 'asc' } });
      expect(holds.map((hold) => hold.amount)).toEqual(what === 'hold' ? [5, 7, 3, 9] : []);
      const balance = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId } });
      expect(balance.allowanceRemaining + balance.grantedRemaining).toBe(1010 - 24);
    } finally {
      await api.graphql(SET_COST, { cost: 5 }, adminToken);
    }
  });

  it('a key retried after the price changed replays what it did, even when the retries race on an instance with the old price cached', async () => {
    const { token, userId } = await api.signUp('retry-after-price-change');
    await api.services.credits.grant(userId, { amount: 1000, source: 'PROMOTION', reason: 'retries' });
    const adminToken = await api.token('instances-admin', { email: 'ops@example.com' });
    try {
      const first = await graphqlOnB(DEDUCT, { key: 'kept' }, token);
      expect(first.data.deductCredits).toMatchObject({ replayed: false, transaction: { amount: -5 } });
      await api.graphql(SET_COST, { cost: 7 }, adminToken);
      expect((await graphqlOnB(DEDUCT, { key: 'at-seven' }, token)).data.deductCredits.transaction.amount).toBe(-7);
      const retried = await graphqlOnB(DEDUCT, { key: 'kept' }, token);
      expect(retried.data.deductCredits).toMatchObject({ replayed: true, transaction: { amount: -5 } });
      await api.graphql(SET_COST, { cost: 9 }, adminToken);
      const twins = await Promise.all([graphqlOnB(DEDUCT, { key: 'twins' }, token), graphqlOnB(DEDUCT, { key: 'twins' }, token)]);
      expect(twins.map((twin) => twin.data.deductCredits.__typename)).toEqual(['CreditMovement', 'CreditMovement']);
      expect(twins.map((twin) => twin.data.deductCredits.replayed).sort()).toEqual([false, true]);
      expect(twins.map((twin) => twin.data.deductCredits.transaction.amount)).toEqual([-9, -9]);
      const ledger = await api.db.prisma.creditTransaction.findMany({ where: { userId, kind: 'USAGE' }, orderBy: { id: 'asc' } });
      expect(ledger.map((row) => row.amount)).toEqual([-5, -7, -9]);
    } finally {
      await api.graphql(SET_COST, { cost: 5 }, adminToken);
    }
  });

  it('refuses a user banned on the first instance at their next request to the second', async () => {
    const { token, id } = await api.signUp('two-instances-ban');
    expect((await graphqlOnB(VIEWER, {}, token)).data.viewer.email).toBe('two-instances-ban@example.com');
    const adminToken = await api.token('instances-admin', { email: 'ops@example.com' });
    const banned = await api.graphql(
      `mutation($id: ID!) { setUserRole(userId: $id, role: BANNED, reason: "abuse") { __typename } }`,
      { id },
      adminToken,
    );
    expect(banned.body.errors).toBeUndefined();
    const refused = await graphqlOnB(VIEWER, {}, token);
    expect(refused.errors[0].extensions.code).toBe('ACCOUNT_BANNED');
  });
});
