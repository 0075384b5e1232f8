import { existsSync } from 'node:fs';
import { z } from 'zod';

const emptyAsUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const optionalUrl = z.preprocess(emptyAsUndefined, z.url({ error: 'must be a URL' }).optional());
const integer = (fallback: number, min: number, max: number) =>
  z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number({ error: `must be an integer between ${min} and ${max}` })
      .int({ error: `must be an integer between ${min} and ${max}` })
      .min(min, { error: `must be an integer between ${min} and ${max}` })
      .max(max, { error: `must be an integer between ${min} and ${max}` })
      .default(fallback),
  );
const flag = (fallback: boolean) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((value) => value === 'true' || value === '1'),
  );
const list = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
);

const envSchema = z.object({
  NODE_ENV: z.preprocess(emptyAsUndefined, z.enum(['development', 'test', 'production']).default('development')),
  HOST: z.preprocess(emptyAsUndefined, z.string().default('0.0.0.0')),
  PORT: integer(4000, 0, 65535),
  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  PUBLIC_URL: optionalUrl,

  DATABASE_URL: optionalUrl,
  DATABASE_POOL_SIZE: integer(10, 1, 200),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('.data')),
  EMBEDDED_POSTGRES_PORT: integer(54329, 0, 65535),
  EMBEDDED_POSTGRES_TEMPLATE: flag(true),
  EMBEDDED_DATABASE_IN_PRODUCTION: flag(false),
  DATABASE_SSL_MODE: z.preprocess(
    emptyAsUndefined,
    z.enum(['disable', 'require', 'verify-ca', 'verify-full'], { error: 'must be disable, require, verify-ca or verify-full' }).optional(),
  ),
  DATABASE_SSL_CA_FILE: optionalString,
  DATABASE_STATEMENT_TIMEOUT_MS: integer(30_000, 0, 3_600_000),
  DATABASE_CONNECT_TIMEOUT_MS: integer(10_000, 100, 600_000),
  DATABASE_START_RETRY_SECONDS: integer(60, 0, 3600),
  DATABASE_APPLICATION_NAME: z.preprocess(emptyAsUndefined, z.string().default('imagegen-credits-api')),
  DATABASE_SLOW_QUERY_MS: integer(500, 0, 3_600_000),
  DATABASE_PREPARED_STATEMENTS: flag(true),
  METRICS_TOKEN: optionalString,

  AUTH_JWT_SECRET: optionalString,
  AUTH_JWKS_URL: optionalUrl,
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: integer(86_400, 60, 31_536_000),
  AUTHJS_SECRET: optionalString,
  AUTHJS_COOKIE_NAME: optionalString,
  CLERK_WEBHOOK_SECRET: optionalString,
  ADMIN_EMAILS: list,

  CORS_ORIGINS: list,
  GRAPHQL_MAX_DEPTH: integer(10, 1, 100),
  GRAPHQL_MAX_ALIASES: integer(15, 1, 1000),
  GRAPHQL_MAX_TOKENS: integer(2000, 10, 100_000),
  GRAPHQL_MAX_COST: integer(5000, 10, 1_000_000),
  GRAPHQL_IDE: flag(true),

  REDIS_URL: optionalUrl,
  JOBS_ENABLED: flag(true),
  WEBHOOK_CONCURRENCY: integer(8, 1, 256),
  WEBHOOK_CLAIM_SECONDS: integer(30, 2, 3600),

  CREDITS_RATE_LIMIT_PER_MINUTE: integer(120, 1, 1_000_000),
  CREDITS_RESERVATION_TTL_SECONDS: integer(900, 10, 86_400),
  CREDITS_DETAILS_MAX_BYTES: integer(4096, 64, 1_048_576),
  CREDITS_PERIOD_DAYS: integer(30, 1, 366),
  CREDITS_FREE_ALLOWANCE: integer(10, 0, 1_000_000),

  STRIPE_SECRET_KEY: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  STRIPE_API_HOST: optionalString,
  STRIPE_API_PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(65535).optional()),
  STRIPE_API_PROTOCOL: z.preprocess(emptyAsUndefined, z.enum(['http', 'https']).optional()),
  BILLING_ALLOWED_ORIGINS: list,

  STORAGE_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(['local', 's3']).default('local')),
  STORAGE_LOCAL_DIR: optionalString,
  STORAGE_SIGNING_SECRET: optionalString,
  STORAGE_SIGNED_URL_TTL_SECONDS: integer(300, 10, 604_800),
  STORAGE_RETENTION_DAYS: integer(30, 0, 3650),
  S3_ENDPOINT: optionalUrl,
  S3_REGION: z.preprocess(emptyAsUndefined, z.string().default('us-east-1')),
  S3_BUCKET: optionalString,
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,

  GENERATION_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(['local', 'http']).default('local')),
  GENERATION_HTTP_URL: optionalUrl,
  GENERATION_HTTP_API_KEY: optionalString,
  GENERATION_HTTP_TIMEOUT_MS: integer(60_000, 100, 600_000),
  GENERATION_MODELS: list,
  GENERATION_STYLES: list,
  GENERATION_ASPECT_RATIOS: list,
  GENERATION_STALL_MINUTES: integer(10, 1, 1440),
  GENERATION_CONCURRENCY: integer(2, 1, 256),
  GENERATION_FAILED_RETENTION_DAYS: integer(30, 0, 3650),
});

