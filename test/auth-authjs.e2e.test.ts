import { encode } from '@auth/core/jwt';
import type { User } from '../src/generated/prisma/client.js';
import { loadConfig } from '../src/config.js';
import { createTokenVerifier } from '../src/services/auth.js';
import { startTestApp, type TestApp } from './support/app.js';

const AUTHJS_SECRET = 'the-auth-secret-of-the-next-js-app-0123456789';
const COOKIE_NAME = 'authjs.session-token';
const VIEWER = `query { viewer { id email name role creditBalance { total } } }`;

let api: TestApp;
beforeAll(async () => {
  api = await startTestApp({ AUTHJS_SECRET, ADMIN_EMAILS: 'founder@example.com' });
});
afterAll(async () => {
  await api.close();
});

/** What the Auth.js Prisma adapter's createUser writes: name, email, emailVerified and image; the id is the database's. */
function adapterCreateUser(data: { name: string; email: string; emailVerified: Date | null; image?: string | null }) {
  return api.db.prisma.user.create({ data: { image: null, ...data } });
}

/** The session token Auth.js sets after sign-in: its default jwt callback copies the user row into the claims. */
function sessionToken(user: Pick<User, 'id' | 'name' | 'email' | 'image'>, options: { secret?: string; salt?: string; maxAge?: number; extra?: Record<string, unknown> } = {}) {
  return encode({
    token: { sub: user.id, name: user.name, email: user.email, picture: user.image, ...options.extra },
    secret: options.secret ?? AUTHJS_SECRET,
    salt: options.salt ?? COOKIE_NAME,
    maxAge: options.maxAge,
  });
}

