import type { FakeStripe } from './support/fake-stripe.js';
import { startTestApp, type TestApp } from './support/app.js';
import { CHECKOUT, newUser, ORIGIN, postWebhook, startBillingApp, VERIFY, VIEWER_BILLING, WEBHOOK_SECRET } from './support/billing.js';

let api: TestApp;
let fake: FakeStripe;
let adminToken: string;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false));
  adminToken = await api.token('billing-admin', { email: 'admin@example.com' });
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

/** Delivers a signed event over HTTP, then processes it as the job would (workers are off in this file). */
async function deliver(type: string, object: Record<string, any>, options: { id?: string; created?: number } = {}) {
  const { event, payload, signature } = fake.event(type, object, { secret: WEBHOOK_SECRET, ...options });
  const response = await postWebhook(api, payload, signature);
  expect(response.status).toBe(200);
  const result = await api.services.billing.processWebhookEvent(event.id);
  return { event, response: response.body, result };
}

async function viewer(token: string) {
  const response = await api.graphql(VIEWER_BILLING, {}, token);
  expect(response.body.errors).toBeUndefined();
  return response.body.data.viewer;
}

async function checkout(token: string, input: Record<string, unknown>) {
  const response = await api.graphql(
    CHECKOUT,
    { input: { successUrl: `${ORIGIN}/billing/success?session={CHECKOUT_SESSION_ID}`, cancelUrl: `${ORIGIN}/billing`, ...input } },
    token,
  );
  return response.body.data.createCheckoutSession;
}

async function verify(token: string, sessionId: string) {
  return (await api.graphql(VERIFY, { sessionId }, token)).body.data.verifyCheckoutSession;
}

async function subscribe(name: string, planKey = 'plus') {
  const user = await newUser(api, name);
  const session = await checkout(user.token, { planKey, interval: 'MONTH' });
  expect(session.__typename).toBe('CheckoutSession');
  const completed = fake.completeSession(session.sessionId);
  const result = await verify(user.token, session.sessionId);
  expect(result).toMatchObject({ __typename: 'CheckoutResult', subscriptionStatus: 'ACTIVE', planKey });
  return { ...user, sessionId: session.sessionId as string, subscriptionId: completed.subscription as string };
}

const ledger = (userId: string) =>
  api.db.prisma.creditTransaction.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });

