import { z } from 'zod';
import { Prisma, type CreditPack, type Plan } from '../../generated/prisma/client.js';
import type { Db, DbOrTx } from '../../db/client.js';
import { recordAdminAction } from '../audit.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { parseInput } from '../validation.js';
import { fromUnix, idOf, type Stripe } from './stripe.js';

const KEY = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'must be 1-48 lowercase letters, digits or -');
const CENTS = z.number().int().min(0).max(100_000_000);
const CREDITS = z.number().int().min(0).max(10_000_000);
const text = (max: number) => z.string().trim().min(1).max(max);
const optionalText = (max: number) => z.string().trim().max(max).nullish();
// Shown as a link on the pricing page: only http(s), never javascript: or data:.
const url = z.url({ protocol: /^https?$/, error: 'must be an absolute http or https URL' }).max(2000).nullish();

const planFields = {
  name: text(100),
  description: optionalText(2000),
  tier: z.enum(['FREE', 'PLUS', 'PRO']),
  creditsPerPeriod: CREDITS,
  monthlyPriceCents: CENTS,
  yearlyPriceCents: CENTS,
  currency: z.string().regex(/^[a-z]{3}$/, 'must be a 3-letter ISO code in lowercase').optional(),
  stripeProductId: optionalText(255),
  stripeMonthlyPriceId: optionalText(255),
  stripeYearlyPriceId: optionalText(255),
  features: z.array(text(200)).max(50).optional(),
  badge: optionalText(50),
  highlight: z.boolean().optional(),
  sortOrder: z.number().int().min(0).max(100_000).optional(),
  active: z.boolean().optional(),
  ctaType: z.enum(['CHECKOUT', 'CONTACT', 'LINK']).optional(),
  ctaLabel: optionalText(100),
  ctaUrl: url,
};
const planCreate = z.object({ key: KEY, ...planFields });
const planUpdate = z.object(planFields).partial();

const packFields = {
  name: text(100),
  description: optionalText(2000),
  credits: z.number().int().min(1).max(10_000_000),
  priceCents: CENTS,
  currency: z.string().regex(/^[a-z]{3}$/, 'must be a 3-letter ISO code in lowercase').optional(),
  stripeProductId: optionalText(255),
  stripePriceId: optionalText(255),
  expiresInDays: z.number().int().min(1).max(3650).nullish(),
  badge: optionalText(50),
  sortOrder: z.number().int().min(0).max(100_000).optional(),
  active: z.boolean().optional(),
};
const packCreate = z.object({ key: KEY, ...packFields });
const packUpdate = z.object(packFields).partial();

/** GraphQL hands null for omitted optional fields: null clears a nullable column and is ignored elsewhere. */
type Loose<T> = { [K in keyof T]?: T[K] | null };
export type PlanCreateInput = Loose<z.input<typeof planCreate>>;
export type PlanUpdateInput = Loose<z.input<typeof planUpdate>>;
export type PackCreateInput = Loose<z.input<typeof packCreate>>;
export type PackUpdateInput = Loose<z.input<typeof packUpdate>>;

const NULLABLE = new Set(['description', 'stripeProductId', 'stripeMonthlyPriceId', 'stripeYearlyPriceId', 'stripePriceId', 'badge', 'ctaLabel', 'ctaUrl', 'expiresInDays']);

function parse<T extends z.ZodType>(schema: T, input: object): z.output<T> {
  const cleaned = Object.fromEntries(Object.entries(input).filter(([key, value]) => value !== null || NULLABLE.has(key)));
  return parseInput(schema, cleaned);
}

/** Nulls from GraphQL mean "clear" for nullable columns and "leave alone" for required ones. */
function withoutUndefined<T extends Record<string, unknown>>(value: T, required: string[]): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([key, field]) => field !== undefined && !(field === null && required.includes(key))),
  ) as Partial<T>;
}

const REQUIRED_PLAN = ['name', 'tier', 'creditsPerPeriod', 'monthlyPriceCents', 'yearlyPriceCents', 'currency', 'features', 'highlight', 'sortOrder', 'active', 'ctaType'];
const REQUIRED_PACK = ['name', 'credits', 'priceCents', 'currency', 'sortOrder', 'active'];

export const DEFAULT_PLANS = [
  { key: 'free', name: 'Free', tier: 'FREE', creditsPerPeriod: 10, monthlyPriceCents: 0, yearlyPriceCents: 0, sortOrder: 0, ctaType: 'LINK', ctaLabel: 'Start free', features: ['10 credits a month', 'Standard quality'] },
  { key: 'plus', name: 'Plus', tier: 'PLUS', creditsPerPeriod: 100, monthlyPriceCents: 900, yearlyPriceCents: 9000, sortOrder: 1, ctaType: 'CHECKOUT', ctaLabel: 'Upgrade to Plus', features: ['100 credits a month', 'HD quality', 'Priority queue'], badge: 'Popular', highlight: true },
  { key: 'pro', name: 'Pro', tier: 'PRO', creditsPerPeriod: 1000, monthlyPriceCents: 2900, yearlyPriceCents: 29000, sortOrder: 2, ctaType: 'CHECKOUT', ctaLabel: 'Go Pro', features: ['1000 credits a month', 'HD quality', 'Priority queue', 'Commercial licence'] },
] as const;
export const DEFAULT_PACKS = [
  { key: 'pack-100', name: '100 credits', credits: 100, priceCents: 500, sortOrder: 0 },
  { key: 'pack-500', name: '500 credits', credits: 500, priceCents: 2000, sortOrder: 1, badge: 'Best value' },
] as const;

