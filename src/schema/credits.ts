import { CreditTransactionKind, ReservationStatus } from '../generated/prisma/enums.js';
import type { Movement, ReservationResult } from '../services/credits.js';
import { available } from '../services/credits.js';
import { builder } from './builder.js';

export const CreditTransactionKindEnum = builder.enumType(CreditTransactionKind, { name: 'CreditTransactionKind' });
export const ReservationStatusEnum = builder.enumType(ReservationStatus, { name: 'ReservationStatus' });
export const ReservationActionEnum = builder.enumType('ReservationAction', {
  values: { CONFIRM: { description: 'The credits are spent' }, RELEASE: { description: 'The credits come back' } } as const,
});

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

export const CreditTransactionRef = builder.prismaObject('CreditTransaction', {
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.expose('kind', { type: CreditTransactionKindEnum }),
    operation: t.exposeString('operation', { nullable: true }),
    amount: t.exposeInt('amount', { description: 'Signed: negative when credits left the balance' }),
    balanceAfter: t.exposeInt('balanceAfter'),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
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
  creditBalance: t.relation('creditBalance', { type: CreditBalanceRef, nullable: true }),
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
  }),
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

export const DeductCreditsInput = builder.inputType('DeductCreditsInput', {
  fields: (t) => ({
    operation: t.string({ required: true, description: 'A feature cost key, e.g. AI_IMAGE_GENERATION' }),
    amount: t.int({ required: false, description: "Defaults to the operation's feature cost" }),
    idempotencyKey: t.string({ required: false, description: 'Retrying with the same key moves nothing' }),
    details: t.field({ type: 'JSONObject', required: false }),
  }),
});

export const ReserveCreditsInput = builder.inputType('ReserveCreditsInput', {
  fields: (t) => ({
    operation: t.string({ required: true }),
    amount: t.int({ required: false }),
    idempotencyKey: t.string({ required: false }),
    ttlSeconds: t.int({ required: false, description: 'How long the hold lasts before it is released' }),
    details: t.field({ type: 'JSONObject', required: false }),
  }),
});

export const FeatureCostInput = builder.inputType('FeatureCostInput', {
  fields: (t) => ({
    operation: t.string({ required: true }),
    cost: t.int({ required: true }),
    description: t.string({ required: false }),
  }),
});
