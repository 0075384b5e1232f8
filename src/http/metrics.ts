import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { poolUsage, type Db } from '../db/client.js';
import { queryDuration } from '../db/observe.js';

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Distinct operation names kept as labels before the rest count as "other": clients cannot grow /metrics. */
export const MAX_OPERATION_LABELS = 100;

export function createMetrics(options: { prisma?: Db } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registry.registerMetric(queryDuration);

  const knownOperations = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (knownOperations.has(name)) return name;
    if (!OPERATION_NAME.test(name) || knownOperations.size >= MAX_OPERATION_LABELS) return 'other';
    knownOperations.add(name);
    return name;
  };

  const prisma = options.prisma;
  if (prisma) {
    new Gauge({
      name: 'db_pool_connections',
      help: 'Connections of the database pool, by state (in_use, idle)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const usage = poolUsage(prisma);
        if (!usage) return;
        this.set({ state: 'in_use' }, usage.total - usage.idle);
        this.set({ state: 'idle' }, usage.idle);
      },
    });
    new Gauge({
      name: 'db_pool_waiting_requests',
      help: 'Queries waiting for a free connection of the database pool',
      registers: [registry],
      collect() {
        const usage = poolUsage(prisma);
        if (usage) this.set(usage.waiting);
      },
    });
  }

  return {
    registry,
    operationLabel,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    graphqlOperations: new Counter({
      name: 'graphql_operations_total',
      help: `GraphQL operations by name (the first ${MAX_OPERATION_LABELS} names seen; later ones count as "other"), type and outcome`,
      labelNames: ['operation', 'type', 'outcome'] as const,
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operation duration from parsing to response, by name (bounded as above) and type',
      labelNames: ['operation', 'type'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
