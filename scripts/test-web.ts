/**
 * `npm run test:web`: the browser journeys of examples/web against the real API. Installs the web app's packages
 * when missing, builds it when its sources changed, starts the API (jobs on) on a throwaway embedded PostgreSQL with
 * the local fake of Stripe serving a payment page, starts the web app with `next start`, runs Playwright, stops all.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_JWT_SECRET } from '../test/support/app.js';
import { startBillingApp, WEBHOOK_SECRET } from '../test/support/billing.js';
import { freePort, root } from '../test/support/processes.js';

const web = join(root, 'examples/web');
// The jest global setup and teardown (one embedded PostgreSQL, a migrated template database), reused as they are.
const jestHook = async (name: string) =>
  ((await import(new URL(`../test/support/${name}.mjs`, import.meta.url).href)) as { default: () => Promise<void> }).default;
const AUTHJS_SECRET = 'browser-tests-authjs-secret-0123456789abcdef';
const quietEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NO_UPDATE_NOTIFIER: '1' };

function step(what: string) {
  process.stdout.write(`\n[test:web] ${new Date().toISOString().slice(11, 19)} ${what}\n`);
}

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', env: quietEnv });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

function newestChange(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestChange(join(path, entry))));
}

function buildIsCurrent(): boolean {
  const buildId = join(web, '.next/BUILD_ID');
  if (!existsSync(buildId)) return false;
  const sources = ['src', 'package-lock.json', 'next.config.mjs', 'tsconfig.json'].map((entry) => newestChange(join(web, entry)));
  return statSync(buildId).mtimeMs > Math.max(...sources);
}

async function waitForHttp(url: string, child: ChildProcess, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the web app exited with ${child.exitCode}`);
    if (await fetch(url).then((response) => response.status < 500, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer within ${ms / 1000} s`);
}

async function main() {
  if (!existsSync(join(web, 'node_modules/.package-lock.json'))) {
    step('installing examples/web packages (npm ci)');
    run('npm', ['ci', '--no-audit', '--no-fund'], web);
  }
  if (buildIsCurrent()) step('examples/web build is current');
  else {
    step('building examples/web (next build)');
    run(process.execPath, ['node_modules/next/dist/bin/next', 'build'], web);
  }

  step('starting the API on a throwaway embedded PostgreSQL, with the fake Stripe');
  await (await jestHook('global-setup'))();
  const webPort = await freePort();
  const webUrl = `http://127.0.0.1:${webPort}`;
  const { api, fake } = await startBillingApp(true, { env: { BILLING_ALLOWED_ORIGINS: webUrl, AUTHJS_SECRET } });
  fake.hostCheckout({ webhookUrl: `${api.url}/webhooks/stripe`, webhookSecret: WEBHOOK_SECRET });
  // Whether this API reads Auth.js session tokens: it then holds the secret in its configuration.
  const apiReadsAuthJs = JSON.stringify(api.config).includes(AUTHJS_SECRET);

  let next: ChildProcess | null = null;
  let code = 1;
  try {
    step(`starting the web app on ${webUrl}`);
    next = spawn(process.execPath, ['node_modules/next/dist/bin/next', 'start', '-H', '127.0.0.1', '-p', String(webPort)], {
      cwd: web,
      stdio: ['ignore', 'inherit', 'inherit'],
      // DATABASE_URL: the development Auth.js provider creates its users in the API's database, as the adapter would.
      env: { ...quietEnv, API_URL: api.url, DEV_SIGN_IN: 'true', AUTH_JWT_SECRET: TEST_JWT_SECRET, AUTHJS_SECRET, DATABASE_URL: api.db.url },
    });
    await waitForHttp(`${webUrl}/sign-in`, next, 60_000);

    if (process.argv.includes('--serve')) {
      step(`serving until Ctrl-C: the web app on ${webUrl}, the API on ${api.url}`);
      await new Promise((resolve) => process.once('SIGINT', resolve));
      code = 0;
      return;
    }
    step('running the browser journeys');
    rmSync(join(web, 'test-results/screenshots'), { recursive: true, force: true });
    const playwright = spawn(process.execPath, ['node_modules/@playwright/test/cli.js', 'test', ...process.argv.slice(2)], {
      cwd: web,
      stdio: 'inherit',
      env: { ...quietEnv, WEB_URL: webUrl, API_READS_AUTHJS: apiReadsAuthJs ? 'true' : 'false' },
    });
    code = await new Promise<number>((resolve) => playwright.once('exit', (exitCode) => resolve(exitCode ?? 1)));
  } finally {
    if (next && next.exitCode === null) {
      next.kill('SIGTERM');
      await new Promise((resolve) => next!.once('exit', resolve));
    }
    await api.close();
    await fake.close();
    await (await jestHook('global-teardown'))();
  }
  step(code === 0 ? 'passed; screenshots in examples/web/test-results/screenshots/' : `failed (${code})`);
  process.exit(code);
}

main().catch((error: unknown) => {
  process.stderr.write(`[test:web] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
