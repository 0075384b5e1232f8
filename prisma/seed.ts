/**
 * Demo data, written through the services so it obeys the same rules as real data. Safe to run twice: users are
 * found by email and every movement carries an idempotency key.
 *
 *   npm run db:seed
 *   npm run db:seed -- --clean    removes what the seed created: its demo users and everything that is theirs
 */
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import type Stripe from 'stripe';
import type { Tier } from '../src/generated/prisma/client.js';
import { createLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime.js';
import { systemKey } from '../src/services/credits.js';
import { createStorageBackend } from '../src/services/storage.js';

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

const DAY = 86_400;

/** The Stripe object the webhook path would receive for this user, so the seed goes through the same code. */
function demoSubscription(demo: DemoUser, userId: string, planKey: string): Stripe.Subscription {
  const now = Math.floor(Date.now() / 1000);
  const key = demo.email.split('@')[0];
  return {
    id: `sub_seed_${key}`,
    object: 'subscription',
    customer: `cus_seed_${key}`,
    status: demo.subscription,
    metadata: { userId, planKey },
    cancel_at_period_end: false,
    canceled_at: null,
    ended_at: null,
    trial_start: demo.subscription === 'trialing' ? now - DAY : null,
    trial_end: demo.subscription === 'trialing' ? now + 13 * DAY : null,
    items: {
      object: 'list',
      data: [
        {
          id: `si_seed_${key}`,
          object: 'subscription_item',
          price: { id: `price_seed_${planKey}_month`, object: 'price', recurring: { interval: 'month' } },
          current_period_start: now - 3 * DAY,
          current_period_end: now + 27 * DAY,
        },
      ],
    },
  } as unknown as Stripe.Subscription;
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

/**
 * The demo users are known by their email and the seed's welcome-bonus key (an account that merely has a demo email
 * is kept; one the seed wrote into is not, since its rows are the seed's). Their rows go with them (cascades), their
 * files from storage; plans and feature costs are the service's start-up defaults, not the seed's, and stay.
 */
async function clean() {
  const users = await prisma.user.findMany({
    where: {
      email: { in: demoUsers.map((demo) => demo.email) },
      creditTransactions: { some: { idempotencyKey: systemKey('seed', 'welcome-bonus') } },
    },
    select: { id: true, email: true },
  });
  const userIds = users.map((user) => user.id);
  const files = await prisma.storageObject.findMany({ where: { userId: { in: userIds } }, select: { key: true } });
  const removed = await prisma.$transaction(async (tx) => {
    // The ledger is append-only for everything the service does; demo data is the one thing an operator removes
    // whole, so its rows are deleted with the append-only trigger off for this statement only.
    await tx.$executeRaw`SET LOCAL session_replication_role = replica`;
    await tx.$executeRaw`DELETE FROM "CreditTransaction" WHERE "userId" = ANY(${userIds}::uuid[])`;
    await tx.$executeRaw`SET LOCAL session_replication_role = origin`;
    const payments = await tx.payment.deleteMany({ where: { userId: { in: userIds } } });
    const deleted = await tx.user.deleteMany({ where: { id: { in: userIds } } });
    return { users: deleted.count, payments: payments.count };
  });
  const backend = createStorageBackend(config.storage);
  for (const file of files) await backend.delete(file.key);
  console.log(`Removed ${removed.users} demo users (${users.map((user) => user.email).join(', ') || 'none'}), their credits, subscriptions, generations and ${files.length} files.`);
}

if (process.argv.includes('--clean')) {
  try {
    await clean();
  } finally {
    await runtime.stop();
    await database.close();
  }
  process.exit(0);
}

try {
  // Starting the runtime writes the default feature costs and catalog.
  await runtime.start();

  const summary: Record<string, unknown>[] = [];
  for (const demo of demoUsers) {
    let user = await findOrCreateUser(demo);
    if (demo.subscription) {
      const plan = await prisma.plan.findFirstOrThrow({ where: { tier: demo.tier, active: true } });
      await services.billing.recordSubscription(demoSubscription(demo, user.id, plan.key), { userId: user.id });
      user = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    }

    await services.credits.grant(user.id, {
      amount: 25,
      source: 'PROMOTION',
      reason: 'welcome bonus',
      idempotencyKey: systemKey('seed', 'welcome-bonus'),
    });
    for (let i = 0; i < 3; i++) {
      await services.credits.deduct({ kind: 'USER', userId: user.id }, user.id, {
        operation: 'AI_TEXT_CHAT',
        idempotencyKey: `seed-chat-${i}`,
        details: { seed: true, prompt: `demo chat ${i + 1}` },
      });
    }

    const { generation } = await services.generations.create(user.id, {
      prompt: `a lighthouse at dusk, painted for ${demo.name}`,
      style: 'watercolor',
      idempotencyKey: 'seed-generation-1',
    });
    const rendered = await services.generations.run(generation.id);

    const balance = await services.credits.balanceOf(user.id);
    summary.push({
      email: demo.email,
      role: user.role,
      tier: user.tier,
      membership: user.membershipStatus,
      allowance: `${balance?.allowanceRemaining}/${balance?.allowanceTotal}`,
      granted: balance?.grantedRemaining,
      generation: rendered?.status,
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

// Explicit: the exit code must not depend on what else runs when the event loop empties.
process.exit(0);
