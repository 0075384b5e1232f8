import { decodeGlobalID } from '@pothos/plugin-relay';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FakeStripe } from './support/fake-stripe.js';
import type { TestApp } from './support/app.js';
import { CHECKOUT, newUser, ORIGIN, postWebhook, startBillingApp, VERIFY, WEBHOOK_SECRET } from './support/billing.js';

const run = promisify(execFile);

// Each test attacks one rule over HTTP, as a signed-in user or a service would, and checks that nothing moved.

let api: TestApp;
let fake: FakeStripe;
let adminToken: string;

const DEDUCT = `mutation($input: DeductCreditsInput!) {
  deductCredits(input: $input) {
    __typename
    ... on CreditMovement { replayed transaction { id amount operation idempotencyKey } balance { total } }
    ... on Error { message code }
    ... on InsufficientCreditsError { required available }
  }
}`;
const RESERVE = `mutation($input: ReserveCreditsInput!) {
  reserveCredits(input: $input) {
    __typename
    ... on ReservationResult { replayed reservation { id status amount owner } balance { total } }
    ... on Error { message code }
  }
}`;
const FINALIZE = `mutation($id: ID!, $action: ReservationAction!, $capture: Int) {
  finalizeReservation(reservationId: $id, action: $action, capture: $capture) {
    __typename
    ... on ReservationResult { replayed reservation { status capturedAmount } balance { total } }
    ... on Error { message code }
  }
}`;
const CREATE_KEY = `mutation($name: String!, $scopes: [ApiKeyScope!]!) {
  createApiKey(name: $name, scopes: $scopes) {
    __typename
    ... on CreatedApiKey { secret apiKey { id name prefix scopes lastUsedAt revokedAt } }
    ... on Error { message }
  }
}`;
const BALANCE = `query { viewer { id creditBalance { total allowanceRemaining grantedRemaining } } }`;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false));
  adminToken = await api.token('integrity-admin', { email: 'admin@example.com' });
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

async function total(token: string): Promise<number> {
  const response = await api.graphql(BALANCE, {}, token);
  return response.body.data.viewer.creditBalance.total;
}

async function ledgerSum(userId: string) {
  const { _sum } = await api.db.prisma.creditTransaction.aggregate({ where: { userId }, _sum: { amount: true } });
  return _sum.amount ?? 0;
}

async function createKey(scopes: string[], name = `key-${scopes.join('-')}`) {
  const response = await api.graphql(CREATE_KEY, { name, scopes }, adminToken);
  expect(response.body.data.createApiKey.__typename).toBe('CreatedApiKey');
  return response.body.data.createApiKey as { secret: string; apiKey: { id: string; prefix: string } };
}

describe('users pay the configured price', () => {
  it('a user who names an amount is refused with ForbiddenError and nothing moves', async () => {
    const { token, userId } = await newUser(api, 'price-chooser');
    for (const mutation of [DEDUCT, RESERVE]) {
      const response = await api.graphql(mutation, { input: { operation: 'AI_IMAGE_GENERATION', amount: 1 } }, token);
      const result = response.body.data.deductCredits ?? response.body.data.reserveCredits;
      expect(result).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      expect(result.message).toMatch(/service API key/);
    }
    expect(await total(token)).toBe(10);
    expect(await api.db.prisma.creditTransaction.count({ where: { userId } })).toBe(1);
  });

  it('the price is the feature cost times the quantity', async () => {
    const { token } = await newUser(api, 'quantity-buyer');
    const response = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', quantity: 2 } }, token);
    expect(response.body.data.deductCredits).toMatchObject({ __typename: 'CreditMovement', transaction: { amount: -10 } });
    expect(await total(token)).toBe(0);
  });

  it('a user cannot spend for someone else by naming their id', async () => {
    const victim = await api.signUp('spend-victim');
    const attacker = await newUser(api, 'spend-attacker');
    const response = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', userId: victim.id } }, attacker.token);
    expect(response.body.data.deductCredits.__typename).toBe('ForbiddenError');
    expect(await total(victim.token)).toBe(10);
    expect(await total(attacker.token)).toBe(10);
  });
});

