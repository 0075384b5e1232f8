import { FakeStripe } from './fake-stripe.js';
import { startTestApp, type TestApp } from './app.js';

export const WEBHOOK_SECRET = 'whsec_test_secret';
export const ORIGIN = 'http://localhost:3000';

export const CHECKOUT = `mutation($input: CreateCheckoutSessionInput!) {
  createCheckoutSession(input: $input) {
    __typename
    ... on CheckoutSession { sessionId url }
    ... on Error { message }
  }
}`;
export const VERIFY = `mutation($sessionId: String!) {
  verifyCheckoutSession(sessionId: $sessionId) {
    __typename
    ... on CheckoutResult { sessionId mode planKey packKey creditsGranted subscriptionStatus appliedAt }
    ... on Error { message }
  }
}`;
export const VIEWER_BILLING = `query {
  viewer {
    role tier membershipStatus
    creditBalance { allowanceTotal allowanceRemaining grantedRemaining total periodStart nextResetAt }
    subscription { status tier cancelAtPeriodEnd daysUntilRenewal currentPeriodEnd trialEnd plan { key } }
    payments(first: 10) { totalCount edges { node { kind status amountCents creditsGranted creditsClawedBack creditsUnrecovered } } }
  }
}`;

/** The app with billing configured against a fresh fake Stripe holding the catalog's products and prices. */
export async function startBillingApp(
  jobsEnabled: boolean,
  options: { now?: () => Date; env?: Record<string, string> } = {},
): Promise<{ api: TestApp; fake: FakeStripe }> {
  const fake = await FakeStripe.start();
  fake.product('prod_plus', { name: 'Plus' });
  fake.product('prod_pro', { name: 'Pro' });
  fake.product('prod_packs', { name: 'Credit packs' });
  const monthly = (amount: number) => ({ unit_amount: amount, unit_amount_decimal: String(amount), type: 'recurring', recurring: { interval: 'month', interval_count: 1, meter: null, usage_type: 'licensed', trial_period_days: null } });
  fake.price('price_plus_month', 'prod_plus', { ...monthly(900), metadata: { planKey: 'plus' } });
  fake.price('price_pro_month', 'prod_pro', { ...monthly(2900), metadata: { planKey: 'pro' } });
  fake.price('price_pack_100', 'prod_packs', { unit_amount: 500, unit_amount_decimal: '500', type: 'one_time', recurring: null, metadata: { packKey: 'pack-100' } });
  const api = await startTestApp({
    JOBS_ENABLED: jobsEnabled ? 'true' : 'false',
    STRIPE_SECRET_KEY: 'sk_test_x',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(fake.port),
    STRIPE_API_PROTOCOL: 'http',
    BILLING_ALLOWED_ORIGINS: ORIGIN,
    CREDITS_RATE_LIMIT_PER_MINUTE: '1000000',
    ...options.env,
  }, { now: options.now });
  await api.services.billing.syncFromStripe();
  return { api, fake };
}

export async function postWebhook(api: TestApp, payload: string, signature: string) {
  const response = await fetch(`${api.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as any };
}

export async function newUser(api: TestApp, name: string) {
  const { token, userId } = await api.signUp(name);
  return { token, userId };
}
