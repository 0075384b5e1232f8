import type { Webhook } from 'svix';
import type { ClerkWebhookEvent, Prisma, WebhookEventStatus } from '../generated/prisma/client.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { VerifiedIdentity } from './auth.js';
import {
  AuthenticationError,
  ClerkWebhooksNotConfiguredError,
  ConflictError,
  NotFoundError,
  WebhookPayloadError,
  WebhookSignatureError,
} from './errors.js';
import { describeTextProblem, findTextProblem } from './text.js';
import type { UsersService } from './users.js';

export const CLERK_WEBHOOK_JOB = 'identity.process-clerk-webhook';
export const CLERK_WEBHOOK_SWEEP_JOB = 'identity.sweep-clerk-webhooks';

/** The parts of a Clerk `User` object the service reads (https://clerk.com/docs/reference/backend-api). */
interface ClerkUser {
  id: string;
  first_name?: string | null;
  last_name?: string | null;
  username?: string | null;
  image_url?: string | null;
  primary_email_address_id?: string | null;
  email_addresses?: { id?: string; email_address?: string; verification?: { status?: string } | null }[];
  updated_at?: number;
}

interface ClerkEvent {
  type: string;
  data: ClerkUser;
  timestamp?: number;
}

export interface ClerkWebhookDeps {
  prisma: Db;
  log: Logger;
  users: UsersService;
  jobs: { send(name: string, data: object): Promise<unknown> };
  secret: string | undefined;
  now?: () => Date;
}

/**
 * Clerk's user webhooks, delivered by Svix: verified with the `svix` library (Clerk's documented scheme), stored
 * once per `svix-id`, processed by a job. `user.created` and `user.updated` bring the user row in step with Clerk
 * (the same rules as a sign-in: an email counts only when Clerk verified it); `user.deleted` deletes the account
 * exactly as `deleteAccount` does.
 */
export class ClerkWebhookService {
  private webhook: Promise<Webhook> | null = null;

  constructor(private readonly deps: ClerkWebhookDeps) {}

  /** Loaded on the first delivery: commands and servers without Clerk never pay for the svix client. */
  private verifier(secret: string): Promise<Webhook> {
    this.webhook ??= import('svix').then(({ Webhook }) => new Webhook(secret));
    return this.webhook;
  }

  private now() {
    return this.deps.now?.() ?? new Date();
  }

  /** Verifies the Svix signature and stores the event once; a delivery Svix retries is acknowledged and not stored again. */
  async receive(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): Promise<{ eventId: string; duplicate: boolean }> {
    if (!this.deps.secret) throw new ClerkWebhooksNotConfiguredError();
    const webhook = await this.verifier(this.deps.secret);
    const svixHeaders = {
      'svix-id': single(headers['svix-id']),
      'svix-timestamp': single(headers['svix-timestamp']),
      'svix-signature': single(headers['svix-signature']),
    };
    let event: unknown;
    try {
      event = webhook.verify(rawBody.toString('utf8'), svixHeaders);
    } catch (error) {
      throw new WebhookSignatureError(error instanceof Error ? error.message : 'invalid signature');
    }
    const eventId = svixHeaders['svix-id'];
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(eventId)) throw new WebhookPayloadError('svix-id must be a message id (letters, digits, _ and -)');
    const problem = describeClerkEnvelopeProblem(event);
    if (problem) throw new WebhookPayloadError(problem);
    const { type, data, timestamp } = event as ClerkEvent;
    const signedAt = new Date(Number(svixHeaders['svix-timestamp']) * 1000);
    const stored = await this.deps.prisma.clerkWebhookEvent.createMany({
      data: [
        {
          id: eventId,
          type,
          payload: event as Prisma.InputJsonObject,
          clerkUserId: data.id,
          occurredAt: new Date(data.updated_at ?? timestamp ?? signedAt.getTime()),
        },
      ],
      skipDuplicates: true,
    });
    if (stored.count === 0) return { eventId, duplicate: true };
    await this.enqueue(eventId).catch((error) =>
      this.deps.log.warn({ err: error, eventId }, 'could not enqueue Clerk webhook event; the sweep will'),
    );
    return { eventId, duplicate: false };
  }

  private enqueue(eventId: string) {
    return this.deps.jobs.send(CLERK_WEBHOOK_JOB, { eventId });
  }

  /** Processes one stored event; a concurrent or finished twin is skipped, a failure is recorded for the job's retry. */
  async process(eventId: string): Promise<{ status: WebhookEventStatus | 'MISSING'; skipped: boolean; error?: string }> {
    const { prisma } = this.deps;
    const claimed = await prisma.clerkWebhookEvent.updateMany({
      where: { id: eventId, status: { in: ['PENDING', 'FAILED'] } },
      data: { status: 'PROCESSING', attempts: { increment: 1 } },
    });
    if (claimed.count === 0) {
      const row = await prisma.clerkWebhookEvent.findUnique({ where: { id: eventId } });
      return { status: row?.status ?? 'MISSING', skipped: true };
    }
    const row = await prisma.clerkWebhookEvent.findUniqueOrThrow({ where: { id: eventId } });
    try {
      await this.handle(row);
      await prisma.clerkWebhookEvent.update({
        where: { id: eventId },
        data: { status: 'PROCESSED', processedAt: this.now(), lastError: null, nextAttemptAt: null },
      });
      return { status: 'PROCESSED', skipped: false };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.deps.log.warn({ err: error, eventId, type: row.type, attempts: row.attempts }, 'Clerk webhook event failed');
      await prisma.clerkWebhookEvent.update({
        where: { id: eventId },
        data: {
          status: 'FAILED',
          lastError: message,
          nextAttemptAt: new Date(this.now().getTime() + Math.min(2 ** (row.attempts - 1) * 5, 3600) * 1000),
        },
      });
      return { status: 'FAILED', skipped: false, error: message };
    }
  }

  /** Re-enqueues events that never reached a worker or whose worker died mid-way. */
  async sweep(): Promise<number> {
    const now = this.now().getTime();
    const stuck = await this.deps.prisma.clerkWebhookEvent.findMany({
      where: {
        OR: [
          { status: 'PENDING', receivedAt: { lt: new Date(now - 2 * 60_000) } },
          { status: 'PROCESSING', receivedAt: { lt: new Date(now - 15 * 60_000) }, processedAt: null },
        ],
      },
      select: { id: true, status: true },
      take: 200,
    });
    for (const { id, status } of stuck) {
      if (status === 'PROCESSING') {
        await this.deps.prisma.clerkWebhookEvent.updateMany({ where: { id, status: 'PROCESSING' }, data: { status: 'FAILED', lastError: 'worker stopped mid-way' } });
      }
      await this.enqueue(id);
    }
    return stuck.length;
  }

  private async handle(row: ClerkWebhookEvent) {
    const event = row.payload as unknown as ClerkEvent;
    const log = this.deps.log.child({ clerkEventId: row.id, clerkUserId: row.clerkUserId });
    if (row.type === 'user.deleted') return this.deleteUser(event.data.id, log);
    if (row.type !== 'user.created' && row.type !== 'user.updated') {
      log.debug({ type: row.type }, 'Clerk webhook event type not handled');
      return;
    }
    // Svix does not keep order: an event older than one already applied for this user, or any after the user's
    // deletion, changes nothing.
    const superseded = await this.deps.prisma.clerkWebhookEvent.findFirst({
      where: {
        clerkUserId: row.clerkUserId,
        status: 'PROCESSED',
        OR: [{ type: 'user.deleted' }, { occurredAt: { gt: row.occurredAt } }],
      },
      select: { id: true },
    });
    if (superseded) {
      log.info({ supersededBy: superseded.id }, 'Clerk webhook event superseded by a later one');
      return;
    }
    try {
      await this.deps.users.provision(identityOf(event.data), log);
    } catch (error) {
      // The same refusals a sign-in gets; retrying would not change them.
      if (error instanceof AuthenticationError || error instanceof ConflictError) {
        log.info({ reason: error.message }, 'Clerk user not applied');
        return;
      }
      throw error;
    }
  }

  private async deleteUser(clerkUserId: string, log: Logger) {
    const user = await this.deps.prisma.user.findUnique({ where: { externalAuthId: clerkUserId }, select: { id: true, deletedAt: true } });
    if (!user || user.deletedAt) return;
    try {
      await this.deps.users.deleteAccount(user.id, { reason: 'user.deleted at Clerk' });
      log.info({ userId: user.id }, 'account deleted after its Clerk user was deleted');
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
  }
}

