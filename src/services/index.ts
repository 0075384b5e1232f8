import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { createTokenVerifier, type TokenVerifier } from './auth.js';
import { UsersService } from './users.js';

export interface ServiceDeps {
  prisma: Db;
  config: Config;
  log: Logger;
}

export function createServices(deps: ServiceDeps) {
  const users = new UsersService({
    prisma: deps.prisma,
    log: deps.log,
    adminEmails: deps.config.auth.adminEmails,
  });
  const verifyToken: TokenVerifier = createTokenVerifier(deps.config.auth);
  return {
    users,
    verifyToken,
    /** Starts background work (job queue workers); the HTTP server does not depend on it. */
    async start() {},
    async close() {},
  };
}

export type Services = ReturnType<typeof createServices>;
