import type { Logger } from '../logger.js';
import type { BillingService } from './billing/index.js';
import type { GenerationsService } from './generations.js';
import type { StorageService } from './storage.js';

export interface MaintenanceReport {
  failedGenerationsRemoved: number;
  storageObjectsPurged: number;
  subscriptionsExpired: number;
}

export interface MaintenanceServiceDeps {
  log: Logger;
  billing: BillingService;
  generations: GenerationsService;
  storage: StorageService;
  config: { failedGenerationRetentionDays: number };
}

/** Housekeeping run daily by the job queue and on demand by `npm run maintenance`. */
export class MaintenanceService {
  constructor(private readonly deps: MaintenanceServiceDeps) {}

  async run(): Promise<MaintenanceReport> {
    const report: MaintenanceReport = {
      failedGenerationsRemoved: await this.deps.generations.removeOldFailed(this.deps.config.failedGenerationRetentionDays),
      storageObjectsPurged: await this.deps.storage.purgeDeleted(),
      subscriptionsExpired: await this.deps.billing.expireEndedSubscriptions(),
    };
    this.deps.log.info(report, 'maintenance done');
    return report;
  }
}
