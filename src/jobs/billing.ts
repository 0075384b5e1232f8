import { WEBHOOK_JOB, WEBHOOK_SWEEP_JOB } from '../services/billing/index.js';
import type { Services } from '../services/index.js';
import type { JobDefinition } from './queue.js';

export function billingJobs(services: Services): JobDefinition<any>[] {
  return [
    {
      name: WEBHOOK_JOB,
      // pg-boss retries a failed event with exponential back-off: 5 s, 10 s, 20 s ... about 1.4 hours in all.
      retryLimit: 10,
      retryDelaySeconds: 5,
      retryBackoff: true,
      handler: async ({ eventId }: { eventId: string }) => {
        const result = await services.billing.processWebhookEvent(eventId);
        if (result.status === 'FAILED') throw new Error(result.error ?? `webhook event ${eventId} failed`);
        return result;
      },
    },
    { name: WEBHOOK_SWEEP_JOB, cron: '* * * * *', handler: () => services.billing.sweepWebhookEvents() },
  ];
}
