import pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * One LISTEN connection per process, shared by the workers: PostgreSQL tells them when there is work, so they do not
 * poll for it. A lost connection is re-opened; the workers' slow poll covers the gap.
 */
export class DatabaseNotifications {
  private client: pg.Client | null = null;
  private readonly listeners = new Map<string, Set<() => void>>();
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: { connectionString: string; log: Logger }) {}

  on(channel: string, listener: () => void) {
    if (!/^[a-z_]+$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const set = this.listeners.get(channel) ?? new Set();
    set.add(listener);
    this.listeners.set(channel, set);
  }

  async start() {
    this.stopped = false;
    await this.connect().catch((error) => {
      this.options.log.warn({ err: error }, 'could not listen for database notifications; workers poll until it can');
      this.scheduleReconnect();
    });
  }

  private async connect() {
    const client = new pg.Client({ connectionString: this.options.connectionString, application_name: 'imagegen-credits-listen' });
    client.on('notification', (message) => {
      for (const listener of this.listeners.get(message.channel) ?? []) listener();
    });
    client.on('error', (error) => {
      if (this.stopped) return;
      this.options.log.warn({ err: error }, 'database notification connection lost; reconnecting');
      void client.end().catch(() => undefined);
      if (this.client === client) this.client = null;
      this.scheduleReconnect();
    });
    await client.connect();
    for (const channel of this.listeners.keys()) await client.query(`LISTEN ${channel}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    // Whatever was announced while no one listened is found by the next claim.
    for (const listeners of this.listeners.values()) for (const listener of listeners) listener();
  }

  private scheduleReconnect() {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect().catch(() => this.scheduleReconnect());
    }, 1000);
    this.reconnectTimer.unref();
  }

  async stop() {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

export interface ClaimWorkerOptions<T> {
  name: string;
  /** Items processed at the same time by this process. */
  concurrency: number;
  /** Atomically takes up to `limit` items for this worker (a conditional UPDATE ... FOR UPDATE SKIP LOCKED). */
  claim: (limit: number) => Promise<T[]>;
  process: (item: T) => Promise<void>;
  /**
   * While this many or more items are in flight, waits for at least this many free slots before claiming again, so
   * that a busy worker claims several at a time instead of one claim per finished item. Default 1.
   */
  claimAtLeast?: number;
  /** Looks again this often when nothing announced work: retries that came due, claims that expired. */
  pollMs: number;
  /** Runs this often with the items in flight (e.g. to extend their claims). */
  heartbeat?: { everyMs: number; run: (inFlight: T[]) => Promise<void> };
  log: Logger;
}

/**
 * Keeps up to `concurrency` claimed items in flight: a finished item frees a slot and the worker claims again at once,
 * a notification wakes it when idle. Stopping lets the items in flight finish.
 */
export class ClaimWorker<T> {
  private readonly inFlight = new Map<Promise<void>, T>();
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wakeRequested = true;
  private wakeUp: (() => void) | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ClaimWorkerOptions<T>) {}

  start() {
    if (this.running) return;
    this.running = true;
    this.wakeRequested = true;
    this.loopDone = this.loop();
    const heartbeat = this.options.heartbeat;
    if (heartbeat) {
      this.heartbeatTimer = setInterval(() => {
        if (this.inFlight.size === 0) return;
        heartbeat.run([...this.inFlight.values()]).catch((error) => this.options.log.warn({ err: error, worker: this.options.name }, 'heartbeat failed'));
      }, heartbeat.everyMs);
      this.heartbeatTimer.unref();
    }
  }

  wake() {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  private async loop() {
    const { concurrency, claim, log, name, pollMs } = this.options;
    while (this.running) {
      const free = concurrency - this.inFlight.size;
      if (this.mayClaim() && this.wakeRequested) {
        this.wakeRequested = false;
        let items: T[] = [];
        try {
          items = await claim(free);
        } catch (error) {
          if (this.running) log.warn({ err: error, worker: name }, 'claiming work failed; trying again shortly');
        }
        for (const item of items) this.track(item);
        // A full batch may have left more behind.
        if (items.length === free) this.wakeRequested = true;
        if (this.mayClaim() && this.wakeRequested) continue;
      }
      await this.sleep(pollMs);
    }
  }

  private mayClaim() {
    const { concurrency, claimAtLeast = 1 } = this.options;
    const free = concurrency - this.inFlight.size;
    return free > 0 && (free >= Math.min(claimAtLeast, concurrency) || this.inFlight.size === 0);
  }

  private track(item: T) {
    const running = this.options
      .process(item)
      .catch((error) => this.options.log.error({ err: error, worker: this.options.name }, 'processing a claimed item failed'))
      .finally(() => {
        this.inFlight.delete(running);
        this.wake();
      });
    this.inFlight.set(running, item);
  }

  private sleep(ms: number) {
    if (this.wakeRequested && this.mayClaim()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeRequested = true;
        done();
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      this.wakeUp = done;
    });
  }

  async stop() {
    if (!this.running) return;
    this.running = false;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.wakeUp?.();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight.keys()]);
  }
}
