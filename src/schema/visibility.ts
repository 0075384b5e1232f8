import type { Context } from '../context.js';

// Who may see what, in one place. Every type that belongs to a user takes its auth scopes and its node(id) filter
// from here, so "owner, admin, or a service key with READ" means the same thing everywhere.

// A where that matches nothing for anonymous callers: an undefined userId would drop the filter instead.
const NO_USER = '00000000-0000-0000-0000-000000000000';
export const viewerIdOrNone = (context: Context) => context.viewer?.id ?? NO_USER;

const seesEveryUser = (context: Context) => context.viewer?.role === 'ADMIN' || !!context.apiKey?.scopes.includes('READ');

/** Whether the caller may read rows that belong to `userId`: that user, an admin, or a service key with READ. */
export const canSeeRowsOf = (userId: string, context: Context) => context.viewer?.id === userId || seesEveryUser(context);

/** Whether the caller may read a private field of `userId`'s: that user or an admin (not a service key). */
export const isOwnerOrAdmin = (userId: string, context: Context) => context.viewer?.id === userId || context.viewer?.role === 'ADMIN';

/**
 * The where that node(id) adds for objects owned by a user: admins and service keys with READ see every user's,
 * anyone else only their own (another user's reads as missing, so existence is not revealed).
 */
export const ownedByVisibleUser = (context: Context) => (seesEveryUser(context) ? {} : { userId: viewerIdOrNone(context) });

/** The same for the User type itself, keyed by its id. */
export const visibleUser = (id: string, context: Context) => (seesEveryUser(context) ? { id } : { id, AND: [{ id: viewerIdOrNone(context) }] });

/** Field scope: fields on User that the user themselves and admins may read. */
export const ownerOrAdmin = (user: { id: string }, _args: unknown, context: Context) => isOwnerOrAdmin(user.id, context);

/** Field scope: fields on User that only the user themselves may read, admins included. */
export const ownerOnly = (user: { id: string }, _args: unknown, context: Context) => context.viewer?.id === user.id;