describe('service API keys', () => {
  it('an admin creates a key shown once; the service charges a user at the amount it chooses; the key can be revoked', async () => {
    const user = await api.signUp('served-user');
    const { secret, apiKey } = await createKey(['SPEND', 'READ'], 'render farm');
    expect(secret).toMatch(/^svc_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    expect(secret).toContain(apiKey.prefix);
    // The secret part is base64url, which may itself contain '_': it is the 43 characters after the id.
    const secretPart = secret.slice(-43);
    const stored = await api.db.prisma.apiKey.findUniqueOrThrow({ where: { id: (await api.db.prisma.apiKey.findFirstOrThrow({ where: { name: 'render farm' } })).id } });
    expect(JSON.stringify(stored)).not.toContain(secretPart);

    const charged = await api.graphql(DEDUCT, { input: { operation: 'AI_IMAGE_GENERATION', amount: 3, userId: user.id, idempotencyKey: 'job-1' } }, secret);
    expect(charged.body.data.deductCredits).toMatchObject({
      __typename: 'CreditMovement',
      replayed: false,
      transaction: { amount: -3, idempotencyKey: 'job-1' },
      balance: { total: 7 },
    });
    const read = await api.graphql(`query($id: ID!) { node(id: $id) { ... on User { creditBalance { total } } } }`, { id: user.id }, secret);
    expect(read.body.data.node.creditBalance.total).toBe(7);
    const row = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId: user.userId, kind: 'USAGE' } });
    expect(row.apiKeyId).toBe(stored.id);

    const listed = await api.graphql(`query { apiKeys(first: 10) { edges { node { name scopes lastUsedAt revokedAt } } } }`, {}, adminToken);
    expect(listed.body.data.apiKeys.edges.map((edge: any) => edge.node)).toContainEqual(
      expect.objectContaining({ name: 'render farm', scopes: ['SPEND', 'READ'], revokedAt: null, lastUsedAt: expect.any(String) }),
    );
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    const revoked = await api.graphql(`mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on ApiKey { revokedAt } } }`, { id: apiKey.id }, adminToken);
    expect(revoked.body.data.revokeApiKey.revokedAt).toEqual(expect.any(String));
    const after = await api.graphql(DEDUCT, { input: { operation: 'AI_IMAGE_GENERATION', amount: 3, userId: user.id } }, secret);
    expect(after.status).toBe(401);
    expect(after.body.errors![0]!.message).toBe('The API key has been revoked');
    expect(await total(user.token)).toBe(7);

    const audit = await api.db.prisma.adminAuditLog.findMany({ where: { targetType: 'ApiKey', targetId: stored.id } });
    expect(audit.map((entry) => entry.action).sort()).toEqual(['apiKey.create', 'apiKey.revoke']);
  });

  it('guessed, forged and malformed keys are refused alike, and nothing moves', async () => {
    const user = await api.signUp('forged-key-target');
    const { secret } = await createKey(['SPEND'], 'real');
    const forged = [
      `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`,
      `svc_${'0'.repeat(32)}_${'A'.repeat(43)}`,
      'svc_short',
    ];
    for (const key of forged) {
      const response = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', amount: 5, userId: user.id } }, key);
      expect(response.status).toBe(401);
      expect(response.body.errors![0]!.message).toBe('The API key is not valid');
    }
    expect(await total(user.token)).toBe(10);
  });

  it('a key acts only within its scopes, and must name the user', async () => {
    const user = await api.signUp('scoped-target');
    const readOnly = await createKey(['READ']);
    const spendOnly = await createKey(['SPEND']);
    const spend = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', amount: 1, userId: user.id } }, readOnly.secret);
    expect(spend.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const grant = await api.graphql(
      `mutation($id: ID!) { grantCredits(userId: $id, amount: 1000, reason: "mint") { __typename } }`,
      { id: user.id },
      spendOnly.secret,
    );
    expect(grant.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const admin = await api.graphql(CREATE_KEY, { name: 'escalate', scopes: ['GRANT'] }, spendOnly.secret);
    expect(admin.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const read = await api.graphql(`query($id: ID!) { node(id: $id) { ... on User { email } } }`, { id: user.id }, spendOnly.secret);
    expect(read.body.data.node).toBeNull();
    const noUser = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', amount: 1 } }, spendOnly.secret);
    expect(noUser.body.data.deductCredits).toMatchObject({ __typename: 'ValidationError', message: expect.stringMatching(/userId/) });
    expect(await total(user.token)).toBe(10);
  });

  it('a key cannot charge or hold credits of a banned user', async () => {
    const user = await api.signUp('banned-served-user');
    const { secret } = await createKey(['SPEND']);
    const banned = await api.graphql(
      `mutation($id: ID!) { setUserRole(userId: $id, role: BANNED, reason: "chargebacks") { __typename } }`,
      { id: user.id },
      adminToken,
    );
    expect(banned.body.data.setUserRole.__typename).toBe('User');
    const charge = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', amount: 2, userId: user.id } }, secret);
    expect(charge.body.data.deductCredits).toMatchObject({ __typename: 'ForbiddenError', message: expect.stringMatching(/banned/) });
    const hold = await api.graphql(
      `mutation($input: ReserveCreditsInput!) { reserveCredits(input: $input) { __typename } }`,
      { input: { operation: 'AI_TEXT_CHAT', amount: 2, userId: user.id } },
      secret,
    );
    expect(hold.body.data.reserveCredits.__typename).toBe('ForbiddenError');
    const balance = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: user.userId } });
    expect(balance.allowanceRemaining + balance.grantedRemaining).toBe(10);
  });

  it('users cannot create, list or revoke keys', async () => {
    const { token } = await newUser(api, 'key-curious');
    const attempts = [
      api.graphql(CREATE_KEY, { name: 'mine', scopes: ['SPEND'] }, token),
      api.graphql(`query { apiKeys(first: 1) { edges { node { id } } } }`, {}, token),
    ];
    for (const response of await Promise.all(attempts)) expect(response.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(await api.db.prisma.apiKey.count({ where: { name: 'mine' } })).toBe(0);
  });

  it('npm run apikey:create prints a working key once and audits it', async () => {
    const user = await api.signUp('cli-key-target');
    const env = { ...process.env, DATABASE_URL: api.db.url, LOG_LEVEL: 'silent', NODE_ENV: 'test' };
    const { stdout } = await run('node_modules/.bin/tsx', ['scripts/api-key.ts', 'create', '--name', 'from-cli', '--scopes', 'spend,read'], { env });
    const secret = stdout.trim().split('\n').at(-1)!;
    expect(secret).toMatch(/^svc_/);
    const charged = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', amount: 2, userId: user.id } }, secret);
    expect(charged.body.data.deductCredits.balance.total).toBe(8);
    const bad = await run('node_modules/.bin/tsx', ['scripts/api-key.ts', 'create', '--name', 'x', '--scopes', 'mint'], { env }).catch((error) => error);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--scopes/);
  }, 60_000);
});

