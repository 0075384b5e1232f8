import { Prisma, type MembershipStatus, type Role, type Tier, type User } from '../generated/prisma/client.js';
import { preparedQuery, type Db } from '../db/client.js';
import { rowFromJson } from '../db/rows.js';
import type { Logger } from '../logger.js';
import { recordAdminAction } from './audit.js';
import type { VerifiedIdentity } from './auth.js';
import type { SignedInUsers } from './signed-in-users.js';
import { z } from 'zod';
import { AuthenticationError, ConflictError, NotFoundError, ValidationError } from './errors.js';
import { auditReason, jsonObjectOfAtMost, parseInput, textOfAtMost } from './validation.js';

export type UserQuery = Omit<Prisma.UserFindManyArgs, 'where' | 'orderBy' | 'cursor' | 'take' | 'skip'>;

export interface UserListFilter {
  search?: string | null;
  role?: Role | null;
  tier?: Tier | null;
  membershipStatus?: MembershipStatus | null;
}

export interface UsersServiceDeps {
  prisma: Db;
  log: Logger;
  adminEmails: string[];
  /** Runs inside the transaction that creates a user, so a new user never exists without its credit account. */
  onUserCreated?: (tx: Prisma.TransactionClient, user: User) => Promise<void>;
  signedInUsers?: SignedInUsers;
}

const PREFERENCES_MAX_BYTES = 16 * 1024;

/**
 * Read with the user when a request is authenticated: most requests show or spend the balance and the plan, and one
 * joined statement costs hardly more than the row alone. A user returned without them (just created, just updated)
 * simply has them read where they are needed.
 */
export const WITH_ACCOUNT = { creditBalance: true, subscriptions: true } as const satisfies Prisma.UserInclude;
type UserWithAccount = Prisma.UserGetPayload<{ include: typeof WITH_ACCOUNT }>;

const signedInUserBy = (column: 'externalAuthId' | 'id') => `
  SELECT to_jsonb(u) AS "user", to_jsonb(b) AS "creditBalance",
         coalesce((SELECT jsonb_agg(s ORDER BY s.id) FROM "Subscription" s WHERE s."userId" = u.id), '[]'::jsonb) AS subscriptions
  FROM "User" u LEFT JOIN "CreditBalance" b ON b."userId" = u.id
  WHERE u."${column}" = $1${column === 'id' ? '::uuid' : ''}`;
const SIGNED_IN_BY_SUBJECT = signedInUserBy('externalAuthId');
const SIGNED_IN_BY_ID = signedInUserBy('id');

const preferencesInput = z.object({ preferences: jsonObjectOfAtMost(PREFERENCES_MAX_BYTES) });
const listFilterInput = z.object({ search: textOfAtMost(200).nullish() });
const adminActionInput = z.object({ reason: auditReason.nullish() });

export class UsersService {
  private readonly beforeDeletion: ((userId: string) => Promise<void>)[] = [];

  constructor(private readonly deps: UsersServiceDeps) {}

  /** Work that must happen before an account is deleted, outside the database transaction (cancel at Stripe). */
  onDeleting(run: (userId: string) => Promise<void>) {
    this.beforeDeletion.push(run);
  }

  private now() {
    return new Date();
  }

  /**
   * The user with their balance and subscriptions ({@link WITH_ACCOUNT}), as Prisma would return them, in one prepared
   * statement: every authenticated request starts with this read.
   */
  private async findWithAccount(by: 'externalAuthId' | 'id', value: string): Promise<UserWithAccount | null> {
    const [found] = await preparedQuery<{ user: Record<string, unknown>; creditBalance: Record<string, unknown> | null; subscriptions: Record<string, unknown>[] }>(
      this.deps.prisma,
      by === 'id' ? 'signed_in_user_by_id' : 'signed_in_user_by_subject',
      by === 'id' ? SIGNED_IN_BY_ID : SIGNED_IN_BY_SUBJECT,
      [value],
    );
    if (!found) return null;
    return {
      ...rowFromJson<User>('User', found.user),
      creditBalance: found.creditBalance && rowFromJson('CreditBalance', found.creditBalance),
      subscriptions: found.subscriptions.map((subscription) => rowFromJson('Subscription', subscription)),
    } as UserWithAccount;
  }

