import pg from 'pg';
import { preparedQuery, type Db } from '../db/client.js';

/** The arguments of one credit_spend call (see its migration), by name. */
export interface SpendCall {
  user: string;
  operation: string;
  unit_cost: number;
  amount: number;
  key: string | null;
  hash: string | null;
  api_key: string | null;
  details: unknown;
  /** ISO time the spend is made at: the period and grant expiry are judged by it. */
  now: string;
  hold: boolean;
  owner: string | null;
  generation: string | null;
  ttl_seconds: number | null;
}

/** What credit_spend answers; a row is to_jsonb of the table's row. */
export interface SpendOutcome {
  outcome: 'DONE' | 'REPLAY' | 'INSUFFICIENT' | 'PRICE' | 'SLOW' | 'USER_GONE' | 'USER_BANNED';
  available: number | null;
  unit_cost: number | null;
  balance: Record<string, unknown> | null;
  entry: Record<string, unknown> | null;
  reservation: Record<string, unknown> | null;
}

const SPEND_ONE = `SELECT * FROM credit_spend($1::uuid, $2, $3::integer, $4::integer, $5, $6, $7::uuid, $8::jsonb, $9::timestamp,
  $10::boolean, $11::"ReservationOwner", $12::uuid, $13::integer)`;
const SPEND_MANY = 'SELECT * FROM credit_spend_many($1::jsonb)';

interface Waiting {
  call: SpendCall;
  resolve: (outcome: SpendOutcome) => void;
  reject: (error: unknown) => void;
}

export interface SpendBatchesOptions {
  /** Statements of spends this instance keeps in flight at once; more spends wait and go together in the next one. */
  inFlight: number;
  /** Spends in one statement at most. */
  batchSize: number;
}

/**
 * Sends credit_spend calls to the database, together when many wait at once. A spend that finds a statement slot free
 * goes alone at once, as it always did; the ones that arrive while every slot is busy go in one credit_spend_many
 * statement when a slot frees, so a busy instance makes fewer, larger statements and commits (the database's cost of
 * a spend falls by half in batches of ten) while an idle one adds no wait. A batch is one transaction: if its
 * statement fails, each of its spends is sent again alone, so one spend's failure is its own.
 */
export class SpendBatches {
  private readonly waiting: Waiting[] = [];
  private running = 0;

  constructor(
    private readonly prisma: Db,
    private readonly options: SpendBatchesOptions,
  ) {}

  spend(call: SpendCall): Promise<SpendOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ call, resolve, reject });
      this.sendWaiting();
    });
  }

  private sendWaiting() {
    while (this.running < this.options.inFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.batchSize);
      this.running++;
      void this.send(batch)
        // Settling an answered spend again does nothing: this reaches only the ones still waiting.
        .catch((error: unknown) => batch.forEach((waiting) => waiting.reject(error)))
        .finally(() => {
          this.running--;
          this.sendWaiting();
        });
    }
  }

  private async send(batch: Waiting[]) {
    if (batch.length === 1) return this.sendAlone(batch[0]);
    let rows: (SpendOutcome & { ordinal: number })[];
    try {
      rows = await preparedQuery(this.prisma, 'credit_spend_many', SPEND_MANY, [
        JSON.stringify(batch.map(({ call }, ordinal) => ({ ...call, ordinal }))),
      ]);
    } catch (error) {
      // An error PostgreSQL answered means the statement, and so every spend in it, was rolled back: each can go
      // again alone. Any other (a connection lost) leaves it unknown whether they were committed, so none is resent:
      // sendWaiting reports it to each of them.
      if (!(error instanceof pg.DatabaseError)) throw error;
      await Promise.all(batch.map((waiting) => this.sendAlone(waiting)));
      return;
    }
    for (const { ordinal, ...outcome } of rows) batch[ordinal].resolve(outcome);
    // Settling an answered spend again does nothing: this reaches only a spend the statement left without a row.
    for (const waiting of batch) waiting.reject(new Error('credit_spend_many answered nothing for this spend'));
  }

  private async sendAlone({ call, resolve, reject }: Waiting) {
    try {
      const [outcome] = await preparedQuery<SpendOutcome>(this.prisma, 'credit_spend_one', SPEND_ONE, [
        call.user, call.operation, call.unit_cost, call.amount, call.key, call.hash, call.api_key, JSON.stringify(call.details),
        call.now, call.hold, call.owner, call.generation, call.ttl_seconds,
      ]);
      resolve(outcome);
    } catch (error) {
      reject(error);
    }
  }
}
