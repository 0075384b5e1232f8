import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/app.js';
import { runScript } from './support/processes.js';

let api: TestApp;
let storageDir: string;

beforeAll(async () => {
  api = await startTestApp();
  storageDir = await mkdtemp(join(tmpdir(), 'seed-clean-'));
});
afterAll(async () => {
  await api.close();
  await rm(storageDir, { recursive: true, force: true });
});

const seed = (...args: string[]) =>
  runScript('prisma/seed.ts', args, { DATABASE_URL: api.db.url, STORAGE_LOCAL_DIR: storageDir, LOG_LEVEL: 'silent' }, 60_000);

async function counts() {
  const prisma = api.db.prisma;
  return {
    users: await prisma.user.count(),
    balances: await prisma.creditBalance.count(),
    transactions: await prisma.creditTransaction.count(),
    generations: await prisma.imageGeneration.count(),
    files: await prisma.storageObject.count(),
    subscriptions: await prisma.subscription.count(),
    customers: await prisma.stripeCustomer.count(),
    plans: await prisma.plan.count(),
    featureCosts: await prisma.featureCost.count(),
  };
}

it('npm run db:seed -- --clean removes exactly what the seed created, files included', async () => {
  // Someone else's data, which must survive.
  const bystander = await api.signUp('bystander', { email: 'bystander@example.com' });
  await api.graphql(`query { viewer { creditBalance { total } } }`, {}, bystander.token);
  const before = await counts();

  expect((await seed()).code).toBe(0);
  const seeded = await counts();
  expect(seeded.transactions).toBeGreaterThan(before.transactions);
  expect((await readdir(storageDir, { recursive: true })).filter((file) => String(file).endsWith('.png')).length).toBeGreaterThan(0);

  const cleaned = await seed('--clean');
  expect(cleaned).toMatchObject({ code: 0, stderr: '' });
  expect(cleaned.stdout).toBe(
    'Removed 4 demo users (free@example.com, plus@example.com, pro@example.com, trial@example.com), their credits, subscriptions, generations and 4 files.\n',
  );

  // Plans and feature costs are the service's start-up defaults, there before the seed ran.
  expect(await counts()).toEqual(before);
  expect((await readdir(storageDir, { recursive: true })).filter((file) => String(file).endsWith('.png'))).toEqual([]);
  expect(await api.db.prisma.user.findUnique({ where: { id: bystander.userId }, select: { email: true } })).toEqual({ email: 'bystander@example.com' });

  expect((await seed('--clean')).stdout).toContain('Removed 0 demo users (none)');
}, 120_000);
