import type { TestApp } from './support/app.js';
import { CHECKOUT, ORIGIN, startBillingApp, VERIFY } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';

let api: TestApp;
let fake: FakeStripe;
let adminToken: string;

const DELETE_ACCOUNT = `mutation { deleteAccount { __typename ... on Deletion { id deletedAt } ... on Error { message } } }`;
const DELETE_USER = `mutation($id: ID!) { deleteUser(userId: $id, reason: "asked by email") { __typename ... on Deletion { deletedAt } ... on Error { message } } }`;
const RESET = `mutation($id: ID!, $reason: String!) {
  resetAllowance(userId: $id, reason: $reason) {
    __typename
    ... on CreditMovement { transaction { kind amount } balance { allowanceRemaining allowanceTotal grantedRemaining } }
    ... on Error { message }
  }
}`;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false));
  adminToken = await api.token('accounts-admin', { email: 'admin@example.com' });
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

async function subscribe(name: string) {
  const user = await api.signUp(name);
  const created = await api.graphql(
    CHECKOUT,
    { input: { planKey: 'pro', interval: 'MONTH', successUrl: `${ORIGIN}/ok`, cancelUrl: `${ORIGIN}/no` } },
    user.token,
  );
  const sessionId = created.body.data.createCheckoutSession.sessionId as string;
  const completed = fake.completeSession(sessionId);
  await api.graphql(VERIFY, { sessionId }, user.token);
  return { ...user, subscriptionId: completed.subscription as string };
}

describe('account deletion', () => {
  it('a user deletes their account: Stripe stops charging, personal data goes, the ledger and payments stay, the token is refused', async () => {
    const user = await subscribe('leaver');
    await api.graphql(`mutation { updatePreferences(preferences: { theme: "dark" }) { __typename } }`, {}, user.token);
    await api.graphql(`mutation { deductCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename } }`, {}, user.token);
    const pack = await api.graphql(
      CHECKOUT,
      { input: { packKey: 'pack-100', successUrl: `${ORIGIN}/ok`, cancelUrl: `${ORIGIN}/no` } },
      user.token,
    );
    fake.completeSession(pack.body.data.createCheckoutSession.sessionId);
    await api.graphql(VERIFY, { sessionId: pack.body.data.createCheckoutSession.sessionId }, user.token);
    const paymentsBefore = await api.db.prisma.payment.findMany({ where: { userId: user.userId } });
    expect(paymentsBefore.length).toBeGreaterThan(0);
    const ledgerBefore = await api.db.prisma.creditTransaction.findMany({ where: { userId: user.userId } });

    const deleted = await api.graphql(DELETE_ACCOUNT, {}, user.token);
    expect(deleted.body.data.deleteAccount).toMatchObject({ __typename: 'Deletion', id: user.id, deletedAt: expect.any(String) });

    expect(fake.requests.some((request) => request.method === 'DELETE' && request.path === `/v1/subscriptions/${user.subscriptionId}`)).toBe(true);
    const row = await api.db.prisma.user.findUniqueOrThrow({ where: { id: user.userId } });
    expect(row).toMatchObject({ email: null, name: null, preferences: {}, deletedAt: expect.any(Date) });
    // Every row stays; the subscription's end adds its own (the free allowance it falls back to).
    const ledgerAfter = await api.db.prisma.creditTransaction.findMany({ where: { userId: user.userId } });
    expect(ledgerAfter).toEqual(expect.arrayContaining(ledgerBefore));
    expect(await api.db.prisma.payment.findMany({ where: { userId: user.userId } })).toEqual(paymentsBefore);

    for (const query of [`query { viewer { id } }`, `mutation { deductCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename } }`]) {
      const again = await api.graphql(query, {}, user.token);
      expect(again.status).toBe(401);
      expect(again.body.errors![0]!.message).toBe('This account has been deleted');
    }
    const audit = await api.db.prisma.adminAuditLog.findFirst({ where: { action: 'user.deleteOwnAccount', targetId: user.userId } });
    expect(audit).not.toBeNull();
    expect(await api.services.credits.reconcile()).toEqual([]);
  });

  it('a deleted user is not served to a service key either', async () => {
    const user = await api.signUp('gone-for-service');
    const { secret } = await api.services.apiKeys.create(null, { name: 'deletion check', scopes: ['SPEND'] });
    await api.graphql(DELETE_ACCOUNT, {}, user.token);
    const charged = await api.graphql(
      `mutation($id: ID!) { deductCredits(input: { userId: $id, operation: "AI_TEXT_CHAT", amount: 1 }) { __typename } }`,
      { id: user.id },
      secret,
    );
    expect(charged.body.data.deductCredits.__typename).toBe('NotFoundError');
  });

  it('admins delete other users, audited; users cannot', async () => {
    const target = await api.signUp('deleted-by-admin');
    const bystander = await api.signUp('bystander');
    const refused = await api.graphql(DELETE_USER, { id: target.id }, bystander.token);
    expect(refused.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await api.db.prisma.user.findUniqueOrThrow({ where: { id: target.userId } })).deletedAt).toBeNull();

    const deleted = await api.graphql(DELETE_USER, { id: target.id }, adminToken);
    expect(deleted.body.data.deleteUser.__typename).toBe('Deletion');
    const twice = await api.graphql(DELETE_USER, { id: target.id }, adminToken);
    expect(twice.body.data.deleteUser.__typename).toBe('NotFoundError');
    const audit = await api.db.prisma.adminAuditLog.findFirstOrThrow({ where: { action: 'user.delete', targetId: target.userId } });
    expect(audit.data).toEqual({ reason: 'asked by email' });
    expect((await api.graphql(`query { viewer { id } }`, {}, target.token)).status).toBe(401);
  });
});

describe('manual allowance reset', () => {
  it('an admin refills the running period, audited; grants and dates stay; users cannot', async () => {
    const user = await api.signUp('refilled');
    await api.graphql(`mutation { deductCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename } }`, {}, user.token);
    const before = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: user.userId } });
    expect(before.allowanceRemaining).toBe(5);

    const refused = await api.graphql(RESET, { id: user.id, reason: 'me' }, user.token);
    expect(refused.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const reset = await api.graphql(RESET, { id: user.id, reason: 'outage on 30 Nov' }, adminToken);
    expect(reset.body.data.resetAllowance).toEqual({
      __typename: 'CreditMovement',
      transaction: { kind: 'ALLOWANCE_RESET', amount: 5 },
      balance: { allowanceRemaining: 10, allowanceTotal: 10, grantedRemaining: 0 },
    });
    const after = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: user.userId } });
    expect(after.nextResetAt).toEqual(before.nextResetAt);
    const audit = await api.db.prisma.adminAuditLog.findFirstOrThrow({ where: { action: 'credits.resetAllowance', targetId: user.userId } });
    expect(audit.data).toEqual({ reason: 'outage on 30 Nov', restored: 5 });
    expect(await api.services.credits.reconcile()).toEqual([]);
  });
});
