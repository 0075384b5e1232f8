import type { Services } from '../services/index.js';
import type { JobDefinition } from './queue.js';

export function maintenanceJobs(services: Services): JobDefinition[] {
  return [{ name: 'maintenance.daily', cron: '17 3 * * *', handler: () => services.maintenance.run() }];
}
