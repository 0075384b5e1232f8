import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { FastifyInstance } from 'fastify';
import { print } from 'graphql';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createApp } from '../../src/server.js';
import { signToken } from '../../src/services/auth.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import type { Services } from '../../src/services/index.js';
import { ViewerDocument } from '../generated/graphql.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** The member of a result union with this __typename; fails the test, naming what came instead, for any other. */
export function member<T extends { __typename?: string }, N extends NonNullable<T['__typename']>>(
  value: T | null | undefined,
  typename: N,
): Extract<T, { __typename?: N }> {
  if (value?.__typename !== typename) throw new Error(`Expected a ${typename}, got ${JSON.stringify(value)}`);
  return value as Extract<T, { __typename?: N }>;
}

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[] };
}

export interface TestApp {
  url: string;
  db: TestDatabase;
  config: Config;
  services: Services;
  runtime: Runtime;
  app: FastifyInstance;
  graphql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** A typed operation from test/operations (see `npm run codegen`). */
  execute<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
    token?: string | null,
  ): Promise<GraphQLResponse<TData>>;
  /** Signs a token as the identity provider would; the email counts as verified unless `emailVerified: false`. */
  token(sub: string, claims?: { email?: string; name?: string; picture?: string; emailVerified?: boolean }): Promise<string>;
  /** Signs in as a new user, who is created by that first request: their token, global id and row id. */
  signUp(sub: string, claims?: { email?: string; name?: string }): Promise<{ token: string; id: string; userId: string }>;
  /** Grants credits over HTTP as the admin whose token is given; throws unless the grant was made. */
  grantCredits(userGlobalId: string, amount: number, adminToken: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the real server on a random port over a fresh database. Environment overrides go through loadConfig;
 * `now` replaces the clock of credit periods and billing.
 */
export async function startTestApp(env: Record<string, string> = {}, options: { now?: () => Date } = {}): Promise<TestApp> {
  const db = await createTestDatabase({ poolSize: env.DATABASE_POOL_SIZE ? Number(env.DATABASE_POOL_SIZE) : undefined });
  // Its own directory (local image storage), removed when it closes: several apps can run in one test file.
  const dataDir = `.data/test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_EMAILS: 'admin@example.com,ops@example.com',
    JOBS_ENABLED: 'false',
    DATA_DIR: dataDir,
    ...env,
    DATABASE_URL: db.url,
  });
  const log = createLogger(config.logLevel);
  const runtime = createRuntime({ config, log, prisma: db.prisma, databaseUrl: db.url, now: options.now });
  const services = runtime.services;
  const app = await createApp({ config, log, prisma: db.prisma, services });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  await runtime.start();

  const api: TestApp = {
    url,
    db,
    config,
    services,
    runtime,
    app,
    async graphql(query, variables = {}, token = null) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, headers: response.headers, body: await response.json() };
    },
    execute(document, variables, token = null) {
      return api.graphql(print(document), variables, token);
    },
    token: (sub, claims = {}) =>
      signToken(TEST_JWT_SECRET, {
        sub,
        email: claims.email ?? `${sub}@example.com`,
        name: claims.name ?? sub,
        picture: claims.picture,
        emailVerified: claims.emailVerified ?? true,
      }),
    async signUp(sub, claims = {}) {
      const token = await api.token(sub, claims);
      const id = (await api.execute(ViewerDocument, {}, token)).body.data!.viewer!.id;
      const { id: userId } = await db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: sub }, select: { id: true } });
      return { token, id, userId };
    },
    async grantCredits(userGlobalId, amount, adminToken) {
      const response = await api.graphql(
        `mutation($id: ID!, $amount: Int!) { grantCredits(userId: $id, amount: $amount, reason: "test grant") { __typename } }`,
        { id: userGlobalId, amount },
        adminToken,
      );
      if (response.body.data?.grantCredits?.__typename !== 'CreditMovement') {
        throw new Error(`grantCredits did not grant: ${JSON.stringify(response.body)}`);
      }
    },
    async close() {
      await app.close();
      await runtime.stop();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return api;
}