describe('catalog', () => {
  it('plans are public, active and sorted; sync linked the Stripe prices to them', async () => {
    const response = await api.graphql(`query { plans { key tier creditsPerPeriod monthlyPriceCents yearlyPriceCents stripeMonthlyPriceId features callToAction { type label } } creditPacks { key credits priceCents stripePriceId } }`);
    expect(response.body.data.plans.map((plan: any) => plan.key)).toEqual(['free', 'plus', 'pro']);
    expect(response.body.data.plans[1]).toMatchObject({ tier: 'PLUS', creditsPerPeriod: 100, monthlyPriceCents: 900, yearlyPriceCents: 9000, stripeMonthlyPriceId: 'price_plus_month' });
    expect(response.body.data.creditPacks).toEqual([
      { key: 'pack-100', credits: 100, priceCents: 500, stripePriceId: 'price_pack_100' },
      { key: 'pack-500', credits: 500, priceCents: 2000, stripePriceId: null },
    ]);
    expect(await api.db.prisma.stripePrice.count()).toBe(3);
  });

  it('admins create, update, archive and reorder plans and packs, each audited; others are refused', async () => {
    const user = await newUser(api, 'catalog-user');
    const create = `mutation($input: PlanInput!) { createPlan(input: $input) { __typename ... on Plan { key active sortOrder } ... on ValidationError { issues { path } } } }`;
    const input = { key: 'team', name: 'Team', tier: 'PRO', creditsPerPeriod: 5000, monthlyPriceCents: 9900, yearlyPriceCents: 99000, sortOrder: 9 };
    expect((await api.graphql(create, { input }, user.token)).body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await api.graphql(create, { input }, adminToken)).body.data.createPlan).toMatchObject({ __typename: 'Plan', key: 'team' });
    const invalid = await api.graphql(create, { input: { ...input, key: 'Bad Key', creditsPerPeriod: -1 } }, adminToken);
    expect(invalid.body.data.createPlan.__typename).toBe('ValidationError');
    const update = await api.graphql(`mutation { updatePlan(key: "team", input: { name: "Teams", badge: "New" }) { __typename ... on Plan { key } } }`, {}, adminToken);
    expect(update.body.data.updatePlan.__typename).toBe('Plan');
    // Only __typename asked: the answer still says the change was made.
    const reordered = await api.graphql(`mutation { reorderPlans(keys: ["team", "free", "plus", "pro"]) { __typename } }`, {}, adminToken);
    expect(reordered.body).toEqual({ data: { reorderPlans: { __typename: 'ReorderPlansSuccess' } } });
    expect((await api.graphql(`query { plans { key } }`)).body.data.plans.map((plan: any) => plan.key)).toEqual(['team', 'free', 'plus', 'pro']);
    await api.graphql(`mutation { archivePlan(key: "team") { __typename } }`, {}, adminToken);
    expect((await api.graphql(`query { plans { key } }`)).body.data.plans.map((plan: any) => plan.key)).toEqual(['free', 'plus', 'pro']);
    const missing = await api.graphql(`mutation { archivePlan(key: "nope") { __typename } }`, {}, adminToken);
    expect(missing.body.data.archivePlan.__typename).toBe('NotFoundError');

    await api.graphql(`mutation { createCreditPack(input: { key: "pack-50", name: "50", credits: 50, priceCents: 300 }) { __typename } }`, {}, adminToken);
    await api.graphql(`mutation { updateCreditPack(key: "pack-50", input: { priceCents: 250 }) { __typename } }`, {}, adminToken);
    const packsReordered = await api.graphql(`mutation { reorderCreditPacks(keys: ["pack-50", "pack-100", "pack-500"]) { __typename } }`, {}, adminToken);
    expect(packsReordered.body).toEqual({ data: { reorderCreditPacks: { __typename: 'ReorderCreditPacksSuccess' } } });
    await api.graphql(`mutation { archiveCreditPack(key: "pack-50") { __typename } }`, {}, adminToken);
    const actions = (await api.db.prisma.adminAuditLog.findMany({ where: { targetType: { in: ['Plan', 'CreditPack'] } } })).map((row) => row.action);
    expect(actions.sort()).toEqual(
      ['creditPack.archive', 'creditPack.create', 'creditPack.reorder', 'creditPack.update', 'plan.archive', 'plan.create', 'plan.reorder', 'plan.update'].sort(),
    );
  });
});

