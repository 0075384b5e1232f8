import type { Services } from '../services/index.js';
import { billingJobs } from './billing.js';
import { creditJobs } from './credits.js';
import { generationJobs } from './generations.js';
import { maintenanceJobs } from './maintenance.js';
import type { JobDefinition } from './queue.js';

export function allJobs(services: Services): JobDefinition<any>[] {
  return [...creditJobs(services), ...billingJobs(services), ...generationJobs(services), ...maintenanceJobs(services)];
}
