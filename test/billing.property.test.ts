import fc from 'fast-check';
import type { TestApp } from './support/app.js';
import { CHECKOUT, ORIGIN, postWebhook, startBillingApp, VERIFY, WEBHOOK_SECRET } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';

// Random sequences of what a subscriber and Stripe can do (spend, change plan back and forth with the proration
// invoices Stripe sends, renew with a paid or a failed invoice, pay late, the period job running at any time), over
// HTTP with signed webhooks. A model of the allowance rules bounds what the user may have after every step: the
// running period gives at most the dearest plan held in it, minus what was spent from it. Nothing may exceed it.

const RUNS = Math.max(4, Math.ceil(Number(process.env.FAST_CHECK_RUNS ?? 48) / 4));
const SEED = process.env.FAST_CHECK_SEED ? Number(process.env.FAST_CHECK_SEED) : 20261130;
const PLAN_CREDITS = { plus: 300, pro: 1000 } as const;
const PLAN_PRICE = { plus: 900, pro: 2900 } as const;
type PlanKey = keyof typeof PLAN_CREDITS;

let api: TestApp;
let fake: FakeStripe;
let adminToken: string;
let clockOffsetMs = 0;
let users = 0;

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false, { now: () => new Date(Date.now() + clockOffsetMs) }));
  const admin = await api.signUp('billing-property-admin', { email: 'admin@example.com' });
  adminToken = admin.token;
  const plus = await api.graphql(`mutation { updatePlan(key: "plus", input: { creditsPerPeriod: 300 }) { __typename } }`, {}, adminToken);
  expect(plus.body.data.updatePlan.__typename).toBe('Plan');
  await api.services.credits.setFeatureCosts(
    admin.userId,
    [7, 60, 250].map((cost) => ({ operation: `SPEND_${cost}`, cost })),
  );
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

