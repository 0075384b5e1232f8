/**
 * Demo data, written through the services so it obeys the same rules as real data. Safe to run twice: users are
 * found by email and every movement carries an idempotency key.
 *
 *   npm run db:seed
 */
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import type { Tier } from '../src/generated/prisma/client.js';
import { createLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime.js';

const config = loadConfig({ ...process.env, JOBS_ENABLED: 'false' });
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
const database = await openDatabase(config, log);
const runtime = createRuntime({ config, log, prisma: database.prisma, databaseUrl: database.url });
const { services } = runtime;
const prisma = database.prisma;

interface DemoUser {
  email: string;
  name: string;
  tier: Tier;
  subscription: 'active' | 'trialing' | null;
}

const demoUsers: DemoUser[] = [
  { email: 'free@example.com', name: 'Fran Free', tier: 'FREE', subscription: null },
  { email: 'plus@example.com', name: 'Pat Plus', tier: 'PLUS', subscription: 'active' },
  { email: 'pro@example.com', name: 'Pia Pro', tier: 'PRO', subscription: 'active' },
  { email: 'trial@example.com', name: 'Tom Trial', tier: 'PRO', subscription: 'trialing' },
];

async function findOrCreateUser(demo: DemoUser) {
  const existing = await prisma.user.findUnique({ where: { email: demo.email } });
  if (existing) return existing;
  return services.users.createUser({ email: demo.email, name: demo.name });
}

try {
  await runtime.start();
  await services.credits.ensureDefaultFeatureCosts();

  const summary: Record<string, unknown>[] = [];
  for (const demo of demoUsers) {
    const user = await findOrCreateUser(demo);

    await services.credits.grant(user.id, {
      amount: 25,
      source: 'PROMOTION',
      reason: 'welcome bonus',
      idempotencyKey: 'seed-welcome-bonus',
    });
    for (let i = 0; i < 3; i++) {
      await services.credits.deduct(user.id, {
        operation: 'AI_TEXT_CHAT',
        idempotencyKey: `seed-chat-${i}`,
        details: { seed: true, prompt: `demo chat ${i + 1}` },
      });
    }

    const balance = await services.credits.balanceOf(user.id);
    summary.push({
      email: demo.email,
      tier: demo.tier,
      allowance: `${balance?.allowanceRemaining}/${balance?.allowanceTotal}`,
      granted: balance?.grantedRemaining,
    });
  }

  console.table(summary);
  const mismatches = await services.credits.reconcile();
  if (mismatches.length) throw new Error(`seeded ledger does not reconcile for ${mismatches.length} users`);
  console.log('Seed complete. Sign in as any of them with: npm run token -- --sub <id> --email <email>');
} finally {
  await runtime.stop();
  await database.close();
}
