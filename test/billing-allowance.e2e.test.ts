import type { TestApp } from './support/app.js';
import { CHECKOUT, ORIGIN, postWebhook, startBillingApp, VERIFY, VIEWER_BILLING, WEBHOOK_SECRET } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';

// The allowance follows payment: one period per paid billing period, nothing from plan changes inside a period
// beyond the upgrade difference, nothing from the clock alone once the paid time is over.

const DAY_MS = 86_400_000;
let api: TestApp;
let fake: FakeStripe;
let adminToken: string;
let clockOffsetMs = 0;
const now = () => new Date(Date.now() + clockOffsetMs);

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false, { now }));
  const admin = await api.signUp('allowance-admin', { email: 'admin@example.com' });
  adminToken = admin.token;
  // A 300-credit plan to downgrade to, a yearly Pro price, and operations that cost exact amounts.
  const plus = await api.graphql(`mutation { updatePlan(key: "plus", input: { creditsPerPeriod: 300 }) { __typename } }`, {}, adminToken);
  expect(plus.body.data.updatePlan.__typename).toBe('Plan');
  const yearly = (planKey: string, amount: number) => ({
    unit_amount: amount,
    unit_amount_decimal: String(amount),
    type: 'recurring',
    recurring: { interval: 'year', interval_count: 1, meter: null, usage_type: 'licensed', trial_period_days: null },
    metadata: { planKey },
  });
  fake.price('price_pro_year', 'prod_pro', yearly('pro', 29000));
  fake.price('price_plus_year', 'prod_plus', yearly('plus', 9000));
  await api.services.billing.syncFromStripe();
  const costs = [1, 30, 60, 250, 300, 500, 995].map((cost) => ({ operation: `SPEND_${cost}`, cost }));
  await api.services.credits.setFeatureCosts(admin.userId, costs);
});
afterEach(() => {
  clockOffsetMs = 0;
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

async function deliver(type: string, object: Record<string, any>) {
  const { event, payload, signature } = fake.event(type, object, { secret: WEBHOOK_SECRET });
  expect((await postWebhook(api, payload, signature)).status).toBe(200);
  const result = await api.services.billing.processWebhookEvent(event.id);
  expect(result).toMatchObject({ status: 'PROCESSED' });
  return event;
}

async function viewer(token: string) {
  const response = await api.graphql(VIEWER_BILLING, {}, token);
  expect(response.body.errors).toBeUndefined();
  return response.body.data.viewer;
}

async function spend(token: string, cost: number) {
  const response = await api.graphql(
    `mutation($op: String!) { deductCredits(input: { operation: $op }) { __typename ... on CreditMovement { balance { total } } } }`,
    { op: `SPEND_${cost}` },
    token,
  );
  return response.body.data.deductCredits.__typename as string;
}

async function subscribe(name: string, planKey: string, interval: 'MONTH' | 'YEAR' = 'MONTH', options: { trialDays?: number } = {}) {
  const user = await api.signUp(name);
  const created = await api.graphql(
    CHECKOUT,
    { input: { planKey, interval, successUrl: `${ORIGIN}/ok`, cancelUrl: `${ORIGIN}/no` } },
    user.token,
  );
  const sessionId = created.body.data.createCheckoutSession.sessionId as string;
  const completed = fake.completeSession(sessionId, options);
  const verified = (await api.graphql(VERIFY, { sessionId }, user.token)).body.data.verifyCheckoutSession;
  expect(verified).toMatchObject({ __typename: 'CheckoutResult', subscriptionStatus: options.trialDays ? 'TRIALING' : 'ACTIVE', planKey });
  return { ...user, subscriptionId: completed.subscription as string };
}

async function changePlan(token: string, planKey: string) {
  const response = await api.graphql(`mutation($planKey: String!) { changePlan(planKey: $planKey) { __typename ... on BillingSubscription { plan { key } } } }`, { planKey }, token);
  expect(response.body.data.changePlan).toEqual({ __typename: 'BillingSubscription', plan: { key: planKey } });
}

/** What Stripe sends after a plan change inside a period: the updated subscription and a proration invoice. */
async function prorationArrives(subscriptionId: string, amount: number) {
  const invoice = fake.invoice(subscriptionId, { billing_reason: 'subscription_update', paid: true, amount });
  expect(invoice.amount_paid).toBe(Math.max(0, amount));
  await deliver('customer.subscription.updated', fake.subscriptions.get(subscriptionId)!);
  await deliver('invoice.paid', invoice);
}

const periodEndOf = (subscriptionId: string) => fake.subscriptions.get(subscriptionId)!.items.data[0].current_period_end * 1000;
const periodKeys = async (userId: string, subscriptionId: string) =>
  (await api.db.prisma.creditTransaction.findMany({ where: { userId, idempotencyKey: { startsWith: `sys:allowance-period:${subscriptionId}:` } } })).map(
    (row) => row.idempotencyKey,
  );

describe('plan changes inside a period', () => {
  it('a Pro user who spent 995 and downgrades keeps 5, not a fresh 300; the next paid period brings 300', async () => {
    const user = await subscribe('downgrader', 'pro');
    await api.grantCredits(user.id, 50, adminToken);
    expect(await spend(user.token, 995)).toBe('CreditMovement');
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceTotal: 1000, allowanceRemaining: 5, grantedRemaining: 50 });

    await changePlan(user.token, 'plus');
    await prorationArrives(user.subscriptionId, -1600);
    let balance = (await viewer(user.token)).creditBalance;
    expect(balance).toMatchObject({ allowanceRemaining: 5, grantedRemaining: 50 });

    // Back up to Pro in the same period: the allowance total is already Pro's, so nothing is added.
    await changePlan(user.token, 'pro');
    await prorationArrives(user.subscriptionId, 2000);
    balance = (await viewer(user.token)).creditBalance;
    expect(balance).toMatchObject({ allowanceTotal: 1000, allowanceRemaining: 5, grantedRemaining: 50 });

    // Down again, and the next period is paid on the cheaper plan.
    await changePlan(user.token, 'plus');
    await prorationArrives(user.subscriptionId, -1600);
    fake.advancePeriod(user.subscriptionId);
    await deliver('invoice.paid', fake.invoice(user.subscriptionId, { paid: true }));
    balance = (await viewer(user.token)).creditBalance;
    expect(balance).toMatchObject({ allowanceTotal: 300, allowanceRemaining: 300, grantedRemaining: 50 });
    expect(await api.services.credits.reconcile()).toEqual([]);
  });

  it('Plus -> Pro adds the difference once; Pro -> Plus -> Pro round trips add nothing more', async () => {
    const user = await subscribe('round-tripper', 'plus');
    expect(await spend(user.token, 250)).toBe('CreditMovement');
    await changePlan(user.token, 'pro');
    await prorationArrives(user.subscriptionId, 2000);
    const upgraded = (await viewer(user.token)).creditBalance;
    expect(upgraded).toMatchObject({ allowanceTotal: 1000, allowanceRemaining: 50 + 700 });

    for (let round = 0; round < 3; round++) {
      await changePlan(user.token, 'plus');
      await prorationArrives(user.subscriptionId, -2000);
      await changePlan(user.token, 'pro');
      await prorationArrives(user.subscriptionId, 2000);
      expect((await viewer(user.token)).creditBalance.allowanceRemaining).toBeLessThanOrEqual(750);
    }
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceTotal: 1000, allowanceRemaining: 750 });
    expect(await periodKeys(user.userId, user.subscriptionId)).toHaveLength(1);
  });
});

