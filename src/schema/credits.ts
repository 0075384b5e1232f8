import { CreditTransactionKind, ReservationOwner, ReservationStatus } from '../generated/prisma/enums.js';
import type { Movement, ReservationResult } from '../services/credits.js';
import { available, clientKeyOf } from '../services/credits.js';
import { builder } from './builder.js';
import type { InputFields } from './input-fields.js';
import { connectionTypes } from './connections.js';
import { ValidationError } from '../services/errors.js';
import { ImageGenerationNode } from './generations.js';
import { ownedByVisibleUser } from './visibility.js';
import { UserNode } from './users.js';

export const CreditTransactionKindEnum = builder.enumType(CreditTransactionKind, {
  name: 'CreditTransactionKind',
  description: 'Why credits moved',
  values: {
    USAGE: { description: 'Spent on an operation (a deduction or a confirmed hold)' },
    REFUND: { description: 'Given back: a released or partly captured hold, or a failed generation' },
    GRANT: { description: 'Added by an admin or a service key with GRANT' },
    PURCHASE: { description: 'Added by a paid credit pack' },
    ALLOWANCE_RESET: { description: 'The period allowance was set for a new billing period' },
    EXPIRY: { description: 'Granted or purchased credits that expired' },
    ADJUSTMENT: { description: 'A signed correction by an admin' },
  },
});
export const ReservationStatusEnum = builder.enumType(ReservationStatus, {
  name: 'ReservationStatus',
  description: 'State of a credit hold',
  values: {
    HELD: { description: 'The credits are set aside until confirmed, released or expired' },
    CONFIRMED: { description: 'Spent (all or capturedAmount of it)' },
    RELEASED: { description: 'Given back, by a release or at expiry' },
  },
});
export const ReservationOwnerEnum = builder.enumType(ReservationOwner, {
  name: 'ReservationOwner',
  description: 'Who may settle a hold: the user who made it, the service key that made it, or a server flow (a generation). Admins may settle any.',
  values: {
    USER: { description: 'Made by the signed-in user; only they (or an admin) may settle it' },
    SERVICE: { description: 'Made by a service API key; only that key (or an admin) may settle it' },
    SYSTEM: { description: 'Made by the server for a generation; settled by the generation itself' },
  },
});
export const ReservationActionEnum = builder.enumType('ReservationAction', {
  description: 'How finalizeReservation settles a hold',
  values: { CONFIRM: { description: 'The credits are spent' }, RELEASE: { description: 'The credits come back' } } as const,
});

export const CreditBalanceRef = builder.prismaObject('CreditBalance', {
  description: 'What the user can spend: the period allowance first, then granted credits.',
  fields: (t) => ({
    allowanceRemaining: t.exposeInt('allowanceRemaining', { description: 'Credits left of this period allowance; spent first' }),
    allowanceTotal: t.exposeInt('allowanceTotal', { description: 'The allowance for this period (the plan creditsPerPeriod, or the free allowance)' }),
    grantedRemaining: t.exposeInt('grantedRemaining', { description: 'Granted and purchased credits left; spent after the allowance, they survive resets' }),
    total: t.int({ description: 'allowanceRemaining + grantedRemaining', resolve: (balance) => available(balance) }),
    usedThisPeriod: t.loadable({
      type: 'Int',
      description: 'Credits spent since the period started (usage minus refunds)',
      load: async (userIds: string[], context) => {
        const used = await context.services.credits.usedThisPeriod(userIds);
        return userIds.map((id) => used.get(id) ?? 0);
      },
      resolve: (balance) => balance.userId,
    }),
    periodStart: t.expose('periodStart', { description: 'When the current allowance period started', type: 'DateTime' }),
    nextResetAt: t.expose('nextResetAt', { type: 'DateTime', description: 'When the allowance renews' }),
  }),
});

export const AffordabilityRef = builder
  .objectRef<{ operation: string; quantity: number; cost: number; available: number; allowed: boolean; shortfall: number }>('Affordability')
  .implement({
    description: 'The answer to canAfford: the price, what the user has, and what is missing',
    fields: (t) => ({
      operation: t.exposeString('operation', { description: 'The feature cost key asked about' }),
      quantity: t.exposeInt('quantity', { description: 'Units asked about' }),
      cost: t.exposeInt('cost', { description: 'Credits the operation would cost: feature cost x quantity' }),
      available: t.exposeInt('available', { description: 'Credits the user can spend now' }),
      allowed: t.exposeBoolean('allowed', { description: 'True when available >= cost' }),
      shortfall: t.exposeInt('shortfall', { description: 'Credits missing: cost - available, or 0' }),
    }),
  });

