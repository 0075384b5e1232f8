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

// Deadlock, unique violation, serialization failure; Prisma's unique-constraint and write-conflict codes.
const START_RACE_CODES = new Set(['40P01', '23505', '40001', 'P2002', 'P2034']);

/**
 * Instances starting at the same moment create the same queues, schedules and default rows; PostgreSQL may pick one
 * of them as a deadlock victim, or refuse one's insert as a duplicate. Start-up steps are idempotent (they find what
 * exists first), so the loser retries after a short random pause and finds the winner's rows.
 */
export async function retryConcurrentStart<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= attempts || typeof code !== 'string' || !START_RACE_CODES.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 250 * attempt));
    }
  }
}

const QUEUE_SCHEMA = 'pgboss';

/** pg-boss's own tables and functions, as a first `JobQueue.start` would create them; no queues, no workers. */
export async function installJobQueueSchema(connectionString: string) {
  const boss = new PgBoss({ connectionString, schema: QUEUE_SCHEMA, max: 1, schedule: false, supervise: false });
  // Failures reach start's caller; a pool connection may still hear the server's shutdown that follows (a template).
  boss.on('error', () => undefined);
  await boss.start();
  await boss.stop({ graceful: false, wait: true });
}

function isConnectionShutdown(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '57P01' || (typeof message === 'string' && /Connection terminated|terminating connection due to administrator command/.test(message));
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
  private working = false;
  private stopping = false;

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
      schema: QUEUE_SCHEMA,
      max: 4,
      schedule: options.workersEnabled,
      supervise: options.workersEnabled,
      application_name: 'imagegen-credits-jobs',
    });
    this.boss.on('error', (error) => {
      // A connection the queue is closing can still hear the database's own shutdown (the embedded one stops right
      // after): expected during a clean stop, not an error.
      if (this.stopping && isConnectionShutdown(error)) {
        options.log.debug({ err: error }, 'job queue connection closed during shutdown');
        return;
      }
      options.log.error({ err: error }, 'job queue error');
    });
  }

  define<T extends object>(...definitions: JobDefinition<T>[]) {
    for (const definition of definitions) this.definitions.set(definition.name, definition);
  }

  /** Queues an earlier version used: their schedules and leftover jobs are removed at start, once they exist. */
  private readonly retired = new Set<string>();

  retire(...names: string[]) {
    for (const name of names) this.retired.add(name);
  }

  private starting: Promise<void> | undefined;

  /** Installs pg-boss's schema when missing and creates the queues: from then on jobs can be sent. */
  start(): Promise<void> {
    this.starting ??= this.createQueues().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async createQueues() {
    await this.boss.start();
    this.started = true;
    if (this.options.workersEnabled) {
      for (const name of this.retired) {
        if (!(await this.boss.getQueue(name))) continue;
        await retryConcurrentStart(async () => {
          await this.boss.unschedule(name);
          await this.boss.deleteQueue(name);
        });
      }
    }
    for (const definition of this.definitions.values()) {
      await retryConcurrentStart(() => this.boss.createQueue(definition.name, {
        name: definition.name,
        retryLimit: definition.retryLimit ?? 3,
        retryDelay: definition.retryDelaySeconds ?? 5,
        retryBackoff: definition.retryBackoff ?? true,
        expireInSeconds: definition.expireInSeconds ?? 300,
      }));
    }
  }

  /** Takes jobs from the queues and schedules the recurring ones, where workers are enabled; after `start`. */
  async startWorkers() {
    if (!this.started) throw new Error('The job queue is not started; cannot start its workers');
    if (!this.options.workersEnabled || this.working) return;
    this.working = true;
    for (const definition of this.definitions.values()) {
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
      if (definition.cron) await retryConcurrentStart(() => this.boss.schedule(definition.name, definition.cron!, {}, { tz: 'UTC' }));
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
    this.starting = undefined;
    this.working = false;
    this.stopping = true;
    await this.boss.stop({ graceful: true, wait: true, timeout: 20_000 });
  }
}
