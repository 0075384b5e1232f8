import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/app.js';

const USER_ANALYTICS = `query($days: Int!) { viewer { analytics(days: $days) {
  days
  dailyGenerations { date total completed failed images credits }
  creditsByOperation { operation spent refunded uses }
  remainingQuota { total }
  lifetimeImages
} } }`;
const SYSTEM_ANALYTICS = `query($days: Int!) { systemAnalytics(days: $days) {
  days
  users { total active new }
  subscribersByTier { tier subscribers }
  generationsByStatus { status count }
  dailyTrends { date newUsers activeUsers generations completedGenerations failedGenerations creditsSpent payments }
  revenue { currency payments grossCents refundedCents netCents }
} }`;

let api: TestApp;
let storageDir: string;
let aliceToken: string;
let bobToken: string;
let adminToken: string;

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);
const dayString = (days: number) => daysAgo(days).toISOString().slice(0, 10);

async function signIn(name: string, email?: string) {
  const token = await api.token(name, email ? { email } : {});
  await api.graphql(`query { viewer { id } }`, {}, token);
  const user = await api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: name } });
  return { token, user };
}

/** A generation made through the services, then settled and moved `age` days into the past with its ledger rows. */
async function generation(
  userId: string,
  input: { prompt: string; quality?: 'STANDARD' | 'HD'; count?: number },
  outcome: 'COMPLETED' | 'FAILED' | 'PENDING',
  age: number,
) {
  const { generation } = await api.services.generations.create(userId, input);
  if (outcome === 'COMPLETED') await api.services.generations.run(generation.id);
  if (outcome === 'FAILED') await api.services.generations.fail(generation.id, ['PENDING'], 'provider refused');
  if (age > 0) {
    const createdAt = daysAgo(age);
    await api.db.prisma.imageGeneration.update({ where: { id: generation.id }, data: { createdAt } });
    // Back-dating history is test setup: the ledger's append-only trigger is bypassed for this statement only.
    await api.db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SET LOCAL session_replication_role = replica`;
      await tx.creditTransaction.updateMany({ where: { generationId: generation.id }, data: { createdAt } });
    });
  }
  return generation;
}

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'analytics-test-'));
  api = await startTestApp({ CREDITS_FREE_ALLOWANCE: '1000', STORAGE_LOCAL_DIR: storageDir });
  const { prisma } = api.db;

  const alice = await signIn('alice');
  const bob = await signIn('bob');
  const admin = await signIn('analytics-admin', 'ops@example.com');
  aliceToken = alice.token;
  bobToken = bob.token;
  adminToken = admin.token;

  // Alice: two days of activity inside a 7-day window and one generation before it.
  await generation(alice.user.id, { prompt: 'today, two images', count: 2 }, 'COMPLETED', 0);
  await generation(alice.user.id, { prompt: 'today, still pending' }, 'PENDING', 0);
  await generation(alice.user.id, { prompt: 'yesterday, hd', quality: 'HD' }, 'COMPLETED', 1);
  await generation(alice.user.id, { prompt: 'yesterday, refused' }, 'FAILED', 1);
  await generation(alice.user.id, { prompt: 'ten days ago' }, 'COMPLETED', 10);
  await api.services.credits.deduct({ kind: 'USER', userId: alice.user.id }, alice.user.id, { operation: 'AI_TEXT_CHAT' });
  // Bob: one generation today.
  await generation(bob.user.id, { prompt: 'bob today' }, 'COMPLETED', 0);

  // Subscribers and payments (billing's tables, written directly: the history, not the billing flow, is under test).
  const carol = await api.services.users.createUser({ email: 'carol@example.com' });
  const dave = await api.services.users.createUser({ email: 'dave@example.com' });
  const erin = await api.services.users.createUser({ email: 'erin@example.com' });
  const frank = await api.services.users.createUser({ email: 'frank@example.com' });
  const ghost = await api.services.users.createUser({ email: 'ghost@example.com' });
  await prisma.user.update({ where: { id: frank.id }, data: { createdAt: daysAgo(20) } });
  await prisma.user.update({ where: { id: ghost.id }, data: { deletedAt: new Date() } });
  await prisma.user.update({ where: { id: carol.id }, data: { tier: 'PLUS', membershipStatus: 'ACTIVE' } });
  const proPlan = await prisma.plan.create({
    data: { key: 'pro-analytics', name: 'Pro', tier: 'PRO', creditsPerPeriod: 1000, monthlyPriceCents: 4900, yearlyPriceCents: 49000 },
  });
  const subscription = (userId: string, id: string, status: 'ACTIVE' | 'TRIALING' | 'CANCELED', planId?: string) =>
    prisma.subscription.create({ data: { stripeSubscriptionId: id, stripeCustomerId: `cus_${id}`, userId, status, planId } });
  await subscription(carol.id, 'sub_carol', 'ACTIVE');
  await subscription(dave.id, 'sub_dave', 'TRIALING', proPlan.id);
  await subscription(erin.id, 'sub_erin', 'CANCELED', proPlan.id);
  const payment = (userId: string, fields: Record<string, unknown>) =>
    prisma.payment.create({ data: { userId, kind: 'SUBSCRIPTION', status: 'PAID', currency: 'usd', amountCents: 0, ...fields } });
  await payment(carol.id, { amountCents: 1900, paidAt: daysAgo(0) });
  await payment(dave.id, { amountCents: 4900, amountRefundedCents: 1000, status: 'PARTIALLY_REFUNDED', paidAt: daysAgo(2) });
  await payment(erin.id, { amountCents: 1000, currency: 'eur', paidAt: daysAgo(3) });
  await payment(erin.id, { amountCents: 9900, paidAt: daysAgo(40) });
  await payment(erin.id, { amountCents: 500, status: 'FAILED', paidAt: null });
});
afterAll(async () => {
  await api.close();
  await rm(storageDir, { recursive: true, force: true });
});

describe("a user's analytics", () => {
  it('matches the seeded history day by day', async () => {
    const response = await api.graphql(USER_ANALYTICS, { days: 7 }, aliceToken);
    expect(response.body.errors).toBeUndefined();
    const analytics = response.body.data.viewer.analytics;
    expect(analytics.days).toBe(7);
    expect(analytics.dailyGenerations.map((day: any) => day.date)).toEqual([6, 5, 4, 3, 2, 1, 0].map(dayString));
    const byDate = Object.fromEntries(analytics.dailyGenerations.map((day: any) => [day.date, day]));
    expect(byDate[dayString(0)]).toEqual({ date: dayString(0), total: 2, completed: 1, failed: 0, images: 2, credits: 30 });
    expect(byDate[dayString(1)]).toEqual({ date: dayString(1), total: 2, completed: 1, failed: 1, images: 1, credits: 20 });
    for (const days of [2, 3, 4, 5, 6]) {
      expect(byDate[dayString(days)]).toMatchObject({ total: 0, completed: 0, failed: 0, images: 0, credits: 0 });
    }
    expect(analytics.creditsByOperation).toEqual([
      { operation: 'AI_IMAGE_GENERATION', spent: 50, refunded: 10, uses: 4 },
      { operation: 'AI_TEXT_CHAT', spent: 5, refunded: 0, uses: 1 },
    ]);
    // 1000 - (20 + 10 + 20 + 10 + 10) + 10 refunded - 5 chat
    expect(analytics.remainingQuota.total).toBe(935);
    expect(analytics.lifetimeImages).toBe(4);
  });

  it('a wider window takes in the older generation; the ledger agrees with the balance', async () => {
    const analytics = (await api.graphql(USER_ANALYTICS, { days: 30 }, aliceToken)).body.data.viewer.analytics;
    expect(analytics.dailyGenerations).toHaveLength(30);
    expect(analytics.dailyGenerations.reduce((sum: number, day: any) => sum + day.total, 0)).toBe(5);
    expect(analytics.creditsByOperation[0]).toEqual({ operation: 'AI_IMAGE_GENERATION', spent: 60, refunded: 10, uses: 5 });
    expect(await api.services.credits.reconcile()).toEqual([]);
  });

  it("is the viewer's own: other users' figures do not leak in, and nobody else can read them", async () => {
    const bob = (await api.graphql(USER_ANALYTICS, { days: 7 }, bobToken)).body.data.viewer.analytics;
    expect(bob.lifetimeImages).toBe(1);
    expect(bob.creditsByOperation).toEqual([{ operation: 'AI_IMAGE_GENERATION', spent: 10, refunded: 0, uses: 1 }]);

    const asAdmin = await api.graphql(`query { users(first: 20) { edges { node { analytics { lifetimeImages } } } } }`, {}, adminToken);
    expect(asAdmin.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const aliceId = (await api.graphql(`query { viewer { id } }`, {}, aliceToken)).body.data.viewer.id;
    const viaNode = await api.graphql(`query($id: ID!) { node(id: $id) { ... on User { analytics { lifetimeImages } } } }`, { id: aliceId }, bobToken);
    // Another user's id reads exactly like one that does not exist.
    expect(viaNode.body).toEqual({ data: { node: null } });
  });

  it('refuses a window outside 1-366 days', async () => {
    const response = await api.graphql(USER_ANALYTICS, { days: 0 }, aliceToken);
    expect(response.body.errors?.[0].extensions?.code).toBe('VALIDATION_FAILED');
  });
});

describe('system analytics', () => {
  it('matches the seeded history', async () => {
    const response = await api.graphql(SYSTEM_ANALYTICS, { days: 7 }, adminToken);
    expect(response.body.errors).toBeUndefined();
    const analytics = response.body.data.systemAnalytics;
    expect(analytics.users).toEqual({ total: 7, active: 2, new: 6 });
    expect(analytics.subscribersByTier).toEqual([
      { tier: 'FREE', subscribers: 0 },
      { tier: 'PLUS', subscribers: 1 },
      { tier: 'PRO', subscribers: 1 },
    ]);
    expect(analytics.generationsByStatus).toEqual([
      { status: 'PENDING', count: 1 },
      { status: 'PROCESSING', count: 0 },
      { status: 'COMPLETED', count: 3 },
      { status: 'FAILED', count: 1 },
    ]);
    expect(analytics.dailyTrends).toHaveLength(7);
    const byDate = Object.fromEntries(analytics.dailyTrends.map((day: any) => [day.date, day]));
    expect(byDate[dayString(0)]).toEqual({
      date: dayString(0),
      newUsers: 6,
      activeUsers: 2,
      generations: 3,
      completedGenerations: 2,
      failedGenerations: 0,
      creditsSpent: 45,
      payments: 1,
    });
    expect(byDate[dayString(1)]).toMatchObject({ newUsers: 0, activeUsers: 1, generations: 2, completedGenerations: 1, failedGenerations: 1, creditsSpent: 20 });
    expect(byDate[dayString(2)]).toMatchObject({ generations: 0, payments: 1 });
    expect(byDate[dayString(3)]).toMatchObject({ generations: 0, payments: 1 });
    expect(analytics.revenue).toEqual([
      { currency: 'eur', payments: 1, grossCents: 1000, refundedCents: 0, netCents: 1000 },
      { currency: 'usd', payments: 2, grossCents: 6800, refundedCents: 1000, netCents: 5800 },
    ]);
  });

  it('computes each figure with one SQL aggregate, however many rows there are', async () => {
    api.db.queries.length = 0;
    await api.graphql(SYSTEM_ANALYTICS, { days: 30 }, adminToken);
    const statements = api.db.queries.filter((query) => !/^(BEGIN|COMMIT)/i.test(query.trim()));
    // The viewer lookup plus one statement per figure (users, subscribers, statuses, trends, revenue).
    expect(statements.length).toBeLessThanOrEqual(6);
  });

  it('is for admins only', async () => {
    const asUser = await api.graphql(SYSTEM_ANALYTICS, { days: 7 }, aliceToken);
    expect(asUser.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(asUser.body.data).toBeNull();
    const anonymous = await api.graphql(SYSTEM_ANALYTICS, { days: 7 });
    expect(anonymous.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});
