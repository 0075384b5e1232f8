import type { FakeStripe } from './support/fake-stripe.js';
import type { TestApp } from './support/app.js';
import { CHECKOUT, newUser, ORIGIN, postWebhook, startBillingApp, WEBHOOK_SECRET } from './support/billing.js';

let api: TestApp;
let fake: FakeStripe;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(true));
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

async function waitForStatus(eventId: string, status: string) {
  for (let attempt = 0; attempt < 150; attempt++) {
    const row = await api.db.prisma.webhookEvent.findUnique({ where: { id: eventId } });
    if (row?.status === status) return row;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`event ${eventId} never reached ${status}`);
}

it('a webhook is acknowledged at once and applied by the job worker, once', async () => {
  const user = await newUser(api, 'jobs-buyer');
  const created = await api.graphql(
    CHECKOUT,
    { input: { packKey: 'pack-100', successUrl: `${ORIGIN}/ok`, cancelUrl: `${ORIGIN}/no` } },
    user.token,
  );
  const session = fake.completeSession(created.body.data.createCheckoutSession.sessionId);
  const { event, payload, signature } = fake.event('checkout.session.completed', session, { secret: WEBHOOK_SECRET });
  const first = await postWebhook(api, payload, signature);
  expect(first).toEqual({ status: 200, body: { received: true, eventId: event.id, duplicate: false } });
  expect((await postWebhook(api, payload, signature)).body.duplicate).toBe(true);
  const row = await waitForStatus(event.id, 'PROCESSED');
  expect(row.attempts).toBe(1);
  const balance = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: user.userId } });
  expect(balance.grantedRemaining).toBe(100);
});

it('a handler failure is retried by the worker after a back-off, then applied once', async () => {
  const user = await newUser(api, 'jobs-retry');
  const created = await api.graphql(
    CHECKOUT,
    { input: { packKey: 'pack-100', successUrl: `${ORIGIN}/ok`, cancelUrl: `${ORIGIN}/no` } },
    user.token,
  );
  const sessionId = created.body.data.createCheckoutSession.sessionId as string;
  const session = fake.completeSession(sessionId);
  fake.failNext(`GET /v1/checkout/sessions/${sessionId}`);
  const { event, payload, signature } = fake.event('checkout.session.completed', session, { secret: WEBHOOK_SECRET });
  expect((await postWebhook(api, payload, signature)).status).toBe(200);

  const failed = await waitForStatus(event.id, 'FAILED');
  const failedSeenAt = Date.now();
  expect(failed.lastError).toContain('injected failure');
  const applied = await waitForStatus(event.id, 'PROCESSED');
  expect(applied).toMatchObject({ attempts: 2, lastError: null });
  expect(applied.processedAt!.getTime() - failedSeenAt).toBeGreaterThanOrEqual(3500);
  const balance = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId: user.userId } });
  expect(balance.grantedRemaining).toBe(100);
}, 30_000);