describe('renewals', () => {
  it('the period job leaves a paid user alone at period end; the renewal invoice starts the period once', async () => {
    const user = await subscribe('renewer', 'plus');
    await api.grantCredits(user.id, 100, adminToken);
    expect(await spend(user.token, 300)).toBe('CreditMovement');

    clockOffsetMs = periodEndOf(user.subscriptionId) - Date.now() + 60_000;
    await api.services.credits.resetDueAllowances();
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceRemaining: 0, grantedRemaining: 100 });
    // Spent between the period end and the renewal's payment: comes out of the grant and stays spent.
    expect(await spend(user.token, 60)).toBe('CreditMovement');

    fake.advancePeriod(user.subscriptionId);
    await deliver('customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!);
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceRemaining: 0, grantedRemaining: 40 });
    const renewal = fake.invoice(user.subscriptionId, { paid: true });
    await deliver('invoice.paid', renewal);
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceTotal: 300, allowanceRemaining: 300, grantedRemaining: 40 });
    expect(await spend(user.token, 30)).toBe('CreditMovement');

    // The same invoice again (a second delivery), and a second invoice for the same period.
    await deliver('invoice.paid', renewal);
    await deliver('invoice.paid', fake.invoice(user.subscriptionId, { paid: true, billing_reason: 'manual' }));
    await api.services.credits.resetDueAllowances();
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceRemaining: 270, grantedRemaining: 40, total: 310 });
    expect(await periodKeys(user.userId, user.subscriptionId)).toHaveLength(2);
    expect(await api.services.credits.reconcile()).toEqual([]);
  });

  it('a renewal whose payment failed leaves a past-due user what was left, and paying later starts the period', async () => {
    const user = await subscribe('past-due', 'plus');
    expect(await spend(user.token, 250)).toBe('CreditMovement');
    clockOffsetMs = periodEndOf(user.subscriptionId) - Date.now() + 60_000;
    await api.services.credits.resetDueAllowances();

    fake.advancePeriod(user.subscriptionId);
    const failing = fake.invoice(user.subscriptionId, { paid: false });
    fake.setSubscription(user.subscriptionId, { status: 'past_due' });
    await deliver('invoice.payment_failed', failing);
    await deliver('customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!);
    await api.services.credits.resetDueAllowances();
    const state = await viewer(user.token);
    expect(state).toMatchObject({ membershipStatus: 'PAST_DUE', creditBalance: { allowanceRemaining: 50 } });
    expect(await spend(user.token, 60)).toBe('InsufficientCreditsError');
    expect(await spend(user.token, 30)).toBe('CreditMovement');

    fake.payInvoice(failing.id);
    fake.setSubscription(user.subscriptionId, { status: 'active' });
    await deliver('invoice.paid', fake.invoices.get(failing.id)!);
    expect(await viewer(user.token)).toMatchObject({ membershipStatus: 'ACTIVE', creditBalance: { allowanceTotal: 300, allowanceRemaining: 300 } });
  });
});

