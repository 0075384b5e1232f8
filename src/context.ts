import type { Config } from './config.js';
import type { Db } from './db/client.js';
import type { User } from './generated/prisma/client.js';
import type { Logger } from './logger.js';
import type { ServiceCaller } from './services/api-keys.js';
import type { Services } from './services/index.js';

export interface Context {
  requestId: string;
  log: Logger;
  config: Config;
  prisma: Db;
  services: Services;
  viewer: User | null;
  /** The service API key the request was made with; requests carry either a viewer or a key, never both. */
  apiKey: ServiceCaller | null;
}

export type ViewerContext = Context & { viewer: User };
export type ServiceContext = Context & { apiKey: ServiceCaller };
