import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { AnalyticsService } from './analytics.js';
import { ApiKeysService } from './api-keys.js';
import { createTokenVerifier, type TokenVerifier } from './auth.js';
import { BillingService } from './billing/index.js';
import { ClerkWebhookService } from './clerk-webhooks.js';
import { CreditsService } from './credits.js';
import { GenerationsService } from './generations.js';
import { createImageProvider } from './image-providers.js';
import { MaintenanceService } from './maintenance.js';
import { createRateLimiter } from './rate-limit.js';
import { SignedInUsers } from './signed-in-users.js';
import { createStorageBackend, StorageService } from './storage.js';
import { UsersService } from './users.js';

/** Where services enqueue background work; the job queue implements it. */
export interface JobSender {
  send(name: string, data: object, options?: { singletonKey?: string; startAfterSeconds?: number }): Promise<unknown>;
}

export interface ServiceDeps {
  prisma: Db;
  config: Config;
  log: Logger;
  jobs?: JobSender;
  /** The clock of credit periods and billing; tests move it. */
  now?: () => Date;
}

const noJobQueue: JobSender = {
  async send(name) {
    throw new Error(`No job queue in this process; cannot send ${name}`);
  },
};

export function createServices(deps: ServiceDeps) {
  const { prisma, config, log, now } = deps;
  const jobs = deps.jobs ?? noJobQueue;
  const rateLimiter = createRateLimiter({
    pointsPerMinute: config.credits.rateLimitPerMinute,
    redisUrl: config.redisUrl,
    keyPrefix: 'credits',
    log,
  });
  const signedInUsers = new SignedInUsers();
  const credits = new CreditsService({
    prisma,
    log,
    config: config.credits,
    rateLimiter,
    now,
    onSpenderRefused: (userId) => signedInUsers.forget(userId),
  });
  const users = new UsersService({
    prisma,
    log,
    signedInUsers,
    adminEmails: config.auth.adminEmails,
    onUserCreated: async (tx, user) => {
      await credits.openAccount(tx, user);
    },
  });
  const storage = new StorageService({
    prisma,
    log,
    backend: createStorageBackend(config.storage),
    config: { ...config.storage, publicUrl: config.publicUrl },
  });
  const generations = new GenerationsService({
    prisma,
    log,
    credits,
    storage,
    provider: createImageProvider(config.generation, log),
    rateLimiter,
    config: { ...config.generation, reservationTtlSeconds: config.credits.reservationTtlSeconds },
  });
  const analytics = new AnalyticsService({ prisma });
  const apiKeys = new ApiKeysService({ prisma, log });
  const billing = new BillingService({
    prisma,
    log,
    stripe: config.stripe,
    credits,
    periodDays: config.credits.periodDays,
    jobs,
    now,
  });
  users.onDeleting((userId) => billing.cancelForAccountDeletion(userId));
  const maintenance = new MaintenanceService({
    log,
    billing,
    generations,
    storage,
    config: { failedGenerationRetentionDays: config.generation.failedRetentionDays },
  });
  const clerkWebhooks = new ClerkWebhookService({ prisma, log, users, jobs, secret: config.auth.clerkWebhookSecret });
  const verifyToken: TokenVerifier = createTokenVerifier(config.auth);
  const closers: (() => Promise<void>)[] = [() => rateLimiter.close(), () => storage.close()];
  const starters: (() => Promise<void>)[] = [
    async () => {
      await Promise.all([credits.ensureDefaultFeatureCosts(), billing.catalog.ensureDefaultCatalog()]);
    },
  ];

  return {
    jobs,
    users,
    credits,
    billing,
    storage,
    generations,
    analytics,
    apiKeys,
    maintenance,
    verifyToken,
    signedInUsers,
    clerkWebhooks,
    /** Background work to run next to the HTTP server (job workers are registered here). */
    onStart(start: () => Promise<void>) {
      starters.push(start);
    },
    onClose(close: () => Promise<void>) {
      closers.unshift(close);
    },
    async start() {
      for (const start of starters) await start();
    },
    async close() {
      for (const close of closers) await close();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
