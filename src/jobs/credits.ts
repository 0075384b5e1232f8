import type { Services } from '../services/index.js';
import type { JobDefinition } from './queue.js';

export function creditJobs(services: Services): JobDefinition[] {
  return [
    { name: 'credits.reset-allowances', cron: '* * * * *', handler: () => services.credits.resetDueAllowances() },
    { name: 'credits.expire-grants', cron: '* * * * *', handler: () => services.credits.expireGrants() },
    {
      name: 'credits.release-expired-reservations',
      cron: '* * * * *',
      handler: () => services.credits.releaseExpiredReservations(),
    },
  ];
}
