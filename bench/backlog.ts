/**
 * Background-work scenarios against the real server process on a throwaway embedded PostgreSQL, with the local fake
 * of Stripe: a stored backlog of signed webhook events drained, an event whose worker was killed picked up after the
 * restart, a queue of generations drained, and a cold `npm start`. Every answer is checked; a wrong one throws.
 *
 *   npm run bench:backlog                   # prints the rows
 *   npm run bench:backlog -- backlog crash  # only these scenarios (backlog, crash, generations, cold-start)
 *   BACKLOG_EVENTS=200 BACKLOG_GENERATIONS=50 npm run bench:backlog
 *   BACKLOG_CPU_PROFILE_DIR=/tmp/prof npm run bench:backlog -- backlog   # the draining worker's --cpu-prof
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { findPostmaster, postgresCpuMs, processCpuMs } from './cpu.js';
import { signToken } from '../src/services/auth.js';
import { createLocalImageProvider, dimensionsFor } from '../src/services/image-providers.js';
import { FakeStripe } from '../test/support/fake-stripe.js';
import { freePort, root, startMain, waitUntilReady, within, type RunningProcess } from '../test/support/processes.js';

export interface BenchRow {
  scenario: string;
  value: number;
  unit: string;
  target: string;
  ok: boolean;
  detail?: string;
}

const SECRET = 'bench-secret-that-is-long-enough-for-hs256';
const WEBHOOK_SECRET = 'whsec_bench_backlog_secret_000000000000';
const EVENTS = Number(process.env.BACKLOG_EVENTS ?? 1000);
const EVENTS_PER_CUSTOMER = 5;
const GENERATIONS = Number(process.env.BACKLOG_GENERATIONS ?? 200);
const GENERATION_USERS = 10;
const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS) || 5;

class WrongAnswer extends Error {
  constructor(scenario: string, message: string) {
    super(`${scenario}: WRONG ANSWER: ${message}`);
  }
}

function check(scenario: string, condition: unknown, message: string): asserts condition {
  if (!condition) throw new WrongAnswer(scenario, message);
}

async function inBatches<T>(items: T[], width: number, run: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await run(items[next++]);
    }),
  );
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One server process on the bench database; the fake Stripe answers its Stripe calls. */
class Server {
  private constructor(
    readonly main: RunningProcess,
    readonly url: string,
  ) {}

  static async start(env: Record<string, string>, nodeOptions: string[] = []) {
    const port = await freePort();
    const main = startMain({ PORT: String(port), LOG_LEVEL: 'warn', ...env }, { nodeOptions });
    const server = new Server(main, `http://127.0.0.1:${port}`);
    await waitUntilReady(server.url, main, 120_000);
    return server;
  }

  async stop() {
    if (this.main.child.exitCode !== null) return;
    this.main.child.kill('SIGTERM');
    await within(this.main.exited, 30_000, 'server exit').catch(() => this.main.child.kill('SIGKILL'));
  }

  async kill() {
    this.main.child.kill('SIGKILL');
    await this.main.exited;
  }

  async graphql(query: string, variables: Record<string, unknown>, token: string) {
    const response = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    if (response.status !== 200 || body.errors) throw new Error(`GraphQL answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
    return body.data;
  }

  /** Signs in as a new user (created by that first request); their token and row id. */
  async signUp(sub: string) {
    const token = await signToken(SECRET, { sub, email: `${sub}@bench.example.com`, emailVerified: true });
    const { viewer } = await this.graphql(`query { viewer { id } }`, {}, token);
    const userId = Buffer.from(viewer.id, 'base64').toString().split(':')[1];
    return { token, userId };
  }

  /** Statements this process has sent so far, by kind (BEGIN, SELECT, ...), from its /metrics. */
  async statements(): Promise<Map<string, number>> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const counts = new Map<string, number>();
    for (const [, kind, count] of text.matchAll(/^db_query_duration_seconds_count\{statement="([A-Z]+)"\} (\d+)$/gm)) counts.set(kind, Number(count));
    return counts;
  }

  async postWebhook(payload: string, signature: string) {
    const response = await fetch(`${this.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      body: payload,
    });
    return { status: response.status, body: (await response.json()) as { duplicate?: boolean } };
  }
}

