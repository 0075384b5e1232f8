/**
 * Load scenarios against the real server on a throwaway embedded PostgreSQL (or BENCH_DATABASE_URL's server), side
 * by side with pgbench on the same server, so the figures are ratios that hold on a noisy machine. Every answer is
 * checked; after the scenarios that move credits the ledger is checked too. Any wrong answer exits non-zero.
 *
 *   npm run bench                          # everything, ~6.5 minutes (3 without the background scenarios)
 *   BENCH_SECONDS=4 npm run bench -- viewer deduct-hot-user
 *   npm run bench -- --json                # machine-readable results on stdout
 *   BENCH_CPU_PROFILE_DIR=.data/profiles npm run bench -- viewer   # the server's CPU profile of each measured run
 */
import { execFile, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';
import { constants as perf, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { countStatements, createPrismaClient } from '../src/db/client.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrations.js';
import { createLogger, logDestination } from '../src/logger.js';
import { createRuntime } from '../src/runtime.js';
import { createApp } from '../src/server.js';
import { signToken } from '../src/services/auth.js';
import type { LoadRequest, LoadResult } from './load.js';
import { findPostmaster, machineTicks, postgresCpuMs, stolenPercent } from './cpu.js';
import type { BenchRow } from './rows.js';
import { HISTORY_PAGE, scenarios, type BenchContext, type Ceiling, type Scenario } from './scenarios.js';

const run = promisify(execFile);
/** bench/, found from the project's root: `npm run bench` runs this file from its bundle under .build/. */
const benchDir = join(projectRoot(dirname(fileURLToPath(import.meta.url))), 'bench');
/** With BENCH_CPU_PROFILE_DIR set, each measured run writes the server process's CPU profile there (<label>.cpuprofile). */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARM_UP_SECONDS = 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECRET = 'bench-secret-that-is-long-enough-for-hs256';
const USERS = 200;
const HISTORY_USERS = 10;
const STARTING_GRANT = 1_000_000;
const PGBENCH = '/usr/bin/pgbench';
const json = process.argv.includes('--json');
const progress = (text: string) => process.stderr.write(text);
/** Undone in reverse order when the run fails, so no database server outlives it. */
const cleanups: (() => Promise<unknown> | void)[] = [];

function projectRoot(from: string): string {
  if (existsSync(join(from, 'package.json'))) return from;
  if (dirname(from) === from) throw new Error('no package.json above the bench');
  return projectRoot(dirname(from));
}

/** The load comes from a child process so it does not share the server's event loop or CPU accounting. */
function runLoad(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(benchDir, 'load.ts'), { execArgv: ['--import', 'tsx'] });
    child.once('message', (message) => resolve(message as LoadResult));
    child.once('error', reject);
    // Settles the promise only if no result came first: a generator that exits without one must not leave the run waiting.
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code} before sending its result`)));
    child.send(request);
  });
}

async function profiled<T>(label: string, measured: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return measured();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await measured();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(PROFILE_DIR, { recursive: true });
    writeFileSync(join(PROFILE_DIR, `${label.replace(/[^\w.-]+/g, '-')}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/**
 * The server's garbage collections, as its main thread saw them: a full (mark-compact) collection stops every request
 * in flight, so a paced run's p99 is read next to how many it had and the longest pause.
 */
const collections: { major: boolean; ms: number }[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const { kind } = (entry as unknown as { detail: { kind: number } }).detail;
    collections.push({ major: kind === perf.NODE_PERFORMANCE_GC_MAJOR, ms: entry.duration });
  }
}).observe({ entryTypes: ['gc'] });

function collectionsSince(index: number) {
  const since = collections.slice(index);
  const major = since.filter((collection) => collection.major);
  return { full: major.length, longestMs: Math.max(0, ...since.map((collection) => collection.ms)) };
}

const serverCpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

// ------------------------------------------------------------------ pgbench, the ceiling

interface Reference {
  tps: number;
  postgresCpuMsPerTransaction: number | null;
  /** Percent of the machine's CPU time the hypervisor took during the run. */
  stolen: number | null;
}

/**
 * pgbench's own database on the server under test, initialised once; `measure` runs one mode for as long as a
 * scenario runs. A string (the reason) when pgbench is not installed.
 */
