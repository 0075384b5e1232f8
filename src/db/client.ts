import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export { Prisma };
export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;
export type DbOrTx = Db | Tx;

export interface QueryEvent {
  query: string;
  durationMs: number;
}

export function createPrismaClient(
  connectionString: string,
  options: { poolSize?: number; onQuery?: (event: QueryEvent) => void } = {},
): Db {
  const adapter = new PrismaPg({ connectionString, max: options.poolSize ?? 10 });
  if (!options.onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  const onQuery = options.onQuery;
  client.$on('query', (event) => onQuery({ query: event.query, durationMs: Number(event.duration) }));
  return client;
}
