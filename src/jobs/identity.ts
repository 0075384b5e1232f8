import { CLERK_WEBHOOK_JOB, CLERK_WEBHOOK_SWEEP_JOB } from '../services/clerk-webhooks.js';
import type { Services } from '../services/index.js';
import type { JobDefinition } from './queue.js';

export function identityJobs(services: Services): JobDefinition<any>[] {
  return [
    {
      name: CLERK_WEBHOOK_JOB,
      retryLimit: 10,
      retryDelaySeconds: 5,
      retryBackoff: true,
      handler: async ({ eventId }: { eventId: string }) => {
        const result = await services.clerkWebhooks.process(eventId);
        if (result.status === 'FAILED') throw new Error(result.error ?? `Clerk webhook event ${eventId} failed`);
        return result;
      },
    },
    { name: CLERK_WEBHOOK_SWEEP_JOB, cron: '* * * * *', handler: () => services.clerkWebhooks.sweep() },
  ];
}
