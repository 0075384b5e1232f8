import {
  ConflictError,
  InsufficientCreditsError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../services/errors.js';
import { builder } from '../schema/builder.js';
import {
  CreditMovementRef,
  DeductCreditsInput,
  FeatureCostInput,
  FeatureCostRef,
  ReservationActionEnum,
  ReservationResultRef,
  ReserveCreditsInput,
} from '../schema/credits.js';
import { UserNode } from '../schema/users.js';

builder.queryFields((t) => ({
  featureCosts: t.prismaField({
    type: [FeatureCostRef],
    description: 'What each operation costs in credits',
    resolve: (query, _root, _args, context) =>
      context.prisma.featureCost.findMany({ ...query, orderBy: { operation: 'asc' } }),
  }),
}));

builder.mutationFields((t) => ({
  deductCredits: t.withAuth({ loggedIn: true }).field({
    type: CreditMovementRef,
    errors: { types: [InsufficientCreditsError, ValidationError, RateLimitedError], directResult: true },
    args: { input: t.arg({ type: DeductCreditsInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.credits.deduct(context.viewer.id, input),
  }),
  reserveCredits: t.withAuth({ loggedIn: true }).field({
    type: ReservationResultRef,
    errors: { types: [InsufficientCreditsError, ValidationError, RateLimitedError], directResult: true },
    args: { input: t.arg({ type: ReserveCreditsInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.credits.reserve(context.viewer.id, input),
  }),
  finalizeReservation: t.withAuth({ loggedIn: true }).field({
    type: ReservationResultRef,
    errors: { types: [NotFoundError, ConflictError], directResult: true },
    args: {
      reservationId: t.arg.id({ required: true }),
      action: t.arg({ type: ReservationActionEnum, required: true }),
    },
    resolve: (_root, args, context) =>
      context.services.credits.finalize(String(args.reservationId), args.action, { userId: context.viewer.id }),
  }),
  grantCredits: t.withAuth({ admin: true }).field({
    type: CreditMovementRef,
    description: 'Admin: adds credits that survive allowance resets, optionally expiring. Audited.',
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    args: {
      userId: t.arg.globalID({ required: true, for: UserNode }),
      amount: t.arg.int({ required: true }),
      reason: t.arg.string({ required: true }),
      expiresAt: t.arg({ type: 'DateTime', required: false }),
    },
    resolve: (_root, args, context) =>
      context.services.credits.adminGrant(context.viewer.id, args.userId.id, {
        amount: args.amount,
        reason: args.reason,
        expiresAt: args.expiresAt,
      }),
  }),
  adjustCredits: t.withAuth({ admin: true }).field({
    type: CreditMovementRef,
    description: 'Admin: a signed correction. Audited.',
    errors: { types: [ValidationError, NotFoundError, InsufficientCreditsError], directResult: true },
    args: {
      userId: t.arg.globalID({ required: true, for: UserNode }),
      amount: t.arg.int({ required: true }),
      reason: t.arg.string({ required: true }),
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
    errors: { types: [ValidationError] },
    args: { costs: t.arg({ type: [FeatureCostInput], required: true }) },
    resolve: (_query, _root, args, context) => context.services.credits.setFeatureCosts(context.viewer.id, args.costs),
  }),
}));
