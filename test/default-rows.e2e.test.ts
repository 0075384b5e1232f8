import { DEFAULT_PACKS, DEFAULT_PLANS } from '../src/services/billing/index.js';
import { DEFAULT_FEATURE_COSTS } from '../src/services/credits.js';
import { startTestApp, type TestApp } from './support/app.js';

let api: TestApp;

beforeAll(async () => {
  api = await startTestApp();
});
afterAll(async () => {
  await api.close();
});

describe('default plans, packs and feature costs at start', () => {
  it('are created on a new database', async () => {
    const prisma = api.db.prisma;
    expect((await prisma.plan.findMany({ orderBy: { sortOrder: 'asc' } })).map((plan) => [plan.key, plan.features])).toEqual(
      DEFAULT_PLANS.map((plan) => [plan.key, [...plan.features]]),
    );
    expect((await prisma.creditPack.findMany({ orderBy: { sortOrder: 'asc' } })).map((pack) => pack.key)).toEqual(DEFAULT_PACKS.map((pack) => pack.key));
    const costs = await prisma.featureCost.findMany({ where: { operation: { in: Object.keys(DEFAULT_FEATURE_COSTS) } } });
    expect(Object.fromEntries(costs.map((cost) => [cost.operation, cost.cost]))).toEqual(
      Object.fromEntries(Object.entries(DEFAULT_FEATURE_COSTS).map(([operation, { cost }]) => [operation, cost])),
    );
  });

  it('a later start keeps what an admin changed and brings back what was deleted', async () => {
    const prisma = api.db.prisma;
    const { userId: adminId } = await api.signUp('defaults-admin', { email: 'admin@example.com' });
    const [operation] = Object.keys(DEFAULT_FEATURE_COSTS);
    await api.services.credits.setFeatureCosts(adminId, [{ operation, cost: 77 }]);
    await api.services.billing.catalog.updatePlan(adminId, 'plus', { name: 'Plus, renamed' });
    await prisma.creditPack.delete({ where: { key: DEFAULT_PACKS[0].key } });

    await api.services.start();

    expect((await prisma.featureCost.findUniqueOrThrow({ where: { operation } })).cost).toBe(77);
    expect((await prisma.plan.findUniqueOrThrow({ where: { key: 'plus' } })).name).toBe('Plus, renamed');
    expect(await prisma.plan.count()).toBe(DEFAULT_PLANS.length);
    expect((await prisma.creditPack.findMany({ orderBy: { sortOrder: 'asc' } })).map((pack) => pack.key)).toEqual(DEFAULT_PACKS.map((pack) => pack.key));
  });
});