export const CreditTransactionRef = builder.prismaNode('CreditTransaction', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, context) => ({ id, ...ownedByVisibleUser(context) }),
  description: 'One row of the append-only credit ledger. The rows of a user sum to their balance.',
  fields: (t) => ({
    kind: t.expose('kind', { description: 'Why credits moved', type: CreditTransactionKindEnum }),
    operation: t.exposeString('operation', { description: 'The feature cost key spent on; null for movements not tied to an operation', nullable: true }),
    amount: t.exposeInt('amount', { description: 'Signed: negative when credits left the balance' }),
    balanceAfter: t.exposeInt('balanceAfter', { description: 'The total balance (allowance + granted) right after this row' }),
    idempotencyKey: t.string({
      nullable: true,
      description: 'The idempotency key the caller sent with this movement; null for movements the server made itself',
      resolve: (row) => clientKeyOf(row.idempotencyKey),
    }),
    refundOf: t.relation('refundOf', { nullable: true, description: 'For a REFUND: the USAGE row whose credits it gives back' }),
    details: t.field({ description: 'Free-form context the caller stored with the movement', type: 'JSONObject', resolve: (row) => (row.details ?? {}) as Record<string, unknown> }),
    generation: t.loadable({
      type: ImageGenerationNode,
      nullable: true,
      description: 'The generation this movement paid for or refunded; null otherwise, or once the generation is deleted',
      load: async (ids: string[], context) => {
        const rows = await context.prisma.imageGeneration.findMany({ where: { id: { in: ids }, deletedAt: null } });
        return ids.map((id) => rows.find((row) => row.id === id) ?? null);
      },
      resolve: (row) => row.generationId,
    }),
    reservation: t.relation('reservation', { nullable: true, description: 'The hold this movement settled; null otherwise' }),
    createdAt: t.expose('createdAt', { description: 'When the credits moved', type: 'DateTime' }),
  }),
});

export const CreditReservationRef = builder.prismaNode('CreditReservation', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, context) => ({ id, ...ownedByVisibleUser(context) }),
  description: 'A hold: credits set aside by reserveCredits (or a generation) until confirmed, released or expired',
  fields: (t) => ({
    operation: t.exposeString('operation', { description: 'The feature cost key the hold is for' }),
    amount: t.exposeInt('amount', { description: 'Credits held' }),
    status: t.expose('status', { description: 'State of the hold', type: ReservationStatusEnum }),
    owner: t.expose('owner', { description: 'Who may settle it', type: ReservationOwnerEnum }),
    capturedAmount: t.exposeInt('capturedAmount', {
      nullable: true,
      description: 'What a confirm kept; the rest of the hold came back. Null while held or after a release.',
    }),
    expiresAt: t.expose('expiresAt', { description: 'When an unsettled hold is released by itself', type: 'DateTime' }),
    finalizedAt: t.expose('finalizedAt', { description: 'When it was confirmed or released; null while held', type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { description: 'When the hold was made', type: 'DateTime' }),
  }),
});

export const FeatureCostRef = builder.prismaObject('FeatureCost', {
  description: 'The price of one operation in credits, set by admins',
  fields: (t) => ({
    operation: t.exposeString('operation', { description: 'The operation key, e.g. AI_IMAGE_GENERATION; what deductCredits(operation) names' }),
    cost: t.exposeInt('cost', { description: 'Credits per unit of the operation' }),
    description: t.exposeString('description', { description: 'What the operation is, for admins; null if none', nullable: true }),
    updatedAt: t.expose('updatedAt', { description: 'When the cost last changed', type: 'DateTime' }),
  }),
});