interface Bench {
  database: EmbeddedDatabase;
  client: pg.Client;
  fake: FakeStripe;
  env: Record<string, string>;
  dir: string;
}

async function ledgerMismatches(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ count: number }>(`
    SELECT count(*)::int AS count FROM "CreditBalance" b
    WHERE b."allowanceRemaining" + b."grantedRemaining" <> COALESCE((SELECT sum(amount) FROM "CreditTransaction" t WHERE t."userId" = b."userId"), 0)`);
  return rows[0].count;
}

// ---------------------------------------------------------------- webhook backlog

async function webhookBacklog(bench: Bench): Promise<BenchRow> {
  const scenario = `webhook backlog (${EVENTS} stored events)`;
  const { fake, client } = bench;
  const customers = Math.ceil(EVENTS / EVENTS_PER_CUSTOMER);
  const receiver = await Server.start({ ...bench.env, JOBS_ENABLED: 'false' });
  const deliveries: { payload: string; signature: string }[] = [];
  const expected = new Map<string, { subscriptionId: string; customer: string }>();
  const baseCreated = Math.floor(Date.now() / 1000) - 3600;
  try {
    await inBatches([...Array(customers).keys()], 16, async (i) => {
      const { userId } = await receiver.signUp(`backlog-${i}`);
      const customer = `cus_backlog_${i}`;
      const subscription = fake.createSubscription({ customer, priceId: 'price_plus_month', metadata: { userId, planKey: 'plus' } });
      const invoice = fake.invoice(subscription.id, { paid: true, billing_reason: 'subscription_create' });
      expected.set(userId, { subscriptionId: subscription.id, customer });
      const sequence: [string, object][] = [
        ['customer.subscription.created', subscription],
        ['invoice.paid', invoice],
        ['customer.subscription.updated', subscription],
        ['customer.subscription.updated', subscription],
        ['customer.subscription.updated', subscription],
      ];
      sequence.slice(0, Math.min(EVENTS_PER_CUSTOMER, EVENTS - i * EVENTS_PER_CUSTOMER)).forEach(([type, object], step) => {
        const { payload, signature } = fake.event(type, object, { secret: WEBHOOK_SECRET, created: baseCreated + step });
        deliveries.push({ payload, signature });
      });
    });
    const acknowledgedFrom = performance.now();
    await inBatches(deliveries, 32, async ({ payload, signature }) => {
      const answer = await receiver.postWebhook(payload, signature);
      check(scenario, answer.status === 200 && answer.body.duplicate === false, `delivery answered ${answer.status} ${JSON.stringify(answer.body)}`);
    });
    const acknowledgeSeconds = (performance.now() - acknowledgedFrom) / 1000;
    await receiver.stop();

    const stored = (await client.query<{ count: number }>(`SELECT count(*)::int AS count FROM "WebhookEvent" WHERE status = 'PENDING'`)).rows[0].count;
    check(scenario, stored === deliveries.length, `${stored} events stored, ${deliveries.length} sent`);

    const spawnedAt = Date.now();
    const profileDir = process.env.BACKLOG_CPU_PROFILE_DIR;
    const worker = await Server.start({ ...bench.env, JOBS_ENABLED: 'true' }, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    const postmaster = await findPostmaster(client);
    const statementsAtStart = await worker.statements();
    const stripeCallsAtStart = fake.requests.length;
    const cpuAtStart = { worker: processCpuMs(worker.main.child.pid), postgres: postgresCpuMs(postmaster) };
    let costPerEvent = '';
    try {
      await waitFor('the backlog drained', 600_000, async () => {
        const { rows } = await client.query<{ status: string; count: number }>(`SELECT status, count(*)::int AS count FROM "WebhookEvent" GROUP BY status`);
        const failed = rows.find((row) => row.status === 'FAILED');
        if (failed) {
          const sample = await client.query(`SELECT id, type, "lastError" FROM "WebhookEvent" WHERE status = 'FAILED' LIMIT 3`);
          throw new WrongAnswer(scenario, `${failed.count} events failed: ${JSON.stringify(sample.rows)}`);
        }
        return rows.length === 1 && rows[0].status === 'PROCESSED';
      });
      // Counted from the moment the worker answered /readyz: its start-up is left out, a few early events are not.
      // Prisma's query events leave out the BEGIN of each transaction (one per COMMIT).
      const cpuAtEnd = { worker: processCpuMs(worker.main.child.pid), postgres: postgresCpuMs(postmaster) };
      const statementsAtEnd = await worker.statements();
      const perEvent = (value: number) => (value / deliveries.length).toFixed(1);
      const kinds = [...statementsAtEnd].map(([kind, count]) => [kind, count - (statementsAtStart.get(kind) ?? 0)] as const).filter(([, count]) => count > 0);
      const total = kinds.reduce((sum, [, count]) => sum + count, 0);
      const cpu = (part: 'worker' | 'postgres') => {
        const [before, after] = [cpuAtStart[part], cpuAtEnd[part]];
        return before === null || after === null ? '?' : perEvent(after - before);
      };
      costPerEvent =
        `per event: ${perEvent(total)} statements (${kinds.map(([kind, count]) => `${kind} ${perEvent(count)}`).join(', ')}), ` +
        `${((fake.requests.length - stripeCallsAtStart) / deliveries.length).toFixed(2)} Stripe calls, ` +
        `CPU ms ${cpu('worker')} worker + ${cpu('postgres')} PostgreSQL; `;
    } finally {
      await worker.stop();
    }
    const span = (
      await client.query<{ first: Date; last: Date; onceEach: number }>(
        `SELECT min("processedAt") AS first, max("processedAt") AS last, count(*) FILTER (WHERE attempts = 1)::int AS "onceEach" FROM "WebhookEvent"`,
      )
    ).rows[0];
    check(scenario, span.onceEach === deliveries.length, `${deliveries.length - span.onceEach} events were taken more than once`);

    // Per Stripe customer, the events were applied one after another in `created` order.
    const disorder = await client.query(`
      SELECT "orderingKey" FROM (
        SELECT "orderingKey", "processedAt", lag("processedAt") OVER (PARTITION BY "orderingKey" ORDER BY "stripeCreated", id) AS previous
        FROM "WebhookEvent") ordered
      WHERE previous IS NOT NULL AND previous > "processedAt" LIMIT 5`);
    check(scenario, disorder.rowCount === 0, `events applied out of order for ${disorder.rows.map((row) => row.orderingKey).join(', ')}`);

    // What a user sees: their subscription active on the Plus plan, one paid invoice, one allowance period, the
    // ledger summing to the balance.
    const users = await client.query<{ userId: string; status: string; plan: string; payments: number; periods: number; allowance: number }>(`
      SELECT s."userId", s.status, p.key AS plan,
             (SELECT count(*)::int FROM "Payment" pay WHERE pay."userId" = s."userId" AND pay.status = 'PAID') AS payments,
             (SELECT count(*)::int FROM "CreditTransaction" t WHERE t."userId" = s."userId" AND t."idempotencyKey" LIKE 'sys:allowance-period:%') AS periods,
             b."allowanceTotal" AS allowance
      FROM "Subscription" s JOIN "Plan" p ON p.id = s."planId" JOIN "CreditBalance" b ON b."userId" = s."userId"`);
    check(scenario, users.rowCount === expected.size, `${users.rowCount} subscriptions stored, ${expected.size} expected`);
    for (const row of users.rows) {
      check(scenario, expected.has(row.userId), `a subscription for an unexpected user ${row.userId}`);
      check(scenario, row.status === 'ACTIVE' && row.plan === 'plus', `user ${row.userId}: ${row.status} on ${row.plan}`);
      check(scenario, row.payments === 1 && row.periods === 1, `user ${row.userId}: ${row.payments} payments, ${row.periods} allowance periods`);
      check(scenario, row.allowance === 100, `user ${row.userId}: allowance ${row.allowance}, Plus gives 100`);
    }
    const mismatches = await ledgerMismatches(client);
    check(scenario, mismatches === 0, `${mismatches} balances do not match their ledger`);

    const seconds = Math.max(0.001, (span.last.getTime() - span.first.getTime()) / 1000);
    const rate = (deliveries.length - 1) / seconds;
    const sinceSpawn = (span.last.getTime() - spawnedAt) / 1000;
    return {
      scenario,
      value: Math.round(rate),
      unit: 'events/s',
      target: '>= 200 events/s',
      ok: rate >= 200,
      detail:
        `first to last applied ${seconds.toFixed(2)} s (${sinceSpawn.toFixed(1)} s from spawning the worker process, start-up included); ` +
        `${customers} customers x ${EVENTS_PER_CUSTOMER} events, in order per customer, each taken once; ${costPerEvent}` +
        `acknowledged at ${Math.round(deliveries.length / acknowledgeSeconds)}/s`,
    };
  } finally {
    await receiver.stop();
  }
}

// ---------------------------------------------------------------- crash pickup

async function crashPickup(bench: Bench): Promise<BenchRow> {
  const scenario = 'webhook event interrupted by a crash';
  const { fake, client } = bench;
  const first = await Server.start({ ...bench.env, JOBS_ENABLED: 'true' });
  const { userId } = await first.signUp('crash-pickup');
  const subscription = fake.createSubscription({ customer: 'cus_crash_pickup', priceId: 'price_plus_month', metadata: { userId, planKey: 'plus' } });
  fake.hold(`GET /v1/subscriptions/${subscription.id}`);
  const { event, payload, signature } = fake.event('customer.subscription.created', subscription, { secret: WEBHOOK_SECRET });
  check(scenario, (await first.postWebhook(payload, signature)).status === 200, 'the event was not acknowledged');
  await waitFor('the worker reaching Stripe', 30_000, async () => fake.heldCount() > 0);
  await first.kill();
  fake.releaseHeld();
  const interrupted = (await client.query(`SELECT status, attempts FROM "WebhookEvent" WHERE id = $1`, [event.id])).rows[0];
  check(scenario, interrupted?.status === 'PROCESSING' && interrupted.attempts === 1, `after the kill: ${JSON.stringify(interrupted)}`);

  const restartedAt = Date.now();
  const second = await Server.start({ ...bench.env, JOBS_ENABLED: 'true' });
  try {
    const row = await waitFor('the interrupted event applied', 300_000, async () => {
      const { rows } = await client.query(`SELECT status, attempts, "processedAt" FROM "WebhookEvent" WHERE id = $1`, [event.id]);
      return rows[0]?.status === 'PROCESSED' ? rows[0] : null;
    });
    const seconds = (row.processedAt.getTime() - restartedAt) / 1000;
    check(scenario, row.attempts === 2, `taken ${row.attempts} times; the kill and one pickup make 2`);
    const stored = (await client.query(`SELECT status FROM "Subscription" WHERE "stripeSubscriptionId" = $1`, [subscription.id])).rows;
    check(scenario, stored.length === 1 && stored[0].status === 'ACTIVE', `subscription rows after pickup: ${JSON.stringify(stored)}`);
    return {
      scenario,
      value: Number(seconds.toFixed(1)),
      unit: 's after restart',
      target: '< 60 s',
      ok: seconds < 60,
      detail: 'worker SIGKILLed while its Stripe read hung; the claim ran out (WEBHOOK_CLAIM_SECONDS, default 30) and the restarted process took it over',
    };
  } finally {
    await second.stop();
  }
}

// ---------------------------------------------------------------- generations

const CREATE_GENERATION = `mutation($input: CreateImageGenerationInput!) {
  createImageGeneration(input: $input) { __typename ... on ImageGeneration { id status } ... on Error { message } }
}`;

/**
 * Renders per second of the local provider alone, with `parallel` renders under way at once, as the workers run them:
 * one render already keeps more than one core partly busy (libvips has threads of its own), so the rate at two at
 * once is measured, not assumed to be twice the rate of one.
 */
async function renderRate(parallel: number): Promise<number> {
  const provider = createLocalImageProvider();
  const { width, height } = dimensionsFor('1:1', 'STANDARD');
  const render = (i: number) =>
    provider.generate({
      type: 'TEXT_TO_IMAGE',
      prompt: `render ${i}`,
      negativePrompt: null,
      style: null,
      model: 'local-diffusion-v1',
      quality: 'STANDARD',
      width,
      height,
      count: 1,
      seed: `render ${i}`,
      source: null,
    });
  await render(-1);
  const renders = 20 * parallel;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < renders) await render(next++);
    }),
  );
  return (renders * 1000) / (performance.now() - started);
}

