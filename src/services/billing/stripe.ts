import { createRequire } from 'node:module';
import type Stripe from 'stripe';
import { BillingNotConfiguredError, NotFoundError } from '../errors.js';

export interface StripeConfig {
  secretKey?: string;
  webhookSecret?: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  allowedOrigins: string[];
}

export type { Stripe };

// The SDK takes a good part of a second to load: only a server configured for Stripe loads it.
function loadStripe(): typeof Stripe {
  const loaded = createRequire(import.meta.url)('stripe') as typeof Stripe & { default?: typeof Stripe };
  return loaded.default ?? loaded;
}

/** The SDK client, pointed at another API host when configured (a local fake, stripe-mock). */
export function createStripeClient(config: StripeConfig): Stripe | null {
  if (!config.secretKey) return null;
  const StripeSdk = loadStripe();
  return new StripeSdk(config.secretKey, {
    apiVersion: StripeSdk.API_VERSION,
    ...(config.host ? { host: config.host } : {}),
    ...(config.port ? { port: config.port } : {}),
    ...(config.protocol ? { protocol: config.protocol } : {}),
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: 'imagegen-credits-api' },
  });
}

export function isMissingResource(error: unknown): boolean {
  const stripeError = error as { type?: unknown; code?: unknown; statusCode?: unknown } | null;
  return stripeError?.type === 'StripeInvalidRequestError' && (stripeError.code === 'resource_missing' || stripeError.statusCode === 404);
}

/** Turns Stripe's "no such object" into the domain's NotFoundError; anything else stays unexpected. */
export async function orNotFound<T>(resource: string, id: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (isMissingResource(error)) throw new NotFoundError(resource, id);
    throw error;
  }
}

export function requireStripe(stripe: Stripe | null): Stripe {
  if (!stripe) throw new BillingNotConfiguredError();
  return stripe;
}

export const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value == null ? null : typeof value === 'string' ? value : value.id;

export const fromUnix = (seconds: number | null | undefined): Date | null =>
  seconds == null ? null : new Date(seconds * 1000);

/** Since API 2025-03-31 the period lives on the subscription items, not the subscription. */
export function subscriptionPeriod(subscription: Stripe.Subscription): { start: Date | null; end: Date | null } {
  const items = subscription.items?.data ?? [];
  const starts = items.map((item) => item.current_period_start).filter((value): value is number => value != null);
  const ends = items.map((item) => item.current_period_end).filter((value): value is number => value != null);
  return {
    start: starts.length ? fromUnix(Math.min(...starts)) : null,
    end: ends.length ? fromUnix(Math.max(...ends)) : null,
  };
}

/** Since API 2025-03-31 an invoice names its subscription under parent.subscription_details. */
export function invoiceSubscriptionId(invoice: Stripe.Invoice): string | null {
  const fromParent = idOf(invoice.parent?.subscription_details?.subscription as string | { id: string } | null | undefined);
  if (fromParent) return fromParent;
  const legacy = (invoice as unknown as { subscription?: string | { id: string } | null }).subscription;
  return idOf(legacy);
}
