import { Histogram } from 'prom-client';
import type { Logger } from '../logger.js';
import type { QueryEvent } from './client.js';

/** Registered into each /metrics registry (see http/metrics.ts); one histogram per process. */
export const queryDuration = new Histogram({
  name: 'db_query_duration_seconds',
  help: 'Duration of the statements sent through Prisma, by kind of statement',
  labelNames: ['statement'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [],
});

const STATEMENT_KINDS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'BEGIN', 'COMMIT', 'ROLLBACK', 'WITH']);

export function statementKind(sql: string): string {
  const word = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? 'OTHER';
  return STATEMENT_KINDS.has(word) ? word : 'OTHER';
}

/**
 * The statement without its values: Prisma sends parameters separately ($1, $2), and literals that raw SQL may
 * carry (strings, numbers) are replaced, so a log line never holds a user's data.
 */
export function statementShape(sql: string): string {
  const shape = sql
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return shape.length > 2000 ? `${shape.slice(0, 2000)}…` : shape;
}

/** Times every statement; those slower than `slowQueryMs` (0 turns it off) are logged as warnings by their shape. */
export function queryObserver(options: { slowQueryMs: number; log: Logger }): (event: QueryEvent) => void {
  return (event) => {
    queryDuration.observe({ statement: statementKind(event.query) }, event.durationMs / 1000);
    if (options.slowQueryMs > 0 && event.durationMs >= options.slowQueryMs) {
      options.log.warn(
        { durationMs: Math.round(event.durationMs), thresholdMs: options.slowQueryMs, statement: statementShape(event.query) },
        'slow query',
      );
    }
  };
}
