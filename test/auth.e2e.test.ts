import { SignJWT } from 'jose';
import { readFileSync } from 'node:fs';
import { configVariables, loadConfig, ConfigError } from '../src/config.js';
import { signToken } from '../src/services/auth.js';
import {
  DeductCreditsDocument,
  DeleteAccountDocument,
  PublicPlansDocument,
  SetUserRoleDocument,
  ViewerDocument,
} from './generated/graphql.js';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './support/app.js';

const VIEWER = `query { viewer { id email name role membershipStatus tier preferences createdAt } }`;

let api: TestApp;
beforeAll(async () => {
  api = await startTestApp();
});
afterAll(async () => {
  await api.close();
});

describe('authentication over HTTP', () => {
  it('anonymous callers get a null viewer and no error', async () => {
    const response = await api.graphql(VIEWER);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { viewer: null } });
  });

  it('provisions a user on the first authenticated request from the email and name claims', async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: 'auth0|alice', email: 'Alice@Example.com', name: 'Alice', emailVerified: true });
    const first = await api.graphql(VIEWER, {}, token);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.viewer).toMatchObject({
      email: 'alice@example.com',
      name: 'Alice',
      role: 'USER',
      membershipStatus: 'INACTIVE',
      tier: 'FREE',
      preferences: {},
    });
    const second = await api.graphql(VIEWER, {}, token);
    expect(second.body.data.viewer.id).toBe(first.body.data.viewer.id);
    expect(await api.db.prisma.user.count({ where: { externalAuthId: 'auth0|alice' } })).toBe(1);
  });

  it('provisions once when the first requests of a new user race', async () => {
    const token = await api.token('racer');
    const responses = await Promise.all(Array.from({ length: 8 }, () => api.graphql(VIEWER, {}, token)));
    const ids = new Set(responses.map((response) => response.body.data?.viewer?.id));
    expect(ids.size).toBe(1);
    expect(await api.db.prisma.user.count({ where: { externalAuthId: 'racer' } })).toBe(1);
  });

  it('makes users listed in ADMIN_EMAILS admins when they are created', async () => {
    const response = await api.graphql(VIEWER, {}, await api.token('boss', { email: 'admin@example.com' }));
    expect(response.body.data.viewer.role).toBe('ADMIN');
  });

  it('refuses to provision a second account for an email another account already has', async () => {
    const response = await api.graphql(VIEWER, {}, await api.token('alice-again', { email: 'alice@example.com' }));
    expect(response.status).toBe(409);
    expect(response.body.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT' } });
  });

  it('rejects an expired token with 401 UNAUTHENTICATED', async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: 'late' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const response = await api.graphql(VIEWER, {}, token);
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]).toMatchObject({
      message: 'The token has expired',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(await api.db.prisma.user.count({ where: { externalAuthId: 'late' } })).toBe(0);
  });

  it('rejects a token signed with another secret', async () => {
    const forged = await signToken('another-secret-that-is-long-enough-to-sign', { sub: 'mallory' });
    const response = await api.graphql(VIEWER, {}, forged);
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0].message).toBe('The token signature is invalid');
  });

  it('rejects an unsigned (alg: none) token', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'mallory', exp: 9_999_999_999 })).toString('base64url');
    const response = await api.graphql(VIEWER, {}, `${header}.${payload}.`);
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a token without a subject', async () => {
    const token = await new SignJWT({ email: 'x@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const response = await api.graphql(VIEWER, {}, token);
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0].message).toBe('The token has no subject (sub) claim');
  });

  it('rejects a malformed Authorization header', async () => {
    const response = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Token abc' },
      body: JSON.stringify({ query: VIEWER }),
    });
    expect(response.status).toBe(401);
    expect((await response.json()).errors[0].message).toBe('The Authorization header must be "Bearer <token>"');
  });
});

