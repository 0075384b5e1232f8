import type { Db } from '../db/client.js';
import type { Services } from '../services/index.js';
import { creditJobs } from './credits.js';
import { generationJobs } from './generations.js';
import { identityJobs } from './identity.js';
import { maintenanceJobs } from './maintenance.js';
import type { JobDefinition } from './queue.js';
import { stripeSyncJobs } from './stripe-sync.js';

export function allJobs(services: Services, prisma: Db): JobDefinition<any>[] {
  return [
    ...creditJobs(services),
    ...identityJobs(services),
    ...generationJobs(services),
    ...maintenanceJobs(services),
    ...stripeSyncJobs(services, prisma),
  ];
}