describe('holds belong to whoever made them', () => {
  it("a user cannot release the hold of their own running generation; the generation settles it", async () => {
    const { token, userId } = await newUser(api, 'hold-dodger');
    const created = await api.graphql(
      `mutation { createImageGeneration(input: { prompt: "a lighthouse" }) { __typename ... on ImageGeneration { id status } } }`,
      {},
      token,
    );
    expect(created.body.data.createImageGeneration.__typename).toBe('ImageGeneration');
    const hold = await api.db.prisma.creditReservation.findFirstOrThrow({ where: { userId } });
    expect(hold.owner).toBe('SYSTEM');
    const history = await api.graphql(`query { viewer { creditTransactions(first: 5) { edges { node { reservation { id } } } } } }`, {}, token);
    const visibleId = history.body.data.viewer.creditTransactions.edges.find((edge: any) => edge.node.reservation)?.node.reservation.id;
    expect(decodeGlobalID(visibleId).id).toBe(hold.id);

    for (const action of ['RELEASE', 'CONFIRM']) {
      const attempt = await api.graphql(FINALIZE, { id: visibleId, action }, token);
      expect(attempt.body.data.finalizeReservation.__typename).toBe('NotFoundError');
    }
    expect(await total(token)).toBe(0);
    const generationId = (await api.db.prisma.imageGeneration.findFirstOrThrow({ where: { userId } })).id;
    const rendered = await api.services.generations.run(generationId);
    expect(rendered?.status).toBe('COMPLETED');
    expect((await api.db.prisma.creditReservation.findUniqueOrThrow({ where: { id: hold.id } })).status).toBe('CONFIRMED');
    expect(await total(token)).toBe(0);
    expect(await ledgerSum(userId)).toBe(0);
  });

  it('a service cannot settle a user hold or another key’s hold; an admin can settle any, audited', async () => {
    const owner = await api.signUp('hold-owner');
    const first = await createKey(['SPEND'], 'first service');
    const second = await createKey(['SPEND'], 'second service');
    const userHold = await api.graphql(RESERVE, { input: { operation: 'AI_TEXT_CHAT' } }, owner.token);
    const serviceHold = await api.graphql(RESERVE, { input: { operation: 'AI_TEXT_CHAT', amount: 3, userId: owner.id } }, first.secret);
    expect(serviceHold.body.data.reserveCredits.reservation.owner).toBe('SERVICE');
    const userHoldId = userHold.body.data.reserveCredits.reservation.id;
    const serviceHoldId = serviceHold.body.data.reserveCredits.reservation.id;

    const attempts = [
      api.graphql(FINALIZE, { id: userHoldId, action: 'RELEASE' }, first.secret),
      api.graphql(FINALIZE, { id: serviceHoldId, action: 'RELEASE' }, second.secret),
      api.graphql(FINALIZE, { id: serviceHoldId, action: 'RELEASE' }, owner.token),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.body.data.finalizeReservation.__typename).toBe('NotFoundError');
    }
    expect(await total(owner.token)).toBe(2);

    const byService = await api.graphql(FINALIZE, { id: serviceHoldId, action: 'CONFIRM' }, first.secret);
    expect(byService.body.data.finalizeReservation.reservation).toEqual({ status: 'CONFIRMED', capturedAmount: 3 });
    const byAdmin = await api.graphql(FINALIZE, { id: userHoldId, action: 'RELEASE' }, adminToken);
    expect(byAdmin.body.data.finalizeReservation.reservation.status).toBe('RELEASED');
    expect(await total(owner.token)).toBe(7);
    const audit = await api.db.prisma.adminAuditLog.findFirst({ where: { action: 'credits.releaseReservation', targetId: decodeGlobalID(userHoldId).id } });
    expect(audit).not.toBeNull();
  });

  it('a confirm may capture less than was held, never more; the rest comes back as a linked refund row', async () => {
    const { token, userId } = await newUser(api, 'partial-capture');
    const held = await api.graphql(RESERVE, { input: { operation: 'AI_TEXT_CHAT' } }, token);
    const id = held.body.data.reserveCredits.reservation.id;
    const tooMuch = await api.graphql(FINALIZE, { id, action: 'CONFIRM', capture: 6 }, token);
    expect(tooMuch.body.data.finalizeReservation).toMatchObject({ __typename: 'ValidationError', message: expect.stringMatching(/capture/) });
    expect(await total(token)).toBe(5);

    const partial = await api.graphql(FINALIZE, { id, action: 'CONFIRM', capture: 2 }, token);
    expect(partial.body.data.finalizeReservation).toMatchObject({
      reservation: { status: 'CONFIRMED', capturedAmount: 2 },
      balance: { total: 8 },
    });
    const refund = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, kind: 'REFUND' } });
    const hold = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, kind: 'USAGE', reservationId: decodeGlobalID(id).id } });
    expect(refund).toMatchObject({ amount: 3, reservationId: decodeGlobalID(id).id, refundOfId: hold.id });
    expect(await ledgerSum(userId)).toBe(8);
  });
});