describe('yearly plans', () => {
  it("give one month's allowance at a time, renewing monthly inside the paid year and not past it", async () => {
    const user = await subscribe('yearly', 'pro', 'YEAR');
    const subscription = fake.subscriptions.get(user.subscriptionId)!;
    const start = subscription.items.data[0].current_period_start * 1000;
    const end = subscription.items.data[0].current_period_end * 1000;
    expect(end - start).toBe(365 * DAY_MS);
    let balance = (await viewer(user.token)).creditBalance;
    expect(balance).toMatchObject({ allowanceTotal: 1000, allowanceRemaining: 1000 });
    const firstDrip = new Date(balance.nextResetAt).getTime();
    expect(firstDrip - start).toBeGreaterThanOrEqual(28 * DAY_MS);
    expect(firstDrip - start).toBeLessThanOrEqual(31 * DAY_MS);

    expect(await spend(user.token, 500)).toBe('CreditMovement');
    clockOffsetMs = firstDrip - Date.now() + 60_000;
    await api.services.credits.resetDueAllowances();
    balance = (await viewer(user.token)).creditBalance;
    expect(balance).toMatchObject({ allowanceTotal: 1000, allowanceRemaining: 1000 });
    expect(new Date(balance.periodStart).getTime()).toBe(firstDrip);

    // The last month of the paid year renews; after the year, nothing does until the next year is paid.
    clockOffsetMs = end - Date.now() - DAY_MS;
    expect(await spend(user.token, 500)).toBe('CreditMovement');
    expect((await viewer(user.token)).creditBalance.allowanceRemaining).toBe(500);
    clockOffsetMs = end - Date.now() + 40 * DAY_MS;
    await api.services.credits.resetDueAllowances();
    expect(await spend(user.token, 1)).toBe('CreditMovement');
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceRemaining: 499 });
    expect(await api.services.credits.reconcile()).toEqual([]);
  });
});

