import { ConfigError, loadConfig } from '../src/config.js';

const production = {
  NODE_ENV: 'production',
  AUTH_JWT_SECRET: 'a-production-jwt-secret-of-32-characters!',
  STORAGE_SIGNING_SECRET: 'a-production-signing-secret-of-32+chars',
  STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdefghijklmnopqrstuv',
  DATABASE_URL: 'postgresql://app@db.internal:5432/app',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('secrets in production', () => {
  it('accepts secrets of at least 32 characters', () => {
    expect(problems(production)).toEqual([]);
  });

  it.each([
    ['AUTH_JWT_SECRET', 'x', 'AUTH_JWT_SECRET: must be at least 32 characters'],
    ['STORAGE_SIGNING_SECRET', 'x', 'STORAGE_SIGNING_SECRET: must be at least 32 characters in production'],
    ['STRIPE_WEBHOOK_SECRET', 'whsec_short', 'STRIPE_WEBHOOK_SECRET: must be at least 32 characters in production'],
  ])('refuses a short %s', (name, value, message) => {
    expect(problems({ ...production, [name]: value })).toEqual([message]);
  });

  it('refuses a short AUTHJS_SECRET in any environment, and a CLERK_WEBHOOK_SECRET that is not a signing secret', () => {
    expect(problems({ ...production, AUTHJS_SECRET: 'short' })).toEqual([
      'AUTHJS_SECRET: must be at least 32 characters (the AUTH_SECRET of the Auth.js app, e.g. from `npx auth secret`)',
    ]);
    expect(problems({ NODE_ENV: 'development', AUTHJS_SECRET: 'short' })).toHaveLength(1);
    expect(problems({ ...production, CLERK_WEBHOOK_SECRET: 'sk_live_not_a_webhook_secret' })).toEqual([
      "CLERK_WEBHOOK_SECRET: must be the endpoint's signing secret from the Clerk dashboard (whsec_...)",
    ]);
    expect(problems({ ...production, CLERK_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })).toEqual([]);
  });

  it('starts in production with Auth.js session tokens as the only sign-in', () => {
    const { AUTH_JWT_SECRET: _unused, ...withoutJwtSecret } = production;
    expect(problems(withoutJwtSecret)).toEqual(['AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTHJS_SECRET: one is required in production']);
    expect(problems({ ...withoutJwtSecret, AUTHJS_SECRET: 'the-auth-secret-of-the-next-js-app-0123456789' })).toEqual([]);
    const config = loadConfig({ ...withoutJwtSecret, AUTHJS_SECRET: 'the-auth-secret-of-the-next-js-app-0123456789' });
    expect(config.auth).toMatchObject({ jwtSecret: undefined, authJs: { cookieName: 'authjs.session-token' } });
  });

  it('keeps short development secrets working outside production', () => {
    expect(problems({ NODE_ENV: 'development', STORAGE_SIGNING_SECRET: 'x', STRIPE_WEBHOOK_SECRET: 'whsec_test_secret' })).toEqual([]);
  });
});

describe('AUTH_MAX_TOKEN_LIFETIME_SECONDS', () => {
  it('defaults to a day and takes 60 seconds to a year', () => {
    expect(loadConfig({}).auth.maxTokenLifetimeSeconds).toBe(86_400);
    expect(loadConfig({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' }).auth.maxTokenLifetimeSeconds).toBe(3600);
    expect(problems({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '10' })).toEqual([
      'AUTH_MAX_TOKEN_LIFETIME_SECONDS: must be an integer between 60 and 31536000',
    ]);
  });
});
