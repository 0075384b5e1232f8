import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
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
  const { status, headers, refusal } = describeRefusal(error);
  reply.code(status).headers(headers);
  return refusal;
}

function describeRefusal(error: DomainError): { status: number; headers: Record<string, string>; refusal: Refusal } {
  const headers: Record<string, string> = {};
  if (error instanceof AuthenticationError) headers['www-authenticate'] = 'Bearer';
  if (error instanceof AuthenticationUnavailableError) headers['retry-after'] = String(error.retryAfterSeconds);
  return {
    status: STATUS_BY_CODE[error.code] ?? 400,
    headers,
    refusal: {
      message: error.message,
      code: error.code,
      details: error instanceof AccountBannedError ? { reason: error.reason } : {},
    },
  };
}

/**
 * A spend that finds its signed-in user banned or deleted (the request was authenticated from what this instance
 * remembered: see SignedInUsers) refuses the request as a whole, as signing in would have: the same status, headers
 * and body as a refusal at sign-in, not a field error beside partial data.
 */
export const refusalsFoundWhileSpendingPlugin: ApolloServerPlugin<any> = {
  async requestDidStart() {
    let refusal: DomainError | null = null;
    return {
      async didEncounterErrors({ errors }) {
        for (const error of errors) {
          const original = unwrapResolverError(error);
          if (original instanceof AccountBannedError || original instanceof AuthenticationError) refusal ??= original;
        }
      },
      async willSendResponse({ response }) {
        if (!refusal || response.body.kind !== 'single') return;
        const { status, headers, refusal: { message, code, details } } = describeRefusal(refusal);
        response.http.status = status;
        for (const [name, value] of Object.entries(headers)) response.http.headers.set(name, value);
        response.body.singleResult = { errors: [{ message, extensions: { code, ...details } }] };
      },
    };
  },
};
