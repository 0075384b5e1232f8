/**
 * Load scenarios against the real server on a throwaway embedded PostgreSQL (or BENCH_DATABASE_URL's server).
 * Prints one row per scenario: requests/s, latency percentiles, and errors. Numbers depend on the machine; compare
 * runs on the same one.
 *
 *   npm run bench                      # every scenario, 10 s each
 *   BENCH_SECONDS=5 npm run bench -- deduct-many-users
 */
import { fork } from 'node:child_process';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadConfig } from '../src/config.js';
import { createPrismaClient } from '../src/db/client.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrations.js';
import { createLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime.js';
import { createApp } from '../src/server.js';
import { signToken } from '../src/services/auth.js';
import type { GenerationsService } from '../src/services/generations.js';
import { createLocalImageProvider, dimensionsFor } from '../src/services/image-providers.js';
import { scenarios } from './scenarios.js';
import type { LoadRequest, LoadResult } from './load.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECRET = 'bench-secret-that-is-long-enough-for-hs256';
const USERS = 200;
const HISTORY_USERS = 20;
const HISTORY_PER_USER = 15;
const RENDERS = 10;

/** The load comes from a child process so it does not share the server's event loop. */
function runLoad(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./load.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
    child.once('message', (message) => resolve(message as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
    child.send(request);
  });
}

/** Milliseconds per image the built-in local provider takes at each quality (1:1), averaged over a few renders. */
async function renderTimes(generations: GenerationsService): Promise<string> {
  const provider = createLocalImageProvider();
  const figures: string[] = [];
  for (const quality of ['STANDARD', 'HD'] as const) {
    const { width, height } = dimensionsFor('1:1', quality);
    const started = performance.now();
    for (let i = 0; i < RENDERS; i++) {
      await provider.generate({
        type: 'TEXT_TO_IMAGE',
        prompt: `render ${i}`,
        negativePrompt: null,
        style: generations.options.styles[0],
        model: generations.options.models[0],
        quality,
        width,
        height,
        count: 1,
        seed: `render-${i}`,
        source: null,
      });
    }
    figures.push(`${quality} ${width}x${height} ${((performance.now() - started) / RENDERS).toFixed(1)} ms/image`);
  }
  return figures.join(', ');
}

async function main() {
  const only = process.argv.slice(2);
  const selected = scenarios.filter((scenario) => only.length === 0 || only.includes(scenario.name));
  if (selected.length === 0) {
    console.error(`Unknown scenario. Choose from: ${scenarios.map((scenario) => scenario.name).join(', ')}`);
    process.exit(2);
  }

  const dir = `.data/bench-postgres-${process.pid}`;
  const storageDir = `.data/bench-storage-${process.pid}`;
  const embedded = process.env.BENCH_DATABASE_URL
    ? null
    : await startEmbeddedPostgres({ dir, persistent: false });
  const serverUrl = process.env.BENCH_DATABASE_URL ?? embedded!.url;
  const database = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  await applyMigrations(url.toString());

  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
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
  const log = createLogger(config.logLevel);
  const prisma = createPrismaClient(url.toString(), { poolSize: config.database.poolSize });
  const runtime = createRuntime({ config, log, prisma, databaseUrl: url.toString() });
  const app = await createApp({ config, log, prisma, services: runtime.services });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  await runtime.start();

  process.stdout.write(`Preparing ${USERS} users, ${HISTORY_USERS} of them with ${HISTORY_PER_USER} rendered generations… `);
  const tokens: string[] = [];
  const userIds: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const user = await runtime.services.users.createUser({ email: `bench-${i}@example.com` });
    userIds.push(user.id);
    await prisma.user.update({ where: { id: user.id }, data: { externalAuthId: `bench-${i}` } });
    await runtime.services.credits.grant(user.id, { amount: 1_000_000, source: 'PROMOTION', reason: 'bench' });
    tokens.push(await signToken(SECRET, { sub: `bench-${i}`, email: `bench-${i}@example.com` }, { expiresIn: '2h' }));
  }
  const historyTokens = tokens.slice(0, HISTORY_USERS);
  for (const userId of userIds.slice(0, HISTORY_USERS)) {
    for (let i = 0; i < HISTORY_PER_USER; i++) {
      const { generation } = await runtime.services.generations.create(userId, { prompt: `history ${i}` });
      await runtime.services.generations.run(generation.id);
    }
  }
  const adminToken = await signToken(SECRET, { sub: 'bench-admin', email: 'bench-admin@example.com', emailVerified: true }, { expiresIn: '2h' });
  console.log('done.\n');

  const rows: Record<string, string | number>[] = [];
  for (const scenario of selected) {
    process.stdout.write(`${scenario.name}: ${scenario.description} (${SECONDS} s, ${CONNECTIONS} connections)… `);
    const result = await runLoad({
      address,
      scenario: scenario.name,
      context: { tokens, historyTokens, adminToken },
      seconds: SECONDS,
      connections: CONNECTIONS,
    });
    // autocannon stops at the deadline with requests still in flight; let them finish before the next scenario.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const failures = result.errors + result.timeouts + result.non2xx + result.unexpected.count;
    if (result.unexpected.count) console.warn(`\n  unexpected answers, e.g. ${result.unexpected.sample}`);
    console.log(`${Math.round(result.requests.average)} req/s`);
    rows.push({
      scenario: scenario.name,
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p90 ms': result.latency.p90,
      'p99 ms': result.latency.p99,
      requests: result.requests.total,
      failures,
    });
  }
  console.log();
  console.table(rows);

  console.log(`local provider render time: ${await renderTimes(runtime.services.generations)}`);
  const mismatches = await runtime.services.credits.reconcile();
  console.log(`ledger check after the run: ${mismatches.length} mismatched balances`);

  await app.close();
  await runtime.stop();
  await prisma.$disconnect();
  await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
  await admin.end();
  await embedded?.stop();
  if (embedded) rmSync(dir, { recursive: true, force: true });
  rmSync(storageDir, { recursive: true, force: true });
  process.exit(mismatches.length ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
