import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ClaimedWebhookBatch } from '../services/billing/index.js';
import type { Services } from '../services/index.js';
import { ClaimWorker, DatabaseNotifications } from './claim-worker.js';

export const WEBHOOK_CHANNEL = 'webhook_event_pending';
export const GENERATION_CHANNEL = 'generation_pending';
/** Idle workers look again this often: failed events whose back-off is over, claims that ran out, lost notifications. */
const WEBHOOK_POLL_MS = 1000;
const GENERATION_POLL_MS = 5000;

export interface BackgroundWorkers {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The workers that drain tables instead of a queue: stored Stripe events and queued generations. The rows are the
 * queue (no second copy to keep in step); a NOTIFY from the row's trigger wakes an idle worker at once.
 */
export function createBackgroundWorkers(options: { config: Config; log: Logger; services: Services; databaseUrl: string }): BackgroundWorkers {
  const { config, log, services } = options;
  const notifications = new DatabaseNotifications({ connectionString: options.databaseUrl, log });
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const { concurrency: webhookConcurrency, claimSeconds } = config.webhooks;

  // A slot holds one Stripe object's claimed events, applied in order.
  const webhooks = new ClaimWorker<ClaimedWebhookBatch>({
    name: 'stripe-webhooks',
    concurrency: webhookConcurrency,
    // Under a backlog, one claim statement per few objects rather than one per object finished.
    claimAtLeast: Math.ceil(webhookConcurrency / 2),
    pollMs: WEBHOOK_POLL_MS,
    log,
    claim: (objects) => services.billing.claimDueWebhookBatches(workerId, objects, claimSeconds),
    process: async (events) => {
      await services.billing.processClaimedWebhookBatch(events, workerId);
    },
    heartbeat: {
      everyMs: Math.max(500, (claimSeconds * 1000) / 3),
      run: (batches) => services.billing.extendWebhookClaims(workerId, batches.flat().map((event) => event.id), claimSeconds).then(() => undefined),
    },
  });
  const generations = new ClaimWorker({
    name: 'generations',
    concurrency: config.generation.concurrency,
    pollMs: GENERATION_POLL_MS,
    log,
    claim: (limit) => services.generations.claimPending(limit),
    process: async (generation) => {
      await services.generations.render(generation);
    },
  });
  const billing = services.billing.configured;
  if (billing) notifications.on(WEBHOOK_CHANNEL, () => webhooks.wake());
  notifications.on(GENERATION_CHANNEL, () => generations.wake());

  return {
    async start() {
      await notifications.start();
      if (billing) webhooks.start();
      generations.start();
      log.debug({ workerId, webhookConcurrency, generationConcurrency: config.generation.concurrency }, 'background workers started');
    },
    async stop() {
      await Promise.all([webhooks.stop(), generations.stop()]);
      await notifications.stop();
    },
  };
}