/** The identity a Clerk `User` object describes, read as a sign-in with Clerk's session token would be. */
export function identityOf(user: ClerkUser): VerifiedIdentity {
  const primary = user.email_addresses?.find((address) => address.id === user.primary_email_address_id);
  const email = primary?.email_address?.trim().toLowerCase() || null;
  const name = [user.first_name, user.last_name].filter((part) => typeof part === 'string' && part.trim()).join(' ').trim() || user.username || null;
  return {
    externalAuthId: user.id,
    email,
    emailVerified: email !== null && primary?.verification?.status === 'verified',
    name,
    picture: user.image_url || null,
  };
}

function single(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

const TEXT_LIMITS: [keyof ClerkUser, number][] = [
  ['first_name', 100],
  ['last_name', 100],
  ['username', 100],
  ['image_url', 2048],
];

/** A signed body must still be a Clerk user event with the fields later steps read, before it is stored. */
function describeClerkEnvelopeProblem(event: unknown): string | null {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return 'the body must be a JSON object (a Clerk event)';
  const { type, data, timestamp } = event as Record<string, unknown>;
  if (typeof type !== 'string' || !/^[a-z0-9_.]{1,100}$/.test(type)) return 'type must be a Clerk event type such as user.created';
  if (timestamp !== undefined && !isMilliseconds(timestamp)) return 'timestamp must be milliseconds since 1970';
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return 'data must be an object';
  const user = data as Record<string, unknown>;
  if (typeof user.id !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(user.id)) return 'data.id must be a Clerk id (letters, digits, _ and -)';
  if (user.updated_at !== undefined && !isMilliseconds(user.updated_at)) return 'data.updated_at must be milliseconds since 1970';
  for (const [field, max] of TEXT_LIMITS) {
    const value = user[field];
    if (value !== undefined && value !== null && (typeof value !== 'string' || value.length > max || describeTextProblem(value))) {
      return `data.${field} must be text of at most ${max} characters`;
    }
  }
  if (user.email_addresses !== undefined) {
    if (!Array.isArray(user.email_addresses)) return 'data.email_addresses must be a list';
    for (const address of user.email_addresses as unknown[]) {
      const value = (address as { email_address?: unknown } | null)?.email_address;
      if (typeof value !== 'string' || value.length > 320 || !value.includes('@')) return 'data.email_addresses[].email_address must be an email address';
    }
  }
  const text = findTextProblem(event, '');
  if (text) return `${text.path || 'the body'} ${text.message}`;
  return null;
}

function isMilliseconds(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 32_503_680_000_000;
}
