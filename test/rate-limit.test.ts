import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimitedError } from '../src/services/errors.js';
import { createRateLimiter, type RateLimiter } from '../src/services/rate-limit.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisAnswers(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

async function outcomes(limiter: RateLimiter, key: string, attempts: number) {
  const results: string[] = [];
  for (let i = 0; i < attempts; i++) {
    results.push(
      await limiter.consume(key).then(
        () => 'ok',
        (error) => (error instanceof RateLimitedError ? 'limited' : `error: ${error}`),
      ),
    );
  }
  return results;
}

const limiters: RateLimiter[] = [];
afterEach(async () => {
  for (const limiter of limiters.splice(0)) await limiter.close();
});

describe('rate limits', () => {
  it('in memory: each key has its own budget per minute', async () => {
    const limiter = createRateLimiter({ pointsPerMinute: 3 });
    limiters.push(limiter);
    expect(await outcomes(limiter, 'alice', 4)).toEqual(['ok', 'ok', 'ok', 'limited']);
    expect(await outcomes(limiter, 'bob', 1)).toEqual(['ok']);
  });

  it('with REDIS_URL unreachable, requests are neither failed nor unlimited: each process keeps its own budget', async () => {
    const limiter = createRateLimiter({ pointsPerMinute: 3, redisUrl: 'redis://127.0.0.1:1' });
    limiters.push(limiter);
    expect(await outcomes(limiter, `user-${randomUUID()}`, 4)).toEqual(['ok', 'ok', 'ok', 'limited']);
  });

  it('instances sharing REDIS_URL share one budget per user', async () => {
    if (!(await redisAnswers())) {
      console.warn(`Redis does not answer at ${REDIS_URL}; the shared-budget check needs it and was not run`);
      return;
    }
    const keyPrefix = `test-${randomUUID()}`;
    const first = createRateLimiter({ pointsPerMinute: 4, redisUrl: REDIS_URL, keyPrefix });
    const second = createRateLimiter({ pointsPerMinute: 4, redisUrl: REDIS_URL, keyPrefix });
    limiters.push(first, second);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const user = `user-${randomUUID()}`;
    expect(await outcomes(first, user, 2)).toEqual(['ok', 'ok']);
    expect(await outcomes(second, user, 3)).toEqual(['ok', 'ok', 'limited']);
    expect(await outcomes(first, user, 1)).toEqual(['limited']);
  });
});