describe('checkout', () => {
  it('refuses return URLs outside the allowed origins and ambiguous input, changing nothing', async () => {
    const user = await newUser(api, 'checkout-bad');
    expect(await checkout(user.token, { planKey: 'plus', successUrl: 'https://evil.example/ok' })).toMatchObject({ __typename: 'ValidationError' });
    expect(await checkout(user.token, { planKey: 'plus', packKey: 'pack-100' })).toMatchObject({ __typename: 'ValidationError' });
    expect(await checkout(user.token, { planKey: 'nope' })).toMatchObject({ __typename: 'NotFoundError' });
    expect(await api.db.prisma.checkoutSession.count({ where: { userId: user.userId } })).toBe(0);
  });

  it("another user's session id is refused by verify and applies nothing", async () => {
    const owner = await newUser(api, 'session-owner');
    const thief = await newUser(api, 'session-thief');
    const session = await checkout(owner.token, { packKey: 'pack-100' });
    fake.completeSession(session.sessionId);
    expect(await verify(thief.token, session.sessionId)).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await api.db.prisma.checkoutSession.findUnique({ where: { id: session.sessionId } })).toMatchObject({ appliedAt: null });
    expect((await viewer(thief.token)).creditBalance.grantedRemaining).toBe(0);
    expect((await viewer(owner.token)).creditBalance.grantedRemaining).toBe(0);
  });

  it('a credit pack bought via verify and then the webhook is granted once; a refund takes back what is left and records the rest', async () => {
    const user = await newUser(api, 'pack-buyer');
    const session = await checkout(user.token, { packKey: 'pack-100' });
    expect(session.url).toContain(session.sessionId);
    const customer = await api.db.prisma.stripeCustomer.findUniqueOrThrow({ where: { userId: user.userId } });
    expect(fake.customers.get(customer.id)!.metadata.userId).toBe(user.userId);

    expect(await verify(user.token, session.sessionId)).toMatchObject({ __typename: 'ConflictError' });
    const completed = fake.completeSession(session.sessionId);
    const first = await verify(user.token, session.sessionId);
    expect(first).toMatchObject({ __typename: 'CheckoutResult', mode: 'payment', packKey: 'pack-100', creditsGranted: 100 });
    const { result } = await deliver('checkout.session.completed', completed);
    expect(result.status).toBe('PROCESSED');
    expect(await verify(user.token, session.sessionId)).toEqual(first);
    const state = await viewer(user.token);
    expect(state.creditBalance.grantedRemaining).toBe(100);
    expect(state.payments.edges.map((edge: any) => edge.node)).toEqual([
      { kind: 'CREDIT_PACK', status: 'PAID', amountCents: 500, creditsGranted: 100, creditsClawedBack: 0, creditsUnrecovered: 0 },
    ]);
    expect((await ledger(user.userId)).filter((row) => row.kind === 'PURCHASE')).toHaveLength(1);

    // Spends all 10 of the allowance and 70 of the pack, then the whole payment is refunded.
    await api.graphql(`mutation { deductCredits(input: { operation: "AI_IMAGE_GENERATION", quantity: 8 }) { __typename } }`, {}, user.token);
    const charge = fake.refund(completed.payment_intent, 500, 500);
    expect((await deliver('charge.refunded', charge)).result.status).toBe('PROCESSED');
    expect((await deliver('charge.refunded', charge)).result.status).toBe('PROCESSED');
    const after = await viewer(user.token);
    expect(after.creditBalance.total).toBe(0);
    expect(after.payments.edges[0].node).toMatchObject({ status: 'REFUNDED', creditsClawedBack: 30, creditsUnrecovered: 70 });
    const { _sum } = await api.db.prisma.creditTransaction.aggregate({ where: { userId: user.userId }, _sum: { amount: true } });
    expect(_sum.amount).toBe(0);
  });
});