/** Plans and credit packs (admin-managed, audited) and the local mirror of Stripe products and prices. */
export class CatalogService {
  constructor(private readonly prisma: Db) {}

  activePlans() {
    return this.prisma.plan.findMany({ where: { active: true }, orderBy: [{ sortOrder: 'asc' }, { key: 'asc' }] });
  }

  /** Creates the default plans and packs that are missing; never overwrites what an admin changed. */
  async ensureDefaultCatalog() {
    // One INSERT ... ON CONFLICT DO NOTHING each: a row whose key exists is left as it is.
    await Promise.all([
      this.prisma.plan.createMany({
        data: DEFAULT_PLANS.map((plan) => ({ ...plan, features: [...plan.features] })),
        skipDuplicates: true,
      }),
      this.prisma.creditPack.createMany({ data: DEFAULT_PACKS.map((pack) => ({ ...pack })), skipDuplicates: true }),
    ]);
  }

  private async conflictOnDuplicate<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        const fields = (error.meta?.target as string[] | undefined)?.join(', ') ?? 'key';
        throw ValidationError.forField(fields, `another ${what} already uses this value`);
      }
      throw error;
    }
  }

  async createPlan(actorId: string, input: PlanCreateInput): Promise<Plan> {
    const data = parse(planCreate, input);
    return this.conflictOnDuplicate('plan', () =>
      this.prisma.$transaction(async (tx) => {
        const plan = await tx.plan.create({ data: withoutUndefined(data, REQUIRED_PLAN) as Prisma.PlanCreateInput });
        await recordAdminAction(tx, { actorId, action: 'plan.create', targetType: 'Plan', targetId: plan.id, data: { key: plan.key } });
        return plan;
      }),
    );
  }

  async updatePlan(actorId: string, key: string, input: PlanUpdateInput): Promise<Plan> {
    const data = withoutUndefined(parse(planUpdate, input), REQUIRED_PLAN);
    return this.conflictOnDuplicate('plan', () =>
      this.prisma.$transaction(async (tx) => {
        const before = await tx.plan.findUnique({ where: { key } });
        if (!before) throw new NotFoundError('Plan', key);
        const plan = await tx.plan.update({ where: { key }, data });
        await recordAdminAction(tx, {
          actorId,
          action: 'plan.update',
          targetType: 'Plan',
          targetId: plan.id,
          data: { key, changes: data as Prisma.InputJsonObject },
        });
        return plan;
      }),
    );
  }

  async archivePlan(actorId: string, key: string): Promise<Plan> {
    return this.prisma.$transaction(async (tx) => {
      const before = await tx.plan.findUnique({ where: { key } });
      if (!before) throw new NotFoundError('Plan', key);
      const plan = await tx.plan.update({ where: { key }, data: { active: false } });
      await recordAdminAction(tx, { actorId, action: 'plan.archive', targetType: 'Plan', targetId: plan.id, data: { key } });
      return plan;
    });
  }

  /** Sets sortOrder to each key's position; every key must exist. */
  async reorderPlans(actorId: string, keys: string[]): Promise<Plan[]> {
    this.validateOrder(keys);
    return this.prisma.$transaction(async (tx) => {
      const found = await tx.plan.findMany({ where: { key: { in: keys } }, select: { key: true } });
      const missing = keys.filter((key) => !found.some((plan) => plan.key === key));
      if (missing.length) throw new NotFoundError('Plan', missing.join(', '));
      for (const [index, key] of keys.entries()) await tx.plan.update({ where: { key }, data: { sortOrder: index } });
      await recordAdminAction(tx, { actorId, action: 'plan.reorder', targetType: 'Plan', data: { keys } });
      return tx.plan.findMany({ orderBy: [{ sortOrder: 'asc' }, { key: 'asc' }] });
    });
  }

  async createPack(actorId: string, input: PackCreateInput): Promise<CreditPack> {
    const data = parse(packCreate, input);
    return this.conflictOnDuplicate('credit pack', () =>
      this.prisma.$transaction(async (tx) => {
        const pack = await tx.creditPack.create({ data: withoutUndefined(data, REQUIRED_PACK) as Prisma.CreditPackCreateInput });
        await recordAdminAction(tx, { actorId, action: 'creditPack.create', targetType: 'CreditPack', targetId: pack.id, data: { key: pack.key } });
        return pack;
      }),
    );
  }

  async updatePack(actorId: string, key: string, input: PackUpdateInput): Promise<CreditPack> {
    const data = withoutUndefined(parse(packUpdate, input), REQUIRED_PACK);
    return this.conflictOnDuplicate('credit pack', () =>
      this.prisma.$transaction(async (tx) => {
        const before = await tx.creditPack.findUnique({ where: { key } });
        if (!before) throw new NotFoundError('CreditPack', key);
        const pack = await tx.creditPack.update({ where: { key }, data });
        await recordAdminAction(tx, {
          actorId,
          action: 'creditPack.update',
          targetType: 'CreditPack',
          targetId: pack.id,
          data: { key, changes: data as Prisma.InputJsonObject },
        });
        return pack;
      }),
    );
  }

  async archivePack(actorId: string, key: string): Promise<CreditPack> {
    return this.prisma.$transaction(async (tx) => {
      const before = await tx.creditPack.findUnique({ where: { key } });
      if (!before) throw new NotFoundError('CreditPack', key);
      const pack = await tx.creditPack.update({ where: { key }, data: { active: false } });
      await recordAdminAction(tx, { actorId, action: 'creditPack.archive', targetType: 'CreditPack', targetId: pack.id, data: { key } });
      return pack;
    });
  }

  async reorderPacks(actorId: string, keys: string[]): Promise<CreditPack[]> {
    this.validateOrder(keys);
    return this.prisma.$transaction(async (tx) => {
      const found = await tx.creditPack.findMany({ where: { key: { in: keys } }, select: { key: true } });
      const missing = keys.filter((key) => !found.some((pack) => pack.key === key));
      if (missing.length) throw new NotFoundError('CreditPack', missing.join(', '));
      for (const [index, key] of keys.entries()) await tx.creditPack.update({ where: { key }, data: { sortOrder: index } });
      await recordAdminAction(tx, { actorId, action: 'creditPack.reorder', targetType: 'CreditPack', data: { keys } });
      return tx.creditPack.findMany({ orderBy: [{ sortOrder: 'asc' }, { key: 'asc' }] });
    });
  }

  private validateOrder(keys: string[]) {
    if (keys.length === 0) throw ValidationError.forField('keys', 'must not be empty');
    if (new Set(keys).size !== keys.length) throw ValidationError.forField('keys', 'must not repeat a key');
  }

  // ------------------------------------------------------------------ Stripe mirror

  async mirrorProduct(db: DbOrTx, product: Stripe.Product | { id: string; deleted: true }) {
    if ('deleted' in product && product.deleted) {
      await db.stripeProduct.updateMany({ where: { id: product.id }, data: { deleted: true, active: false } });
      return;
    }
    const full = product as Stripe.Product;
    const data = {
      name: full.name,
      description: full.description ?? null,
      active: full.active,
      metadata: (full.metadata ?? {}) as Prisma.InputJsonObject,
      deleted: false,
      stripeCreated: fromUnix(full.created) ?? new Date(),
    };
    await db.stripeProduct.upsert({ where: { id: full.id }, create: { id: full.id, ...data }, update: data });
  }

  /** Mirrors a price, and links it to the plan or pack its metadata names (planKey / packKey). */
  async mirrorPrice(db: DbOrTx, price: Stripe.Price | { id: string; deleted: true }) {
    if ('deleted' in price && price.deleted) {
      await db.stripePrice.updateMany({ where: { id: price.id }, data: { deleted: true, active: false } });
      return;
    }
    const full = price as Stripe.Price;
    const productId = idOf(full.product as string | { id: string })!;
    const product = await db.stripeProduct.findUnique({ where: { id: productId } });
    if (!product) {
      await db.stripeProduct.create({
        data: { id: productId, name: productId, active: true, stripeCreated: fromUnix(full.created) ?? new Date() },
      });
    }
    const interval: 'MONTH' | 'YEAR' | null =
      full.recurring?.interval === 'year' ? 'YEAR' : full.recurring?.interval === 'month' ? 'MONTH' : null;
    const data = {
      productId,
      active: full.active,
      currency: full.currency,
      unitAmount: full.unit_amount ?? null,
      type: full.type,
      recurringInterval: interval,
      recurringIntervalCount: full.recurring?.interval_count ?? null,
      lookupKey: full.lookup_key ?? null,
      nickname: full.nickname ?? null,
      metadata: (full.metadata ?? {}) as Prisma.InputJsonObject,
      deleted: false,
      stripeCreated: fromUnix(full.created) ?? new Date(),
    };
    await db.stripePrice.upsert({ where: { id: full.id }, create: { id: full.id, ...data }, update: data });

    const planKey = full.metadata?.planKey;
    if (planKey && full.active && interval) {
      const field = interval === 'MONTH' ? 'stripeMonthlyPriceId' : 'stripeYearlyPriceId';
      await db.plan.updateMany({ where: { [field]: full.id, NOT: { key: planKey } }, data: { [field]: null } });
      await db.plan.updateMany({ where: { key: planKey }, data: { [field]: full.id, stripeProductId: productId } });
    }
    const packKey = full.metadata?.packKey;
    if (packKey && full.active && !interval) {
      await db.creditPack.updateMany({ where: { stripePriceId: full.id, NOT: { key: packKey } }, data: { stripePriceId: null } });
      await db.creditPack.updateMany({ where: { key: packKey }, data: { stripePriceId: full.id, stripeProductId: productId } });
    }
  }
}
