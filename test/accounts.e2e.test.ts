import {
  DeductCreditsDocument,
  DeleteAccountDocument,
  DeleteUserDocument,
  ResetAllowanceDocument,
  UpdatePreferencesDocument,
  ViewerDocument,
} from './generated/graphql.js';
import { member, type TestApp } from './support/app.js';
import { CHECKOUT, ORIGIN, startBillingApp, VERIFY } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';

let api: TestApp;
let fake: FakeStripe;
let adminToken: string;

const CHAT = { operation: 'AI_TEXT_CHAT' };

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
    await api.execute(UpdatePreferencesDocument, { preferences: { theme: 'dark' } }, user.token);
    await api.execute(DeductCreditsDocument, { input: CHAT }, user.token);
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

    const deleted = await api.execute(DeleteAccountDocument, {}, user.token);
    expect(deleted.body.data!.deleteAccount).toEqual({ __typename: 'Deletion', id: user.id, deletedAt: expect.any(String) });

    expect(fake.requests.some((request) => request.method === 'DELETE' && request.path === `/v1/subscriptions/${user.subscriptionId}`)).toBe(true);
    const row = await api.db.prisma.user.findUniqueOrThrow({ where: { id: user.userId } });
    expect(row).toMatchObject({ email: null, name: null, preferences: {}, deletedAt: expect.any(Date) });
    // Every row stays; the subscription's end adds its own (the free allowance it falls back to).
    const ledgerAfter = await api.db.prisma.creditTransaction.findMany({ where: { userId: user.userId } });
    expect(ledgerAfter).toEqual(expect.arrayContaining(ledgerBefore));
    expect(await api.db.prisma.payment.findMany({ where: { userId: user.userId } })).toEqual(paymentsBefore);

    for (const again of [await api.execute(ViewerDocument, {}, user.token), await api.execute(DeductCreditsDocument, { input: CHAT }, user.token)]) {
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
    await api.execute(DeleteAccountDocument, {}, user.token);
    const charged = await api.execute(DeductCreditsDocument, { input: { ...CHAT, userId: user.id, amount: 1 } }, secret);
    expect(charged.body.data!.deductCredits.__typename).toBe('NotFoundError');
  });

  it('admins delete other users, audited; users cannot', async () => {
    const target = await api.signUp('deleted-by-admin');
    const bystander = await api.signUp('bystander');
    const reason = 'asked by email';
    const refused = await api.execute(DeleteUserDocument, { userId: target.id, reason }, bystander.token);
    expect(refused.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await api.db.prisma.user.findUniqueOrThrow({ where: { id: target.userId } })).deletedAt).toBeNull();

    const deleted = await api.execute(DeleteUserDocument, { userId: target.id, reason }, adminToken);
    expect(member(deleted.body.data!.deleteUser, 'Deletion').id).toBe(target.id);
    const twice = await api.execute(DeleteUserDocument, { userId: target.id, reason }, adminToken);
    expect(twice.body.data!.deleteUser.__typename).toBe('NotFoundError');
    const audit = await api.db.prisma.adminAuditLog.findFirstOrThrow({ where: { action: 'user.delete', targetId: target.userId } });
    expect(audit.data).toEqual({ reason: 'asked by email' });
    expect((await api.execute(ViewerDocument, {}, target.token)).status).toBe(401);
  });
});

describe('manual allowance reset', () => {
  it('an admin refills the running period, audited; grants and dates stay; users cannot', async () => {
    const user = await api.signUp('refilled');
    await api.execute(DeductCreditsDocument, { input: CHAT }, user.token);
    const before = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: user.userId } });
    expect(before.allowanceRemaining).toBe(5);

    const refused = await api.execute(ResetAllowanceDocument, { userId: user.id, reason: 'me' }, user.token);
    expect(refused.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const reset = await api.execute(ResetAllowanceDocument, { userId: user.id, reason: 'outage on 30 Nov' }, adminToken);
    expect(reset.body.data!.resetAllowance).toEqual({
      __typename: 'CreditMovement',
      replayed: false,
      transaction: { kind: 'ALLOWANCE_RESET', amount: 5 },
      balance: { total: 10, allowanceRemaining: 10, allowanceTotal: 10, grantedRemaining: 0 },
    });
    const after = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: user.userId } });
    expect(after.nextResetAt).toEqual(before.nextResetAt);
    const audit = await api.db.prisma.adminAuditLog.findFirstOrThrow({ where: { action: 'credits.resetAllowance', targetId: user.userId } });
    expect(audit.data).toEqual({ reason: 'outage on 30 Nov', restored: 5 });
    expect(await api.services.credits.reconcile()).toEqual([]);
  });
});