describe('idempotency keys', () => {
  async function buyPack(token: string) {
    const session = (
      await api.graphql(
        CHECKOUT,
        { input: { packKey: 'pack-100', successUrl: `${ORIGIN}/ok?session={CHECKOUT_SESSION_ID}`, cancelUrl: `${ORIGIN}/billing` } },
        token,
      )
    ).body.data.createCheckoutSession;
    return session.sessionId as string;
  }

  it('a client cannot pre-use the key the server will use for a purchase', async () => {
    const { token } = await newUser(api, 'pack-squatter');
    const sessionId = await buyPack(token);
    for (const key of [`checkout:${sessionId}`, `sys:checkout:${sessionId}`]) {
      const spent = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: key } }, token);
      expect(spent.body.data.deductCredits.__typename).toBe('CreditMovement');
    }
    fake.completeSession(sessionId);
    const verified = await api.graphql(VERIFY, { sessionId }, token);
    expect(verified.body.data.verifyCheckoutSession).toMatchObject({ __typename: 'CheckoutResult', creditsGranted: 100 });
    expect(await total(token)).toBe(100);
  });

  it("a subscriber cannot keep the paid allowance by pre-using the subscription's end key", async () => {
    const { token, userId } = await newUser(api, 'end-squatter');
    const session = (
      await api.graphql(
        CHECKOUT,
        { input: { planKey: 'pro', interval: 'MONTH', successUrl: `${ORIGIN}/ok?session={CHECKOUT_SESSION_ID}`, cancelUrl: `${ORIGIN}/billing` } },
        token,
      )
    ).body.data.createCheckoutSession;
    const completed = fake.completeSession(session.sessionId);
    await api.graphql(VERIFY, { sessionId: session.sessionId }, token);
    const subscriptionId = completed.subscription as string;
    expect(await total(token)).toBe(1000);
    for (const key of [`subscription-ended:${subscriptionId}`, `sys:subscription-ended:${subscriptionId}`]) {
      await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: key } }, token);
    }
    fake.setSubscription(subscriptionId, { status: 'canceled', ended_at: Math.floor(Date.now() / 1000) });
    const { event, payload, signature } = fake.event('customer.subscription.deleted', fake.subscriptions.get(subscriptionId)!, {
      secret: WEBHOOK_SECRET,
    });
    expect((await postWebhook(api, payload, signature)).status).toBe(200);
    await api.services.billing.processWebhookEvent(event.id);
    expect(await total(token)).toBe(10);
    expect(await ledgerSum(userId)).toBe(10);
  });

  it('deduct and reserve keys live apart: one kind of call can neither block nor replay the other', async () => {
    const { token, userId } = await newUser(api, 'cross-kind');
    await api.grantCredits((await api.graphql(BALANCE, {}, token)).body.data.viewer.id, 100, adminToken);
    const deducted = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'reservation:k1' } }, token);
    expect(deducted.body.data.deductCredits.__typename).toBe('CreditMovement');
    const reserved = await api.graphql(RESERVE, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'k1' } }, token);
    expect(reserved.body.data.reserveCredits).toMatchObject({ __typename: 'ReservationResult', replayed: false });

    await api.graphql(RESERVE, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'k2' } }, token);
    const before = await total(token);
    const charged = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', quantity: 10, idempotencyKey: 'reservation:k2' } }, token);
    expect(charged.body.data.deductCredits).toMatchObject({ __typename: 'CreditMovement', replayed: false, transaction: { amount: -50 } });
    expect(await total(token)).toBe(before - 50);
    expect(await ledgerSum(userId)).toBe(before - 50);
  });

  it('a key reused for a different request is a typed conflict and moves nothing; the same request replays', async () => {
    const { token, userId } = await newUser(api, 'key-reuser');
    const first = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'order-7' } }, token);
    expect(first.body.data.deductCredits.replayed).toBe(false);
    const replay = await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'order-7' } }, token);
    expect(replay.body.data.deductCredits).toMatchObject({ replayed: true, transaction: { id: first.body.data.deductCredits.transaction.id } });
    for (const input of [
      { operation: 'AI_TEXT_CHAT', quantity: 2, idempotencyKey: 'order-7' },
      { operation: 'AI_IMAGE_GENERATION', idempotencyKey: 'order-7' },
      { operation: 'AI_TEXT_CHAT', idempotencyKey: 'order-7', details: { other: true } },
    ]) {
      const conflict = await api.graphql(DEDUCT, { input }, token);
      expect(conflict.body.data.deductCredits).toMatchObject({ __typename: 'IdempotencyConflictError', code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    expect(await total(token)).toBe(5);
    expect(await ledgerSum(userId)).toBe(5);
  });

  it('a hold key reused for a different request is a typed conflict and moves nothing; the same request replays the hold', async () => {
    const { token, userId } = await newUser(api, 'hold-key-reuser');
    const input = { operation: 'AI_TEXT_CHAT', idempotencyKey: 'hold-7', ttlSeconds: 300, details: { job: 7 } };
    const first = await api.graphql(RESERVE, { input }, token);
    expect(first.body.data.reserveCredits).toMatchObject({ replayed: false, reservation: { status: 'HELD', amount: 5 }, balance: { total: 5 } });
    const replay = await api.graphql(RESERVE, { input }, token);
    expect(replay.body.data.reserveCredits).toEqual({ ...first.body.data.reserveCredits, replayed: true });
    for (const other of [{ quantity: 2 }, { operation: 'AI_IMAGE_GENERATION' }, { ttlSeconds: 600 }, { details: { job: 8 } }]) {
      const conflict = await api.graphql(RESERVE, { input: { ...input, ...other } }, token);
      expect(conflict.body.data.reserveCredits).toMatchObject({ __typename: 'IdempotencyConflictError', code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    expect(await total(token)).toBe(5);
    expect(await ledgerSum(userId)).toBe(5);
    expect(await api.db.prisma.creditReservation.count({ where: { userId } })).toBe(1);
  });

  it('ledger rows show the caller its own key and never a server key', async () => {
    const { token } = await newUser(api, 'key-reader');
    await api.graphql(DEDUCT, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey: 'mine-1' } }, token);
    const rows = await api.graphql(`query { viewer { creditTransactions(first: 5) { edges { node { kind idempotencyKey } } } } }`, {}, token);
    expect(rows.body.data.viewer.creditTransactions.edges.map((edge: any) => edge.node)).toEqual([
      { kind: 'USAGE', idempotencyKey: 'mine-1' },
      { kind: 'ALLOWANCE_RESET', idempotencyKey: null },
    ]);
  });
});

