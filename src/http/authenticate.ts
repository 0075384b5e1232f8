import type { FastifyRequest } from 'fastify';
import type { User } from '../generated/prisma/client.js';
import { looksLikeApiKey, type ServiceCaller } from '../services/api-keys.js';
import type { Logger } from '../logger.js';
import { extractBearerToken, refusalOf } from '../services/auth.js';
import type { Services } from '../services/index.js';

/**
 * The user behind the request's bearer token, created on first sight; null without a token. A user who may not be
 * served (banned, deleted) is refused here with the error refusalOf names, so no route ever sees them.
 */
export async function authenticate(request: FastifyRequest, services: Services): Promise<User | null> {
  const token = extractBearerToken(request.headers.authorization);
  if (!token) return null;
  const user = await services.users.provision(await services.verifyToken(token), request.log as Logger);
  const refusal = refusalOf(user);
  if (refusal) throw refusal;
  return user;
}

/** A GraphQL caller: a user with a token from the identity provider, or one of the SaaS's servers with an API key. */
export async function authenticateCaller(
  request: FastifyRequest,
  services: Services,
): Promise<{ viewer: User | null; apiKey: ServiceCaller | null }> {
  const token = extractBearerToken(request.headers.authorization);
  if (token && looksLikeApiKey(token)) return { viewer: null, apiKey: await services.apiKeys.authenticate(token) };
  return { viewer: await authenticate(request, services), apiKey: null };
}