describe('banned and deleted accounts', () => {
  const CHAT = { input: { operation: 'AI_TEXT_CHAT' } };

  async function ownFile(userId: string) {
    const written = await api.services.storage.write(userId, { name: 'kept.png', contentType: 'image/png', data: Buffer.from('bytes') });
    return api.services.storage.record(api.db.prisma, userId, written);
  }

  const download = (objectId: string, token: string) =>
    fetch(`${api.url}/files/${objectId}`, { headers: { authorization: `Bearer ${token}` } });

  let admin: { token: string; id: string };
  beforeAll(async () => {
    admin = await api.signUp('root', { email: 'ops@example.com' });
  });

  it('a banned user is refused on every GraphQL request, public fields included, and on /files, with one error naming the reason', async () => {
    const bob = await api.signUp('banned-bob');
    const file = await ownFile(bob.userId);
    const banned = await api.execute(SetUserRoleDocument, { userId: bob.id, role: 'BANNED', reason: 'chargeback fraud' }, admin.token);
    expect(banned.body.data!.setUserRole).toEqual({ __typename: 'User', id: bob.id, role: 'BANNED' });
    const balanceBefore = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: bob.userId } });

    const message = 'This account is banned: chargeback fraud';
    const answers = [
      await api.execute(ViewerDocument, {}, bob.token),
      await api.graphql(`query { __typename }`, {}, bob.token),
      await api.execute(PublicPlansDocument, {}, bob.token),
      await api.execute(DeductCreditsDocument, CHAT, bob.token),
    ];
    for (const response of answers) {
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ errors: [{ message, extensions: { code: 'ACCOUNT_BANNED', reason: 'chargeback fraud' } }] });
    }
    const refusedFile = await download(file.id, bob.token);
    expect(refusedFile.status).toBe(403);
    expect(await refusedFile.json()).toEqual({
      error: message,
      code: 'ACCOUNT_BANNED',
      reason: 'chargeback fraud',
      requestId: refusedFile.headers.get('x-request-id'),
    });
    expect(await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: bob.userId } })).toEqual(balanceBefore);
    expect(await api.db.prisma.creditTransaction.count({ where: { userId: bob.userId, kind: 'USAGE' } })).toBe(0);
  });

  it('a ban without a reason says so plainly; lifting the ban serves the very next request', async () => {
    const appellant = await api.signUp('appealing-user');
    const file = await ownFile(appellant.userId);
    await api.execute(SetUserRoleDocument, { userId: appellant.id, role: 'BANNED' }, admin.token);
    const refused = await api.execute(ViewerDocument, {}, appellant.token);
    expect(refused.status).toBe(403);
    expect(refused.body.errors).toEqual([{ message: 'This account is banned', extensions: { code: 'ACCOUNT_BANNED', reason: null } }]);
    expect((await download(file.id, appellant.token)).status).toBe(403);

    const lifted = await api.execute(SetUserRoleDocument, { userId: appellant.id, role: 'USER', reason: 'appeal upheld' }, admin.token);
    expect(lifted.body.data!.setUserRole).toEqual({ __typename: 'User', id: appellant.id, role: 'USER' });
    const served = await api.execute(ViewerDocument, {}, appellant.token);
    expect(served.status).toBe(200);
    expect(served.body.data!.viewer).toMatchObject({ id: appellant.id, role: 'USER' });
    const spent = await api.execute(DeductCreditsDocument, CHAT, appellant.token);
    expect(spent.body.data!.deductCredits.__typename).toBe('CreditMovement');
    const fileResponse = await download(file.id, appellant.token);
    expect(fileResponse.status).toBe(200);
    expect(Buffer.from(await fileResponse.arrayBuffer()).toString()).toBe('bytes');
  });

  it('a user banned by another instance cannot spend here, though this instance signed them in a moment ago', async () => {
    const eve = await api.signUp('banned-elsewhere');
    expect((await api.execute(DeductCreditsDocument, CHAT, eve.token)).body.data!.deductCredits.__typename).toBe('CreditMovement');
    const before = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: eve.userId } });
    // What another instance's setUserRole writes; this instance hears nothing of it.
    await api.db.prisma.user.update({ where: { id: eve.userId }, data: { role: 'BANNED', bannedAt: new Date(), banReason: 'card testing' } });

    const deduct = await api.execute(DeductCreditsDocument, CHAT, eve.token);
    const reserve = await api.graphql(`mutation { reserveCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename } }`, {}, eve.token);
    for (const response of [deduct, reserve]) {
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ errors: [{ message: 'This account is banned: card testing', extensions: { code: 'ACCOUNT_BANNED', reason: 'card testing' } }] });
    }
    expect(await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: eve.userId } })).toEqual(before);
    expect(await api.db.prisma.creditTransaction.count({ where: { userId: eve.userId } })).toBe(2);
    expect(await api.db.prisma.creditReservation.count({ where: { userId: eve.userId } })).toBe(0);
  });

  it('a user deleted by another instance cannot spend here either', async () => {
    const gone = await api.signUp('deleted-elsewhere');
    expect((await api.execute(DeductCreditsDocument, CHAT, gone.token)).body.data!.deductCredits.__typename).toBe('CreditMovement');
    await api.db.prisma.user.update({ where: { id: gone.userId }, data: { deletedAt: new Date(), email: null } });
    const refused = await api.execute(DeductCreditsDocument, CHAT, gone.token);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ errors: [{ message: 'This account has been deleted', extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(await api.db.prisma.creditTransaction.count({ where: { userId: gone.userId, kind: 'USAGE' } })).toBe(1);
  });

  it('a deleted user is refused on /graphql and /files alike', async () => {
    const dan = await api.signUp('deleted-dan');
    const file = await ownFile(dan.userId);
    expect((await api.execute(DeleteAccountDocument, {}, dan.token)).body.data!.deleteAccount.__typename).toBe('Deletion');
    // The file is visible again, so only the account itself can be what /files refuses.
    await api.db.prisma.storageObject.update({ where: { id: file.id }, data: { deletedAt: null } });

    const graphql = await api.execute(PublicPlansDocument, {}, dan.token);
    expect(graphql.status).toBe(401);
    expect(graphql.body).toEqual({ errors: [{ message: 'This account has been deleted', extensions: { code: 'UNAUTHENTICATED' } }] });
    const files = await download(file.id, dan.token);
    expect(files.status).toBe(401);
    expect(await files.json()).toEqual({ error: 'This account has been deleted', code: 'UNAUTHENTICATED', requestId: files.headers.get('x-request-id') });
  });
});

