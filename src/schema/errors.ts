import {
  BillingNotConfiguredError,
  ConflictError,
  DomainError,
  ForbiddenError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../services/errors.js';
import { builder } from './builder.js';

export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'A failure the client can act on.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, in English, for a developer or to show as is' }),
    code: t.exposeString('code', { description: 'Stable machine-readable code, e.g. VALIDATION_FAILED; branch on __typename or this, never on message' }),
  }),
});

const FieldIssue = builder
  .objectRef<{ path: string; message: string }>('FieldIssue')
  .implement({ description: 'One problem with one input field', fields: (t) => ({ path: t.exposeString('path', { description: 'The input field, dot-separated from the argument, e.g. input.count' }), message: t.exposeString('message', { description: 'What is wrong with it' }) }) });

builder.objectType(ValidationError, {
  description: 'The input was refused; nothing changed. Fix the fields in issues and retry.',
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({ issues: t.field({ description: 'One entry per problem found', type: [FieldIssue], resolve: (error) => error.issues }) }),
});

builder.objectType(NotFoundError, {
  description: 'What the call names does not exist, or is not visible to the caller (the two are not told apart); nothing changed',
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({ resource: t.exposeString('resource', { description: 'The kind of object that was not found, e.g. Plan, User, CreditReservation' }) }),
});

builder.objectType(ForbiddenError, {
  description: 'The caller is signed in but may not do this (wrong role, or an option reserved for service API keys); nothing changed',
  name: 'ForbiddenError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ForbiddenError,
  fields: () => ({}),
});

builder.objectType(InsufficientCreditsError, {
  description: 'The balance does not cover the price; nothing was spent. Offer a plan or a credit pack.',
  name: 'InsufficientCreditsError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InsufficientCreditsError,
  fields: (t) => ({ required: t.exposeInt('required', { description: 'Credits the call needed' }), available: t.exposeInt('available', { description: 'Credits the user could spend at the time' }) }),
});

builder.objectType(RateLimitedError, {
  description: 'Too many calls of this kind in a short time; nothing changed. Retry after retryAfterSeconds.',
  name: 'RateLimitedError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof RateLimitedError,
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds', { description: 'Seconds to wait before retrying' }) }),
});

builder.objectType(ConflictError, {
  description: 'The object is not in a state that allows this (e.g. a hold already settled, no subscription to resume); nothing changed',
  name: 'ConflictError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: () => ({}),
});

builder.objectType(BillingNotConfiguredError, {
  description: 'This server runs without Stripe (no STRIPE_SECRET_KEY), so billing calls are unavailable; everything else works',
  name: 'BillingNotConfiguredError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof BillingNotConfiguredError,
  fields: () => ({}),
});

builder.objectType(IdempotencyConflictError, {
  name: 'IdempotencyConflictError',
  description: 'The idempotency key was first used for a different request; nothing moved. Use a new key.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof IdempotencyConflictError,
  fields: () => ({}),
});
