import type { Subscription } from '../../generated/prisma/client.js';
import type { Tx } from '../../db/client.js';
import { ENTITLED, systemKeys, type BillingCore, type EventContext } from './shared.js';
import { fromUnix, idOf, invoiceSubscriptionId, type Stripe } from './stripe.js';
import type { FetchedSubscription, SubscriptionService } from './subscriptions.js';

/** Billing reason of the invoices Stripe sends for a plan change inside a period (prorations, even at 0). */
const PRORATION = 'subscription_update';

/** Subscription invoices (paid, failed) and refunds of charges. */
export class PaymentService {
  constructor(
    private readonly core: BillingCore,
    private readonly subscriptions: SubscriptionService,
  ) {}

  private get deps() {
    return this.core.deps;
  }

  private async userForCustomer(tx: Tx, customerId: string | null): Promise<string | null> {
    if (!customerId) return null;
    return (await tx.stripeCustomer.findUnique({ where: { id: customerId } }))?.userId ?? null;
  }

  /**
   * invoice.paid records the payment and, when it pays a new billing period, starts that period's allowance (once per
   * subscription and period, never for a proration); payment_failed records the failure and starts nothing.
   * Reads the invoice, then its subscription (through `fetchSubscription`), and returns the writes, to run in a
   * transaction with no network I/O.
   */
  async prepareInvoice(
    invoiceId: string,
    outcome: 'paid' | 'failed',
    fetchSubscription: (id: string) => Promise<FetchedSubscription> = (id) => this.subscriptions.fetch(id),
  ): Promise<(tx: Tx, context: EventContext) => Promise<void>> {
    const invoice = await this.core.stripe.invoices.retrieve(invoiceId);
    const subscriptionId = invoiceSubscriptionId(invoice);
    const fetched: FetchedSubscription | null = subscriptionId ? await fetchSubscription(subscriptionId) : null;
    return async (tx, context) => {
      const stored = fetched ? await this.subscriptions.storeInReportingAllowance(tx, fetched, context) : null;
      const subscription = stored?.row ?? null;
      const userId = subscription?.userId ?? (await this.userForCustomer(tx, idOf(invoice.customer as string | { id: string } | null)));
      if (!userId) throw new Error(`Invoice ${invoice.id}: no user for customer ${String(invoice.customer)}`);
      const base = {
        userId,
        kind: 'SUBSCRIPTION' as const,
        currency: invoice.currency,
        description: subscription?.plan ? `${subscription.plan.name} subscription` : (invoice.description ?? 'Subscription'),
        stripeInvoiceId: invoice.id,
        stripeSubscriptionId: subscriptionId,
      };
      if (outcome === 'failed') {
        if (invoice.status === 'paid') return;
        // A payment already recorded for the invoice stays as it is.
        await tx.payment.createMany({ data: [{ ...base, status: 'FAILED', amountCents: invoice.amount_due }], skipDuplicates: true });
        if (subscription) await this.recordPaymentFailure(tx, subscription, context, invoice);
        return;
      }
      if (invoice.status !== 'paid') return;
      const paidAt = fromUnix(invoice.status_transitions?.paid_at) ?? this.core.now();
      // Inserted unless the invoice already has a payment (one statement for the usual first delivery); a failed one
      // becomes paid, any other stays as it is.
      let [payment] = await tx.payment.createManyAndReturn({
        data: [{ ...base, status: 'PAID', amountCents: invoice.amount_paid, paidAt }],
        skipDuplicates: true,
        select: { id: true },
      });
      if (!payment) {
        const existing = await tx.payment.findUniqueOrThrow({ where: { stripeInvoiceId: invoice.id }, select: { id: true, status: true } });
        payment =
          existing.status === 'FAILED'
            ? await tx.payment.update({ where: { id: existing.id }, data: { status: 'PAID', amountCents: invoice.amount_paid, paidAt }, select: { id: true } })
            : existing;
      }

      if (!subscription?.plan || !ENTITLED.has(subscription.status) || invoice.billing_reason === PRORATION) return;
      const lineEnd = Math.max(0, ...(invoice.lines?.data ?? []).map((line) => line.period?.end ?? 0));
      if (lineEnd && subscription.currentPeriodStart && lineEnd * 1000 <= subscription.currentPeriodStart.getTime()) {
        return; // pays a period that is already over: a late delivery must not reset the current one
      }
      if (stored?.periodStarted) return; // started when the subscription was first seen entitled, or by another delivery
      await this.subscriptions.startPaidPeriod(tx, subscription, { reason: `invoice ${invoice.id} paid`, paymentId: payment.id });
    };
  }