  /** Finds the user for a verified token, creating them on their first authenticated request. */
  async provision(identity: VerifiedIdentity, log: Logger = this.deps.log): Promise<User> {
    const { prisma } = this.deps;
    if (identity.userId) return this.provisionAuthJsUser(identity, identity.userId, log);
    const existing = await this.findWithAccount('externalAuthId', identity.externalAuthId);
    if (existing?.deletedAt) return existing;
    if (existing) return this.applyChangedClaims(existing, identity, log);
    try {
      return await prisma.$transaction(async (tx) => {
        const byEmail = identity.email ? await tx.user.findUnique({ where: { email: identity.email } }) : null;
        if (byEmail && byEmail.externalAuthId === identity.externalAuthId) return byEmail;
        // An email links to an existing account, and makes an admin, only when the provider says it was verified:
        // a provider that lets anyone sign up with any address must not hand them someone else's account.
        const verified = identity.emailVerified && identity.email !== null;
        let email = identity.email;
        if (byEmail) {
          if (!verified) {
            email = null;
          } else if (!byEmail.externalAuthId) {
            // Created ahead of the first sign-in (seed, setup-admin, the Auth.js adapter): claimed by its verified owner.
            return tx.user.update({
              where: { id: byEmail.id },
              data: { externalAuthId: identity.externalAuthId, emailVerified: this.now(), name: byEmail.name ?? identity.name },
            });
          } else if (byEmail.emailVerified) {
            throw new ConflictError('This email address belongs to another account');
          } else {
            // The other account only claimed this address; its verified owner takes it.
            await tx.user.update({ where: { id: byEmail.id }, data: { email: null } });
            log.info({ userId: byEmail.id }, 'unverified email released to its verified owner');
          }
        }
        const isAdmin = verified && this.deps.adminEmails.includes(identity.email!);
        const user = await tx.user.create({
          data: {
            externalAuthId: identity.externalAuthId,
            email,
            emailVerified: verified && email ? this.now() : null,
            name: identity.name,
            image: identity.picture,
            role: isAdmin ? 'ADMIN' : 'USER',
          },
        });
        await this.deps.onUserCreated?.(tx, user);
        log.info({ userId: user.id, role: user.role }, 'user provisioned');
        return user;
      });
    } catch (error) {
      // Two first requests racing: the loser reads what the winner created.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        const winner = await this.findWithAccount('externalAuthId', identity.externalAuthId);
        if (winner) return winner;
      }
      throw error;
    }
  }

  /**
   * An Auth.js session names the `User` row the Auth.js Prisma adapter created: that row is the account. Its email
   * counts as verified when the token says `email_verified: true`, or when it is the row's own email and the adapter
   * marked the row verified (`emailVerified` is set by Auth.js's email sign-in, and left null for OAuth sign-ins).
   * On the first request the row is marked as seen (`externalAuthId`) and, with a verified email in ADMIN_EMAILS,
   * made an admin, as a user created here on first sign-in would be.
   */
  private async provisionAuthJsUser(identity: VerifiedIdentity, userId: string, log: Logger): Promise<User> {
    const { prisma } = this.deps;
    let user: User | null = await this.findWithAccount('id', userId);
    if (!user) throw new AuthenticationError('No user has the id this session names (sub): Auth.js must use the Prisma adapter on this database');
    if (user.deletedAt) return user;
    const verified =
      identity.emailVerified || (identity.email !== null && identity.email === user.email && user.emailVerified !== null);
    if (user.externalAuthId === null) {
      const rowEmailVerified = user.email !== null && user.emailVerified !== null;
      const isAdmin = rowEmailVerified && user.role === 'USER' && this.deps.adminEmails.includes(user.email!);
      const { count } = await prisma.user.updateMany({
        where: { id: user.id, externalAuthId: null },
        data: { externalAuthId: identity.externalAuthId, ...(isAdmin ? { role: 'ADMIN' } : {}) },
      });
      if (count === 1) log.info({ userId: user.id, role: isAdmin ? 'ADMIN' : user.role }, 'Auth.js user first seen');
      user = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    }
    return this.applyChangedClaims(user, { ...identity, emailVerified: verified }, log);
  }

  /**
   * A returning user's token may carry a changed name, picture or email: the row follows it. Claims the token does
   * not carry are left alone; an email is taken only when verified, and only when no other account holds it (an
   * account that merely claimed it unverified gives it up, as on first sign-in). Nothing is written when nothing
   * changed.
   */
  private async applyChangedClaims(user: User, identity: VerifiedIdentity, log: Logger): Promise<User> {
    const changes: Prisma.UserUpdateInput = {};
    if (identity.name !== null && identity.name !== user.name) changes.name = identity.name;
    if (identity.picture !== null && identity.picture !== user.image) changes.image = identity.picture;
    const verifiedEmail = identity.emailVerified ? identity.email : null;
    if (verifiedEmail !== null && verifiedEmail === user.email && user.emailVerified === null) changes.emailVerified = this.now();
    const emailChanged = verifiedEmail !== null && verifiedEmail !== user.email;
    if (!emailChanged && Object.keys(changes).length === 0) return user;
    const { prisma } = this.deps;
    try {
      return await prisma.$transaction(async (tx) => {
        if (emailChanged) {
          const holder = await tx.user.findUnique({ where: { email: verifiedEmail } });
          if (!holder) {
            Object.assign(changes, { email: verifiedEmail, emailVerified: this.now() });
          } else if (holder.externalAuthId !== null && holder.emailVerified === null) {
            await tx.user.update({ where: { id: holder.id }, data: { email: null } });
            log.info({ userId: holder.id }, 'unverified email released to its verified owner');
            Object.assign(changes, { email: verifiedEmail, emailVerified: this.now() });
          } else {
            log.info({ userId: user.id, holderId: holder.id }, 'email change not applied: another account holds the address');
          }
        }
        if (Object.keys(changes).length === 0) return user;
        const updated = await tx.user.update({ where: { id: user.id }, data: changes });
        log.info({ userId: user.id, changed: Object.keys(changes) }, 'profile updated from sign-in claims');
        return updated;
      });
    } catch (error) {
      // Another account took the address in the meantime: the rest of the profile still follows.
      if (emailChanged && error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        const { email: _email, emailVerified: _verified, ...rest } = changes;
        if (Object.keys(rest).length === 0) return user;
        return prisma.user.update({ where: { id: user.id }, data: rest });
      }
      throw error;
    }
  }

  async createUser(input: { email: string; name?: string | null; role?: Role }): Promise<User> {
    return this.deps.prisma.$transaction(async (tx) => {
      const user = await tx.user.create({
        data: { email: input.email.toLowerCase(), name: input.name ?? null, role: input.role ?? 'USER' },
      });
      await this.deps.onUserCreated?.(tx, user);
      return user;
    });
  }

  async updatePreferences(userId: string, preferences: Record<string, unknown>): Promise<User> {
    parseInput(preferencesInput, { preferences });
    const set = Object.fromEntries(Object.entries(preferences).filter(([, value]) => value !== null));
    const removed = Object.keys(preferences).filter((key) => preferences[key] === null);
    // One statement merges in the database: concurrent updates of different keys all survive.
    const rows = await this.deps.prisma.$queryRaw<{ id: string }[]>`
      UPDATE "User"
      SET preferences = (COALESCE(preferences, '{}'::jsonb) || ${JSON.stringify(set)}::jsonb) - ${removed}::text[],
          "updatedAt" = now()
      WHERE id = ${userId}::uuid
      RETURNING id`;
    if (rows.length === 0) throw new NotFoundError('User', userId);
    return this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
  }

  /** The users an admin list shows: not deleted, and matching every filter given. */
  listFilter(filter: UserListFilter = {}): Prisma.UserWhereInput {
    parseInput(listFilterInput, filter);
    return {
      ...this.searchFilter(filter.search),
      ...(filter.role ? { role: filter.role } : {}),
      ...(filter.tier ? { tier: filter.tier } : {}),
      ...(filter.membershipStatus ? { membershipStatus: filter.membershipStatus } : {}),
    };
  }

  searchFilter(search?: string | null): Prisma.UserWhereInput {
    const term = search?.trim();
    const notDeleted: Prisma.UserWhereInput = { deletedAt: null };
    if (!term) return notDeleted;
    return {
      ...notDeleted,
      OR: [
        { email: { contains: term, mode: 'insensitive' } },
        { name: { contains: term, mode: 'insensitive' } },
        { externalAuthId: term },
      ],
    };
  }

  async setRole(actorId: string, userId: string, role: Role, reason?: string | null): Promise<User> {
    parseInput(adminActionInput, { reason });
    if (actorId === userId && role !== 'ADMIN') {
      throw ValidationError.forField('userId', 'admins cannot change their own role');
    }
    return this.deps.prisma.$transaction(async (tx) => {
      const before = await tx.user.findUnique({ where: { id: userId } });
      if (!before || before.deletedAt) throw new NotFoundError('User', userId);
      const user = await tx.user.update({
        where: { id: userId },
        data: {
          role,
          bannedAt: role === 'BANNED' ? new Date() : null,
          banReason: role === 'BANNED' ? (reason ?? null) : null,
        },
      });
      await recordAdminAction(tx, {
        actorId,
        action: 'user.setRole',
        targetType: 'User',
        targetId: userId,
        data: { from: before.role, to: role, reason: reason ?? null },
      });
      return user;
    }).finally(() => this.deps.signedInUsers?.forget(userId));
  }

  async promoteToAdmin(email: string): Promise<{ user: User; created: boolean }> {
    const normalized = email.trim().toLowerCase();
    const existing = await this.deps.prisma.user.findUnique({ where: { email: normalized } });
    if (existing) {
      const user = await this.deps.prisma.user.update({ where: { id: existing.id }, data: { role: 'ADMIN' } });
      return { user, created: false };
    }
    return { user: await this.createUser({ email: normalized, role: 'ADMIN' }), created: true };
  }

  /**
   * Deletes an account (soft): the subscription is canceled at Stripe first, then personal data is removed, sign-in
   * sessions go, files are hidden for purge, and the token's subject is refused from now on. The ledger and payments
   * stay for accounting. By the user themselves, or by an admin (audited).
   */
  async deleteAccount(userId: string, actor: { adminId?: string; reason?: string | null } = {}): Promise<{ id: string; deletedAt: Date }> {
    parseInput(adminActionInput, { reason: actor.reason });
    const { prisma } = this.deps;
    const user = await prisma.user.findUnique({ where: { id: userId } });
    if (!user || user.deletedAt) throw new NotFoundError('User', userId);
    if (actor.adminId === userId) throw ValidationError.forField('userId', 'admins delete their own account with deleteAccount');
    for (const run of this.beforeDeletion) await run(userId);
    const deletedAt = this.now();
    return prisma.$transaction(async (tx) => {
      const { count } = await tx.user.updateMany({
        where: { id: userId, deletedAt: null },
        data: {
          deletedAt,
          email: null,
          emailVerified: null,
          name: null,
          image: null,
          preferences: {},
          settings: {},
          role: user.role === 'ADMIN' ? 'USER' : user.role,
        },
      });
      if (count === 0) throw new NotFoundError('User', userId);
      await tx.session.deleteMany({ where: { userId } });
      await tx.account.deleteMany({ where: { userId } });
      await tx.storageObject.updateMany({ where: { userId, deletedAt: null }, data: { deletedAt } });
      await tx.imageGeneration.updateMany({ where: { userId, deletedAt: null }, data: { deletedAt } });
      await recordAdminAction(tx, {
        actorId: actor.adminId ?? null,
        action: actor.adminId ? 'user.delete' : 'user.deleteOwnAccount',
        targetType: 'User',
        targetId: userId,
        data: { reason: actor.reason ?? null },
      });
      this.deps.log.info({ userId, byAdmin: !!actor.adminId }, 'account deleted');
      return { id: userId, deletedAt };
    }).finally(() => this.deps.signedInUsers?.forget(userId));
  }
}