describe('subscription lifecycle', () => {
  it('checkout, active, renewal, payment failed, past due, recovered, cancel at period end, plan change, deleted', async () => {
    const user = await subscribe('lifecycle');
    const sub = user.subscriptionId;
    let state = await viewer(user.token);
    expect(state).toMatchObject({ role: 'PREMIUM', tier: 'PLUS', membershipStatus: 'ACTIVE' });
    expect(state.subscription).toMatchObject({ status: 'ACTIVE', tier: 'PLUS', cancelAtPeriodEnd: false, plan: { key: 'plus' } });
    expect(state.subscription.daysUntilRenewal).toBe(30);
    expect(state.creditBalance).toMatchObject({ allowanceTotal: 100, allowanceRemaining: 100 });

    // The webhook for the same checkout, and the subscription events around it, change nothing.
    await deliver('checkout.session.completed', fake.sessions.get(user.sessionId)!);
    await deliver('customer.subscription.created', fake.subscriptions.get(sub)!);
    const firstInvoice = fake.sessions.get(user.sessionId)!.invoice;
    await deliver('invoice.paid', fake.invoices.get(firstInvoice)!);
    await api.graphql(`mutation { deductCredits(input: { operation: "AI_IMAGE_GENERATION", quantity: 4 }) { __typename } }`, {}, user.token);
    expect((await viewer(user.token)).creditBalance.allowanceRemaining).toBe(60);

    // Renewal: the allowance is set again for the new period, once per invoice even when delivered twice.
    fake.advancePeriod(sub);
    const renewal = fake.invoice(sub, { paid: true });
    const delivery = await deliver('invoice.paid', renewal);
    const again = await postWebhook(api, ...(() => { const e = fake.event('invoice.paid', renewal, { secret: WEBHOOK_SECRET, id: delivery.event.id }); return [e.payload, e.signature] as const; })());
    expect(again.body.duplicate).toBe(true);
    await deliver('invoice.paid', renewal);
    state = await viewer(user.token);
    expect(state.creditBalance).toMatchObject({ allowanceTotal: 100, allowanceRemaining: 100 });
    expect(new Date(state.creditBalance.nextResetAt).getTime()).toBe(fake.subscriptions.get(sub)!.items.data[0].current_period_end * 1000);
    const renewedPeriod = new Date(fake.subscriptions.get(sub)!.items.data[0].current_period_start * 1000).toISOString();
    expect((await ledger(user.userId)).filter((row) => row.idempotencyKey === `sys:allowance-period:${sub}:${renewedPeriod}`)).toHaveLength(1);

    // Payment fails: past due, no longer premium.
    fake.advancePeriod(sub);
    const failing = fake.invoice(sub, { paid: false });
    fake.setSubscription(sub, { status: 'past_due' });
    await deliver('invoice.payment_failed', failing);
    state = await viewer(user.token);
    expect(state).toMatchObject({ role: 'USER', membershipStatus: 'PAST_DUE', subscription: { status: 'PAST_DUE' } });

    // Recovered: the retried invoice is paid.
    fake.payInvoice(failing.id);
    fake.setSubscription(sub, { status: 'active' });
    await deliver('invoice.paid', fake.invoices.get(failing.id)!);
    state = await viewer(user.token);
    expect(state).toMatchObject({ role: 'PREMIUM', membershipStatus: 'ACTIVE', subscription: { status: 'ACTIVE' } });
    expect(state.payments.edges.map((edge: any) => edge.node.status).sort()).toEqual(['PAID', 'PAID', 'PAID']);

    // Cancel at period end, then resume, then cancel again.
    const cancel = await api.graphql(`mutation { cancelSubscription(atPeriodEnd: true) { __typename ... on BillingSubscription { cancelAtPeriodEnd daysUntilRenewal status } } }`, {}, user.token);
    expect(cancel.body.data.cancelSubscription).toEqual({ __typename: 'BillingSubscription', cancelAtPeriodEnd: true, daysUntilRenewal: null, status: 'ACTIVE' });
    const resume = await api.graphql(`mutation { resumeSubscription { __typename ... on BillingSubscription { cancelAtPeriodEnd } } }`, {}, user.token);
    expect(resume.body.data.resumeSubscription).toEqual({ __typename: 'BillingSubscription', cancelAtPeriodEnd: false });

    // Plan change: Stripe prorates; the tier follows.
    const change = await api.graphql(`mutation { changePlan(planKey: "pro") { __typename ... on BillingSubscription { plan { key } tier } } }`, {}, user.token);
    expect(change.body.data.changePlan).toEqual({ __typename: 'BillingSubscription', plan: { key: 'pro' }, tier: 'PRO' });
    expect(fake.requests.some((request) => request.path === `/v1/subscriptions/${sub}` && request.body.proration_behavior === 'always_invoice')).toBe(true);
    expect((await viewer(user.token)).tier).toBe('PRO');

    await api.graphql(`mutation { cancelSubscription(atPeriodEnd: true) { __typename } }`, {}, user.token);
    fake.setSubscription(sub, { status: 'canceled', ended_at: Math.floor(Date.now() / 1000) });
    await deliver('customer.subscription.deleted', fake.subscriptions.get(sub)!);
    state = await viewer(user.token);
    expect(state).toMatchObject({ role: 'USER', tier: 'FREE', membershipStatus: 'CANCELED', subscription: { status: 'CANCELED', daysUntilRenewal: null } });
    expect(state.creditBalance.allowanceTotal).toBe(10);

    const events = await api.db.prisma.subscriptionEvent.findMany({ where: { userId: user.userId }, orderBy: { createdAt: 'asc' } });
    expect(events.map((event) => event.toStatus)).toEqual(expect.arrayContaining(['ACTIVE', 'PAST_DUE', 'CANCELED']));
    expect(events.some((event) => event.type === 'payment_failed')).toBe(true);
  });

  it('updated-before-created and stale deliveries end in the state Stripe holds, whatever the order', async () => {
    const user = await newUser(api, 'out-of-order');
    const customer = await api.services.billing.ensureCustomer(user.userId);
    const subscription = fake.createSubscription({ customer, priceId: 'price_pro_month', status: 'incomplete' });
    const createdSnapshot = structuredClone(subscription);
    fake.setSubscription(subscription.id, { status: 'active' });
    const now = Math.floor(Date.now() / 1000);

    await deliver('customer.subscription.updated', fake.subscriptions.get(subscription.id)!, { created: now });
    await deliver('customer.subscription.created', createdSnapshot, { created: now - 10 });
    let row = await api.db.prisma.subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscription.id } });
    expect(row.status).toBe('ACTIVE');
    expect((await viewer(user.token))).toMatchObject({ role: 'PREMIUM', tier: 'PRO' });

    // Stripe moves on; an old "active" event arriving after the newest one still cannot win.
    fake.setSubscription(subscription.id, { cancel_at_period_end: true });
    await deliver('customer.subscription.updated', fake.subscriptions.get(subscription.id)!, { created: now + 20 });
    await deliver('customer.subscription.updated', createdSnapshot, { created: now + 5 });
    row = await api.db.prisma.subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: subscription.id } });
    expect(row).toMatchObject({ status: 'ACTIVE', cancelAtPeriodEnd: true });
    expect(row.lastEventAt?.getTime()).toBe((now + 20) * 1000);
    // The first period's allowance was granted once, despite four deliveries.
    const firstPeriod = new Date(subscription.items.data[0].current_period_start * 1000).toISOString();
    expect((await ledger(user.userId)).filter((entry) => entry.idempotencyKey === `sys:allowance-period:${subscription.id}:${firstPeriod}`)).toHaveLength(1);
  });

  it('a trial is PREMIUM with its trial end; trial_will_end is recorded once', async () => {
    const user = await newUser(api, 'trialist');
    const session = await checkout(user.token, { planKey: 'plus' });
    const completed = fake.completeSession(session.sessionId, { trialDays: 14 });
    await deliver('checkout.session.completed', completed);
    const state = await viewer(user.token);
    expect(state).toMatchObject({ role: 'PREMIUM', subscription: { status: 'TRIALING' } });
    expect(state.subscription.trialEnd).not.toBeNull();
    const trial = fake.subscriptions.get(completed.subscription)!;
    const { event } = await deliver('customer.subscription.trial_will_end', trial);
    await api.db.prisma.webhookEvent.update({ where: { id: event.id }, data: { status: 'FAILED' } });
    await api.services.billing.processWebhookEvent(event.id);
    expect(await api.db.prisma.subscriptionEvent.count({ where: { userId: user.userId, type: 'trial_will_end' } })).toBe(1);
  });

  it('the admin users list loads the subscriptions of the whole page with one SQL statement', async () => {
    for (let i = 0; i < 4; i++) await subscribe(`listed-subscriber-${i}`, i % 2 ? 'pro' : 'plus');
    const adminToken = await api.token('billing-admin', { email: 'admin@example.com' });
    const PAGE = `query($first: Int!) { users(first: $first) { edges { node { email subscription { status tier plan { key } } } } } }`;
    const statementsFor = async (first: number) => {
      api.db.queries.length = 0;
      const response = await api.graphql(PAGE, { first }, adminToken);
      expect(response.body.errors).toBeUndefined();
      const edges = response.body.data.users.edges as { node: { email: string; subscription: { tier: string } | null } }[];
      expect(edges).toHaveLength(first);
      return {
        subscribed: edges.filter((edge) => edge.node.subscription).length,
        statements: api.db.queries.filter((sql) => sql.includes('FROM "public"."Subscription"')).length,
        plans: api.db.queries.filter((sql) => sql.includes('FROM "public"."Plan"')).length,
      };
    };
    const small = await statementsFor(2);
    const large = await statementsFor(5);
    expect(small).toMatchObject({ statements: 1, plans: 1 });
    expect(large).toMatchObject({ statements: 1, plans: 1 });
    expect(large.subscribed).toBeGreaterThanOrEqual(4);
  });
});

