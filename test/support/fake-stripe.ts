import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/stripe/${name}.json`, import.meta.url), 'utf8')) as Record<string, any>;
const FIXTURES = {
  customer: fixture('customer'),
  checkoutSession: fixture('checkout-session'),
  subscription: fixture('subscription'),
  invoice: fixture('invoice'),
  charge: fixture('charge'),
  product: fixture('product'),
  price: fixture('price'),
  portal: fixture('billing-portal-session'),
  event: fixture('event'),
};

type Obj = Record<string, any>;
const clone = <T>(value: T): T => structuredClone(value);
const nowSeconds = () => Math.floor(Date.now() / 1000);
const DAY = 86_400;

/** Stripe's form encoding (a[b][0][c]=v) back into nested objects and arrays. */
function parseForm(body: string): Obj {
  const root: Obj = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = rawKey.replace(/\]/g, '').split('[');
    let node: any = root;
    path.forEach((segment, index) => {
      const last = index === path.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(path[index + 1]!);
      if (last) node[segment] = value;
      else node = node[segment] ??= nextIsIndex ? [] : {};
    });
  }
  return root;
}

let counter = 0;
const newId = (prefix: string) => `${prefix}_test${Date.now().toString(36)}${(++counter).toString(36).padStart(4, '0')}`;

/**
 * A local stand-in for the few Stripe endpoints the service calls, answering with Stripe's own example objects
 * (test/fixtures/stripe) with the fields a test is about overridden. State is in memory; tests drive it.
 */
export class FakeStripe {
  readonly customers = new Map<string, Obj>();
  readonly sessions = new Map<string, Obj>();
  readonly subscriptions = new Map<string, Obj>();
  readonly invoices = new Map<string, Obj>();
  readonly charges = new Map<string, Obj>();
  readonly products = new Map<string, Obj>();
  readonly prices = new Map<string, Obj>();
  /** Every request in arrival order; `at` and `answeredAt` are Date.now() when it arrived and when it was answered. */
  readonly requests: { method: string; path: string; body: Obj; at: number; answeredAt?: number }[] = [];
  /** Milliseconds every answer waits: a Stripe that is far away. */
  latencyMs = 0;
  private failures: { match: string; remaining: number; skip: number }[] = [];
  private holds: { matches: string[]; released: Promise<void>; open: () => void }[] = [];
  private heldWaiting = 0;
  private server!: Server;
  private hosted: { webhookUrl: string; webhookSecret: string } | null = null;
  port = 0;
  readonly sdk = new Stripe('sk_test_fake');

  static async start() {
    const fake = new FakeStripe();
    fake.server = createServer((request, response) => {
      if (fake.hosted && request.url?.startsWith('/c/pay/')) {
        fake.handleHostedCheckout(request, response).catch((error) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        });
        return;
      }
      fake.handle(request).then(
        ({ status, body }) => {
          response.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
          response.end(JSON.stringify(body));
        },
        (error) => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: { type: 'api_error', message: String(error) } }));
        },
      );
    });
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  close() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Checkout sessions get a payment page on this server instead of checkout.stripe.com: a Pay button that completes
   * the session, delivers the signed `checkout.session.completed` webhook to `webhookUrl` and sends the browser to
   * the session's success_url, as Stripe's hosted checkout does.
   */
  hostCheckout(options: { webhookUrl: string; webhookSecret: string }) {
    this.hosted = options;
  }

  private async handleHostedCheckout(request: IncomingMessage, response: ServerResponse) {
    const sessionId = decodeURIComponent(new URL(request.url!, 'http://fake').pathname.slice('/c/pay/'.length));
    const session = this.sessions.get(sessionId);
    if (!session) {
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('<p>This checkout session does not exist.</p>');
      return;
    }
    if (request.method === 'POST') {
      for await (const _chunk of request); // the form carries nothing the fake needs
      const completed = session.status === 'complete' ? session : this.completeSession(sessionId);
      const { payload, signature } = this.event('checkout.session.completed', completed, { secret: this.hosted!.webhookSecret });
      const delivery = await fetch(this.hosted!.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body: payload,
      });
      if (!delivery.ok) throw new Error(`the webhook was refused: ${delivery.status} ${await delivery.text()}`);
      response.writeHead(303, { location: String(session.success_url).replace('{CHECKOUT_SESSION_ID}', sessionId) });
      response.end();
      return;
    }
    const amount = `${(Number(session.amount_total) / 100).toFixed(2)} ${String(session.currency).toUpperCase()}`;
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><html><head><title>Checkout</title></head><body style="font-family: sans-serif; max-width: 420px; margin: 48px auto">
<h1>Test checkout</h1><p>Pay <strong>${amount}</strong> (${session.mode === 'subscription' ? 'subscription' : 'one-time payment'})</p>
<form method="post"><button type="submit">Pay</button></form>
<p><a href="${String(session.cancel_url).replace(/"/g, '&quot;')}">Cancel</a></p></body></html>`);
  }

  /** The next `times` requests whose "METHOD /path" contains `match` answer 400, after letting `after` of them pass. */
  failNext(match: string, times = 1, { after = 0 }: { after?: number } = {}) {
    this.failures.push({ match, remaining: times, skip: after });
  }

  /**
   * Every request whose "METHOD /path" contains one of `matches` waits, unanswered, until `releaseHeld()`: a Stripe
   * that hangs. `heldCount()` says how many are waiting.
   */
  hold(...matches: string[]) {
    let open!: () => void;
    const released = new Promise<void>((resolve) => (open = resolve));
    this.holds.push({ matches, released, open });
  }

  heldCount() {
    return this.heldWaiting;
  }

  releaseHeld() {
    for (const hold of this.holds) hold.open();
    this.holds = [];
  }

  private async handle(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const body = method === 'GET' ? parseForm(url.search.slice(1)) : parseForm(Buffer.concat(chunks).toString('utf8'));
    const path = url.pathname;
    const logged: (typeof this.requests)[number] = { method, path, body, at: Date.now() };
    this.requests.push(logged);
    try {
      return await this.answer(method, path, body);
    } finally {
      logged.answeredAt = Date.now();
    }
  }

  private async answer(method: string, path: string, body: Obj): Promise<{ status: number; body: unknown }> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const hold = this.holds.find((item) => item.matches.some((match) => `${method} ${path}`.includes(match)));
    if (hold) {
      this.heldWaiting++;
      await hold.released;
      this.heldWaiting--;
    }
    const failure = this.failures.find((item) => item.remaining > 0 && `${method} ${path}`.includes(item.match));
    if (failure && failure.skip > 0) failure.skip--;
    else if (failure) {
      failure.remaining--;
      return { status: 400, body: { error: { type: 'invalid_request_error', message: 'injected failure' } } };
    }
    const parts = path.split('/').filter(Boolean).slice(1); // drop v1
    const missing = (id: string) => ({
      status: 404,
      body: { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such object: '${id}'` } },
    });
    const found = (map: Map<string, Obj>, id: string) => (map.has(id) ? { status: 200, body: map.get(id) } : missing(id));
    const list = (map: Map<string, Obj>) => {
      const all = [...map.values()];
      const after = body.starting_after ? all.findIndex((item) => item.id === body.starting_after) + 1 : 0;
      const limit = Number(body.limit ?? 10);
      const data = all.slice(after, after + limit);
      return { status: 200, body: { object: 'list', url: path, has_more: after + limit < all.length, data } };
    };
    const [resource, id, sub] = parts;

    if (resource === 'customers') {
      if (method === 'POST' && !id) {
        const customer = { ...clone(FIXTURES.customer), id: newId('cus'), email: body.email ?? null, name: body.name ?? null, metadata: body.metadata ?? {}, created: nowSeconds(), discount: null };
        this.customers.set(customer.id, customer);
        return { status: 200, body: customer };
      }
      if (!id) return list(this.customers);
      return found(this.customers, id);
    }
    if (resource === 'checkout' && id === 'sessions') {
      const sessionId = sub;
      if (method === 'POST' && !sessionId) return { status: 200, body: this.createSession(body) };
      return found(this.sessions, sessionId!);
    }
    if (resource === 'billing_portal' && id === 'sessions' && method === 'POST') {
      const session = { ...clone(FIXTURES.portal), id: newId('bps'), customer: body.customer, return_url: body.return_url, url: `https://billing.example.test/p/${newId('ses')}` };
      return { status: 200, body: session };
    }
    if (resource === 'subscriptions') {
      if (!id) return list(this.subscriptions);
      const subscription = this.subscriptions.get(id);
      if (!subscription) return missing(id);
      if (method === 'DELETE') {
        this.setSubscription(id, { status: 'canceled', canceled_at: nowSeconds(), ended_at: nowSeconds() });
      } else if (method === 'POST') {
        if (body.cancel_at_period_end !== undefined) {
          this.setSubscription(id, { cancel_at_period_end: body.cancel_at_period_end === 'true' });
        }
        if (body.items) {
          const priceId = body.items[0].price as string;
          subscription.items.data[0].price = this.prices.get(priceId) ?? { ...subscription.items.data[0].price, id: priceId };
        }
        if (body.metadata) subscription.metadata = { ...subscription.metadata, ...body.metadata };
      }
      return { status: 200, body: this.subscriptions.get(id) };
    }
    if (resource === 'invoices' && id) return found(this.invoices, id);
    if (resource === 'charges' && id) return found(this.charges, id);
    if (resource === 'products') return id ? found(this.products, id) : list(this.products);
    if (resource === 'prices') return id ? found(this.prices, id) : list(this.prices);
    return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path})` } } };
  }

  private createSession(body: Obj) {
    const line = body.line_items?.[0] ?? {};
    const session: Obj = {
      ...clone(FIXTURES.checkoutSession),
      id: newId('cs_test'),
      mode: body.mode,
      customer: body.customer ?? null,
      client_reference_id: body.client_reference_id ?? null,
      metadata: body.metadata ?? {},
      success_url: body.success_url,
      cancel_url: body.cancel_url,
      status: 'open',
      payment_status: 'unpaid',
      payment_intent: null,
      subscription: null,
      invoice: null,
      created: nowSeconds(),
      expires_at: nowSeconds() + DAY,
      amount_total: line.price ? (this.prices.get(line.price)?.unit_amount ?? 0) : Number(line.price_data?.unit_amount ?? 0),
      currency: 'usd',
      line_price: line.price ?? null,
      subscription_metadata: body.subscription_data?.metadata ?? {},
    };
    session.url = this.hosted ? `http://127.0.0.1:${this.port}/c/pay/${session.id}` : `https://checkout.stripe.com/c/pay/${session.id}`;
    this.sessions.set(session.id, session);
    return session;
  }

  // ------------------------------------------------------------------ what Stripe would do on its side

  product(id: string, overrides: Obj = {}) {
    const product = { ...clone(FIXTURES.product), id, default_price: null, ...overrides };
    this.products.set(id, product);
    return product;
  }

  price(id: string, productId: string, overrides: Obj = {}) {
    const price = { ...clone(FIXTURES.price), id, product: productId, transform_quantity: null, ...overrides };
    this.prices.set(id, price);
    return price;
  }

  /** The customer pays: the session completes, and a subscription (with its first invoice) or a payment exists. */
  completeSession(sessionId: string, options: { trialDays?: number; periodStart?: number } = {}) {
    const session = this.sessions.get(sessionId)!;
    if (session.mode === 'subscription') {
      const subscription = this.createSubscription({
        customer: session.customer,
        priceId: session.line_price,
        metadata: session.subscription_metadata,
        trialDays: options.trialDays,
        periodStart: options.periodStart,
      });
      const invoice = this.invoice(subscription.id, { billing_reason: 'subscription_create', paid: true });
      Object.assign(session, { subscription: subscription.id, invoice: invoice.id });
    } else {
      Object.assign(session, { payment_intent: newId('pi') });
    }
    Object.assign(session, { status: 'complete', payment_status: 'paid' });
    return session;
  }

  /** A subscription whose first period starts now (or at `periodStart`) and lasts its price's interval, or the trial. */
  createSubscription(options: { customer: string; priceId: string; metadata?: Obj; trialDays?: number; status?: string; periodStart?: number }) {
    const start = options.periodStart ?? nowSeconds();
    const yearly = this.prices.get(options.priceId)?.recurring?.interval === 'year';
    const end = start + (options.trialDays ?? (yearly ? 365 : 30)) * DAY;
    const template = clone(FIXTURES.subscription);
    const id = newId('sub');
    const item = {
      ...template.items.data[0],
      id: newId('si'),
      subscription: id,
      price: this.prices.get(options.priceId) ?? { ...template.items.data[0].price, id: options.priceId },
      current_period_start: start,
      current_period_end: end,
    };
    const subscription = {
      ...template,
      id,
      customer: options.customer,
      status: options.status ?? (options.trialDays ? 'trialing' : 'active'),
      metadata: options.metadata ?? {},
      created: start,
      start_date: start,
      billing_cycle_anchor: start,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      ended_at: null,
      trial_start: options.trialDays ? start : null,
      trial_end: options.trialDays ? end : null,
      items: { ...template.items, data: [item] },
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  setSubscription(id: string, patch: Obj) {
    Object.assign(this.subscriptions.get(id)!, patch);
    return this.subscriptions.get(id)!;
  }

  /** Moves the subscription into its next period. */
  advancePeriod(id: string) {
    const item = this.subscriptions.get(id)!.items.data[0];
    const length = item.current_period_end - item.current_period_start;
    item.current_period_start = item.current_period_end;
    item.current_period_end = item.current_period_start + length;
    return this.subscriptions.get(id)!;
  }

  /**
   * An invoice for the subscription's current period. A proration (`billing_reason: 'subscription_update'`) names
   * its own amount, which Stripe leaves unpaid (0) when negative, as for a downgrade.
   */
  invoice(subscriptionId: string, options: { billing_reason?: string; paid: boolean; amount?: number }) {
    const subscription = this.subscriptions.get(subscriptionId)!;
    const item = subscription.items.data[0];
    const template = clone(FIXTURES.invoice);
    const id = newId('in');
    const total = options.amount ?? item.price.unit_amount ?? 0;
    const amount = Math.max(0, total);
    const invoice = {
      ...template,
      id,
      customer: subscription.customer,
      subscription: null,
      parent: { type: 'subscription_details', quote_details: null, subscription_details: { metadata: subscription.metadata, subscription: subscriptionId } },
      billing_reason: options.billing_reason ?? 'subscription_cycle',
      status: options.paid ? 'paid' : 'open',
      amount_due: amount,
      amount_paid: options.paid ? amount : 0,
      amount_remaining: options.paid ? 0 : amount,
      total,
      subtotal: total,
      attempt_count: 1,
      attempted: true,
      period_start: item.current_period_start,
      period_end: item.current_period_end,
      status_transitions: { ...template.status_transitions, paid_at: options.paid ? nowSeconds() : null },
      lines: {
        ...template.lines,
        data: [{ ...template.lines.data[0], invoice: id, amount: total, period: { start: options.billing_reason === 'subscription_update' ? nowSeconds() : item.current_period_start, end: item.current_period_end } }],
      },
    };
    this.invoices.set(id, invoice);
    return invoice;
  }

  payInvoice(id: string) {
    const invoice = this.invoices.get(id)!;
    Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0, status_transitions: { ...invoice.status_transitions, paid_at: nowSeconds() } });
    return invoice;
  }

  /** A charge for a checkout's payment intent, refunded by `amountRefunded` cents. */
  refund(paymentIntentId: string, amount: number, amountRefunded: number) {
    const existing = [...this.charges.values()].find((charge) => charge.payment_intent === paymentIntentId);
    const charge = existing ?? { ...clone(FIXTURES.charge), id: newId('ch'), payment_intent: paymentIntentId, amount, captured: true, paid: true };
    Object.assign(charge, { amount_refunded: amountRefunded, refunded: amountRefunded >= amount });
    this.charges.set(charge.id, charge);
    return charge;
  }

  /** A signed webhook delivery: Stripe's event envelope around the object, and its stripe-signature header. */
  event(type: string, object: Obj, options: { secret: string; id?: string; created?: number; timestamp?: number }) {
    const event = {
      ...clone(FIXTURES.event),
      id: options.id ?? newId('evt'),
      type,
      created: options.created ?? nowSeconds(),
      api_version: Stripe.API_VERSION,
      data: { object: clone(object) },
    };
    const payload = JSON.stringify(event);
    const signature = this.sdk.webhooks.generateTestHeaderString({
      payload,
      secret: options.secret,
      ...(options.timestamp ? { timestamp: options.timestamp } : {}),
    });
    return { event, payload, signature };
  }
}