  private async recordPaymentFailure(tx: Tx, subscription: Subscription, context: EventContext, invoice: Stripe.Invoice) {
    if (context.stripeEventId) {
      const seen = await tx.subscriptionEvent.findFirst({ where: { stripeEventId: context.stripeEventId, type: 'payment_failed' } });
      if (seen) return;
    }
    await tx.subscriptionEvent.create({
      data: {
        userId: subscription.userId,
        subscriptionId: subscription.id,
        type: 'payment_failed',
        toStatus: subscription.status,
        stripeEventId: context.stripeEventId ?? null,
        data: { invoice: invoice.id, amountDue: invoice.amount_due, attemptCount: invoice.attempt_count },
      },
    });
  }

  /**
   * Takes back the refunded share of a pack's credits. What the user already spent cannot be taken back; it is
   * recorded on the payment (creditsUnrecovered), never left as a negative balance.
   */
  async handleChargeRefunded(chargeId: string, context: Pick<EventContext, 'recordApplied'> = {}) {
    const charge = await this.core.stripe.charges.retrieve(chargeId);
    const paymentIntentId = idOf(charge.payment_intent as string | { id: string } | null);
    await this.core.applying(context, async (tx) => {
      const found = await tx.payment.findFirst({
        where: { OR: [{ stripeChargeId: charge.id }, ...(paymentIntentId ? [{ stripePaymentIntentId: paymentIntentId }] : [])] },
      });
      if (!found) throw new Error(`Charge ${charge.id}: no payment recorded for it yet`);
      const [payment] = await tx.$queryRaw<
        { id: string; userId: string | null; kind: string; amountCents: number; amountRefundedCents: number; creditsGranted: number; creditsClawedBack: number; creditsUnrecovered: number }[]
      >`SELECT id, "userId", kind, "amountCents", "amountRefundedCents", "creditsGranted", "creditsClawedBack", "creditsUnrecovered"
        FROM "Payment" WHERE id = ${found.id}::uuid FOR UPDATE`;
      const refunded = Math.min(charge.amount_refunded, payment!.amountCents || charge.amount_refunded);
      if (refunded <= payment!.amountRefundedCents) return;
      let clawedBack = payment!.creditsClawedBack;
      let unrecovered = payment!.creditsUnrecovered;
      if (payment!.kind === 'CREDIT_PACK' && payment!.creditsGranted > 0 && payment!.userId) {
        const share = payment!.amountCents > 0 ? refunded / payment!.amountCents : 1;
        const target = Math.min(payment!.creditsGranted, Math.ceil(payment!.creditsGranted * share));
        const owed = target - clawedBack - unrecovered;
        if (owed > 0) {
          const grant = await tx.creditGrant.findFirst({ where: { paymentId: payment!.id } });
          const result = await this.deps.credits.takeBack(
            payment!.userId,
            {
              amount: owed,
              reason: `refund of charge ${charge.id}`,
              preferGrantId: grant?.id ?? null,
              paymentId: payment!.id,
              idempotencyKey: systemKeys.refund(charge.id, refunded),
            },
            tx,
          );
          clawedBack += result.taken;
          unrecovered += result.unrecovered;
        }
      }
      await tx.payment.update({
        where: { id: payment!.id },
        data: {
          stripeChargeId: charge.id,
          amountRefundedCents: refunded,
          status: refunded >= payment!.amountCents ? 'REFUNDED' : 'PARTIALLY_REFUNDED',
          creditsClawedBack: clawedBack,
          creditsUnrecovered: unrecovered,
        },
      });
    });
  }
}
