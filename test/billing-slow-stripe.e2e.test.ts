import type { TestApp } from './support/app.js';
import { CHECKOUT, ORIGIN, postWebhook, startBillingApp, VERIFY, WEBHOOK_SECRET } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';
import { within } from './support/processes.js';

// Stripe is read before a transaction opens: a Stripe that hangs holds up the billing calls that wait for it, and
// nothing else. With a pool of 3 connections and six billing calls stuck on Stripe, other users must still be served
// while Stripe has not answered; were a call to hold a connection (or a lock) while it waits, they would wait too.

const ROUNDS = 10;
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

it('other users are served while webhooks and billing mutations wait on a Stripe that does not answer', async () => {
  const subscribers = [];
  for (let i = 0; i < 6; i++) subscribers.push(await subscribe(`slow-stripe-subscriber-${i}`));
  const others = [];
  for (let i = 0; i < 3; i++) {
    const user = await api.signUp(`slow-stripe-bystander-${i}`);
    await api.services.credits.grant(user.userId, { amount: 100_000, source: 'PROMOTION', reason: 'enough for the whole test' });
    others.push(user);
  }

  fake.hold('GET /v1/subscriptions/', 'DELETE /v1/subscriptions/', 'GET /v1/invoices/');
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
  // Every one of the six calls is now inside its wait on Stripe.
  await within(
    (async () => {
      while (fake.heldCount() < 6) await new Promise((resolve) => setTimeout(resolve, 20));
    })(),
    30_000,
    'six billing calls reaching Stripe',
  );

  const served: { errors: unknown; typename?: string }[] = [];
  await within(
    (async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const answers = await Promise.all(
          others.flatMap((user) => [
            api.graphql(`query { viewer { id creditBalance { total } subscription { status } } }`, {}, user.token),
            api.graphql(`mutation { deductCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename } }`, {}, user.token),
          ]),
        );
        served.push(...answers.map((answer) => ({ errors: answer.body.errors, typename: answer.body.data?.deductCredits?.__typename })));
      }
    })(),
    30_000,
    'serving other users while Stripe hangs',
  );
  expect(settled).toBe(false);
  expect(fake.heldCount()).toBe(6);
  expect(served).toHaveLength(ROUNDS * 6);
  expect(served.filter((request) => request.errors)).toEqual([]);
  expect(served.filter((request) => request.typename && request.typename !== 'CreditMovement')).toEqual([]);

  fake.releaseHeld();
  const outcomes = await slow;
  expect(outcomes.slice(0, events.length)).toEqual(events.map(() => expect.objectContaining({ status: 'PROCESSED' })));
  const [canceled, changed] = outcomes.slice(events.length) as { body: { data: Record<string, { __typename: string }> } }[];
  expect(canceled!.body.data.cancelSubscription!.__typename).toBe('BillingSubscription');
  expect(changed!.body.data.changePlan!.__typename).toBe('BillingSubscription');
}, 120_000);