describe('the ledger is append-only in the database', () => {
  it('UPDATE, DELETE and TRUNCATE of ledger rows are refused by PostgreSQL', async () => {
    const { userId } = await newUser(api, 'tamperer');
    const row = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId } });
    await expect(api.db.prisma.creditTransaction.update({ where: { id: row.id }, data: { amount: 1_000_000 } })).rejects.toThrow(/append-only/);
    await expect(api.db.prisma.creditTransaction.delete({ where: { id: row.id } })).rejects.toThrow(/append-only/);
    await expect(api.db.prisma.$executeRawUnsafe('TRUNCATE "CreditTransaction" CASCADE')).rejects.toThrow(/append-only/);
    await expect(api.db.prisma.user.delete({ where: { id: userId } })).rejects.toThrow();
    expect(await api.db.prisma.creditTransaction.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
  });

  it('purging a failed generation keeps its ledger rows and their link', async () => {
    const { token, userId } = await newUser(api, 'purged-generation');
    await api.graphql(`mutation { createImageGeneration(input: { prompt: "doomed" }) { __typename } }`, {}, token);
    const generation = await api.db.prisma.imageGeneration.findFirstOrThrow({ where: { userId } });
    await api.services.generations.fail(generation.id, ['PENDING'], 'provider refused');
    const refund = await api.db.prisma.creditTransaction.findFirstOrThrow({ where: { userId, kind: 'REFUND' } });
    expect(refund.generationId).toBe(generation.id);
    await api.db.prisma.imageGeneration.update({ where: { id: generation.id }, data: { failedAt: new Date(Date.now() - 90 * 86_400_000) } });
    expect(await api.services.generations.removeOldFailed(30)).toBeGreaterThanOrEqual(1);
    const rows = await api.db.prisma.creditTransaction.findMany({ where: { userId, generationId: generation.id } });
    expect(rows.map((row) => row.kind).sort()).toEqual(['REFUND', 'USAGE']);
    expect(await total(token)).toBe(10);
  });
});