type Step =
  | { kind: 'spend'; cost: 7 | 60 | 250 }
  | { kind: 'changePlan'; to: PlanKey }
  | { kind: 'renew'; paid: boolean }
  | { kind: 'payLate' }
  | { kind: 'periodJob' }
  | { kind: 'redeliverLastInvoice' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('spend' as const), cost: fc.constantFrom(7 as const, 60 as const, 250 as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('changePlan' as const), to: fc.constantFrom<PlanKey>('plus', 'pro') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('renew' as const), paid: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('payLate' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('periodJob' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redeliverLastInvoice' as const) }) },
);

async function deliver(type: string, object: Record<string, any>) {
  const { event, payload, signature } = fake.event(type, object, { secret: WEBHOOK_SECRET });
  expect((await postWebhook(api, payload, signature)).status).toBe(200);
  expect(await api.services.billing.processWebhookEvent(event.id)).toMatchObject({ status: 'PROCESSED' });
}

/** What the rules allow in the running period: the dearest plan held in it, less what was spent from it. */
interface Model {
  plan: PlanKey;
  cap: number;
  spentFromAllowance: number;
  pastDue: boolean;
  failedInvoice: string | null;
  lastInvoice: Record<string, any> | null;
}

async function subscribe(planKey: PlanKey) {
  const user = await api.signUp(`subscriber-${++users}`);
  const created = await api.graphql(
    CHECKOUT,
    { input: { planKey, interval: 'MONTH', successUrl: `${ORIGIN}/ok`, cancelUrl: `${ORIGIN}/no` } },
    user.token,
  );
  const sessionId = created.body.data.createCheckoutSession.sessionId as string;
  const completed = fake.completeSession(sessionId);
  const verified = (await api.graphql(VERIFY, { sessionId }, user.token)).body.data.verifyCheckoutSession;
  expect(verified).toMatchObject({ __typename: 'CheckoutResult', planKey });
  return { ...user, subscriptionId: completed.subscription as string };
}

async function apply(user: { token: string; subscriptionId: string }, model: Model, current: Step) {
  const sub = user.subscriptionId;
  switch (current.kind) {
    case 'spend': {
      const response = await api.graphql(
        `mutation($op: String!) { deductCredits(input: { operation: $op }) { __typename ... on CreditMovement { transaction { details } } } }`,
        { op: `SPEND_${current.cost}` },
        user.token,
      );
      const result = response.body.data.deductCredits;
      expect(['CreditMovement', 'InsufficientCreditsError']).toContain(result.__typename);
      if (result.__typename === 'CreditMovement') model.spentFromAllowance += result.transaction.details.fromAllowance;
      return;
    }
    case 'changePlan': {
      if (model.pastDue || model.plan === current.to) return;
      const response = await api.graphql(
        `mutation($planKey: String!) { changePlan(planKey: $planKey) { __typename } }`,
        { planKey: current.to },
        user.token,
      );
      expect(response.body.errors).toBeUndefined();
      const proration = PLAN_PRICE[current.to] - PLAN_PRICE[model.plan];
      const invoice = fake.invoice(sub, { billing_reason: 'subscription_update', paid: true, amount: proration });
      await deliver('customer.subscription.updated', fake.subscriptions.get(sub)!);
      await deliver('invoice.paid', invoice);
      model.plan = current.to;
      model.cap = Math.max(model.cap, PLAN_CREDITS[current.to]);
      model.lastInvoice = invoice;
      return;
    }
    case 'renew': {
      if (model.pastDue) return;
      clockOffsetMs = fake.subscriptions.get(sub)!.items.data[0].current_period_end * 1000 - Date.now() + 60_000;
      await api.services.credits.resetDueAllowances();
      fake.advancePeriod(sub);
      const invoice = fake.invoice(sub, { paid: current.paid });
      if (current.paid) {
        await deliver('customer.subscription.updated', fake.subscriptions.get(sub)!);
        await deliver('invoice.paid', invoice);
        Object.assign(model, { cap: PLAN_CREDITS[model.plan], spentFromAllowance: 0, lastInvoice: invoice });
      } else {
        fake.setSubscription(sub, { status: 'past_due' });
        await deliver('invoice.payment_failed', invoice);
        await deliver('customer.subscription.updated', fake.subscriptions.get(sub)!);
        Object.assign(model, { pastDue: true, failedInvoice: invoice.id });
      }
      return;
    }
    case 'payLate': {
      if (!model.failedInvoice) return;
      fake.payInvoice(model.failedInvoice);
      fake.setSubscription(sub, { status: 'active' });
      const paid = fake.invoices.get(model.failedInvoice)!;
      await deliver('invoice.paid', paid);
      Object.assign(model, { pastDue: false, failedInvoice: null, cap: PLAN_CREDITS[model.plan], spentFromAllowance: 0, lastInvoice: paid });
      return;
    }
    case 'periodJob':
      await api.services.credits.resetDueAllowances();
      return;
    case 'redeliverLastInvoice':
      if (model.lastInvoice) await deliver('invoice.paid', model.lastInvoice);
      return;
  }
}

async function assertWithinModel(userId: string, model: Model) {
  const balance = await api.db.prisma.creditBalance.findUniqueOrThrow({ where: { userId } });
  const { _sum } = await api.db.prisma.creditTransaction.aggregate({ where: { userId }, _sum: { amount: true } });
  expect(_sum.amount).toBe(balance.allowanceRemaining + balance.grantedRemaining);
  expect(balance.allowanceRemaining).toBeGreaterThanOrEqual(0);
  expect(balance.allowanceTotal).toBeLessThanOrEqual(model.cap);
  expect(balance.allowanceRemaining).toBeLessThanOrEqual(model.cap - model.spentFromAllowance);
}

describe('subscription allowance over random sequences of plan changes, renewals and payments', () => {
  it('never gives more than the dearest plan held in the period, less what was spent from it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<PlanKey>('plus', 'pro'),
        fc.array(step, { minLength: 2, maxLength: 10, size: 'max' }),
        async (startPlan, steps) => {
          clockOffsetMs = 0;
          const user = await subscribe(startPlan);
          const model: Model = {
            plan: startPlan,
            cap: PLAN_CREDITS[startPlan],
            spentFromAllowance: 0,
            pastDue: false,
            failedInvoice: null,
            lastInvoice: null,
          };
          await assertWithinModel(user.userId, model);
          for (const current of steps) {
            await apply(user, model, current);
            await assertWithinModel(user.userId, model);
          }
          expect((await api.services.credits.reconcile()).filter((row) => row.userId === user.userId)).toEqual([]);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);
});
