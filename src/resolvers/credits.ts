import type { Context } from '../context.js';
import type { Principal } from '../services/credits.js';
import {
  ConflictError,
  ForbiddenError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../services/errors.js';
import { builder } from '../schema/builder.js';
import {
  CreditMovementRef,
  CreditReservationRef,
  DeductCreditsInput,
  FeatureCostInput,
  FeatureCostRef,
  ReservationActionEnum,
  ReservationResultRef,
  ReserveCreditsInput,
} from '../schema/credits.js';
import { UserNode } from '../schema/users.js';
import { withSomethingSelected } from './selection.js';

/** The caller as the credits service sees it, and the user a spending call is for. */
function spender(context: Context, input: { userId?: { id: string } | null }): { principal: Principal; userId: string } {
  if (context.apiKey) {
    if (!input.userId) throw ValidationError.forField('userId', 'is required when calling with a service API key');
    return { principal: { kind: 'SERVICE', apiKeyId: context.apiKey.id }, userId: input.userId.id };
  }
  const viewer = context.viewer!;
  if (input.userId && input.userId.id !== viewer.id) {
    throw new ForbiddenError('Only a service API key may spend for another user');
  }
  return { principal: { kind: 'USER', userId: viewer.id }, userId: viewer.id };
}

function settler(context: Context): Principal {
  if (context.apiKey) return { kind: 'SERVICE', apiKeyId: context.apiKey.id };
  const viewer = context.viewer!;
  return viewer.role === 'ADMIN' ? { kind: 'ADMIN', userId: viewer.id } : { kind: 'USER', userId: viewer.id };
}

const spendingErrors = [
  InsufficientCreditsError,
  ValidationError,
  RateLimitedError,
  ForbiddenError,
  NotFoundError,
  IdempotencyConflictError,
];

builder.queryFields((t) => ({
  featureCosts: t.prismaField({
    type: [FeatureCostRef],
    description: 'What each operation costs in credits',
    resolve: (query, _root, _args, context) =>
      context.prisma.featureCost.findMany({ ...query, orderBy: { operation: 'asc' } }),
  }),
}));

builder.mutationFields((t) => ({
  deductCredits: t.field({
    type: CreditMovementRef,
    description:
      'Spends credits at once. A signed-in user pays the configured price (feature cost x quantity) for themselves; a service API key with the SPEND scope names the user and may set the amount.',
    authScopes: { loggedIn: true, service: 'SPEND' },
    errors: { types: spendingErrors, directResult: true },
    args: { input: t.arg({ type: DeductCreditsInput, required: true, description: 'What to spend' }) },
    resolve: (_root, { input }, context) => {
      const { principal, userId } = spender(context, input);
      return context.services.credits.deduct(principal, userId, input);
    },
  }),
  reserveCredits: t.field({
    type: ReservationResultRef,
    description:
      'Holds credits until finalizeReservation confirms or releases them, or the hold expires. Priced like deductCredits; only the caller that made a hold (or an admin) can settle it.',
    authScopes: { loggedIn: true, service: 'SPEND' },
    errors: { types: spendingErrors, directResult: true },
    args: { input: t.arg({ type: ReserveCreditsInput, required: true, description: 'What to hold' }) },
    resolve: (_root, { input }, context) => {
      const { principal, userId } = spender(context, input);
      return context.services.credits.reserve(principal, userId, input);
    },
  }),
  finalizeReservation: t.field({
    type: ReservationResultRef,
    description:
      'Confirms (spends) or releases (gives back) a hold you made. CONFIRM may capture less than was held; the rest comes back at once. Holds made by a generation are settled by the generation itself.',
    authScopes: { loggedIn: true, service: 'SPEND' },
    errors: { types: [NotFoundError, ConflictError, ValidationError], directResult: true },
    args: {
      reservationId: t.arg.globalID({ required: true, for: CreditReservationRef, description: 'Global id of the hold (reservation.id from reserveCredits)' }),
      action: t.arg({ type: ReservationActionEnum, required: true, description: 'CONFIRM to spend, RELEASE to give back' }),
      capture: t.arg.int({ required: false, description: 'CONFIRM only: credits to keep, at most what was held' }),
    },
    resolve: (_root, args, context) =>
      context.services.credits.finalize(settler(context), args.reservationId.id, args.action, {
        capture: args.capture,
      }),
  }),
  grantCredits: t.field({
    type: CreditMovementRef,
    description:
      'Adds credits that survive allowance resets, optionally expiring. Admins, or service API keys with the GRANT scope. Audited.',
    authScopes: { admin: true, service: 'GRANT' },
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    args: {
      userId: t.arg.globalID({ required: true, for: UserNode, description: 'Global id of the user' }),
      amount: t.arg.int({ required: true, description: 'Credits to add, 1-1000000' }),
      reason: t.arg.string({ required: true, description: 'Why, at most 500 characters; kept in the ledger and the audit log' }),
      expiresAt: t.arg({ type: 'DateTime', required: false, description: 'When the granted credits expire; omit for never' }),
    },
    resolve: (_root, args, context) =>
      context.services.credits.grantBy(
        context.apiKey ? { kind: 'SERVICE', apiKeyId: context.apiKey.id } : { kind: 'ADMIN', userId: context.viewer!.id },
        args.userId.id,
        { amount: args.amount, reason: args.reason, expiresAt: args.expiresAt },
      ),
  }),
  resetAllowance: t.withAuth({ admin: true }).field({
    type: CreditMovementRef,
    description:
      "Admin: gives the user back the whole allowance of the running period (the period's dates and granted credits stay). Audited.",
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    args: {
      userId: t.arg.globalID({ required: true, for: UserNode, description: 'The user whose allowance is refilled' }),
      reason: t.arg.string({ required: true, description: 'Why, 1-500 characters; kept in the ledger and the audit log' }),
    },
    resolve: (_root, args, context) =>
      context.services.credits.adminResetAllowance(context.viewer.id, args.userId.id, args.reason),
  }),
  adjustCredits: t.withAuth({ admin: true }).field({
    type: CreditMovementRef,
    description: 'Admin: a signed correction. Audited.',
    errors: { types: [ValidationError, NotFoundError, InsufficientCreditsError], directResult: true },
    args: {
      userId: t.arg.globalID({ required: true, for: UserNode, description: 'Global id of the user' }),
      amount: t.arg.int({ required: true, description: 'Signed credits, non-zero, -1000000 to 1000000; a negative amount may not take the balance below 0' }),
      reason: t.arg.string({ required: true, description: 'Why, at most 500 characters; kept in the ledger and the audit log' }),
    },
    resolve: (_root, args, context) =>
      context.services.credits.adminAdjust(context.viewer.id, args.userId.id, {
        amount: args.amount,
        reason: args.reason,
      }),
  }),
  setFeatureCosts: t.withAuth({ admin: true }).prismaField({
    type: [FeatureCostRef],
    description: 'Admin: creates or updates operation costs. Audited.',
    errors: { types: [ValidationError], dataField: { description: 'Every feature cost after the change, by operation' } },
    args: { costs: t.arg({ type: [FeatureCostInput], required: true, description: 'Costs to create or update; operations not listed stay as they are' }) },
    resolve: async (query, _root, args, context) => {
      await context.services.credits.setFeatureCosts(context.viewer.id, args.costs);
      return context.prisma.featureCost.findMany({ ...withSomethingSelected(query), orderBy: { operation: 'asc' } });
    },
  }),
}));
