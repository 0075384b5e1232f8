import { startTestApp, type TestApp } from './support/app.js';

const ALLOWED_ORIGIN = 'https://app.example.com';
const VIEWER_ID = `query { viewer { id } }`;

let api: TestApp;
beforeAll(async () => {
  api = await startTestApp({ CORS_ORIGINS: ALLOWED_ORIGIN });
});
afterAll(async () => {
  await api.close();
});

describe('operational routes', () => {
  it('/healthz answers 200', async () => {
    const response = await fetch(`${api.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when the database answers', async () => {
    const response = await fetch(`${api.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
  });

  it('/metrics exposes the HTTP request duration histogram', async () => {
    await fetch(`${api.url}/healthz`);
    const response = await fetch(`${api.url}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('http_request_duration_seconds');
  });
});

describe('request ids', () => {
  it('every response carries an x-request-id, also errors and unknown routes', async () => {
    const responses = await Promise.all([
      fetch(`${api.url}/healthz`),
      fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      }),
      fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ notAField }' }),
      }),
      fetch(`${api.url}/no-such-route`),
    ]);
    const ids = responses.map((response) => response.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._-]{8,128}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('echoes a valid incoming x-request-id and replaces an invalid one', async () => {
    const echoed = await fetch(`${api.url}/healthz`, { headers: { 'x-request-id': 'edge-proxy.4f2a9c_01' } });
    expect(echoed.headers.get('x-request-id')).toBe('edge-proxy.4f2a9c_01');
    const replaced = await fetch(`${api.url}/healthz`, { headers: { 'x-request-id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('errors', () => {
  it('masks an unexpected resolver error as INTERNAL_SERVER_ERROR without leaking its cause', async () => {
    const admin = await api.token('masking-admin', { email: 'admin@example.com' });
    await api.graphql(VIEWER_ID, {}, admin);
    const target = (await api.graphql(VIEWER_ID, {}, await api.token('masking-target'))).body.data.viewer.id;
    // setUserRole writes an audit row; without its table Prisma throws an error no resolver expects.
    await api.db.prisma.$executeRawUnsafe('ALTER TABLE "AdminAuditLog" RENAME TO "AdminAuditLog_hidden"');
    try {
      const response = await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({
          query: `mutation($id: ID!) { setUserRole(userId: $id, role: PREMIUM) { __typename } }`,
          variables: { id: target },
        }),
      });
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        data: null,
        errors: [
          {
            message: 'Internal server error',
            locations: [{ line: 1, column: 22 }],
            path: ['setUserRole'],
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          },
        ],
      });
      expect(text).not.toMatch(/AdminAuditLog|prisma|stack/i);
    } finally {
      await api.db.prisma.$executeRawUnsafe('ALTER TABLE "AdminAuditLog_hidden" RENAME TO "AdminAuditLog"');
    }
    expect((await api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: 'masking-target' } })).role).toBe(
      'USER',
    );
  });
});

describe('query limits', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({ GRAPHQL_MAX_DEPTH: '2', GRAPHQL_MAX_ALIASES: '3' });
  });
  afterAll(async () => {
    await limited.close();
  });

  async function preferencesOf(token: string) {
    const response = await limited.graphql(`query { viewer { preferences } }`, {}, token);
    return response.body.data.viewer.preferences;
  }

  it('refuses a query deeper than GRAPHQL_MAX_DEPTH before executing it', async () => {
    const token = await limited.token('deep-diver');
    const response = await limited.graphql(
      `mutation { updatePreferences(preferences: { deep: true }) { ... on ValidationError { issues { path } } } }`,
      {},
      token,
    );
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors?.[0].message).toMatch(/depth/i);
    expect(await preferencesOf(token)).toEqual({});
  });

  it('refuses a query with more aliases than GRAPHQL_MAX_ALIASES before executing it', async () => {
    const token = await limited.token('alias-spammer');
    const fields = ['a', 'b', 'c', 'd'].map(
      (alias) => `${alias}: updatePreferences(preferences: { ${alias}: true }) { __typename }`,
    );
    const response = await limited.graphql(`mutation { ${fields.join(' ')} }`, {}, token);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors?.[0].message).toMatch(/alias/i);
    expect(await preferencesOf(token)).toEqual({});
  });

  it('runs a query within both limits', async () => {
    const token = await limited.token('well-behaved');
    const fields = ['a', 'b', 'c'].map((alias) => `${alias}: viewer { id }`);
    const response = await limited.graphql(`query { ${fields.join(' ')} }`, {}, token);
    expect(response.body.errors).toBeUndefined();
    expect(Object.keys(response.body.data)).toEqual(['a', 'b', 'c']);
  });
});

describe('GraphiQL', () => {
  it('is served with local assets only, each of which loads', async () => {
    const response = await fetch(`${api.url}/graphiql`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).not.toMatch(/https?:\/\/|\bsrc="\/\/|\bhref="\/\//);
    const references = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) {
      expect(reference).toMatch(/^\/graphiql\/assets\/[\w.-]+$/);
      const asset = await fetch(`${api.url}${reference}`);
      expect({ reference, status: asset.status }).toEqual({ reference, status: 200 });
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    fetch(`${api.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });

  it('allows a preflight from an origin in CORS_ORIGINS', async () => {
    const response = await preflight(ALLOWED_ORIGIN);
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('gives no CORS grant to another origin', async () => {
    const response = await preflight('https://evil.example.net');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('in production', () => {
  let production: TestApp;
  beforeAll(async () => {
    production = await startTestApp({
      NODE_ENV: 'production',
      STORAGE_SIGNING_SECRET: 'production-like-storage-signing-secret-0123456789',
    });
  });
  afterAll(async () => {
    await production.close();
  });

  it('refuses introspection', async () => {
    const response = await production.graphql(`query { __schema { queryType { name } } }`);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors?.[0].message).toMatch(/introspection/i);
    expect(response.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('does not serve GraphiQL', async () => {
    expect((await fetch(`${production.url}/graphiql`)).status).toBe(404);
    const ide = await fetch(`${production.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(ide.status).not.toBe(302);
  });

  it('still answers ordinary queries', async () => {
    const response = await production.graphql(`query { __typename }`);
    expect(response.body).toEqual({ data: { __typename: 'Query' } });
  });
});
