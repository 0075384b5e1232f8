import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Seconds a client is told to wait before retrying while the database does not answer. */
export const RETRY_AFTER_SECONDS = 2;
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';
const MESSAGE = 'The service is briefly unavailable; retry in a few seconds';

const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
const DRIVER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'TlsConnectionError']);
// SQLSTATE classes 08 (connection exception), 57P0x (shutdown, crash recovery), 53300 (too many connections).
const SQLSTATE = /^(08\d{3}|57P0[1-4]|53300)$/;
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
const MESSAGES =
  /Can't reach database server|Connection terminated|terminating connection due to administrator command|the database system is (shutting down|starting up|in recovery mode)|Server has closed the connection|timeout exceeded when trying to connect|Timed out fetching a new connection|Connection is closed|ECONNREFUSED|ECONNRESET/i;

/** Whether an error (or anything it wraps) says the database cannot be reached right now: worth a retry. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 6) return false;
  const candidate = error as {
    code?: unknown;
    kind?: unknown;
    originalCode?: unknown;
    message?: unknown;
    cause?: unknown;
    originalError?: unknown;
    meta?: { driverAdapterError?: unknown };
  };
  if (typeof candidate.code === 'string' && (PRISMA_CODES.has(candidate.code) || NODE_CODES.has(candidate.code) || SQLSTATE.test(candidate.code))) {
    return true;
  }
  if (typeof candidate.kind === 'string' && DRIVER_KINDS.has(candidate.kind)) return true;
  if (typeof candidate.originalCode === 'string' && SQLSTATE.test(candidate.originalCode)) return true;
  if (typeof candidate.message === 'string' && MESSAGES.test(candidate.message)) return true;
  return [candidate.cause, candidate.originalError, candidate.meta?.driverAdapterError].some((inner) =>
    isDatabaseUnavailable(inner, depth + 1),
  );
}

/**
 * GraphQL requests that failed because the database is unreachable answer 503 with Retry-After and the documented
 * code SERVICE_UNAVAILABLE instead of a masked internal error: nothing was done, the client may retry.
 */
export const databaseUnavailablePlugin: ApolloServerPlugin<any> = {
  async requestDidStart() {
    let unavailable = false;
    return {
      async didEncounterErrors({ errors }) {
        if (errors.some((error) => isDatabaseUnavailable(unwrapResolverError(error)))) unavailable = true;
      },
      async willSendResponse({ response }) {
        if (!unavailable || response.body.kind !== 'single') return;
        response.http.status = 503;
        response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
        const result = response.body.singleResult;
        result.errors = (result.errors ?? []).map((error) =>
          error.extensions?.code === 'INTERNAL_SERVER_ERROR' || error.extensions?.code === undefined
            ? { message: MESSAGE, path: error.path, extensions: { code: SERVICE_UNAVAILABLE, retryAfterSeconds: RETRY_AFTER_SECONDS } }
            : error,
        );
      },
    };
  },
};

const unavailableRequests = new WeakSet<FastifyRequest>();

/**
 * The same for the other routes (and /graphql's authentication step): a route that fails because the database is
 * unreachable answers 503 with Retry-After, whatever the error handler would have said.
 */
export function answerDatabaseOutagesWith503(app: FastifyInstance) {
  app.addHook('onError', async (request, reply, error) => {
    if (!isDatabaseUnavailable(error)) return;
    unavailableRequests.add(request);
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (!unavailableRequests.has(request)) return payload;
    reply.code(503).type('application/json');
    const body =
      request.routeOptions.url === '/graphql'
        ? { errors: [{ message: MESSAGE, extensions: { code: SERVICE_UNAVAILABLE, retryAfterSeconds: RETRY_AFTER_SECONDS } }] }
        : { error: MESSAGE, code: SERVICE_UNAVAILABLE, requestId: request.id };
    return JSON.stringify(body);
  });
}
