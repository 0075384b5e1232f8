import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from './support/database.js';

const run = promisify(execFile);
let db: TestDatabase;
let storageDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  storageDir = await mkdtemp(join(tmpdir(), 'seed-test-'));
});
afterAll(async () => {
  await db.drop();
  await rm(storageDir, { recursive: true, force: true });
});

async function seed() {
  return run('node_modules/.bin/tsx', ['prisma/seed.ts'], { env: { ...process.env, DATABASE_URL: db.url, STORAGE_LOCAL_DIR: storageDir, LOG_LEVEL: 'silent' } });
}

describe('npm run db:seed', () => {
  it('creates the free, plus, pro and trial users with their plans, costs and a ledger that reconciles, twice over', async () => {
    await seed();
    const first = await db.prisma.creditTransaction.count();
    await seed();

    const users = await db.prisma.user.findMany({ orderBy: { email: 'asc' }, include: { subscriptions: true } });
    expect(users.map((user) => [user.email, user.tier, user.role, user.subscriptions[0]?.status ?? null])).toEqual([
      ['free@example.com', 'FREE', 'USER', null],
      ['plus@example.com', 'PLUS', 'PREMIUM', 'ACTIVE'],
      ['pro@example.com', 'PRO', 'PREMIUM', 'ACTIVE'],
      ['trial@example.com', 'PRO', 'PREMIUM', 'TRIALING'],
    ]);
    expect((await db.prisma.plan.findMany({ orderBy: { sortOrder: 'asc' } })).map((plan) => plan.key)).toEqual([
      'free',
      'plus',
      'pro',
    ]);
    expect(await db.prisma.featureCost.count()).toBeGreaterThanOrEqual(2);
    expect(await db.prisma.creditTransaction.count()).toBe(first);
    const generations = await db.prisma.imageGeneration.findMany({ include: { images: true } });
    expect(generations.map((generation) => [generation.status, generation.images.length])).toEqual(
      users.map(() => ['COMPLETED', 1]),
    );
    const pngs = (await readdir(storageDir, { recursive: true })).filter((file) => String(file).endsWith('.png'));
    expect(pngs).toHaveLength(users.length);
    const balances = await db.prisma.$queryRaw<{ mismatched: bigint }[]>`
      SELECT count(*) AS mismatched FROM "CreditBalance" b
      WHERE b."allowanceRemaining" + b."grantedRemaining" <>
            (SELECT COALESCE(SUM(amount), 0) FROM "CreditTransaction" t WHERE t."userId" = b."userId")`;
    expect(Number(balances[0].mismatched)).toBe(0);
  }, 90_000);
});
