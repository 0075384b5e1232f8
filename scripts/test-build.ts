/**
 * The production build, tried as a deployment uses it: from a clean copy of the tracked files, `npm run build`, then
 * a second directory with only what the Dockerfile's runtime stage holds, `npm ci --omit=dev`, `node dist/main.js`.
 * Needs the npm registry (or a warm npm cache), so it is `npm run test:build`, not part of `npm test`.
 *
 *   npm run test:build                     builds with this checkout's installed node_modules
 *   npm run test:build -- --clean-install  builds after its own `npm ci`, as the Dockerfile's build stage does
 *   npm run test:build -- --keep           leaves the temporary directory for a look inside
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { signToken } from '../src/services/auth.js';
import { freePort, logEntries, runningPostmaster, within, type RunningProcess } from '../test/support/processes.js';

const { values: options } = parseArgs({ options: { 'clean-install': { type: 'boolean' }, keep: { type: 'boolean' } } });

const checkout = realpathSync(join(dirname(new URL(import.meta.url).pathname), '..'));
const work = mkdtempSync(join(tmpdir(), 'imagegen-build-'));
const buildDir = join(work, 'build');
const runtimeDir = join(work, 'runtime');
const dataDir = join(work, 'data');
const npmQuiet = ['--prefer-offline', '--no-audit', '--no-fund'];

/** What the Dockerfile's runtime stage copies besides dist/: the commands run through tsx from src/ and scripts/. */
const runtimeFiles = ['package.json', 'package-lock.json', 'prisma.config.ts', 'tsconfig.json', 'prisma', 'scripts', 'src'];

const timings: Array<[string, number]> = [];
async function step<T>(name: string, run: () => T | Promise<T>): Promise<T> {
  process.stdout.write(`- ${name} ... `);
  const started = Date.now();
  const result = await Promise.resolve()
    .then(run)
    .catch((error: unknown) => {
      process.stdout.write('failed\n');
      throw error;
    });
  const seconds = (Date.now() - started) / 1000;
  timings.push([name, seconds]);
  process.stdout.write(`${seconds.toFixed(1)} s\n`);
  return result;
}

