import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './support/app.js';

const run = promisify(execFile);
let api: TestApp;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  api = await startTestApp();
  env = { ...process.env, DATABASE_URL: api.db.url, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent' };
});
afterAll(async () => {
  await api.close();
});

// Each case starts one to three commands, a few seconds each through tsx; on a loaded two-core machine that took over 30 s.
const tsx = (script: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
  run('node_modules/.bin/tsx', [script, ...args], { env: { ...env, ...extraEnv } });

describe('npm run db:setup-admin', () => {
  it('creates a missing user as ADMIN, who keeps the role on first sign-in', async () => {
    const { stdout } = await tsx('scripts/setup-admin.ts', ['founder@example.com']);
    expect(stdout).toContain('Created founder@example.com as ADMIN');

    const token = await api.token('founder-auth-id', { email: 'founder@example.com' });
    const response = await api.graphql(`query { viewer { email role } }`, {}, token);
    expect(response.body.data.viewer).toEqual({ email: 'founder@example.com', role: 'ADMIN' });
  }, 90_000);

  it('promotes an existing user', async () => {
    const token = await api.token('promoted', { email: 'promoted@example.com' });
    const { id } = (await api.graphql(`query { viewer { id } }`, {}, token)).body.data.viewer;
    const { stdout } = await tsx('scripts/setup-admin.ts', ['promoted@example.com']);
    expect(stdout).toContain(`promoted@example.com (id ${id}) is now ADMIN.`);
    expect((await api.graphql(`query { viewer { role } }`, {}, token)).body.data.viewer.role).toBe('ADMIN');
  }, 90_000);

  it('prints its usage and exits 2 on a missing or malformed email, changing nothing', async () => {
    const before = await api.db.prisma.user.count();
    for (const args of [[], ['not-an-email'], ['a@example.com', 'b@example.com']]) {
      const failure = await tsx('scripts/setup-admin.ts', args).catch((error) => error);
      expect(failure.code).toBe(2);
      expect(failure.stderr).toContain('Usage: npm run db:setup-admin -- <email>');
    }
    expect(await api.db.prisma.user.count()).toBe(before);
  }, 90_000);
});

describe('npm run token', () => {
  it('prints a token the server accepts for that subject and email', async () => {
    const { stdout } = await tsx('scripts/token.ts', ['--sub', 'cli-user', '--email', 'cli@example.com']);
    const response = await api.graphql(`query { viewer { email } }`, {}, stdout.trim());
    expect(response.body.data.viewer).toEqual({ email: 'cli@example.com' });
  }, 90_000);

  it('refuses to sign when the server checks tokens against a JWKS only, saying why and what to set', async () => {
    const failure = await tsx('scripts/token.ts', ['--sub', 'cli-user'], {
      AUTH_JWT_SECRET: '',
      AUTH_JWKS_URL: 'https://example.clerk.accounts.dev/.well-known/jwks.json',
    }).catch((error) => error);
    expect(failure.code).toBe(1);
    expect(failure.stdout).toBe('');
    expect(failure.stderr).toContain('Refusing to sign a token');
    expect(failure.stderr).toContain('AUTH_JWKS_URL (https://example.clerk.accounts.dev/.well-known/jwks.json)');
    expect(failure.stderr).toContain('set AUTH_JWT_SECRET');
  }, 90_000);

  it('refuses to sign in production without AUTH_JWT_SECRET', async () => {
    const failure = await tsx('scripts/token.ts', ['--sub', 'cli-user'], {
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: '',
      AUTHJS_SECRET: 'the-auth-secret-of-the-next-js-app-0123456789',
      STORAGE_SIGNING_SECRET: 'a-storage-signing-secret-long-enough-0123',
    }).catch((error) => error);
    expect(failure.code).toBe(1);
    expect(failure.stdout).toBe('');
    expect(failure.stderr).toContain('AUTH_JWT_SECRET is not set, so this server accepts no HS256 token');
  }, 90_000);
});

describe('npm run db:reset', () => {
  it('refuses when NODE_ENV=production and leaves the data in place', async () => {
    const before = await api.db.prisma.user.count();
    expect(before).toBeGreaterThan(0);
    const failure = await tsx('scripts/migrate.ts', ['reset'], { NODE_ENV: 'production' }).catch((error) => error);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain('Refusing to reset the database: NODE_ENV is "production".');
    expect(await api.db.prisma.user.count()).toBe(before);
  }, 90_000);
});

describe('exit codes on the database DATABASE_URL names', () => {
  const exitCode = (script: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    tsx(script, args, extraEnv).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );

  it('0 on success', async () => {
    const results = await Promise.all([
      exitCode('scripts/migrate.ts', ['deploy']),
      exitCode('scripts/credits-reconcile.ts', []),
      exitCode('scripts/maintenance.ts', []),
    ]);
    expect(results).toEqual(results.map(() => ({ code: 0, stderr: '' })));
  }, 90_000);

  it('non-zero on failure, with the reason on stderr', async () => {
    const [unknown, maintenanceArgs, sync, unreachable] = await Promise.all([
      exitCode('scripts/migrate.ts', ['sideways']),
      exitCode('scripts/maintenance.ts', ['--now']),
      exitCode('scripts/sync-stripe.ts', [], { STRIPE_SECRET_KEY: '' }),
      // Nothing listens on port 1: the command must fail, not hang or exit 0.
      exitCode('scripts/migrate.ts', ['deploy'], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/postgres' }),
    ]);
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('Usage:') });
    expect(maintenanceArgs).toMatchObject({ code: 2, stderr: expect.stringContaining('Usage: npm run maintenance') });
    expect(sync).toMatchObject({ code: 1, stderr: expect.stringContaining('STRIPE_SECRET_KEY is not set') });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/ECONNREFUSED|connect/i);
  }, 90_000);
});