describe('yearly plan changes', () => {
  it('a downgrade inside the paid year applies from the next monthly renewal; moving back up mints nothing', async () => {
    const user = await subscribe('yearly-downgrader', 'pro', 'YEAR');
    expect(await spend(user.token, 500)).toBe('CreditMovement');
    await changePlan(user.token, 'plus');
    await prorationArrives(user.subscriptionId, -15000);
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceTotal: 1000, allowanceRemaining: 500 });
    await changePlan(user.token, 'pro');
    await prorationArrives(user.subscriptionId, 15000);
    await changePlan(user.token, 'plus');
    await prorationArrives(user.subscriptionId, -15000);
    const balance = (await viewer(user.token)).creditBalance;
    expect(balance).toMatchObject({ allowanceTotal: 1000, allowanceRemaining: 500 });

    clockOffsetMs = new Date(balance.nextResetAt).getTime() - Date.now() + 60_000;
    await api.services.credits.resetDueAllowances();
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceTotal: 300, allowanceRemaining: 300 });
    expect(await api.services.credits.reconcile()).toEqual([]);
  });
});

describe('trials and the end of a subscription', () => {
  it("a trial period is a period: the plan's allowance at its start, the next one only once the first invoice is paid", async () => {
    const user = await subscribe('trial-then-paid', 'plus', 'MONTH', { trialDays: 14 });
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceTotal: 300, allowanceRemaining: 300 });
    expect(await spend(user.token, 250)).toBe('CreditMovement');

    clockOffsetMs = periodEndOf(user.subscriptionId) - Date.now() + 60_000;
    await api.services.credits.resetDueAllowances();
    expect((await viewer(user.token)).creditBalance.allowanceRemaining).toBe(50);

    fake.advancePeriod(user.subscriptionId);
    fake.setSubscription(user.subscriptionId, { status: 'active' });
    await deliver('customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!);
    expect((await viewer(user.token)).creditBalance.allowanceRemaining).toBe(50);
    await deliver('invoice.paid', fake.invoice(user.subscriptionId, { paid: true }));
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceTotal: 300, allowanceRemaining: 300 });
  });

  it('an ended subscription brings back the free rolling allowance under a server key a client cannot take first', async () => {
    const user = await subscribe('ends', 'pro');
    const spent = await api.graphql(
      `mutation($key: String!) { deductCredits(input: { operation: "SPEND_1", idempotencyKey: $key }) { __typename } }`,
      { key: `subscription-ended:${user.subscriptionId}` },
      user.token,
    );
    expect(spent.body.data.deductCredits.__typename).toBe('CreditMovement');
    await api.grantCredits(user.id, 20, adminToken);
    fake.setSubscription(user.subscriptionId, { status: 'canceled', ended_at: Math.floor(Date.now() / 1000) });
    await deliver('customer.subscription.deleted', fake.subscriptions.get(user.subscriptionId)!);
    expect(await viewer(user.token)).toMatchObject({ tier: 'FREE', creditBalance: { allowanceTotal: 10, allowanceRemaining: 10, grantedRemaining: 20 } });
    const ended = await api.db.prisma.creditTransaction.findMany({ where: { userId: user.userId, details: { path: ['reason'], equals: 'subscription ended' } } });
    expect(ended.map((row) => row.idempotencyKey)).toEqual([`sys:subscription-ended:${user.subscriptionId}`]);

    // Free again: the allowance renews by itself every period.
    expect(await spend(user.token, 1)).toBe('CreditMovement');
    clockOffsetMs = 31 * DAY_MS;
    await api.services.credits.resetDueAllowances();
    expect((await viewer(user.token)).creditBalance).toMatchObject({ allowanceRemaining: 10, grantedRemaining: 20 });
  });
});