export type Env = z.input<typeof envSchema>;

/** Every variable the service reads; .env.example documents each (a test keeps the two in step). */
export const configVariables = Object.keys(envSchema.shape);

/** For module-level setup that runs before the configuration is loaded (the schema builder). */
export function isProductionEnvironment(env: Record<string, string | undefined> = process.env): boolean {
  return env.NODE_ENV === 'production';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.NODE_ENV === 'production' && !e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL && !e.AUTHJS_SECRET) {
    problems.push('AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTHJS_SECRET: one is required in production');
  }
  if (e.AUTHJS_SECRET && e.AUTHJS_SECRET.length < 32) {
    problems.push('AUTHJS_SECRET: must be at least 32 characters (the AUTH_SECRET of the Auth.js app, e.g. from `npx auth secret`)');
  }
  if (e.AUTHJS_COOKIE_NAME && !/^[A-Za-z0-9_.\-]{1,200}$/.test(e.AUTHJS_COOKIE_NAME)) {
    problems.push('AUTHJS_COOKIE_NAME: must be a cookie name such as authjs.session-token or __Secure-authjs.session-token');
  }
  if (e.AUTH_JWT_SECRET && e.AUTH_JWT_SECRET.length < 32) {
    problems.push('AUTH_JWT_SECRET: must be at least 32 characters');
  }
  if (e.CLERK_WEBHOOK_SECRET && !/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(e.CLERK_WEBHOOK_SECRET)) {
    problems.push("CLERK_WEBHOOK_SECRET: must be the endpoint's signing secret from the Clerk dashboard (whsec_...)");
  }
    if (e.STORAGE_PROVIDER === 's3' && (!e.S3_BUCKET || !e.S3_ACCESS_KEY_ID || !e.S3_SECRET_ACCESS_KEY)) {
    problems.push('S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: required when STORAGE_PROVIDER=s3');
  }
  if (e.GENERATION_PROVIDER === 'http' && !e.GENERATION_HTTP_URL) {
    problems.push('GENERATION_HTTP_URL: required when GENERATION_PROVIDER=http');
  }
  if (e.NODE_ENV === 'production' && !e.STORAGE_SIGNING_SECRET) {
    problems.push('STORAGE_SIGNING_SECRET: required in production');
  }
  if (e.NODE_ENV === 'production' && e.STORAGE_SIGNING_SECRET && e.STORAGE_SIGNING_SECRET.length < 32) {
    problems.push('STORAGE_SIGNING_SECRET: must be at least 32 characters in production');
  }
  if (e.NODE_ENV === 'production' && e.STRIPE_WEBHOOK_SECRET && e.STRIPE_WEBHOOK_SECRET.length < 32) {
    problems.push('STRIPE_WEBHOOK_SECRET: must be at least 32 characters in production');
  }
  if (e.NODE_ENV === 'production' && !e.DATABASE_URL && !e.EMBEDDED_DATABASE_IN_PRODUCTION) {
    problems.push(
      'DATABASE_URL: required in production (an embedded PostgreSQL on local disk has no backups, replicas or failover; ' +
        'set EMBEDDED_DATABASE_IN_PRODUCTION=true to run on it anyway)',
    );
  }
  if (e.DATABASE_SSL_CA_FILE && !existsSync(e.DATABASE_SSL_CA_FILE)) {
    problems.push(`DATABASE_SSL_CA_FILE: ${e.DATABASE_SSL_CA_FILE} does not exist`);
  }
  if (problems.length) throw new ConfigError(problems);

  const production = e.NODE_ENV === 'production';
  return {
    env: e.NODE_ENV,
    production,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL,
    database: {
      url: e.DATABASE_URL,
      poolSize: e.DATABASE_POOL_SIZE,
      dataDir: e.DATA_DIR,
      embeddedPort: e.EMBEDDED_POSTGRES_PORT,
      embeddedTemplate: e.EMBEDDED_POSTGRES_TEMPLATE,
      sslMode: e.DATABASE_SSL_MODE,
      sslCaFile: e.DATABASE_SSL_CA_FILE,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      startRetrySeconds: e.DATABASE_START_RETRY_SECONDS,
      applicationName: e.DATABASE_APPLICATION_NAME,
      slowQueryMs: e.DATABASE_SLOW_QUERY_MS,
      preparedStatements: e.DATABASE_PREPARED_STATEMENTS,
    },
    metricsToken: e.METRICS_TOKEN,
    /** Unsafe but allowed settings, logged as warnings at start. */
    warnings: [
      ...(!production && !e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL
        ? ['AUTH_JWT_SECRET is not set: tokens are checked with the public development secret, so anyone can sign one. Set AUTH_JWT_SECRET or AUTH_JWKS_URL before exposing this server.']
        : []),
      ...(production && !e.DATABASE_URL ? ['running on the embedded PostgreSQL in production (EMBEDDED_DATABASE_IN_PRODUCTION=true): back up DATA_DIR yourself'] : []),
      ...(production && !e.METRICS_TOKEN ? ['METRICS_TOKEN is not set: /metrics is turned off in production'] : []),
    ],
    auth: {
      jwtSecret: e.AUTH_JWT_SECRET ?? (production ? undefined : 'development-only-secret-change-me-0000'),
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      maxTokenLifetimeSeconds: e.AUTH_MAX_TOKEN_LIFETIME_SECONDS,
      adminEmails: e.ADMIN_EMAILS.map((email) => email.toLowerCase()),
      /** Auth.js session tokens (JWE) are accepted when set; the cookie name is the salt of the key Auth.js derives. */
      clerkWebhookSecret: e.CLERK_WEBHOOK_SECRET,
      authJs: e.AUTHJS_SECRET ? { secret: e.AUTHJS_SECRET, cookieName: e.AUTHJS_COOKIE_NAME ?? 'authjs.session-token' } : undefined,
    },
    graphql: {
      ide: e.GRAPHQL_IDE && !production,
      introspection: !production,
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
    },
    corsOrigins: e.CORS_ORIGINS,
    redisUrl: e.REDIS_URL,
    jobsEnabled: e.JOBS_ENABLED,
    webhooks: { concurrency: e.WEBHOOK_CONCURRENCY, claimSeconds: e.WEBHOOK_CLAIM_SECONDS },
    credits: {
      rateLimitPerMinute: e.CREDITS_RATE_LIMIT_PER_MINUTE,
      reservationTtlSeconds: e.CREDITS_RESERVATION_TTL_SECONDS,
      detailsMaxBytes: e.CREDITS_DETAILS_MAX_BYTES,
      periodDays: e.CREDITS_PERIOD_DAYS,
      freeAllowance: e.CREDITS_FREE_ALLOWANCE,
    },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET,
      host: e.STRIPE_API_HOST,
      port: e.STRIPE_API_PORT,
      protocol: e.STRIPE_API_PROTOCOL,
      allowedOrigins: e.BILLING_ALLOWED_ORIGINS,
    },
    storage: {
      provider: e.STORAGE_PROVIDER,
      localDir: e.STORAGE_LOCAL_DIR ?? `${e.DATA_DIR}/storage`,
      signingSecret: e.STORAGE_SIGNING_SECRET ?? 'development-only-storage-secret',
      signedUrlTtlSeconds: e.STORAGE_SIGNED_URL_TTL_SECONDS,
      retentionDays: e.STORAGE_RETENTION_DAYS,
      s3: {
        endpoint: e.S3_ENDPOINT,
        region: e.S3_REGION,
        bucket: e.S3_BUCKET,
        accessKeyId: e.S3_ACCESS_KEY_ID,
        secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      },
    },
    generation: {
      provider: e.GENERATION_PROVIDER,
      httpUrl: e.GENERATION_HTTP_URL,
      httpApiKey: e.GENERATION_HTTP_API_KEY,
      httpTimeoutMs: e.GENERATION_HTTP_TIMEOUT_MS,
      models: e.GENERATION_MODELS.length ? e.GENERATION_MODELS : ['local-diffusion-v1', 'local-diffusion-xl'],
      styles: e.GENERATION_STYLES.length
        ? e.GENERATION_STYLES
        : ['photographic', 'digital-art', 'anime', 'watercolor', 'pixel-art', 'line-art'],
      aspectRatios: e.GENERATION_ASPECT_RATIOS.length
        ? e.GENERATION_ASPECT_RATIOS
        : ['1:1', '4:3', '3:4', '16:9', '9:16'],
      stallMinutes: e.GENERATION_STALL_MINUTES,
      concurrency: e.GENERATION_CONCURRENCY,
      failedRetentionDays: e.GENERATION_FAILED_RETENTION_DAYS,
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;