function check(condition: unknown, message: string, details = ''): asserts condition {
  if (!condition) throw new Error(`${message}${details ? `\n${details}` : ''}`);
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const what = `\`${command} ${args.join(' ')}\` in ${cwd}`;
  check(result.status === 0, `${what} exited ${result.status ?? result.signal}`, `${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** For commands run while the server runs: a blocked event loop would stop reading the server's log pipe. */
async function runBeside(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  type Failure = Error & { stdout?: string; stderr?: string };
  const result = await promisify(execFile)(command, args, { cwd, env, encoding: 'utf8' }).catch((error: Failure) => {
    throw new Error(`\`${command} ${args.join(' ')}\` failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  });
  return result.stdout;
}

/** The tracked files as they are in the working tree (a commit is not needed to try a change). */
function copyTrackedFiles(to: string) {
  const listing = ['ls-files', '-z', '--cached', '--others', '--exclude-standard'];
  const files = execFileSync('git', listing, { cwd: checkout, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file && existsSync(join(checkout, file)));
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(checkout, file), join(to, file));
  }
  return files.length;
}

/** A process environment with nothing from this shell that could point the server elsewhere (DATABASE_URL, ...). */
function serverEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env };
}

function startServer(env: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: runtimeDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function waitUntilReady(baseUrl: string, server: RunningProcess, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const exited = server.child.exitCode !== null || server.child.signalCode !== null;
    check(!exited, 'the server exited before it was ready', `${server.stderr()}\n${server.stdout()}`);
    const response = await fetch(`${baseUrl}/readyz`).catch(() => null);
    if (response?.status === 200) return response.json();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`/readyz did not answer 200 within ${ms / 1000} s\n${server.stderr()}\n${server.stdout()}`);
}

async function graphql(baseUrl: string, query: string, token?: string) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
  check(response.status === 200 && !body.errors, `${query} answered ${response.status}`, JSON.stringify(body));
  return body.data!;
}

async function stop(server: RunningProcess, signal: NodeJS.Signals) {
  server.child.kill(signal);
  const code = await within(server.exited, 30_000, `exit after ${signal}`);
  check(code === 0, `after ${signal} the server exited ${code}, not 0`, `${server.stderr()}\n${server.stdout()}`);
  const completed = logEntries(server.stdout()).some((line) => line.msg === 'shutdown complete');
  check(completed, `no "shutdown complete" logged after ${signal}`);
  check(runningPostmaster(join(dataDir, 'postgres')) === null, `the embedded PostgreSQL still runs after ${signal}`);
}

async function main() {
  console.log(`Production build check in ${work}`);
  const files = await step('copy the tracked files', () => copyTrackedFiles(buildDir));
  console.log(`  ${files} files`);

  if (options['clean-install']) {
    await step('npm ci (build stage)', () => run('npm', ['ci', ...npmQuiet], buildDir));
  } else {
    await step('link the installed node_modules, generate the Prisma client', () => {
      symlinkSync(realpathSync(join(checkout, 'node_modules')), join(buildDir, 'node_modules'), 'dir');
      run('npm', ['run', '-s', 'db:generate'], buildDir);
    });
  }
  await step('npm run build', () => run('npm', ['run', '-s', 'build'], buildDir));
  check(existsSync(join(buildDir, 'dist/main.js')), 'npm run build wrote no dist/main.js');
  check(existsSync(join(buildDir, 'dist/generated/prisma/client.js')), 'the Prisma client is not in dist/');

  await step('runtime directory: the runtime files and dist/, npm ci --omit=dev', () => {
    for (const file of [...runtimeFiles, 'dist']) {
      const notGenerated = (from: string) => !from.includes('/src/generated');
      cpSync(join(buildDir, file), join(runtimeDir, file), { recursive: true, filter: notGenerated });
    }
    run('npm', ['ci', '--omit=dev', ...npmQuiet], runtimeDir);
  });
  const installed = readdirSync(join(runtimeDir, 'node_modules'));
  // typescript itself is there: prisma and @prisma/client list it as a peer dependency.
  for (const devOnly of ['jest', '@swc', '@graphql-codegen', 'fast-check', 'autocannon']) {
    check(!installed.includes(devOnly), `${devOnly}, a development dependency, was installed by npm ci --omit=dev`);
  }
  const generated = existsSync(join(runtimeDir, 'src/generated/prisma/client.ts'));
  check(generated, 'the postinstall did not generate the Prisma client without dev dependencies');

  const jwtSecret = randomBytes(32).toString('hex');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let viewerId = '';
  const production = startServer(
    serverEnvironment({
      NODE_ENV: 'production',
      EMBEDDED_DATABASE_IN_PRODUCTION: 'true',
      PORT: String(port),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      AUTH_JWT_SECRET: jwtSecret,
      STORAGE_SIGNING_SECRET: randomBytes(32).toString('hex'),
    }),
  );
  try {
    const readiness = await step('node dist/main.js (NODE_ENV=production, new embedded database) until /readyz', () =>
      waitUntilReady(baseUrl, production, 120_000),
    );
    check((readiness as { status?: string }).status === 'ready', `/readyz answered ${JSON.stringify(readiness)}`);

    viewerId = await step('GraphQL: the plans, and a new user with the free allowance', async () => {
      const { plans } = await graphql(baseUrl, '{ plans { name } }');
      check(plans.map((plan: { name: string }) => plan.name).join(',') === 'Free,Plus,Pro', `plans: ${JSON.stringify(plans)}`);
      const token = await signToken(jwtSecret, { sub: 'build-check', email: 'build-check@example.com', emailVerified: true });
      const { viewer } = await graphql(baseUrl, '{ viewer { id email creditBalance { total } } }', token);
      check(viewer.email === 'build-check@example.com' && viewer.creditBalance.total === 10, `viewer: ${JSON.stringify(viewer)}`);
      return viewer.id as string;
    });

    await step('a command beside the running server (npm run credits:reconcile)', async () => {
      const output = await runBeside('npm', ['run', '-s', 'credits:reconcile'], runtimeDir, serverEnvironment({}));
      check(/^1 balances checked, 0 mismatched$/m.test(output), `credits:reconcile printed: ${output}`);
    });

    await step('SIGTERM: clean exit 0, embedded PostgreSQL stopped', () => stop(production, 'SIGTERM'));
  } finally {
    if (production.child.exitCode === null) production.child.kill('SIGKILL');
  }

  const development = startServer(
    serverEnvironment({ PORT: String(port), EMBEDDED_POSTGRES_PORT: String(await freePort()), AUTH_JWT_SECRET: jwtSecret }),
  );
  try {
    await step('node dist/main.js as `npm start` runs it (development, same data) until /readyz', () =>
      waitUntilReady(baseUrl, development, 120_000),
    );
    await step('GraphiQL from the installed packages; the user is still there', async () => {
      for (const asset of ['graphiql.min.js', 'react.production.min.js']) {
        const response = await fetch(`${baseUrl}/graphiql/assets/${asset}`);
        const served = response.status === 200 && (await response.text()).length > 10_000;
        check(served, `/graphiql/assets/${asset} answered ${response.status}`);
      }
      const token = await signToken(jwtSecret, { sub: 'build-check', email: 'build-check@example.com', emailVerified: true });
      const { viewer } = await graphql(baseUrl, '{ viewer { id } }', token);
      check(viewer.id === viewerId, `after a restart the viewer is ${viewer.id}, not ${viewerId}`);
    });
    await step('SIGINT: clean exit 0, embedded PostgreSQL stopped', () => stop(development, 'SIGINT'));
  } finally {
    if (development.child.exitCode === null) development.child.kill('SIGKILL');
  }

  const total = timings.reduce((sum, [, seconds]) => sum + seconds, 0);
  console.log(`Production build check passed in ${total.toFixed(0)} s`);
}

main()
  .then(
    () => 0,
    (error: unknown) => {
      process.stderr.write(`Production build check failed: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    },
  )
  .then((code) => {
    const leftBehind = runningPostmaster(join(dataDir, 'postgres'));
    if (leftBehind) process.kill(leftBehind, 'SIGQUIT');
    if (options.keep || code !== 0) console.log(`Left for a look: ${work}`);
    else rmSync(work, { recursive: true, force: true });
    process.exit(code);
  });
