import { randomBytes } from 'node:crypto';
import { Webhook } from 'svix';
import { startTestApp, type TestApp } from './support/app.js';
import { CHECKOUT, ORIGIN, startBillingApp, VERIFY } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';

const CLERK_WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const VIEWER = `query { viewer { id email name role } }`;

let api: TestApp;
let fake: FakeStripe;
let messages = 0;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(true, { env: { CLERK_WEBHOOK_SECRET, ADMIN_EMAILS: 'admin@example.com' } }));
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

/** A Clerk User object as the Backend API and webhooks send it (trimmed to what matters here). */
function clerkUser(id: string, overrides: { email?: string; verified?: boolean; first?: string; last?: string; image?: string; updatedAt?: number } = {}) {
  const email = overrides.email ?? `${id}@example.com`;
  return {
    id,
    object: 'user',
    first_name: overrides.first ?? 'Grace',
    last_name: overrides.last ?? 'Hopper',
    username: null,
    image_url: overrides.image ?? `https://img.clerk.com/${id}.png`,
    primary_email_address_id: `idn_${id}`,
    email_addresses: [
      {
        id: `idn_${id}`,
        object: 'email_address',
        email_address: email,
        verification: { status: overrides.verified === false ? 'unverified' : 'verified', strategy: 'email_code' },
        linked_to: [],
      },
    ],
    created_at: 1_764_460_800_000,
    updated_at: overrides.updatedAt ?? 1_764_460_800_000,
  };
}

/** The body and the three Svix headers Clerk sends, signed by the svix library with the endpoint's secret. */
function signed(type: string, data: object, options: { secret?: string; id?: string; signedAt?: Date } = {}) {
  const id = options.id ?? `msg_${++messages}${randomBytes(6).toString('hex')}`;
  const body = JSON.stringify({ data, object: 'event', type, timestamp: Date.now(), instance_id: 'ins_123' });
  const now = options.signedAt ?? new Date();
  const signature = new Webhook(options.secret ?? CLERK_WEBHOOK_SECRET).sign(id, now, body);
  const headers = { 'svix-id': id, 'svix-timestamp': String(Math.floor(now.getTime() / 1000)), 'svix-signature': signature };
  return { id, body, headers };
}

