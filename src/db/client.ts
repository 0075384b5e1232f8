import { PrismaPg } from '@prisma/adapter-pg';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export { Prisma };
export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;
export type DbOrTx = Db | Tx;

export interface QueryEvent {
  query: string;
  durationMs: number;
}

export interface PoolUsage {
  total: number;
  idle: number;
  waiting: number;
}

const pools = new WeakMap<Db, pg.Pool>();
/** Clients made with preparedStatements: false; their statements go unnamed. */
const unnamed = new WeakSet<Db>();
const queryObservers = new WeakMap<Db, (event: QueryEvent) => void>();

/** Distinct statements a connection keeps prepared; past this, further shapes run unnamed (parsed each time). */
const MAX_PREPARED_STATEMENTS = 1000;

/**
 * Names each distinct statement text so every connection parses and plans it once, then only binds and executes
 * it. The application sends a bounded set of shapes; the cap keeps an unexpected stream of new texts from growing
 * every connection's cache without end.
 */
function preparedStatementNames(): (query: { sql: string }) => string | undefined {
  const names = new Map<string, string>();
  return ({ sql }) => {
    const known = names.get(sql);
    if (known !== undefined || names.size >= MAX_PREPARED_STATEMENTS) return known;
    const name = `p${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    names.set(sql, name);
    return name;
  };
}

/** Connections of a client's pool: open, idle (so in use = total - idle) and requests waiting for one. */
export function poolUsage(prisma: Db): PoolUsage | null {
  const pool = pools.get(prisma);
  return pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : null;
}

/**
 * Counts the statements a client sends to PostgreSQL (BEGIN and COMMIT included), for the benchmark. Call it
 * before the first query: connections opened earlier are not counted.
 */
export function countStatements(prisma: Db): () => number {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('countStatements needs a client made by createPrismaClient');
  let statements = 0;
  pool.on('connect', (client) => {
    const query = client.query;
    client.query = function (this: pg.PoolClient, ...args: unknown[]) {
      statements++;
      return (query as (...args: unknown[]) => unknown).apply(this, args);
    } as typeof client.query;
  });
  return () => statements;
}

// The generated client imports its query compiler (a 4.5 MB module holding the WebAssembly as base64) at the first
// connection; parsing it takes a few hundred milliseconds of the event loop. The generator's settings (runtime
// "nodejs", the default "fast" compiler) name this file.
const queryCompilerModule = '@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs';

/**
 * Loads the query compiler ahead of the first connection, e.g. while the database is still starting; Prisma's own
 * import then finds it loaded. Only a warm-up: a failure leaves Prisma to load (or report) it itself.
 */
export async function preloadQueryCompiler(): Promise<void> {
  await import(queryCompilerModule).catch(() => undefined);
}

export function createPrismaClient(
  connectionString: string,
  options: { poolSize?: number; connectTimeoutMs?: number; preparedStatements?: boolean; onQuery?: (event: QueryEvent) => void } = {},
): Db {
  // The pool is created here rather than by the adapter so its usage can be read for /metrics.
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs,
  });
  // A pooler in transaction mode that does not track prepared statements (pgbouncer before 1.21) needs them off.
  const prepared = options.preparedStatements ?? true;
  const adapter = new PrismaPg(pool, {
    disposeExternalPool: true,
    ...(prepared ? { statementNameGenerator: preparedStatementNames() as (query: { sql: string }) => string } : {}),
  });
  const client = options.onQuery ? observedClient(adapter, options.onQuery) : new PrismaClient({ adapter });
  pools.set(client, pool);
  if (!prepared) unnamed.add(client);
  return client;
}

function observedClient(adapter: PrismaPg, onQuery: (event: QueryEvent) => void): Db {
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (event) => onQuery({ query: event.query, durationMs: Number(event.duration) }));
  queryObservers.set(client, onQuery);
  return client;
}

/**
 * Runs one named (prepared) statement on the client's own pool, past Prisma's query engine, whose work per statement
 * is several times PostgreSQL's for a primary-key read. Kept for the few statements nearly every request sends; the
 * rows are returned as PostgreSQL sends them (see src/db/rows.ts to read them as Prisma would).
 */
export async function preparedQuery<Row extends object>(prisma: Db, name: string, text: string, values: unknown[]): Promise<Row[]> {
  const pool = pools.get(prisma);
  if (!pool) return prisma.$queryRawUnsafe<Row[]>(text, ...values);
  const query = unnamed.has(prisma) ? { text, values } : { name, text, values };
  const observe = queryObservers.get(prisma);
  if (!observe) return (await pool.query<Row>(query)).rows;
  const started = performance.now();
  try {
    return (await pool.query<Row>(query)).rows;
  } finally {
    observe({ query: text, durationMs: performance.now() - started });
  }
}
