import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'svix';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/client.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { createApp } from '../src/server.js';
import { signToken } from '../src/services/auth.js';
import { TEST_JWT_SECRET } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { FakeStripe } from './support/fake-stripe.js';
import { expectNoLeak, post } from './support/hostile.js';

/**
 * Every route over a database client that can be made to fail the way a bug does: the error Prisma throws names the
 * call, the source file and the query. None of that may reach a response. (An unreachable database is not a bug: it
 * answers 503 SERVICE_UNAVAILABLE, tested in ops-faults.)
 */
const PRISMA_LIKE_MESSAGE =
  'Invalid `prisma.user.findUnique()` invocation in\n/work/src/services/users.ts:42:7\n\n  39 const user = await prisma.user.findUnique(\nThe column `User.legacyPlan` does not exist in the current database.';

let failing = false;
function failure() {
  const error = new Error(PRISMA_LIKE_MESSAGE);
  error.name = 'PrismaClientKnownRequestError';
  return error;
}

function failable<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value === 'function') {
        return (...args: unknown[]) => {
          if (failing) return Promise.reject(failure());
          return (value as (...rest: unknown[]) => unknown).apply(object, args);
        };
      }
      if (value && typeof value === 'object' && typeof property === 'string' && !property.startsWith('_')) {
        return failable(value as object);
      }
      return value;
    },
  });
}

const WEBHOOK_SECRET = 'whsec_route_errors';
const CLERK_WEBHOOK_SECRET = 'whsec_cm91dGUtZXJyb3JzLWNsZXJrLXNlY3JldA==';
let db: TestDatabase;
let runtime: Runtime;
let app: FastifyInstance;
let url: string;
let fake: FakeStripe;
const logLines: { level: number; msg: string; requestId?: string; err?: unknown }[] = [];

const dataDir = `.data/test-${process.pid}-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await FakeStripe.start();
  const config = loadConfig({
    NODE_ENV: 'test',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    JOBS_ENABLED: 'false',
    DATA_DIR: dataDir,
    STRIPE_SECRET_KEY: 'sk_test_x',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    CLERK_WEBHOOK_SECRET,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(fake.port),
    STRIPE_API_PROTOCOL: 'http',
    DATABASE_URL: db.url,
  });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const prisma = failable(db.prisma) as Db;
  runtime = createRuntime({ config, log, prisma, databaseUrl: db.url });
  app = await createApp({ config, log, prisma, services: runtime.services });
  // A route added after the app is built inherits the same error handler.
  app.get('/late-route', async () => {
    throw failure();
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  failing = false;
  await app.close();
  await runtime.services.close();
  await db.drop();
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  failing = false;
});

async function request(path: string, init: RequestInit = {}) {
  const response = await fetch(`${url}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text) };
}

function expectMasked500(response: { status: number; headers: Headers; text: string; json: any }) {
  expect(response.status).toBe(500);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  expect(response.json).toEqual({ error: 'Internal server error', requestId: response.headers.get('x-request-id') });
  expectNoLeak(response.text);
  // The details are in the log, at error level, under the same request id.
  const logged = logLines.find((line) => line.requestId === response.json.requestId && line.level >= 50);
  expect(logged).toBeDefined();
  expect(JSON.stringify(logged)).toContain('Invalid `prisma.user.findUnique()`');
}

function signedWebhook() {
  const payload = JSON.stringify({
    id: `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    type: 'customer.updated',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: 'cus_1', object: 'customer' } },
  });
  return { payload, signature: fake.sdk.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }) };
}

describe('an internal error on every route answers 500 {error, requestId} and nothing else', () => {
  it('POST /graphql with a token (the user lookup fails)', async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: 'route-user', email: 'route-user@example.com' });
    failing = true;
    expectMasked500(
      await request('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { id } }' }),
      }),
    );
  });

  it('POST /graphql resolvers mask the error inside the GraphQL response', async () => {
    failing = true;
    const response = await request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ plans { key } }' }),
    });
    expect(response.json.errors).toEqual([
      expect.objectContaining({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
    ]);
    expectNoLeak(response.text);
  });

  it('POST /webhooks/stripe (storing the event fails)', async () => {
    const { payload, signature } = signedWebhook();
    failing = true;
    expectMasked500(
      await request('/webhooks/stripe', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body: payload,
      }),
    );
  });

  it('POST /webhooks/clerk (storing the event fails)', async () => {
    const id = `msg_${randomUUID().replace(/-/g, '')}`;
    const body = JSON.stringify({ object: 'event', type: 'user.created', data: { id: 'user_2routes', object: 'user' } });
    const now = new Date();
    const signature = new Webhook(CLERK_WEBHOOK_SECRET).sign(id, now, body);
    failing = true;
    expectMasked500(
      await request('/webhooks/clerk', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(Math.floor(now.getTime() / 1000)), 'svix-signature': signature },
        body,
      }),
    );
  });

  it('GET /files/<id> (the owner lookup fails)', async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: 'route-files', email: 'route-files@example.com' });
    failing = true;
    expectMasked500(await request(`/files/${randomUUID()}/a.png`, { headers: { authorization: `Bearer ${token}` } }));
  });

  it('a route registered after the app was built', async () => {
    expectMasked500(await request('/late-route'));
  });

  it('GET /readyz answers 503 without details and GET /healthz still answers', async () => {
    failing = true;
    const ready = await request('/readyz');
    expect(ready.status).toBe(503);
    expectNoLeak(ready.text);
    expect((await request('/healthz')).status).toBe(200);
  });
});

describe('client errors answer 4xx JSON naming the problem, logged below error level', () => {
  it.each([
    ['an unknown route', () => request('/no-such-route'), 404, /No route for GET \/no-such-route/],
    ['an unknown method on /healthz', () => request('/healthz', { method: 'DELETE' }), 404, /No route for DELETE \/healthz/],
    [
      'a body that is not JSON',
      () => request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' }),
      400,
      /JSON/,
    ],
    [
      'an unsupported content type',
      () => request('/graphql', { method: 'POST', headers: { 'content-type': 'application/x-evil' }, body: 'x' }),
      415,
      /content-type/i,
    ],
    [
      'a webhook without a signature',
      () => request('/webhooks/stripe', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      400,
      /signature/,
    ],
    [
      'a Clerk webhook without a signature',
      () => request('/webhooks/clerk', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      400,
      /signature/,
    ],
    ['a file id that is not one', () => request('/files/not-an-id?expires=1&signature=x'), 404, /not found/i],
    [
      'a malformed Authorization header',
      () => request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Token x' }, body: '{"query":"{ __typename }"}' }),
      401,
      /Bearer/,
    ],
  ])('%s', async (_label, send, status, message) => {
    const before = logLines.length;
    const response = await send();
    expect(response.status).toBe(status);
    const text = JSON.stringify(response.json);
    expect(text).toMatch(message);
    expectNoLeak(response.text);
    expect(logLines.slice(before).filter((line) => line.level >= 40)).toEqual([]);
  });

  it('GraphQL client mistakes are not logged at error level', async () => {
    const before = logLines.length;
    for (const query of ['test', '{ viewer { id }', '{ node(id: "garbage") { id } }', '{ users(first: -1) { totalCount } }']) {
      const response = await post({ url } as never, '/graphql', JSON.stringify({ query }));
      expect(response.status).toBeLessThan(500);
    }
    expect(logLines.slice(before).filter((line) => line.level >= 50)).toEqual([]);
  });
});
