import type { FastifyRequest } from 'fastify';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { User } from '../generated/prisma/client.js';
import { looksLikeApiKey, type ServiceCaller } from '../services/api-keys.js';
import type { Logger } from '../logger.js';
import { extractBearerToken, refusalOf } from '../services/auth.js';
import type { Services } from '../services/index.js';

/**
 * The user behind the request's bearer token, created on first sight; null without a token. A user who may not be
 * served (banned, deleted) is refused here with the error refusalOf names, so no route ever sees them. With
 * `recheckedWhereSpent`, a user signed in here a moment ago is taken as remembered (see SignedInUsers): the request
 * only spends, and each spend checks the user again in its own statement.
 */
export async function authenticate(
  request: FastifyRequest,
  services: Services,
  options: { recheckedWhereSpent?: boolean } = {},
): Promise<User | null> {
  const token = extractBearerToken(request.headers.authorization);
  if (!token) return null;
  const identity = await services.verifyToken(token);
  const remembered = options.recheckedWhereSpent ? services.signedInUsers.recall(identity) : null;
  if (remembered) return remembered;
  const user = await services.users.provision(identity, request.log as Logger);
  const refusal = refusalOf(user);
  if (refusal) throw refusal;
  services.signedInUsers.remember(identity, user);
  return user;
}

/** A GraphQL caller: a user with a token from the identity provider, or one of the SaaS's servers with an API key. */
export async function authenticateCaller(
  request: FastifyRequest,
  services: Services,
  options: { recheckedWhereSpent?: boolean } = {},
): Promise<{ viewer: User | null; apiKey: ServiceCaller | null }> {
  const token = extractBearerToken(request.headers.authorization);
  if (token && looksLikeApiKey(token)) return { viewer: null, apiKey: await services.apiKeys.authenticate(token) };
  return { viewer: await authenticate(request, services, options), apiKey: null };
}

/** Root fields whose own statement checks that the signed-in user may still be served (credit_spender_refusal). */
const RECHECKED_WHERE_SPENT = new Set(['deductCredits', 'reserveCredits', '__typename']);

/**
 * Whether a GraphQL request body asks only for spends that check the user where the credits move: a single mutation
 * whose root fields are all deductCredits, reserveCredits or __typename. Anything else (a query, another field, a
 * fragment at the root, a batch, a document that does not parse) is answered false, and the request signs in in full.
 * Verdicts are kept per document text, as clients send the same few documents again and again.
 */
export function spendsOnlyChecker(): (body: unknown) => boolean {
  const verdicts = new LRUCache<string, boolean>({ max: 1_000 });
  return (body) => {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
    const { query, operationName } = body as { query?: unknown; operationName?: unknown };
    if (typeof query !== 'string' || query.length > 10_000) return false;
    const key = `${typeof operationName === 'string' ? operationName : ''}\n${query}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = spendsOnly(query, typeof operationName === 'string' ? operationName : null);
      verdicts.set(key, verdict);
    }
    return verdict;
  };
}

function spendsOnly(query: string, operationName: string | null): boolean {
  let operations: OperationDefinitionNode[];
  try {
    operations = parse(query, { noLocation: true }).definitions.filter(
      (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
    );
  } catch {
    return false;
  }
  const operation = operationName === null && operations.length === 1 ? operations[0] : operations.find((candidate) => candidate.name?.value === operationName);
  return (
    operation?.operation === 'mutation' &&
    operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && RECHECKED_WHERE_SPENT.has(selection.name.value))
  );
}
