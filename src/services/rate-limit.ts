import { Redis } from 'ioredis';
import rateLimiterFlexible from 'rate-limiter-flexible';
import type { Logger } from '../logger.js';
import { RateLimitedError } from './errors.js';

const { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } = rateLimiterFlexible;

export interface RateLimiter {
  /** Takes one point for `key`; throws RateLimitedError when the key has none left this window. */
  consume(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Per-key limits shared by every instance through Redis when REDIS_URL is set, per process otherwise. */
export function createRateLimiter(options: {
  pointsPerMinute: number;
  redisUrl?: string;
  keyPrefix?: string;
  log?: Logger;
}): RateLimiter {
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false })
    : null;
  let redisDown = false;
  redis?.on('error', (error) => {
    if (redisDown) return;
    redisDown = true;
    options.log?.warn({ err: error }, 'rate-limit Redis unavailable; limiting per process until it answers');
  });
  redis?.on('ready', () => {
    if (redisDown) options.log?.info('rate-limit Redis answers again');
    redisDown = false;
  });
  const settings = { points: options.pointsPerMinute, duration: 60, keyPrefix: options.keyPrefix ?? 'rl' };
  const limiter = redis
    ? new RateLimiterRedis({ ...settings, storeClient: redis, insuranceLimiter: new RateLimiterMemory(settings) })
    : new RateLimiterMemory(settings);
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        }
        throw rejection;
      }
    },
    async close() {
      redis?.disconnect();
    },
  };
}
