import type { Config } from './config.js';
import type { Db } from './db/client.js';
import type { User } from './generated/prisma/client.js';
import type { Logger } from './logger.js';
import type { Services } from './services/index.js';

export interface Context {
  requestId: string;
  log: Logger;
  config: Config;
  prisma: Db;
  services: Services;
  viewer: User | null;
}

export type ViewerContext = Context & { viewer: User };
