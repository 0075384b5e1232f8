import { CreditTransactionKind, ReservationOwner, ReservationStatus } from '../generated/prisma/enums.js';
import type { Movement, ReservationResult } from '../services/credits.js';
import { available } from '../services/credits.js';
import { builder } from './builder.js';
import { ValidationError } from '../services/errors.js';
import { UserNode } from './users.js';

export const CreditTransactionKindEnum = builder.enumType(CreditTransactionKind, { name: 'CreditTransactionKind' });
export const ReservationStatusEnum = builder.enumType(ReservationStatus, { name: 'ReservationStatus' });
export const ReservationOwnerEnum = builder.enumType(ReservationOwner, {
  name: 'ReservationOwner',
  description: 'Who may settle a hold: the user who made it, the service key that made it, or a server flow (a generation). Admins may settle any.',
});
export const ReservationActionEnum = builder.enumType('ReservationAction', {
  values: { CONFIRM: { description: 'The credits are spent' }, RELEASE: { description: 'The credits come back' } } as const,
});

/** Client keys are stored as `client:<kind>:<key>` or `service:<key id>:<kind>:<key>`; the caller sees its own key. */
function clientVisibleKey(stored: string | null): string | null {
  if (!stored) return null;
  const client = /^client:(?:deduct|reserve):(.*)$/.exec(stored) ?? /^service:[0-9a-f-]{36}:(?:deduct|reserve):(.*)$/.exec(stored);
  return client ? client[1] : null;
}

export const CreditBalanceRef = builder.prismaObject('CreditBalance', {
  description: 'What the user can spend: the period allowance first, then granted credits.',
  fields: (t) => ({
    allowanceRemaining: t.exposeInt('allowanceRemaining'),
    allowanceTotal: t.exposeInt('allowanceTotal'),
    grantedRemaining: t.exposeInt('grantedRemaining'),
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
    periodStart: t.expose('periodStart', { type: 'DateTime' }),
    nextResetAt: t.expose('nextResetAt', { type: 'DateTime', description: 'When the allowance renews' }),
  }),
});

export const AffordabilityRef = builder
  .objectRef<{ operation: string; quantity: number; cost: number; available: number; allowed: boolean; shortfall: number }>('Affordability')
  .implement({
    description: 'The answer to canAfford: the price, what the user has, and what is missing',
    fields: (t) => ({
      operation: t.exposeString('operation'),
      quantity: t.exposeInt('quantity'),
      cost: t.exposeInt('cost', { description: 'Credits the operation would cost: feature cost x quantity' }),
      available: t.exposeInt('available', { description: 'Credits the user can spend now' }),
      allowed: t.exposeBoolean('allowed', { description: 'True when available >= cost' }),
      shortfall: t.exposeInt('shortfall', { description: 'Credits missing: cost - available, or 0' }),
    }),
  });

export const CreditTransactionRef = builder.prismaObject('CreditTransaction', {
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.expose('kind', { type: CreditTransactionKindEnum }),
    operation: t.exposeString('operation', { nullable: true }),
    amount: t.exposeInt('amount', { description: 'Signed: negative when credits left the balance' }),
    balanceAfter: t.exposeInt('balanceAfter'),
    idempotencyKey: t.string({
      nullable: true,
      description: 'The idempotency key the caller sent with this movement; null for movements the server made itself',
      resolve: (row) => clientVisibleKey(row.idempotencyKey),
    }),
    refundOf: t.relation('refundOf', { nullable: true, description: 'For a REFUND: the USAGE row whose credits it gives back' }),
    details: t.field({ type: 'JSONObject', resolve: (row) => (row.details ?? {}) as Record<string, unknown> }),
    generationId: t.exposeString('generationId', { nullable: true }),
    reservationId: t.exposeString('reservationId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const CreditReservationRef = builder.prismaObject('CreditReservation', {
  fields: (t) => ({
    id: t.exposeID('id'),
    operation: t.exposeString('operation'),
    amount: t.exposeInt('amount'),
    status: t.expose('status', { type: ReservationStatusEnum }),
    owner: t.expose('owner', { type: ReservationOwnerEnum }),
    capturedAmount: t.exposeInt('capturedAmount', {
      nullable: true,
      description: 'What a confirm kept; the rest of the hold came back. Null while held or after a release.',
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    finalizedAt: t.expose('finalizedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const FeatureCostRef = builder.prismaObject('FeatureCost', {
  fields: (t) => ({
    operation: t.exposeString('operation'),
    cost: t.exposeInt('cost'),
    description: t.exposeString('description', { nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
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
      kind: t.arg({ type: CreditTransactionKindEnum, required: false }),
      operation: t.arg.string({ required: false }),
    },
    query: (args) => ({
      where: {
        ...(args.kind ? { kind: args.kind } : {}),
        ...(args.operation ? { operation: args.operation } : {}),
      },
      orderBy: { id: 'desc' },
    }),
  }, { name: 'CreditTransactionConnection' }, { name: 'CreditTransactionEdge' }),
}));

const movementFields = builder.objectRef<Movement>('CreditMovement');
movementFields.implement({
  fields: (t) => ({
    transaction: t.field({ type: CreditTransactionRef, resolve: (movement) => movement.transaction }),
    balance: t.field({ type: CreditBalanceRef, resolve: (movement) => movement.balance }),
    replayed: t.exposeBoolean('replayed', {
      description: 'True when this idempotency key was used before; nothing moved this time',
    }),
  }),
});
export const CreditMovementRef = movementFields;

export const ReservationResultRef = builder.objectRef<ReservationResult>('ReservationResult').implement({
  fields: (t) => ({
    reservation: t.field({ type: CreditReservationRef, resolve: (result) => result.reservation }),
    balance: t.field({ type: CreditBalanceRef, resolve: (result) => result.balance }),
    replayed: t.exposeBoolean('replayed'),
  }),
});

type InputFields = Parameters<NonNullable<Parameters<typeof builder.inputType>[1]['fields']>>[0];

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
  fields: (t) => spendingFields(t),
});

export const ReserveCreditsInput = builder.inputType('ReserveCreditsInput', {
  fields: (t) => ({
    ...spendingFields(t),
    ttlSeconds: t.int({ required: false, description: 'How long the hold lasts before it is released (10-86400)' }),
  }),
});

export const FeatureCostInput = builder.inputType('FeatureCostInput', {
  fields: (t) => ({
    operation: t.string({ required: true }),
    cost: t.int({ required: true }),
    description: t.string({ required: false }),
  }),
});
