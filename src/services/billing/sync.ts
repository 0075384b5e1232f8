import type { Stripe } from './stripe.js';
import type { CatalogService } from './catalog.js';
import type { BillingCore } from './shared.js';
import type { SubscriptionService } from './subscriptions.js';

export interface SyncCheckpoint {
  phase: SyncPhase;
  startingAfter?: string;
}
export type SyncPhase = 'products' | 'prices' | 'customers' | 'subscriptions';

/** Pulls the catalog (and with a backfill, customers and subscriptions) from Stripe into the mirror. */
export class SyncService {
  constructor(
    private readonly core: BillingCore,
    private readonly catalog: CatalogService,
    private readonly subscriptions: SubscriptionService,
  ) {}

  /**
   * Pulls products and prices (and with `backfill`, customers and subscriptions) from Stripe into the mirror.
   * Every write is an upsert, so running it again is harmless; `resumeFrom` continues after the last page done.
   */
  async syncFromStripe(options: {
    backfill?: boolean;
    resumeFrom?: SyncCheckpoint | null;
    onPage?: (progress: { phase: SyncPhase; done: number; hasMore: boolean; checkpoint: SyncCheckpoint }) => void | Promise<void>;
  } = {}): Promise<Record<SyncPhase, number>> {
    const stripe = this.core.stripe;
    const phases: SyncPhase[] = options.backfill ? ['products', 'prices', 'customers', 'subscriptions'] : ['products', 'prices'];
    const counts: Record<SyncPhase, number> = { products: 0, prices: 0, customers: 0, subscriptions: 0 };
    const resumeIndex = options.resumeFrom ? phases.indexOf(options.resumeFrom.phase) : 0;
    for (const [index, phase] of phases.entries()) {
      if (index < resumeIndex) continue;
      let startingAfter = index === resumeIndex ? options.resumeFrom?.startingAfter : undefined;
      for (;;) {
        const params = { limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) };
        const page =
          phase === 'products'
            ? await stripe.products.list(params)
            : phase === 'prices'
              ? await stripe.prices.list(params)
              : phase === 'customers'
                ? await stripe.customers.list(params)
                : await stripe.subscriptions.list({ ...params, status: 'all' });
        for (const item of page.data) {
          if (phase === 'products') await this.catalog.mirrorProduct(this.core.deps.prisma, item as Stripe.Product);
          if (phase === 'prices') await this.core.deps.prisma.$transaction((tx) => this.catalog.mirrorPrice(tx, item as Stripe.Price));
          if (phase === 'customers' && !(await this.mirrorCustomer(item as Stripe.Customer))) continue;
          if (phase === 'subscriptions') {
            try {
              await this.subscriptions.recordSubscription(item as Stripe.Subscription, { reason: 'sync' });
            } catch (error) {
              this.core.deps.log.warn({ err: error, subscription: (item as { id: string }).id }, 'subscription skipped');
              continue;
            }
          }
          counts[phase]++;
        }
        startingAfter = page.data.at(-1)?.id ?? startingAfter;
        await options.onPage?.({ phase, done: counts[phase], hasMore: page.has_more, checkpoint: { phase, startingAfter } });
        if (!page.has_more || page.data.length === 0) break;
      }
    }
    return counts;
  }

  private async mirrorCustomer(customer: Stripe.Customer | Stripe.DeletedCustomer): Promise<boolean> {
    if ('deleted' in customer && customer.deleted) {
      await this.core.deps.prisma.stripeCustomer.updateMany({ where: { id: customer.id }, data: { deletedAt: this.core.now() } });
      return true;
    }
    const full = customer as Stripe.Customer;
    const userId = full.metadata?.userId;
    const user = userId ? await this.core.deps.prisma.user.findUnique({ where: { id: userId } }).catch(() => null) : null;
    if (!user) return false;
    const mine = await this.core.deps.prisma.stripeCustomer.findUnique({ where: { userId: user.id } });
    if (mine && mine.id !== full.id && !mine.deletedAt) return false;
    await this.core.deps.prisma.stripeCustomer.upsert({
      where: { id: full.id },
      create: { id: full.id, userId: user.id, email: full.email },
      update: { email: full.email },
    });
    return true;
  }
}
