import PgBoss from 'pg-boss';
import type { Logger } from '../logger.js';

export interface JobDefinition<T extends object = object> {
  name: string;
  handler: (data: T) => Promise<unknown>;
  /** Cron expression (UTC) for recurring jobs; pg-boss runs each tick once across all instances. */
  cron?: string;
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  expireInSeconds?: number;
  /** Jobs of this queue one process runs at the same time; default 1. */
  workers?: number;
}

export interface SendOptions {
  singletonKey?: string;
  startAfterSeconds?: number;
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
}

/**
 * A PostgreSQL-backed job queue (pg-boss): every instance can send, instances with workers enabled take jobs,
 * and each job is fetched by one worker at a time (SKIP LOCKED).
 */
export class JobQueue {
  private readonly boss: PgBoss;
  private readonly definitions = new Map<string, JobDefinition<any>>();
  private started = false;

  constructor(
    private readonly options: {
      connectionString: string;
      log: Logger;
      workersEnabled: boolean;
      pollingIntervalSeconds?: number;
    },
  ) {
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: 'pgboss',
      max: 4,
      schedule: options.workersEnabled,
      supervise: options.workersEnabled,
      application_name: 'imagegen-credits-jobs',
    });
    this.boss.on('error', (error) => options.log.error({ err: error }, 'job queue error'));
  }

  define<T extends object>(...definitions: JobDefinition<T>[]) {
    for (const definition of definitions) this.definitions.set(definition.name, definition);
  }

  async start() {
    if (this.started) return;
    await this.boss.start();
    this.started = true;
    for (const definition of this.definitions.values()) {
      await this.boss.createQueue(definition.name, {
        name: definition.name,
        retryLimit: definition.retryLimit ?? 3,
        retryDelay: definition.retryDelaySeconds ?? 5,
        retryBackoff: definition.retryBackoff ?? true,
        expireInSeconds: definition.expireInSeconds ?? 300,
      });
      if (!this.options.workersEnabled) continue;
      for (let index = 0; index < (definition.workers ?? 1); index++) {
        await this.boss.work(
            definition.name,
            { batchSize: 1, pollingIntervalSeconds: this.options.pollingIntervalSeconds ?? 1 },
            async ([job]) => {
              const log = this.options.log.child({ job: definition.name, jobId: job.id });
              try {
                const result = await definition.handler(job.data as object);
                log.debug({ result }, 'job done');
                return result;
              } catch (error) {
                log.warn({ err: error }, 'job failed; pg-boss retries it with back-off');
                throw error;
              }
            },
        );
      }
      if (definition.cron) await this.boss.schedule(definition.name, definition.cron, {}, { tz: 'UTC' });
    }
  }

  async send(name: string, data: object, options: SendOptions = {}): Promise<string | null> {
    if (!this.started) throw new Error(`The job queue is not started; cannot send ${name}`);
    const sendOptions: PgBoss.SendOptions = {};
    if (options.singletonKey) sendOptions.singletonKey = options.singletonKey;
    if (options.startAfterSeconds) sendOptions.startAfter = options.startAfterSeconds;
    if (options.retryLimit !== undefined) sendOptions.retryLimit = options.retryLimit;
    if (options.retryDelaySeconds !== undefined) sendOptions.retryDelay = options.retryDelaySeconds;
    if (options.retryBackoff !== undefined) sendOptions.retryBackoff = options.retryBackoff;
    return this.boss.send(name, data, sendOptions);
  }

  async stop() {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, wait: true, timeout: 20_000 });
  }
}