describe('identity', () => {
  it('an unverified email neither claims a pre-created account nor makes an admin', async () => {
    await api.services.users.promoteToAdmin('boss@example.com');
    const impostor = await api.token('impostor', { email: 'boss@example.com', emailVerified: false });
    const seen = await api.graphql(`query { viewer { email role } }`, {}, impostor);
    expect(seen.body.data.viewer).toEqual({ email: null, role: 'USER' });
    const admin = await api.db.prisma.user.findUniqueOrThrow({ where: { email: 'boss@example.com' } });
    expect(admin.externalAuthId).toBeNull();

    const listed = await api.token('list-impostor', { email: 'ops@example.com', emailVerified: false });
    expect((await api.graphql(`query { viewer { role } }`, {}, listed)).body.data.viewer.role).toBe('USER');

    const owner = await api.token('boss', { email: 'boss@example.com' });
    expect((await api.graphql(`query { viewer { email role } }`, {}, owner)).body.data.viewer).toEqual({ email: 'boss@example.com', role: 'ADMIN' });
  });

  it('a verified owner takes an address that another account only claimed', async () => {
    const squatter = await api.token('squatter', { email: 'carol@example.com', emailVerified: false });
    expect((await api.graphql(`query { viewer { email } }`, {}, squatter)).body.data.viewer.email).toBe('carol@example.com');
    const carol = await api.token('carol', { email: 'carol@example.com' });
    expect((await api.graphql(`query { viewer { email } }`, {}, carol)).body.data.viewer.email).toBe('carol@example.com');
    expect((await api.graphql(`query { viewer { email } }`, {}, squatter)).body.data.viewer.email).toBeNull();
  });
});