async function pgbench(
  serverUrl: string,
  postmaster: number | null,
  admin: pg.Client,
): Promise<{ measure: (ceiling: Ceiling) => Promise<Reference | null>; drop: () => Promise<unknown> } | string> {
  if (!existsSync(PGBENCH)) return `${PGBENCH} is not installed: no pgbench reference in this run (ratios are left out)`;
  const database = `pgbench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const drop = () => admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
  const url = new URL(serverUrl);
  const env = {
    ...process.env,
    PGHOST: url.searchParams.get('host') ?? url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: database,
  };
  try {
    await run(PGBENCH, ['-i', '-s', '2', '-q'], { env });
  } catch (error) {
    await drop();
    throw error;
  }
  const measure = async (ceiling: Ceiling): Promise<Reference | null> => {
    const mode = ceiling === 'pgbench -S' ? '-S' : '-N';
    const before = postgresCpuMs(postmaster);
    const ticksBefore = machineTicks();
    const { stdout, stderr } = await run(PGBENCH, [mode, '-c', '50', '-j', '2', '-T', String(Math.max(SECONDS, 8)), '-n'], { env });
    const after = postgresCpuMs(postmaster);
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]);
    const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
    if (!tps || !transactions) {
      // On a saturated machine 50 connections can take the whole run to open: say so and go on without a ratio.
      progress(`pgbench ${mode} completed no transaction in ${Math.max(SECONDS, 8)} s${stderr ? ` (${stderr.trim().split('\n').pop()})` : ''}\n`);
      return null;
    }
    progress(`pgbench ${mode}: ${Math.round(tps)} tps\n`);
    return {
      tps,
      postgresCpuMsPerTransaction: before !== null && after !== null ? (after - before) / transactions : null,
      stolen: stolenPercent(ticksBefore, machineTicks()),
    };
  };
  return { measure, drop };
}

// ------------------------------------------------------------------ checks after the scenarios that move credits

/**
 * Every movement the load generator saw confirmed is in the ledger once, at the price; nothing beyond the requests
 * still in flight when the load stopped was charged; each balance equals its ledger; a retried key moves nothing.
 */
async function checkMovements(
  db: pg.Client,
  scenario: Scenario,
  result: LoadResult,
  context: BenchContext,
  totalsBefore: Map<string, number>,
  address: string,
  connections: number,
): Promise<string[]> {
  const problems: string[] = [];
  const kind = scenario.moves!;
  const { rows } = await db.query<{ userId: string; rows: string; charged: string; wrong: string; total: number }>(
    `SELECT t."userId", count(*) AS rows, -sum(t.amount) AS charged, count(*) FILTER (WHERE t.amount <> $2) AS wrong,
            b."allowanceRemaining" + b."grantedRemaining" AS total
     FROM "CreditTransaction" t JOIN "CreditBalance" b USING ("userId")
     WHERE t."idempotencyKey" LIKE $1 GROUP BY t."userId", b."allowanceRemaining", b."grantedRemaining"`,
    [`client:${kind}:${context.keyPrefix}-%`, -context.cost],
  );
  const byUser = new Map(rows.map((row) => [row.userId, row]));
  const indexes = new Set([...Object.keys(result.tally.moved).map(Number)]);
  context.users.forEach((user, index) => byUser.has(user.id) && indexes.add(index));
  let inFlight = 0;
  for (const index of indexes) {
    const user = context.users[index];
    const row = byUser.get(user.id);
    const confirmed = result.tally.moved[index] ?? 0;
    const recorded = Number(row?.rows ?? 0);
    if (recorded < confirmed) problems.push(`${user.email}: ${confirmed} confirmed but ${recorded} in the ledger`);
    inFlight += recorded - confirmed;
    if (Number(row?.wrong ?? 0) > 0) problems.push(`${user.email}: ${row!.wrong} rows at another price`);
    const expected = totalsBefore.get(user.id)! - Number(row?.charged ?? 0);
    if (row && row.total !== expected) problems.push(`${user.email}: balance ${row.total}, expected ${expected} (double spend?)`);
  }
  if (inFlight > connections) problems.push(`${inFlight} movements beyond the confirmed ones (at most ${connections} were in flight)`);
  const { rows: mismatched } = await db.query(
    `SELECT b."userId", b."allowanceRemaining" + b."grantedRemaining" <> coalesce(ledger.total, 0) AS "sumDiffers",
            b."allowanceRemaining" + b."grantedRemaining" <> coalesce(last."balanceAfter", 0) AS "lastDiffers"
     FROM "CreditBalance" b
     LEFT JOIN LATERAL (SELECT "balanceAfter" FROM "CreditTransaction" t WHERE t."userId" = b."userId" ORDER BY t.id DESC LIMIT 1) last ON true
     LEFT JOIN LATERAL (SELECT sum(amount) AS total FROM "CreditTransaction" t WHERE t."userId" = b."userId") ledger ON true
     WHERE b."allowanceRemaining" + b."grantedRemaining" <> coalesce(ledger.total, 0)
        OR b."allowanceRemaining" + b."grantedRemaining" <> coalesce(last."balanceAfter", 0)
        OR b."allowanceRemaining" < 0 OR b."grantedRemaining" < 0`,
  );
  const sums = mismatched.filter((row) => row.sumDiffers).length;
  const lasts = mismatched.filter((row) => row.lastDiffers).length;
  if (mismatched.length) {
    problems.push(`${mismatched.length} balances differ from their ledger (${sums} from the ledger's sum, ${lasts} from its newest row's balanceAfter)`);
  }

  // A retry with a key that was already used answers the first result and charges nothing.
  const { rows: sample } = await db.query<{ userId: string; idempotencyKey: string }>(
    `SELECT "userId", "idempotencyKey" FROM "CreditTransaction" WHERE "idempotencyKey" LIKE $1 ORDER BY random() LIMIT 10`,
    [`client:${kind}:${context.keyPrefix}-%`],
  );
  for (const { userId, idempotencyKey } of sample) {
    const index = context.users.findIndex((user) => user.id === userId);
    const mutation = kind === 'deduct' ? 'deductCredits(input: $input) { ... on CreditMovement { replayed } }' : 'reserveCredits(input: $input) { ... on ReservationResult { replayed } }';
    const response = await fetch(`${address}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${context.tokens[index]}` },
      body: JSON.stringify({
        query: `mutation($input: ${kind === 'deduct' ? 'DeductCreditsInput' : 'ReserveCreditsInput'}!) { result: ${mutation} }`,
        variables: { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: idempotencyKey.replace(`client:${kind}:`, '') } },
      }),
    });
    const body = (await response.json()) as { data?: { result?: { replayed?: boolean } } };
    if (body.data?.result?.replayed !== true) problems.push(`a retried key was not replayed: ${JSON.stringify(body).slice(0, 200)}`);
  }
  const { rows: after } = await db.query<{ count: string }>(`SELECT count(*) FROM "CreditTransaction" WHERE "idempotencyKey" LIKE $1`, [
    `client:${kind}:${context.keyPrefix}-%`,
  ]);
  if (Number(after[0].count) !== rows.reduce((sum, row) => sum + Number(row.rows), 0)) problems.push('a retried key moved credits again');
  return problems;
}

async function balanceTotals(db: pg.Client): Promise<Map<string, number>> {
  const { rows } = await db.query<{ userId: string; total: number }>(
    `SELECT "userId", "allowanceRemaining" + "grantedRemaining" AS total FROM "CreditBalance"`,
  );
  return new Map(rows.map((row) => [row.userId, row.total]));
}

// ------------------------------------------------------------------ the run

const round = (value: number | null, digits = 2) => (value === null || !Number.isFinite(value) ? null : Number(value.toFixed(digits)));
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

async function main() {
  const only = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const known = [...scenarios.map((scenario) => scenario.name), 'pgbench', 'backlog'];
  const unknown = only.filter((name) => !known.includes(name));
  if (unknown.length) {
    console.error(`Unknown scenario ${unknown.join(', ')}. Choose from: ${known.join(', ')}`);
    process.exit(2);
  }
  const wanted = (name: string) => only.length === 0 || only.includes(name);
  const selected = scenarios.filter((scenario) => wanted(scenario.name));

  const dir = `.data/bench-postgres-${process.pid}`;
  const storageDir = `.data/bench-storage-${process.pid}`;
  const embedded = process.env.BENCH_DATABASE_URL ? null : await startEmbeddedPostgres({ dir, persistent: false });
  cleanups.push(
    () => (embedded ? rmSync(dir, { recursive: true, force: true }) : undefined),
    () => embedded?.stop(),
  );
  const serverUrl = process.env.BENCH_DATABASE_URL ?? embedded!.url;
  const database = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  cleanups.push(() => admin.end());
  const postmaster = await findPostmaster(admin);
  const rows: BenchRow[] = [];
  const problems: string[] = [];
  const notes: string[] = [];

  // This machine's speed drifts over a whole run, so each ratio is to its ceiling measured just before its scenario.
  // The first measurement of each is also shown in a row of its own.
  let measureCeiling: ((ceiling: Ceiling) => Promise<Reference | null>) | null = null;
  let dropCeilingDatabase: (() => Promise<unknown>) | null = null;
  if (selected.some((scenario) => scenario.ceiling) || wanted('pgbench')) {
    const reference = await pgbench(serverUrl, postmaster, admin);
    if (typeof reference === 'string') notes.push(reference);
    else {
      measureCeiling = reference.measure;
      dropCeilingDatabase = reference.drop;
      cleanups.push(reference.drop);
      for (const ceiling of ['pgbench -S', 'pgbench -N'] as const) {
        const measured = await reference.measure(ceiling);
        if (!measured) {
          notes.push(`${ceiling} completed no transaction in its first run`);
          continue;
        }
        rows.push({
          scenario: ceiling,
          'req/s': Math.round(measured.tps),
          'p50 ms': null,
          'p99 ms': null,
          'SQL/req': ceiling === 'pgbench -S' ? 1 : 5,
          'server CPU ms/req': null,
          'PG CPU ms/req': round(measured.postgresCpuMsPerTransaction, 3),
          'stolen %': measured.stolen,
          ratio: null,
          target: null,
          met: null,
        });
      }
    }
  }

  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  await applyMigrations(url.toString());
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();

  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    AUTH_JWT_SECRET: SECRET,
    STORAGE_SIGNING_SECRET: SECRET,
    STORAGE_LOCAL_DIR: storageDir,
    ADMIN_EMAILS: 'bench-admin@example.com',
    JOBS_ENABLED: 'false',
    CREDITS_RATE_LIMIT_PER_MINUTE: '1000000',
    DATABASE_URL: url.toString(),
    DATABASE_POOL_SIZE: '20',
    GRAPHQL_MAX_COST: '100000',
  });
  // Request logs are written as on stdout in production, but not onto this terminal.
  const log = createLogger(config.logLevel, {}, logDestination('/dev/null'));
  const prisma = createPrismaClient(url.toString(), { poolSize: config.database.poolSize });
  const statements = countStatements(prisma);
  const runtime = createRuntime({ config, log, prisma, databaseUrl: url.toString() });
  const app = await createApp({ config, log, prisma, services: runtime.services });
  let served = 0;
  app.addHook('onResponse', async (request) => {
    if (request.url.startsWith('/graphql')) served++;
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  await runtime.start();

  progress(`Preparing ${USERS} users, ${HISTORY_USERS} of them with ${HISTORY_PAGE} rendered generations… `);
  const shared: BenchContext = {
    tokens: [],
    users: [],
    historyUsers: HISTORY_USERS,
    adminToken: await signToken(SECRET, { sub: 'bench-admin', email: 'bench-admin@example.com', emailVerified: true }, { expiresIn: '2h' }),
    keyPrefix: `bench-${randomBytes(3).toString('hex')}`,
    cost: await runtime.services.credits.costOf('AI_TEXT_CHAT'),
  };
  for (let i = 0; i < USERS; i++) {
    const email = `bench-${i}@example.com`;
    const user = await runtime.services.users.createUser({ email });
    await prisma.user.update({ where: { id: user.id }, data: { externalAuthId: `bench-${i}` } });
    await runtime.services.credits.grant(user.id, { amount: STARTING_GRANT, source: 'PROMOTION', reason: 'bench' });
    shared.users.push({ id: user.id, email });
    shared.tokens.push(await signToken(SECRET, { sub: `bench-${i}`, email }, { expiresIn: '2h' }));
  }
  for (const user of shared.users.slice(0, HISTORY_USERS)) {
    for (let i = 0; i < HISTORY_PAGE; i++) {
      const { generation } = await runtime.services.generations.create(user.id, { prompt: `history ${i}` });
      await runtime.services.generations.run(generation.id);
    }
  }
  progress('done.\n');

  let runs = 0;
  const measure = async (scenario: Scenario, label: string, options: { rate?: number; seconds?: number } = {}) => {
    const { rate, seconds = SECONDS } = options;
    // A paced run opens connections as requests overlap, up to the same limit as the peak run.
    const connections = scenario.connections ?? CONNECTIONS;
    const context = { ...shared, keyPrefix: `${shared.keyPrefix}-${++runs}` };
    const totalsBefore = scenario.moves ? await balanceTotals(db) : new Map<string, number>();
    const before = {
      statements: statements(),
      served,
      server: serverCpuMs(),
      postgres: postgresCpuMs(postmaster),
      collections: collections.length,
      ticks: machineTicks(),
    };
    progress(`${label} (${seconds} s, ${connections} connections${rate ? `, ${rate} req/s` : ''})… `);
    const result = await profiled(label, () => runLoad({ address, scenario: scenario.name, context, seconds, connections, rate }));
    // autocannon stops at the deadline with requests still in flight; they finish before the counters are read.
    const deadline = Date.now() + 10_000;
    while (served - before.served < result.requests.sent && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const requests = served - before.served;
    const postgresAfter = postgresCpuMs(postmaster);
    const stolen = stolenPercent(before.ticks, machineTicks());
    progress(`${Math.round(result.requests.average)} req/s, load generator ${(result.cpuMs / Math.max(1, result.requests.sent)).toFixed(3)} CPU ms/req sent\n`);
    if (result.failures || result.tally.wrong) {
      problems.push(`${label}: ${result.failures} failed requests, ${result.tally.wrong} wrong answers${result.tally.sample ? `, e.g. ${result.tally.sample}` : ''}`);
    }
    if (result.requests.total === 0) problems.push(`${label}: no request completed`);
    if (scenario.moves) {
      const found = await checkMovements(db, scenario, result, context, totalsBefore, address, connections);
      for (const problem of found) problems.push(`${label}: ${problem}`);
    }
    return {
      result,
      perRequest: {
        statements: (statements() - before.statements) / requests,
        server: (serverCpuMs() - before.server) / requests,
        postgres: before.postgres !== null && postgresAfter !== null ? (postgresAfter - before.postgres) / requests : null,
      },
      collections: collectionsSince(before.collections),
      stolen,
    };
  };

  const measuredColumns = ({ result, perRequest, collections: gc, stolen }: Awaited<ReturnType<typeof measure>>) => ({
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    'SQL/req': round(perRequest.statements),
    'server CPU ms/req': round(perRequest.server, 3),
    'PG CPU ms/req': round(perRequest.postgres, 3),
    'full GCs': gc.full,
    'longest GC ms': round(gc.longestMs, 1),
    'stolen %': stolen,
  });

  for (const scenario of selected) {
    // The first requests of a kind pay for compiling query plans and warming the JIT; they are not measured.
    await measure(scenario, `${scenario.name} warm-up`, { seconds: WARM_UP_SECONDS });
    const reference = scenario.ceiling && measureCeiling ? await measureCeiling(scenario.ceiling.of) : null;
    const peak = await measure(scenario, scenario.name);
    const ratio = reference ? peak.result.requests.average / reference.tps : null;
    rows.push({
      scenario: scenario.name,
      ...measuredColumns(peak),
      ratio: ratio === null ? null : `${percent(ratio)} of ${scenario.ceiling!.of} at ${Math.round(reference!.tps)} tps`,
      target: scenario.ceiling ? `>= ${percent(scenario.ceiling.target)}` : null,
      met: ratio === null ? null : ratio >= scenario.ceiling!.target,
    });
    if (scenario.paced) {
      const rate = Math.max(1, Math.round(peak.result.requests.average * scenario.paced.share));
      const paced = await measure(scenario, `${scenario.name} at ${percent(scenario.paced.share)} of peak`, { rate });
      rows.push({
        scenario: `${scenario.name} @${Math.round(scenario.paced.share * 100)}%`,
        ...measuredColumns(paced),
        ratio: null,
        target: `p99 < ${scenario.paced.p99Ms} ms`,
        met: paced.result.latency.p99 < scenario.paced.p99Ms,
      });
    }
  }

  await app.close();
  await runtime.stop();
  await prisma.$disconnect();
  await db.end();
  await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
  await dropCeilingDatabase?.();
  await admin.end();
  await embedded?.stop();
  if (embedded) rmSync(dir, { recursive: true, force: true });
  rmSync(storageDir, { recursive: true, force: true });

  // The background work (webhook backlog, job pickup, cold start) measures itself on its own database.
  const backlog = join(benchDir, 'backlog.ts');
  if (wanted('backlog') && existsSync(backlog)) {
    progress('background scenarios…\n');
    // They start servers of their own and are not bundled with this file: tsx loads them, after the measured server has
    // stopped.
    (await import('tsx/esm/api')).register();
    const { runBacklogScenarios } = (await import(pathToFileURL(backlog).href)) as { runBacklogScenarios: () => Promise<BenchRow[]> };
    rows.push(...(await runBacklogScenarios()));
  }

  if (json) {
    console.log(JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, rows, notes, problems }, null, 2));
  } else {
    for (const note of notes) console.log(note);
    console.table(rows);
    console.log('SQL/req counts every statement sent, BEGIN and COMMIT included (pgbench -N: BEGIN, UPDATE, SELECT, INSERT, END).');
    for (const problem of problems) console.error(`WRONG: ${problem}`);
  }
  process.exit(problems.length ? 1 : 0);
}

main().catch(async (error) => {
  console.error(error);
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  process.exit(1);
});