async function generationDrain(bench: Bench): Promise<BenchRow> {
  const scenario = `generations (${GENERATIONS} queued)`;
  const { client } = bench;
  const creator = await Server.start({ ...bench.env, JOBS_ENABLED: 'false' });
  try {
    const users = await Promise.all(Array.from({ length: GENERATION_USERS }, (_, i) => creator.signUp(`generations-${i}`)));
    await inBatches([...Array(GENERATIONS).keys()], 16, async (i) => {
      const { token } = users[i % users.length];
      const data = await creator.graphql(CREATE_GENERATION, { input: { prompt: `queued generation ${i}` } }, token);
      check(scenario, data.createImageGeneration.__typename === 'ImageGeneration', `create answered ${JSON.stringify(data)}`);
    });
  } finally {
    await creator.stop();
  }
  const queued = (await client.query<{ count: number }>(`SELECT count(*)::int AS count FROM "ImageGeneration" WHERE status = 'PENDING'`)).rows[0].count;
  check(scenario, queued === GENERATIONS, `${queued} queued, ${GENERATIONS} created`);

  const worker = await Server.start({ ...bench.env, JOBS_ENABLED: 'true' });
  try {
    await waitFor('the generations drained', 600_000, async () => {
      const { rows } = await client.query<{ status: string; count: number }>(`SELECT status, count(*)::int AS count FROM "ImageGeneration" GROUP BY status`);
      const failed = rows.find((row) => row.status === 'FAILED');
      if (failed) throw new WrongAnswer(scenario, `${failed.count} generations failed`);
      return rows.length === 1 && rows[0].status === 'COMPLETED';
    });
  } finally {
    await worker.stop();
  }
  const outcome = (
    await client.query<{ first: Date; last: Date; images: number; charges: number; renderMs: number }>(`
      SELECT min("startedAt") AS first, max("completedAt") AS last,
             (SELECT count(*)::int FROM "GenerationImage") AS images,
             (SELECT count(*)::int FROM "CreditTransaction" WHERE "generationId" IS NOT NULL AND kind = 'USAGE') AS charges,
             avg("processingTimeMs")::float AS "renderMs"
      FROM "ImageGeneration"`)
  ).rows[0];
  check(scenario, outcome.images === GENERATIONS, `${outcome.images} images for ${GENERATIONS} generations`);
  check(scenario, outcome.charges === GENERATIONS, `${outcome.charges} charges for ${GENERATIONS} generations`);
  const mismatches = await ledgerMismatches(client);
  check(scenario, mismatches === 0, `${mismatches} balances do not match their ledger`);

  const seconds = (outcome.last.getTime() - outcome.first.getTime()) / 1000;
  const rate = GENERATIONS / seconds;
  const concurrency = Number(bench.env.GENERATION_CONCURRENCY ?? 2);
  // Rendering-bound: as fast as the renders themselves, as many at once as the workers run.
  const renderBound = await renderRate(concurrency);
  return {
    scenario,
    value: Number(rate.toFixed(1)),
    unit: 'generations/s',
    target: `>= 50% of ${renderBound.toFixed(1)}/s (render-bound)`,
    ok: rate >= renderBound * 0.5,
    detail:
      `${seconds.toFixed(2)} s first start to last completion; render alone ${renderBound.toFixed(1)} images/s at ${concurrency} at once (local provider), ` +
      `${outcome.renderMs.toFixed(0)} ms average processing time in the worker; GENERATION_CONCURRENCY=${concurrency}`,
  };
}

