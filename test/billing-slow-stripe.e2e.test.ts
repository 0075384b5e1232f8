import type { TestApp } from './support/app.js';
import { CHECKOUT, ORIGIN, postWebhook, startBillingApp, VERIFY, WEBHOOK_SECRET } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';

// Stripe is read before a transaction opens: a slow Stripe slows the billing calls that wait for it, and nothing
// else. With a pool of 3 connections, four billing calls waiting 3 s each on Stripe must not hold any of them.

const STRIPE_DELAY_MS = 3_000;
const SERVED_WITHIN_MS = 1_500;
let api: TestApp;
let fake: FakeStripe;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false, { env: { DATABASE_POOL_SIZE: '3' } }));
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

async function subscribe(name: string) {
  const user = await api.signUp(name);
  const created = await api.graphql(CHECKOUT, { input: { planKey: 'plus', successUrl: `${ORIGIN}/ok`, cancelUrl: `${ORIGIN}/no` } }, user.token);
  const sessionId = created.body.data.createCheckoutSession.sessionId as string;
  const completed = fake.completeSession(sessionId);
  expect((await api.graphql(VERIFY, { sessionId }, user.token)).body.data.verifyCheckoutSession.__typename).toBe('CheckoutResult');
  return { ...user, subscriptionId: completed.subscription as string };
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
}

it('other users are served quickly while webhooks and billing mutations wait on a slow Stripe', async () => {
  const subscribers = [];
  for (let i = 0; i < 6; i++) subscribers.push(await subscribe(`slow-stripe-subscriber-${i}`));
  const others = [];
  for (let i = 0; i < 3; i++) {
    const user = await api.signUp(`slow-stripe-bystander-${i}`);
    await api.services.credits.grant(user.userId, { amount: 100_000, source: 'PROMOTION', reason: 'enough for the whole test' });
    others.push(user);
  }

  fake.delay('GET /v1/subscriptions/', STRIPE_DELAY_MS);
  fake.delay('GET /v1/invoices/', STRIPE_DELAY_MS);
  const [renewed, ...updated] = subscribers.slice(0, 4);
  fake.advancePeriod(renewed!.subscriptionId);
  const events = [
    fake.event('invoice.paid', fake.invoice(renewed!.subscriptionId, { paid: true }), { secret: WEBHOOK_SECRET }),
    ...updated.map((user) => fake.event('customer.subscription.updated', fake.subscriptions.get(user.subscriptionId)!, { secret: WEBHOOK_SECRET })),
  ];
  for (const { payload, signature } of events) expect((await postWebhook(api, payload, signature)).status).toBe(200);

  let settled = false;
  const slow = Promise.all([
    ...events.map(({ event }) => api.services.billing.processWebhookEvent(event.id)),
    api.graphql(`mutation { cancelSubscription(atPeriodEnd: false) { __typename } }`, {}, subscribers[4]!.token),
    api.graphql(`mutation { changePlan(planKey: "pro") { __typename } }`, {}, subscribers[5]!.token),
  ]).finally(() => {
    settled = true;
  });

  // Other users keep asking for as long as billing waits on Stripe (two slow reads in a row for some calls).
  const served: { ms: number; errors: unknown; typename?: string }[] = [];
  while (!settled) {
    const round = await Promise.all(
      others.flatMap((user) => [
        timed(() => api.graphql(`query { viewer { id creditBalance { total } subscription { status } } }`, {}, user.token)),
        timed(() => api.graphql(`mutation { deductCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename } }`, {}, user.token)),
      ]),
    );
    served.push(...round.map(({ result, ms }) => ({ ms, errors: result.body.errors, typename: result.body.data?.deductCredits?.__typename })));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  fake.clearDelays();

  expect(served.length).toBeGreaterThanOrEqual(6 * 10);
  expect(served.filter((request) => request.errors)).toEqual([]);
  expect(served.filter((request) => request.typename && request.typename !== 'CreditMovement')).toEqual([]);
  expect(Math.max(...served.map((request) => request.ms))).toBeLessThan(SERVED_WITHIN_MS);

  const outcomes = await slow;
  expect(outcomes.slice(0, events.length)).toEqual(events.map(() => expect.objectContaining({ status: 'PROCESSED' })));
  const [canceled, changed] = outcomes.slice(events.length) as { body: { data: Record<string, { __typename: string }> } }[];
  expect(canceled!.body.data.cancelSubscription!.__typename).toBe('BillingSubscription');
  expect(changed!.body.data.changePlan!.__typename).toBe('BillingSubscription');
}, 60_000);
