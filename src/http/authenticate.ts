import type { FastifyRequest } from 'fastify';
import type { User } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { extractBearerToken } from '../services/auth.js';
import type { Services } from '../services/index.js';

/** The user behind the request's bearer token, created on first sight; null without a token. */
export async function authenticate(request: FastifyRequest, services: Services): Promise<User | null> {
  const token = extractBearerToken(request.headers.authorization);
  if (!token) return null;
  return services.users.provision(await services.verifyToken(token), request.log as Logger);
}