describe('webhooks', () => {
  it('forged and stale signatures get 400 and store nothing', async () => {
    const before = await api.db.prisma.webhookEvent.count();
    const forged = fake.event('invoice.paid', { id: 'in_forged' }, { secret: 'whsec_wrong' });
    expect((await postWebhook(api, forged.payload, forged.signature)).status).toBe(400);
    const stale = fake.event('invoice.paid', { id: 'in_stale' }, { secret: WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect((await postWebhook(api, stale.payload, stale.signature)).status).toBe(400);
    const tampered = fake.event('invoice.paid', { id: 'in_tampered' }, { secret: WEBHOOK_SECRET });
    expect((await postWebhook(api, tampered.payload.replace('in_tampered', 'in_other'), tampered.signature)).status).toBe(400);
    expect((await postWebhook(api, tampered.payload, '')).status).toBe(400);
    expect(await api.db.prisma.webhookEvent.count()).toBe(before);
  });

  it('a handler failure is recorded, listed for admins, and a replay succeeds', async () => {
    const user = await subscribe('retry-user');
    fake.setSubscription(user.subscriptionId, { cancel_at_period_end: true });
    fake.failNext(`GET /v1/subscriptions/${user.subscriptionId}`);
    const { event, result } = await deliver('customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!);
    expect(result.status).toBe('FAILED');
    const failed = await api.db.prisma.webhookEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(failed.lastError).toContain('injected failure');

    const list = await api.graphql(`query { failedWebhookEvents(first: 10) { totalCount edges { node { stripeEventId type attempts lastError } } } }`, {}, adminToken);
    expect(list.body.data.failedWebhookEvents.edges.map((edge: any) => edge.node.stripeEventId)).toContain(event.id);
    const user2 = await newUser(api, 'not-admin');
    expect((await api.graphql(`query { failedWebhookEvents { totalCount } }`, {}, user2.token)).body.errors![0]!.extensions!.code).toBe('FORBIDDEN');

    const replay = await api.graphql(`mutation($id: String!) { replayWebhookEvent(eventId: $id) { __typename ... on WebhookEvent { status } } }`, { id: event.id }, adminToken);
    expect(replay.body.data.replayWebhookEvent).toEqual({ __typename: 'WebhookEvent', status: 'PENDING' });
    expect((await api.services.billing.processWebhookEvent(event.id)).status).toBe('PROCESSED');
    expect(await api.db.prisma.webhookEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({ status: 'PROCESSED', attempts: 2, lastError: null });
    expect((await viewer(user.token)).subscription.cancelAtPeriodEnd).toBe(true);
    expect(await api.db.prisma.adminAuditLog.count({ where: { action: 'webhookEvent.replay', targetId: event.id } })).toBe(1);
  });

  it('product, price and customer events keep the mirror in step', async () => {
    fake.product('prod_new', { name: 'New product' });
    await deliver('product.created', fake.products.get('prod_new')!);
    fake.products.delete('prod_new');
    await deliver('product.deleted', { id: 'prod_new', object: 'product', deleted: true });
    expect(await api.db.prisma.stripeProduct.findUnique({ where: { id: 'prod_new' } })).toMatchObject({ deleted: true });
    fake.prices.get('price_pro_month')!.nickname = 'Pro monthly';
    await deliver('price.updated', fake.prices.get('price_pro_month')!);
    expect(await api.db.prisma.stripePrice.findUnique({ where: { id: 'price_pro_month' } })).toMatchObject({ nickname: 'Pro monthly' });

    const user = await newUser(api, 'deleted-customer');
    const customer = await api.services.billing.ensureCustomer(user.userId);
    await deliver('customer.deleted', { id: customer, object: 'customer', deleted: true });
    expect((await api.db.prisma.stripeCustomer.findUniqueOrThrow({ where: { id: customer } })).deletedAt).not.toBeNull();
  });
});

describe('without a Stripe key', () => {
  let bare: TestApp;
  beforeAll(async () => {
    bare = await startTestApp();
  });
  afterAll(async () => {
    await bare?.close();
  });

  it('billing mutations return BillingNotConfiguredError and the rest of the API works', async () => {
    const token = await bare.token('no-billing');
    const response = await bare.graphql(CHECKOUT, { input: { planKey: 'plus', successUrl: `${ORIGIN}/a`, cancelUrl: `${ORIGIN}/b` } }, token);
    expect(response.body.data.createCheckoutSession.__typename).toBe('BillingNotConfiguredError');
    const cancel = await bare.graphql(`mutation { cancelSubscription { __typename } }`, {}, token);
    expect(cancel.body.data.cancelSubscription.__typename).toBe('BillingNotConfiguredError');
    expect((await bare.graphql(`query { plans { key } viewer { subscription { status } } }`, {}, token)).body.data).toEqual({
      plans: [{ key: 'free' }, { key: 'plus' }, { key: 'pro' }],
      viewer: { subscription: null },
    });
    const webhook = await fetch(`${bare.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(webhook.status).toBe(503);
  });
});
