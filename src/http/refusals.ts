import type { FastifyReply } from 'fastify';
import { AccountBannedError, AuthenticationError, AuthenticationUnavailableError, type DomainError } from '../services/errors.js';

const STATUS_BY_CODE: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  ACCOUNT_BANNED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  AUTHENTICATION_UNAVAILABLE: 503,
  BILLING_NOT_CONFIGURED: 503,
};

export interface Refusal {
  message: string;
  code: string;
  /** What the client needs besides the message, e.g. a ban's `reason`; carried as is in both body shapes. */
  details: Record<string, unknown>;
}

/**
 * Answers a request refused as a whole (bad token, banned account, ...) the same way on every route: the status and
 * headers are set on the reply, and the returned refusal goes into that route's body shape (GraphQL `errors[]` on
 * /graphql, `{ error, code, requestId }` elsewhere).
 */
export function refuse(reply: FastifyReply, error: DomainError): Refusal {
  reply.code(STATUS_BY_CODE[error.code] ?? 400);
  if (error instanceof AuthenticationError) reply.header('www-authenticate', 'Bearer');
  if (error instanceof AuthenticationUnavailableError) reply.header('retry-after', String(error.retryAfterSeconds));
  return {
    message: error.message,
    code: error.code,
    details: error instanceof AccountBannedError ? { reason: error.reason } : {},
  };
}