builder.prismaObjectFields('User', (t) => ({
  creditBalance: t.field({
    type: CreditBalanceRef,
    description: 'What the user can spend now; every user has one from their first read',
    select: { creditBalance: true },
    resolve: async (user, _args, context) => user.creditBalance ?? context.services.credits.accountOf(user.id),
  }),
  canAfford: t.field({
    type: AffordabilityRef,
    description:
      'Whether the user could pay for `quantity` of `operation` now, at the configured price, without spending anything: for greying out a button. The answer can change before the spend; the spend itself decides.',
    errors: { types: [ValidationError], directResult: true },
    args: {
      operation: t.arg.string({ required: true, description: 'A feature cost key, e.g. AI_IMAGE_GENERATION' }),
      quantity: t.arg.int({ required: false, defaultValue: 1, description: 'Units of the operation, 1-10000' }),
    },
    resolve: (user, args, context) => context.services.credits.affordability(user.id, args.operation, args.quantity ?? 1),
  }),
  creditTransactions: t.relatedConnection('creditTransactions', {
    cursor: 'id',
    maxSize: 100,
    defaultSize: 20,
    totalCount: true,
    description: 'The credit ledger, newest first',
    args: {
      kind: t.arg({ type: CreditTransactionKindEnum, required: false, description: 'Only rows of this kind' }),
      operation: t.arg.string({ required: false, description: 'Only rows for this feature cost key' }),
    },
    query: (args) => ({
      where: {
        ...(args.kind ? { kind: args.kind } : {}),
        ...(args.operation ? { operation: args.operation } : {}),
      },
      orderBy: { id: 'desc' },
    }),
  }, ...connectionTypes('CreditTransaction', 'ledger rows')),
}));

const movementFields = builder.objectRef<Movement>('CreditMovement');
movementFields.implement({
  description: 'What a deduction or grant did: the ledger row and the balance after it',
  fields: (t) => ({
    transaction: t.field({ description: 'The ledger row written (the first one, when replayed)', type: CreditTransactionRef, resolve: (movement) => movement.transaction }),
    balance: t.field({ description: 'The balance after the movement', type: CreditBalanceRef, resolve: (movement) => movement.balance }),
    replayed: t.exposeBoolean('replayed', {
      description: 'True when this idempotency key was used before; nothing moved this time',
    }),
  }),
});
export const CreditMovementRef = movementFields;

export const ReservationResultRef = builder.objectRef<ReservationResult>('ReservationResult').implement({
  description: 'What reserveCredits or finalizeReservation did: the hold and the balance after it',
  fields: (t) => ({
    reservation: t.field({ description: 'The hold', type: CreditReservationRef, resolve: (result) => result.reservation }),
    balance: t.field({ description: 'The balance after the call', type: CreditBalanceRef, resolve: (result) => result.balance }),
    replayed: t.exposeBoolean('replayed', { description: 'True when this idempotency key was used before; nothing moved this time' }),
  }),
});

const spendingFields = (t: InputFields) => ({
  operation: t.string({ required: true, description: 'A feature cost key, e.g. AI_IMAGE_GENERATION (see featureCosts)' }),
  quantity: t.int({
    required: false,
    description: 'How many units of the operation (1-10000, default 1); the price is the feature cost x quantity',
  }),
  amount: t.int({
    required: false,
    description: 'Service API keys only: charge this many credits instead of the configured price. Users get ForbiddenError.',
  }),
  userId: t.globalID({
    required: false,
    for: UserNode,
    description: 'Service API keys only (required for them): the user to charge. Users always act for themselves.',
  }),
  idempotencyKey: t.string({
    required: false,
    description:
      'Retrying with the same key answers the first result and moves nothing; the same key with a different request is an IdempotencyConflictError. Keys are scoped to the caller and to the kind of call.',
  }),
  details: t.field({ type: 'JSONObject', required: false, description: 'Free-form context stored on the ledger row' }),
});

export const DeductCreditsInput = builder.inputType('DeductCreditsInput', {
  description: 'What to spend, and for whom. The price is the feature cost x quantity unless a service key sets amount.',
  fields: (t) => spendingFields(t),
});

export const ReserveCreditsInput = builder.inputType('ReserveCreditsInput', {
  description: 'What to hold, and for whom. Priced like DeductCreditsInput.',
  fields: (t) => ({
    ...spendingFields(t),
    ttlSeconds: t.int({ required: false, description: 'How long the hold lasts before it is released (10-86400)' }),
  }),
});

export const FeatureCostInput = builder.inputType('FeatureCostInput', {
  description: 'The price of one operation',
  fields: (t) => ({
    operation: t.string({ description: 'The operation key, e.g. AI_IMAGE_GENERATION', required: true }),
    cost: t.int({ description: 'Credits per unit, 0 or more', required: true }),
    description: t.string({ description: 'What the operation is, for admins', required: false }),
  }),
});