describe('users and admin fields', () => {
  it('another user cannot read a user through node(id)', async () => {
    const alice = await api.token('node-alice');
    const aliceId = (await api.graphql(VIEWER, {}, alice)).body.data.viewer.id;
    const eve = await api.token('node-eve');
    const response = await api.graphql(`query($id: ID!) { node(id: $id) { id ... on User { email } } }`, { id: aliceId }, eve);
    // Exactly what an id that does not exist answers: node(id) reveals nothing about which users exist.
    expect(response.body).toEqual({ data: { node: null } });
    const own = await api.graphql(`query($id: ID!) { node(id: $id) { id ... on User { email } } }`, { id: aliceId }, alice);
    expect(own.body.data.node).toEqual({ id: aliceId, email: 'node-alice@example.com' });
  });

  it('refuses admin-only fields to a user and to anonymous callers', async () => {
    const user = await api.token('plain-user');
    const asUser = await api.graphql(`query { users(first: 5) { totalCount } }`, {}, user);
    expect(asUser.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(asUser.body.data?.users ?? null).toBeNull();
    const anonymous = await api.graphql(`query { users(first: 5) { totalCount } }`);
    expect(anonymous.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const promote = await api.graphql(
      `mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { __typename } }`,
      { id: (await api.graphql(VIEWER, {}, user)).body.data.viewer.id },
      user,
    );
    expect(promote.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: 'plain-user' } })).role).toBe('USER');
  });

  it('lets an admin search users and change a role, writing an audit row', async () => {
    const admin = await api.token('root', { email: 'ops@example.com' });
    await api.graphql(VIEWER, {}, await api.token('carol', { email: 'carol@example.com', name: 'Carol' }));
    const found = await api.graphql(
      `query { users(first: 10, search: "carol") { totalCount edges { node { id email role } } } }`,
      {},
      admin,
    );
    expect(found.body.data.users.totalCount).toBe(1);
    const carol = found.body.data.users.edges[0].node;
    const changed = await api.graphql(
      `mutation($id: ID!) { setUserRole(userId: $id, role: PREMIUM, reason: "support") { __typename ... on User { role } } }`,
      { id: carol.id },
      admin,
    );
    expect(changed.body.data.setUserRole).toEqual({ __typename: 'User', role: 'PREMIUM' });
    const { id: carolUserId } = await api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: 'carol' } });
    const audit = await api.db.prisma.adminAuditLog.findMany({ where: { action: 'user.setRole', targetId: carolUserId } });
    expect(audit).toHaveLength(1);
    expect(audit[0].data).toEqual({ from: 'USER', to: 'PREMIUM', reason: 'support' });
  });

  it('updatePreferences merges keys, removes null ones, and rejects oversized input without changing anything', async () => {
    const token = await api.token('prefs');
    await api.graphql(`mutation { updatePreferences(preferences: { theme: "dark", lang: "en" }) { __typename } }`, {}, token);
    const merged = await api.graphql(
      `mutation { updatePreferences(preferences: { lang: null, grid: 3 }) { ... on User { preferences } } }`,
      {},
      token,
    );
    expect(merged.body.data.updatePreferences.preferences).toEqual({ theme: 'dark', grid: 3 });
    const huge = await api.graphql(
      `mutation($p: JSONObject!) { updatePreferences(preferences: $p) { __typename ... on ValidationError { message issues { path } } } }`,
      { p: { blob: 'x'.repeat(20_000) } },
      token,
    );
    expect(huge.body.data.updatePreferences).toMatchObject({ __typename: 'ValidationError', issues: [{ path: 'preferences' }] });
    const after = await api.graphql(VIEWER, {}, token);
    expect(after.body.data.viewer.preferences).toEqual({ theme: 'dark', grid: 3 });
  });
});

describe('configuration', () => {
  it('names each bad value with its own message', () => {
    expect(() => loadConfig({ PORT: 'eighty', AUTH_JWT_SECRET: 'short', DATABASE_URL: 'not a url' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'not a url' });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'PORT: must be an integer between 0 and 65535',
        'DATABASE_URL: must be a URL',
      ]);
    }
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'short' })).toThrow('AUTH_JWT_SECRET: must be at least 32 characters');
  });

  it('.env.example documents exactly the variables the service reads', () => {
    const documented = readFileSync('.env.example', 'utf8')
      .split('\n')
      .map((line) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
      .filter(Boolean);
    expect([...new Set(documented)].sort()).toEqual([...configVariables].sort());
  });

  it('treats an empty DATABASE_URL as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).database.url).toBeUndefined();
  });
});