describe('Auth.js session tokens', () => {
  it('serve the user the Auth.js Prisma adapter created, as that same user', async () => {
    const row = await adapterCreateUser({ name: 'Ada', email: 'ada@example.com', emailVerified: null, image: 'https://avatars.example.com/ada.png' });
    const token = await sessionToken(row);
    expect(token.split('.')).toHaveLength(5);
    const usersBefore = await api.db.prisma.user.count();

    const first = await api.graphql(VIEWER, {}, token);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.viewer).toMatchObject({ email: 'ada@example.com', name: 'Ada', role: 'USER', creditBalance: { total: 10 } });
    const again = await api.graphql(VIEWER, {}, token);
    expect(again.body.data.viewer.id).toBe(first.body.data.viewer.id);

    expect(await api.db.prisma.user.count()).toBe(usersBefore);
    const stored = await api.db.prisma.user.findUniqueOrThrow({ where: { id: row.id } });
    expect(stored.externalAuthId).toBe(`authjs:${row.id}`);
    const node = await api.graphql(`query($id: ID!) { node(id: $id) { ... on User { email } } }`, { id: first.body.data.viewer.id }, token);
    expect(node.body.data.node).toEqual({ email: 'ada@example.com' });
  });

  it('make an admin only of a row whose ADMIN_EMAILS address the adapter verified', async () => {
    const byOAuth = await adapterCreateUser({ name: 'Not Founder', email: 'founder@example.com', emailVerified: null });
    const oauthViewer = await api.graphql(VIEWER, {}, await sessionToken(byOAuth));
    expect(oauthViewer.body.data.viewer.role).toBe('USER');
    await api.db.prisma.user.update({ where: { id: byOAuth.id }, data: { email: null } });

    const byEmailLink = await adapterCreateUser({ name: 'Founder', email: 'founder@example.com', emailVerified: new Date() });
    const founder = await api.graphql(VIEWER, {}, await sessionToken(byEmailLink));
    expect(founder.body.data.viewer).toMatchObject({ email: 'founder@example.com', role: 'ADMIN' });
  });

  it('provision once when the first requests of an adapter user race', async () => {
    const row = await adapterCreateUser({ name: 'Racer', email: 'authjs-racer@example.com', emailVerified: new Date() });
    const token = await sessionToken(row);
    const responses = await Promise.all(Array.from({ length: 8 }, () => api.graphql(VIEWER, {}, token)));
    expect(new Set(responses.map((response) => response.body.data?.viewer?.id)).size).toBe(1);
    expect(await api.db.prisma.creditBalance.count({ where: { userId: row.id } })).toBe(1);
  });

  it('are accepted next to the HS256 tokens of the same server', async () => {
    const response = await api.graphql(VIEWER, {}, await api.token('hs256-user'));
    expect(response.body.data.viewer.email).toBe('hs256-user@example.com');
  });

  it('refuse a token encrypted with another secret or another cookie name, creating nothing', async () => {
    const row = await adapterCreateUser({ name: 'Eve', email: 'eve-authjs@example.com', emailVerified: null });
    for (const token of [
      await sessionToken(row, { secret: 'another-auth-secret-of-another-app-0123456789' }),
      await sessionToken(row, { salt: '__Secure-authjs.session-token' }),
    ]) {
      const response = await api.graphql(VIEWER, {}, token);
      expect(response.status).toBe(401);
      expect(response.body.errors?.[0]).toMatchObject({
        message: 'The session token cannot be decrypted: wrong AUTHJS_SECRET or AUTHJS_COOKIE_NAME, or altered',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    }
    expect((await api.db.prisma.user.findUniqueOrThrow({ where: { id: row.id } })).externalAuthId).toBeNull();
  });

  it('refuse an altered token', async () => {
    const row = await adapterCreateUser({ name: 'Tam', email: 'tam@example.com', emailVerified: null });
    const parts = (await sessionToken(row)).split('.');
    const ciphertext = Buffer.from(parts[3], 'base64url');
    ciphertext[0] ^= 1;
    parts[3] = ciphertext.toString('base64url');
    const response = await api.graphql(VIEWER, {}, parts.join('.'));
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0].message).toBe('The session token cannot be decrypted: wrong AUTHJS_SECRET or AUTHJS_COOKIE_NAME, or altered');
  });

  it('refuse an expired token', async () => {
    const row = await adapterCreateUser({ name: 'Late', email: 'late-authjs@example.com', emailVerified: null });
    const response = await api.graphql(VIEWER, {}, await sessionToken(row, { maxAge: -60 }));
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]).toMatchObject({ message: 'The token has expired', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuse a session whose subject is no user of this database, and a deleted account', async () => {
    const stranger = await sessionToken({ id: '0190a5f4-0000-7000-8000-000000000000', name: 'Nobody', email: 'nobody@example.com', image: null });
    const unknown = await api.graphql(VIEWER, {}, stranger);
    expect(unknown.status).toBe(401);
    expect(unknown.body.errors?.[0].message).toBe(
      'No user has the id this session names (sub): Auth.js must use the Prisma adapter on this database',
    );
    const notAnId = await api.graphql(VIEWER, {}, await sessionToken({ id: '12345', name: 'GitHub id', email: null, image: null }));
    expect(notAnId.status).toBe(401);

    const row = await adapterCreateUser({ name: 'Gone', email: 'gone-authjs@example.com', emailVerified: null });
    const token = await sessionToken(row);
    const deleted = await api.graphql(`mutation { deleteAccount { __typename } }`, {}, token);
    expect(deleted.body.data.deleteAccount.__typename).toBe('Deletion');
    const after = await api.graphql(VIEWER, {}, token);
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0].message).toBe('This account has been deleted');
  });
});

describe('AUTHJS_COOKIE_NAME', () => {
  it('is the salt: an https deployment sets __Secure-authjs.session-token', async () => {
    const verify = createTokenVerifier(
      loadConfig({ NODE_ENV: 'test', AUTHJS_SECRET, AUTHJS_COOKIE_NAME: '__Secure-authjs.session-token' }).auth,
    );
    const id = '0190a5f4-1111-7000-8000-000000000000';
    const secureToken = await sessionToken({ id, name: 'S', email: 's@example.com', image: null }, { salt: '__Secure-authjs.session-token' });
    await expect(verify(secureToken)).resolves.toMatchObject({ userId: id, email: 's@example.com' });
    await expect(verify(await sessionToken({ id, name: 'S', email: 's@example.com', image: null }))).rejects.toThrow(/cannot be decrypted/);
  });
});
