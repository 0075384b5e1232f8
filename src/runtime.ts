import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { allJobs } from './jobs/index.js';
import { JobQueue, retryConcurrentStart } from './jobs/queue.js';
import { createBackgroundWorkers } from './jobs/workers.js';
import type { Logger } from './logger.js';
import { createServices, type Services } from './services/index.js';

export interface Runtime {
  services: Services;
  queue: JobQueue;
  /** `prepare`, then `startWorkers`. */
  start(): Promise<void>;
  /** What serving requests needs: the job queue accepts jobs, the default rows exist. */
  prepare(): Promise<void>;
  /** Job and table workers (where JOBS_ENABLED is true): work taken from the queue and the tables. */
  startWorkers(): Promise<void>;
  stop(): Promise<void>;
}

/** Services, the job queue they send to, and the table workers; workers run only where JOBS_ENABLED is true. */
export function createRuntime(options: { config: Config; log: Logger; prisma: Db; databaseUrl: string; now?: () => Date }): Runtime {
  const queue = new JobQueue({
    connectionString: options.databaseUrl,
    log: options.log,
    workersEnabled: options.config.jobsEnabled,
  });
  const services = createServices({ prisma: options.prisma, config: options.config, log: options.log, jobs: queue, now: options.now });
  queue.define(...allJobs(services, options.prisma));
  // Stored webhook events and queued generations used to be copied into these queues; the rows are the queue now.
  queue.retire('billing.process-webhook', 'billing.sweep-webhooks', 'generations.run');
  const workers = options.config.jobsEnabled
    ? createBackgroundWorkers({ config: options.config, log: options.log, services, databaseUrl: options.databaseUrl })
    : null;
  // Steps under way, so that a stop arriving meanwhile (SIGTERM just after start) waits for them and then undoes them,
  // instead of stopping what has not started yet and leaving the rest running.
  const underWay = new Set<Promise<unknown>>();
  const tracked = <T>(step: Promise<T>): Promise<T> => {
    underWay.add(step);
    void step.finally(() => underWay.delete(step)).catch(() => undefined);
    return step;
  };
  // The queue's own tables and the services' default rows are independent: set both up at once.
  const prepare = () => tracked(Promise.all([queue.start(), retryConcurrentStart(() => services.start())]).then(() => undefined));
  const startWorkers = () =>
    tracked(
      (async () => {
        await queue.startWorkers();
        await workers?.start();
      })(),
    );
  return {
    services,
    queue,
    async start() {
      await prepare();
      await startWorkers();
    },
    prepare,
    startWorkers,
    async stop() {
      await Promise.allSettled([...underWay]);
      await workers?.stop();
      await queue.stop();
      await services.close();
    },
  };
}