// ---------------------------------------------------------------- cold start

async function coldStartOnce(): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
  const port = await freePort();
  const started = performance.now();
  const { NODE_ENV: _test, ...inherited } = process.env;
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: { ...inherited, DATA_DIR: dataDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(await freePort()), LOG_LEVEL: 'warn', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor('/readyz', 120_000, async () => {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      return fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status === 200, () => false);
    });
    return performance.now() - started;
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await within(exited, 30_000, 'npm start exit').catch(() => process.kill(-child.pid!, 'SIGKILL'));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function coldStart(): Promise<BenchRow> {
  const times: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) times.push(await coldStartOnce());
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  return {
    scenario: 'cold npm start, new embedded database, to /readyz',
    value: Math.round(median),
    unit: `ms (median of ${COLD_STARTS})`,
    target: '< 3000 ms',
    ok: median < 3000,
    detail: `runs: ${times.map((ms) => Math.round(ms)).join(', ')} ms`,
  };
}

// ---------------------------------------------------------------- entry

export const BACKLOG_SCENARIOS = ['backlog', 'crash', 'generations', 'cold-start'] as const;
export type BacklogScenario = (typeof BACKLOG_SCENARIOS)[number];

export async function runBacklogScenarios(only: readonly BacklogScenario[] = BACKLOG_SCENARIOS): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-backlog-'));
  const database = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), persistent: false });
  const fake = await FakeStripe.start();
  fake.product('prod_plus', { name: 'Plus' });
  fake.price('price_plus_month', 'prod_plus', {
    unit_amount: 900,
    unit_amount_decimal: '900',
    type: 'recurring',
    recurring: { interval: 'month', interval_count: 1, meter: null, usage_type: 'licensed', trial_period_days: null },
    metadata: { planKey: 'plus' },
  });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const bench: Bench = {
    database,
    client,
    fake,
    dir,
    env: {
      DATABASE_URL: database.url,
      DATA_DIR: join(dir, 'data'),
      AUTH_JWT_SECRET: SECRET,
      STRIPE_SECRET_KEY: 'sk_test_bench_backlog',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(fake.port),
      STRIPE_API_PROTOCOL: 'http',
      CREDITS_FREE_ALLOWANCE: '1000000',
      CREDITS_RATE_LIMIT_PER_MINUTE: '1000000',
      ...(process.env.WEBHOOK_CONCURRENCY ? { WEBHOOK_CONCURRENCY: process.env.WEBHOOK_CONCURRENCY } : {}),
      ...(process.env.GENERATION_CONCURRENCY ? { GENERATION_CONCURRENCY: process.env.GENERATION_CONCURRENCY } : {}),
    },
  };
  const rows: BenchRow[] = [];
  try {
    if (only.includes('backlog')) rows.push(await webhookBacklog(bench));
    if (only.includes('crash')) rows.push(await crashPickup(bench));
    if (only.includes('generations')) rows.push(await generationDrain(bench));
  } finally {
    await client.end();
    await fake.close();
    await database.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (only.includes('cold-start')) rows.push(await coldStart());
  return rows;
}

export function printRows(rows: BenchRow[]) {
  for (const row of rows) {
    console.log(`${row.ok ? 'ok  ' : 'MISS'} ${row.scenario}: ${row.value} ${row.unit} (target ${row.target})${row.detail ? `\n     ${row.detail}` : ''}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const named = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const unknown = named.filter((name) => !(BACKLOG_SCENARIOS as readonly string[]).includes(name));
  if (unknown.length) {
    console.error(`unknown scenario ${unknown.join(', ')}; known: ${BACKLOG_SCENARIOS.join(', ')}`);
    process.exit(2);
  }
  runBacklogScenarios(named.length ? (named as BacklogScenario[]) : BACKLOG_SCENARIOS).then(
    (rows) => {
      printRows(rows);
      process.exit(0);
    },
    (error) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