async function post(delivery: { body: string; headers: Record<string, string> }) {
  const response = await fetch(`${api.url}/webhooks/clerk`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...delivery.headers },
    body: delivery.body,
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function processed(eventId: string) {
  for (let attempt = 0; attempt < 150; attempt++) {
    const row = await api.db.prisma.clerkWebhookEvent.findUnique({ where: { id: eventId } });
    if (row?.status === 'PROCESSED') return row;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Clerk event ${eventId} was never processed`);
}

const userOf = (clerkId: string) => api.db.prisma.user.findUnique({ where: { externalAuthId: clerkId } });

describe('POST /webhooks/clerk', () => {
  it('user.created makes the user the API serves to that Clerk subject', async () => {
    const delivery = signed('user.created', clerkUser('user_2grace'));
    expect(await post(delivery)).toEqual({ status: 200, body: { received: true, eventId: delivery.id, duplicate: false } });
    await processed(delivery.id);
    const row = await userOf('user_2grace');
    expect(row).toMatchObject({ email: 'user_2grace@example.com', name: 'Grace Hopper', image: 'https://img.clerk.com/user_2grace.png' });
    expect(row!.emailVerified).not.toBeNull();

    const viewer = await api.graphql(VIEWER, {}, await api.token('user_2grace'));
    expect(viewer.body.data.viewer).toMatchObject({ email: 'user_2grace@example.com', name: 'user_2grace' });
    expect(await api.db.prisma.user.count({ where: { externalAuthId: 'user_2grace' } })).toBe(1);
  });

  it('a replayed delivery is acknowledged and processed once', async () => {
    const delivery = signed('user.created', clerkUser('user_2replay'));
    const first = await post(delivery);
    const replays = await Promise.all([post(delivery), post(delivery), post(delivery)]);
    expect(first.body.duplicate).toBe(false);
    expect(replays.map((replay) => replay.status)).toEqual([200, 200, 200]);
    expect(replays.every((replay) => replay.body.duplicate === true)).toBe(true);
    const row = await processed(delivery.id);
    expect(row.attempts).toBe(1);
    expect(await api.db.prisma.clerkWebhookEvent.count({ where: { id: delivery.id } })).toBe(1);
    expect(await api.db.prisma.user.count({ where: { externalAuthId: 'user_2replay' } })).toBe(1);
  });

  it('refuses a bad signature, or a signature older or newer than 5 minutes, with 400 and stores nothing', async () => {
    const forged = signed('user.created', clerkUser('user_2mallory', { email: 'admin@example.com' }), {
      secret: `whsec_${randomBytes(24).toString('base64')}`,
    });
    const altered = signed('user.created', clerkUser('user_2mallory'));
    altered.body = altered.body.replace('user_2mallory@example.com', 'admin@example.com');
    const unsigned = { ...signed('user.created', clerkUser('user_2mallory')), headers: {} };
    const captured = signed('user.created', clerkUser('user_2mallory'), { signedAt: new Date(Date.now() - 10 * 60_000) });
    const predated = signed('user.created', clerkUser('user_2mallory'), { signedAt: new Date(Date.now() + 10 * 60_000) });
    for (const delivery of [forged, altered, unsigned, captured, predated]) {
      const response = await post(delivery);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid signature');
    }
    expect(await api.db.prisma.clerkWebhookEvent.count({ where: { clerkUserId: 'user_2mallory' } })).toBe(0);
    expect(await userOf('user_2mallory')).toBeNull();
  });

  it('refuses a signed body that is not a Clerk user event with 400 and stores nothing', async () => {
    const noUserId = signed('user.created', { object: 'user', first_name: 'No id' });
    const response = await post(noUserId);
    expect(response).toMatchObject({ status: 400, body: { error: 'invalid event: data.id must be a Clerk id (letters, digits, _ and -)' } });
    expect(await api.db.prisma.clerkWebhookEvent.count({ where: { id: noUserId.id } })).toBe(0);
  });

  it('takes an email only when Clerk verified it: no admin from an unverified address', async () => {
    const unverified = signed('user.created', clerkUser('user_2claimant', { email: 'admin@example.com', verified: false }));
    await post(unverified);
    await processed(unverified.id);
    const row = await userOf('user_2claimant');
    expect(row).toMatchObject({ email: 'admin@example.com', emailVerified: null, role: 'USER' });

    const verified = signed('user.updated', clerkUser('user_2claimant', { email: 'admin@example.com', updatedAt: 1_764_460_900_000 }));
    await post(verified);
    await processed(verified.id);
    expect((await userOf('user_2claimant'))!.emailVerified).not.toBeNull();
  });

  it('user.updated changes name, picture and email; an older event arriving late changes nothing', async () => {
    const created = signed('user.created', clerkUser('user_2ada', { first: 'Ada', last: 'Byron', updatedAt: 1_000 }));
    await post(created);
    await processed(created.id);
    const renamed = signed(
      'user.updated',
      clerkUser('user_2ada', { first: 'Ada', last: 'Lovelace', email: 'ada@lovelace.example.com', image: 'https://img.clerk.com/ada-2.png', updatedAt: 3_000 }),
    );
    await post(renamed);
    await processed(renamed.id);
    const stale = signed('user.updated', clerkUser('user_2ada', { first: 'Ada', last: 'Stale', updatedAt: 2_000 }));
    await post(stale);
    await processed(stale.id);

    expect(await userOf('user_2ada')).toMatchObject({ name: 'Ada Lovelace', email: 'ada@lovelace.example.com', image: 'https://img.clerk.com/ada-2.png' });
  });

  it('user.deleted deletes the account as deleteAccount does: Stripe stops charging, personal data goes, the ledger stays', async () => {
    const user = await api.signUp('user_2leaver');
    const checkout = await api.graphql(
      CHECKOUT,
      { input: { planKey: 'pro', interval: 'MONTH', successUrl: `${ORIGIN}/ok`, cancelUrl: `${ORIGIN}/no` } },
      user.token,
    );
    const sessionId = checkout.body.data.createCheckoutSession.sessionId as string;
    const subscriptionId = fake.completeSession(sessionId).subscription as string;
    await api.graphql(VERIFY, { sessionId }, user.token);
    const ledgerBefore = await api.db.prisma.creditTransaction.findMany({ where: { userId: user.userId } });
    expect(ledgerBefore.length).toBeGreaterThan(0);

    const deleted = signed('user.deleted', { id: 'user_2leaver', object: 'user', deleted: true });
    expect((await post(deleted)).status).toBe(200);
    await processed(deleted.id);

    expect(fake.requests.some((request) => request.method === 'DELETE' && request.path === `/v1/subscriptions/${subscriptionId}`)).toBe(true);
    expect(await userOf('user_2leaver')).toMatchObject({ email: null, name: null, image: null, deletedAt: expect.any(Date) });
    expect(await api.db.prisma.creditTransaction.findMany({ where: { userId: user.userId } })).toEqual(expect.arrayContaining(ledgerBefore));
    const again = await api.graphql(VIEWER, {}, user.token);
    expect(again.status).toBe(401);
    expect(again.body.errors?.[0].message).toBe('This account has been deleted');

    // A user.updated delivered after the deletion does not bring the account back.
    const late = signed('user.updated', clerkUser('user_2leaver', { updatedAt: Date.now() }));
    await post(late);
    await processed(late.id);
    expect(await userOf('user_2leaver')).toMatchObject({ email: null, deletedAt: expect.any(Date) });
    expect(await api.services.credits.reconcile()).toEqual([]);
  }, 30_000);
});

describe('POST /webhooks/clerk without CLERK_WEBHOOK_SECRET', () => {
  it('answers 503 naming the variable, and stores nothing', async () => {
    const plain = await startTestApp();
    try {
      const delivery = signed('user.created', clerkUser('user_2unconfigured'));
      const response = await fetch(`${plain.url}/webhooks/clerk`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...delivery.headers },
        body: delivery.body,
      });
      expect(response.status).toBe(503);
      expect((await response.json()).error).toBe('Clerk webhooks are not configured on this server (CLERK_WEBHOOK_SECRET is not set)');
      expect(await plain.db.prisma.clerkWebhookEvent.count()).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
